"""Helpers for the call-level SDK tests.

- :class:`CallWatcher` attaches to an agent's ``calls_updated`` (which fires on the
  SDK's loop thread before the call starts connecting) and records, for every
  call, the whole ``state_changed`` sequence and every ``remote_participants_updated``
  event, plus each remote participant's and incoming stream's state sequence.
- :class:`PatternSender` sends numbered pattern frames of one seed (so two streams
  are told apart by their pixels) starting at any frame number.
- :class:`PatternRecorder` records what each received RGBA frame shows (number,
  PSNR against the seeded pattern, size, stream).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine_plugin import (
    Call,
    CallAgent,
    CallState,
    CallsUpdatedEventArgs,
    ParticipantState,
    ParticipantsUpdatedEventArgs,
    RawIncomingVideoStream,
    RawVideoFrameReceivedEventArgs,
    RemoteParticipant,
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
class ParticipantLog:
    """What one remote participant did, as seen by one call."""

    participant: RemoteParticipant
    states: list[ParticipantState] = field(default_factory=list)
    streams: dict[int, list[VideoStreamState]] = field(default_factory=dict)
    stream_objects: dict[int, RawIncomingVideoStream] = field(default_factory=dict)


@dataclass
class CallLog:
    """Everything one call reported, from before it started connecting."""

    call: Call
    states: list[CallState] = field(default_factory=list)
    roster: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    participants: dict[str, ParticipantLog] = field(default_factory=dict)


class CallWatcher:
    """Records every call of ``agent`` from the moment the call exists.

    ``on_new_stream(participant, stream)`` (optional) is called on the SDK's loop
    thread for each incoming video stream the first time it is seen (AVAILABLE),
    e.g. to attach a recorder and ``start()`` it.
    """

    def __init__(
        self,
        agent: CallAgent,
        on_new_stream: Callable[[RemoteParticipant, RawIncomingVideoStream], Any] | None = None,
    ) -> None:
        self.agent = agent
        self.on_new_stream = on_new_stream
        self.lock = threading.RLock()
        self.logs: list[CallLog] = []
        self.added_states: list[CallState] = []
        self.removed: list[Call] = []
        agent.calls_updated += self._on_calls

    # -- reading ------------------------------------------------------------

    def log(self, call: Call) -> CallLog:
        with self.lock:
            for log in self.logs:
                if log.call is call:
                    return log
        raise KeyError(f"{call!r} was never reported by calls_updated")

    def states(self, call: Call) -> list[CallState]:
        with self.lock:
            return list(self.log(call).states)

    def roster(self, call: Call) -> list[tuple[str, tuple[str, ...]]]:
        with self.lock:
            return list(self.log(call).roster)

    def participant(self, call: Call, name: str) -> ParticipantLog:
        with self.lock:
            return self.log(call).participants[name]

    # -- handlers (SDK loop thread) ------------------------------------------------

    def _on_calls(self, args: CallsUpdatedEventArgs) -> None:
        for call in args.added_calls:
            log = CallLog(call)
            with self.lock:
                self.logs.append(log)
                self.added_states.append(call.state)
            call.state_changed += lambda _a, log=log: self._on_state(log)
            call.remote_participants_updated += lambda a, log=log: self._on_roster(log, a)
        with self.lock:
            self.removed.extend(args.removed_calls)

    def _on_state(self, log: CallLog) -> None:
        with self.lock:
            log.states.append(log.call.state)

    def _on_roster(self, log: CallLog, args: ParticipantsUpdatedEventArgs) -> None:
        with self.lock:
            if args.added_participants:
                log.roster.append(("added", tuple(p.display_name for p in args.added_participants)))
            if args.removed_participants:
                log.roster.append(
                    ("removed", tuple(p.display_name for p in args.removed_participants))
                )
        for participant in args.added_participants:
            plog = ParticipantLog(participant, [participant.state])
            with self.lock:
                log.participants[participant.display_name] = plog
            participant.state_changed += lambda _a, p=plog: self._on_participant_state(p)
            participant.video_stream_state_changed += lambda a, p=plog: self._on_stream(p, a)
            for stream in participant.incoming_video_streams:
                self._on_stream(plog, VideoStreamStateChangedEventArgs(stream))

    def _on_participant_state(self, plog: ParticipantLog) -> None:
        with self.lock:
            plog.states.append(plog.participant.state)

    def _on_stream(self, plog: ParticipantLog, args: VideoStreamStateChangedEventArgs) -> None:
        stream: RawIncomingVideoStream = args.stream
        with self.lock:
            seen = stream.id in plog.streams
            plog.streams.setdefault(stream.id, []).append(stream.state)
            plog.stream_objects[stream.id] = stream
        if not seen and self.on_new_stream is not None:
            self.on_new_stream(plog.participant, stream)


@dataclass
class Seen:
    """One received frame."""

    stream_id: int
    number: int | None
    psnr: float
    width: int
    height: int
    at: float


class PatternRecorder:
    """Records received frames: their number, PSNR against the ``seed`` pattern, size.

    RGBA frames are scored over the whole image; I420 frames only have their
    number read (cheap, for rate and latency checks).
    """

    def __init__(self, seed: int = 0, *, score: bool = True) -> None:
        self.seed = seed
        self.score = score
        self.seen: list[Seen] = []
        self.states: dict[int, list[VideoStreamState]] = {}
        self.last_image: np.ndarray | None = None
        """The last RGBA frame received (H x W x 3 copy), when scoring."""
        self.lock = threading.Lock()

    def attach(self, stream: RawIncomingVideoStream, *, start: bool = True) -> None:
        """Subscribe to ``stream`` and start it (if AVAILABLE)."""
        with self.lock:
            self.states[stream.id] = [stream.state]
        stream.raw_video_frame_received += self.on_frame
        stream.state_changed += self._on_state
        if start and stream.state is VideoStreamState.AVAILABLE:
            stream.start()

    def _on_state(self, args: VideoStreamStateChangedEventArgs) -> None:
        with self.lock:
            self.states.setdefault(args.stream.id, []).append(args.stream.state)

    def on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        fmt = args.frame.stream_format
        assert fmt is not None
        w, h = fmt.width, fmt.height
        score = 0.0
        if fmt.pixel_format is VideoStreamPixelFormat.RGBA:
            image = args.frame.to_ndarray()
            number = read_frame_number(image)
            if number is not None and self.score:
                ref = pattern_frame(w, h, number, seed=self.seed)
                rgb = np.ascontiguousarray(image[..., :3])
                score = psnr(rgb, ref[..., :3])
                self.last_image = rgb
        else:
            y = args.frame.plane_view(0)
            number = read_frame_number_i420(y, w, h)
        with self.lock:
            self.seen.append(Seen(args.stream.id, number, score, w, h, time.monotonic()))

    def frames(self, stream_id: int | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if stream_id is None or s.stream_id == stream_id]

    def settled(self, stream_id: int | None = None, after_s: float = 1.0) -> list[Seen]:
        """Frames received at least ``after_s`` after the first one of that stream."""
        frames = self.frames(stream_id)
        if not frames:
            return []
        first = frames[0].at
        return [f for f in frames if f.at - first >= after_s]


def assert_pattern_frames(
    frames: list[Seen], *, size: tuple[int, int], min_psnr: float = 30.0, min_count: int = 1
) -> None:
    """Every frame readable, in order without repeats, of ``size``, PSNR >= ``min_psnr``."""
    assert len(frames) >= min_count, f"{len(frames)} frames, expected at least {min_count}"
    numbers = [f.number for f in frames]
    assert None not in numbers, f"unreadable frame numbers: {numbers}"
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers  # type: ignore[type-var]
    scores = [f.psnr for f in frames]
    assert min(scores) >= min_psnr, f"PSNR min {min(scores):.1f} dB"
    assert {(f.width, f.height) for f in frames} == {size}
