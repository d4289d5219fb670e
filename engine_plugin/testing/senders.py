"""Paced senders of known media: a numbered pattern and a tone, each on its own thread.

They send only while their stream is STARTED (so they can be made before the
call connects) and keep the errors a send raised in ``errors``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..media.audio_format import AudioStreamState
from ..media.frames import RawAudioBuffer, RawVideoFrameBuffer
from ..media.test_patterns import ToneGenerator, pattern_frame
from ..sdk.enums import VideoStreamState
from ..sdk.outgoing_video import RawOutgoingVideoStream
from .latency import clock_stamp


class PatternSender:
    """Sends pattern frames ``first_number, first_number + 1, ...`` of ``seed`` while STARTED.

    With ``stamp_clock=True`` each frame's number is instead the monotonic clock
    in milliseconds (:func:`~engine_plugin.testing.latency.clock_stamp`), so a
    receiver on the same machine can tell each frame's age.
    """

    def __init__(
        self,
        stream: RawOutgoingVideoStream,
        fps: int = 30,
        *,
        seed: int = 0,
        first_number: int = 0,
        stamp_clock: bool = False,
    ) -> None:
        self.stream = stream
        self.stamp_clock = stamp_clock
        self.fps = fps
        self.seed = seed
        self.first_number = first_number
        self.sent = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="engine_plugin-pattern-sender", daemon=True
        )
        self._thread.start()

    @property
    def next_number(self) -> int:
        """The number the next frame sent will carry."""
        return self.first_number + self.sent

    def _run(self) -> None:
        period = 1 / self.fps
        next_t = time.monotonic()
        while not self._stop.is_set():
            if self.stream.state is VideoStreamState.STARTED:
                fmt = self.stream.format
                number = clock_stamp() if self.stamp_clock else self.next_number
                rgba = pattern_frame(fmt.width, fmt.height, number, seed=self.seed)
                frame = RawVideoFrameBuffer(
                    buffers=[rgba],
                    stream_format=fmt,
                    timestamp_in_ticks=self.stream.timestamp_in_ticks,
                )
                try:
                    self.stream.send_raw_video_frame(frame)
                    self.sent += 1
                except Exception as exc:  # the state may change between check and send
                    if self.stream.state is VideoStreamState.STARTED:
                        self.errors.append(exc)
            next_t += period
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def stop(self) -> None:
        """Stop sending and join the thread."""
        self._stop.set()
        self._thread.join(5)


class ToneSender:
    """Sends a tone in real time (one buffer per buffer duration) while the stream is STARTED."""

    def __init__(self, stream: Any, frequency: float) -> None:
        props = stream.properties
        self.stream = stream
        self.samples = props.samples_per_buffer
        self.generator = ToneGenerator(frequency, props.sample_rate.hz, props.channel_mode.channels)
        self.period = props.buffer_duration.ms / 1000
        self.sent = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="engine_plugin-tone-sender", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            if self.stream.state is AudioStreamState.STARTED:
                chunk = self.generator.next_chunk(self.samples)
                try:
                    self.stream.send_raw_audio_buffer(RawAudioBuffer(chunk.tobytes()))
                    self.sent += 1
                except Exception as exc:
                    if self.stream.state is AudioStreamState.STARTED:
                        self.errors.append(exc)
            next_t += self.period
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def stop(self) -> None:
        """Stop sending and join the thread."""
        self._stop.set()
        self._thread.join(5)
