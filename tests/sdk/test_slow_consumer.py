"""A slow frame handler on one stream: it sees fewer, fresh frames; nothing else suffers."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import psutil
import pytest

from engine_plugin import (
    GroupCallLocator,
    JoinCallOptions,
    OutgoingVideoOptions,
    RawIncomingVideoStream,
    RawOutgoingVideoStreamOptions,
    RawVideoFrameReceivedEventArgs,
    RemoteParticipant,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.media.test_patterns import read_frame_number_i420
from engine_plugin.testing import PatternSender

from ..conftest import wait_until
from .call_helpers import CallWatcher, PatternRecorder

HANDLER_S = 0.3
WINDOW_FRAMES = 15  # slow deliveries measured: about 5 s at 0.3 s each


@dataclass
class SlowSeen:
    number: int | None
    behind: int  # frames the sender had already sent past this one when it was handed over
    at: float


class SlowHandler:
    """Reads the frame number, notes how far behind the sender it is, then dawdles."""

    def __init__(self, sender: PatternSender) -> None:
        self.sender = sender
        self.seen: list[SlowSeen] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def __call__(self, args: RawVideoFrameReceivedEventArgs) -> None:
        fmt = args.frame.stream_format
        assert fmt is not None
        number = read_frame_number_i420(args.frame.plane_view(0), fmt.width, fmt.height)
        behind = self.sender.next_number - 1 - (number if number is not None else 0)
        with self.lock:
            self.seen.append(SlowSeen(number, behind, time.monotonic()))
        self.stop.wait(HANDLER_S)  # a slow consumer (a texture upload, a busy game thread)

    def count(self) -> int:
        with self.lock:
            return len(self.seen)


def _p360() -> VirtualOutgoingVideoStream:
    fmt = VideoStreamFormat(
        resolution=VideoStreamResolution.P360,
        pixel_format=VideoStreamPixelFormat.RGBA,
        frames_per_second=30,
    )
    return VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))


@pytest.mark.timeout(60)
def test_a_slow_handler_drops_old_frames_on_its_own_stream_only(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    group = GroupCallLocator(str(uuid.uuid4()))
    receiver = make_agent("Receiver")
    fast_agent, slow_agent = make_agent("Fast"), make_agent("Slow")
    fast_video, slow_video = _p360(), _p360()
    senders = {
        "Fast": PatternSender(fast_video, 30, seed=1),
        "Slow": PatternSender(slow_video, 30, seed=2),
    }
    fast = PatternRecorder(score=False)  # I420 (the default): frame numbers only
    slow = SlowHandler(senders["Slow"])
    streams: dict[str, RawIncomingVideoStream] = {}

    def on_new_stream(participant: RemoteParticipant, stream: RawIncomingVideoStream) -> None:
        streams[participant.display_name] = stream
        if participant.display_name == "Slow":
            stream.raw_video_frame_received += slow
            stream.start()
        else:
            fast.attach(stream)

    CallWatcher(receiver, on_new_stream)
    process = psutil.Process()
    try:
        r = receiver.join(group).result(10)
        calls = [
            agent.join(
                group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[v]))
            ).result(10)
            for agent, v in ((fast_agent, fast_video), (slow_agent, slow_video))
        ]
        # Warm up: both streams flowing for a second.
        wait_until(lambda: len(fast.frames()) >= 30 and slow.count() >= 3, timeout=15,
                   what="both streams flowing")  # fmt: skip
        rss_before = process.memory_info().rss
        t0, fast0, slow0 = time.monotonic(), len(fast.frames()), slow.count()
        dropped0 = streams["Slow"].frames_dropped
        wait_until(lambda: slow.count() >= slow0 + WINDOW_FRAMES, timeout=15,
                   what=f"{WINDOW_FRAMES} slow deliveries")  # fmt: skip
        t1, fast1, slow1 = time.monotonic(), len(fast.frames()), slow.count()
        dropped1 = streams["Slow"].frames_dropped
        rss_after = process.memory_info().rss
    finally:
        slow.stop.set()
        for sender in senders.values():
            sender.stop()
    assert not any(s.errors for s in senders.values())
    window = t1 - t0

    # The other stream keeps its full rate, in order.
    fast_rate = (fast1 - fast0) / window
    assert fast_rate >= 25, f"the fast stream fell to {fast_rate:.1f} fps"
    numbers = [f.number for f in fast.frames()[fast0:fast1]]
    assert None not in numbers and numbers == sorted(numbers)  # type: ignore[type-var]
    assert streams["Fast"].frames_dropped <= 0.1 * len(fast.frames())

    # The slow stream gets one frame per handler call, and drops the rest.
    seen = slow.seen[slow0:slow1]
    slow_rate = (len(seen) - 1) / (seen[-1].at - seen[0].at)
    assert 2.5 <= slow_rate <= 1 / HANDLER_S + 0.05, f"{slow_rate:.2f} deliveries/s"
    assert dropped1 - dropped0 >= 5 * (slow1 - slow0), (dropped0, dropped1)
    assert streams["Slow"].frames_received >= senders["Slow"].sent * 0.8

    # Latency does not build up: every frame handed over is one of the newest.
    assert all(s.number is not None for s in seen)
    assert [s.number for s in seen] == sorted(s.number for s in seen)  # type: ignore[misc]
    behind = [s.behind for s in seen]
    assert max(behind) <= 15, f"frames behind the sender: {behind}"  # 0.5 s at 30 fps
    head, tail = behind[:5], behind[-5:]
    assert sum(tail) / 5 <= sum(head) / 5 + 5, f"lag grows: {behind}"

    # Memory stays flat while frames are being dropped.
    grown_mb = (rss_after - rss_before) / 2**20
    assert grown_mb < 100, f"RSS grew {grown_mb:.0f} MB in {window:.1f} s"

    assert streams["Slow"].state is VideoStreamState.STARTED
    for call in (*calls, r):
        call.hang_up().result(10)
    assert streams["Slow"].state is VideoStreamState.NOT_AVAILABLE
