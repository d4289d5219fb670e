"""Helpers for the SDK tests: a paced pattern sender and frame recorders."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from engine_plugin import (
    IncomingMixedAudioEventArgs,
    IncomingUnmixedAudioEventArgs,
    RawIncomingAudioStream,
    RawIncomingVideoStream,
    RawVideoFrameReceivedEventArgs,
    VideoStreamPixelFormat,
    VideoStreamState,
    VideoStreamStateChangedEventArgs,
)
from engine_plugin.media.test_patterns import (
    pattern_frame,
    psnr,
    read_frame_number,
    read_frame_number_i420,
)


@dataclass
class FrameRecord:
    number: int | None
    psnr: float
    width: int
    height: int
    received_at: float


@dataclass
class FrameRecorder:
    """Starts an incoming stream once AVAILABLE and records what each frame shows."""

    pixel_format: VideoStreamPixelFormat
    records: list[FrameRecord] = field(default_factory=list)
    states: list[VideoStreamState] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, stream: RawIncomingVideoStream) -> None:
        self.states.append(stream.state)
        stream.raw_video_frame_received += self.on_frame
        stream.state_changed += self.on_state
        if stream.state is VideoStreamState.AVAILABLE:
            stream.start()

    def on_state(self, args: VideoStreamStateChangedEventArgs) -> None:
        self.states.append(args.stream.state)

    def on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        frame = args.frame
        fmt = frame.stream_format
        assert fmt is not None
        w, h = fmt.width, fmt.height
        if self.pixel_format is VideoStreamPixelFormat.RGBA:
            plane = np.asarray(frame.buffers[0]).reshape(h, -1)[:, : w * 4].reshape(h, w, 4)
            number = read_frame_number(plane)
            score = (
                psnr(plane[..., :3], pattern_frame(w, h, number)[..., :3])
                if number is not None
                else 0.0
            )
        else:
            y = np.asarray(frame.buffers[0]).reshape(h, -1)[:, :w]
            number = read_frame_number_i420(y, w, h)
            if number is not None:
                import av

                ref = av.VideoFrame.from_ndarray(pattern_frame(w, h, number), format="rgba")
                ref_y = ref.reformat(format="yuv420p").to_ndarray()[:h]
                score = psnr(y, ref_y)
            else:
                score = 0.0
        with self.lock:
            self.records.append(FrameRecord(number, score, w, h, time.monotonic()))


class AudioRecorder:
    """Keeps what arrives at an incoming audio stream."""

    def __init__(self, stream: RawIncomingAudioStream) -> None:
        self.mixed: list[np.ndarray] = []
        self.unmixed: dict[str, list[np.ndarray]] = {}
        self.lock = threading.Lock()
        stream.mixed_audio_buffer_received += self.on_mixed
        stream.unmixed_audio_buffer_received += self.on_unmixed

    def on_mixed(self, args: IncomingMixedAudioEventArgs) -> None:
        with self.lock:
            self.mixed.append(np.frombuffer(args.audio_buffer.data, dtype=np.int16).copy())

    def on_unmixed(self, args: IncomingUnmixedAudioEventArgs) -> None:
        with self.lock:
            for pid, buf in zip(args.remote_participant_ids, args.audio_buffers, strict=True):
                self.unmixed.setdefault(pid, []).append(
                    np.frombuffer(buf.data, dtype=np.int16).copy()
                )

    def __len__(self) -> int:
        with self.lock:
            return len(self.mixed)

    def tail(self, count: int, chunks: list[np.ndarray] | None = None) -> np.ndarray:
        """The last ``count`` buffers of ``chunks`` (default: the mixed audio), joined."""
        with self.lock:
            return np.concatenate((self.mixed if chunks is None else chunks)[-count:])
