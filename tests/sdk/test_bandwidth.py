"""The format follows the real network: a throttled link makes the sender step down, and back up.

The link is throttled with ``tc`` on the loopback interface, so this test runs
only where that is safe and allowed: as root inside a private network
namespace (as ``.ci/run`` runs the suite). Elsewhere it is skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from engine_plugin import (
    GroupCallLocator,
    JoinCallOptions,
    OutgoingVideoOptions,
    RawOutgoingVideoStreamOptions,
    VideoStreamFormat,
    VideoStreamFormatChangedEventArgs,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VirtualOutgoingVideoStream,
)
from engine_plugin.testing import PatternSender

from ..conftest import wait_until
from .media_helpers import FrameRecorder
from .test_group_call import _watch


def _loopback_only_netns() -> bool:
    """True inside a network namespace whose only interface is loopback (never the host's)."""
    return [name for _index, name in socket.if_nameindex()] == ["lo"]


def _tc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tc", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def throttle() -> Iterator[object]:
    if os.geteuid() != 0 or not _loopback_only_netns():
        pytest.skip("needs root in a loopback-only network namespace (run through .ci/run)")
    if _tc("qdisc", "show", "dev", "lo").returncode != 0:
        pytest.skip("tc is not available")

    class Throttle:
        def limit(self, rate: str) -> None:
            result = _tc(
                "qdisc",
                "replace",
                "dev",
                "lo",
                "root",
                "tbf",
                "rate",
                rate,
                "burst",
                "16kbit",
                "latency",
                "300ms",
            )
            assert result.returncode == 0, result.stderr

        def lift(self) -> None:
            _tc("qdisc", "del", "dev", "lo", "root")

    throttle = Throttle()
    yield throttle
    throttle.lift()


@pytest.mark.timeout(120)
def test_format_steps_down_on_a_throttled_link_and_back_up(make_agent, throttle) -> None:  # type: ignore[no-untyped-def]
    group = GroupCallLocator(str(uuid.uuid4()))
    sender_agent, receiver_agent = make_agent("Sender"), make_agent("Receiver")
    recorder = FrameRecorder(VideoStreamPixelFormat.I420)
    receiver_call = receiver_agent.join(group).result(10)
    _watch(receiver_call, recorder)
    formats = [
        VideoStreamFormat(resolution=VideoStreamResolution.P720, frames_per_second=30),
        VideoStreamFormat(resolution=VideoStreamResolution.P180, frames_per_second=15),
    ]
    stream = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=formats))
    changes: list[tuple[int, int]] = []
    lock = threading.Lock()

    def on_format(args: VideoStreamFormatChangedEventArgs) -> None:
        with lock:
            changes.append((args.format.width, args.format.height))

    stream.format_changed += on_format
    sender_call = sender_agent.join(
        group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[stream]))
    ).result(10)
    sender = PatternSender(stream)
    try:
        wait_until(lambda: len(recorder.records) > 30, timeout=20, what="720p frames")
        assert changes == [(1280, 720)]
        throttle.limit("200kbit")
        wait_until(lambda: (320, 180) in changes, timeout=30, what="a step down")
        throttle.lift()
        stepped_down_at = time.monotonic()
        wait_until(lambda: changes[-1] == (1280, 720), timeout=40, what="a step back up")
        up_after = time.monotonic() - stepped_down_at
        wait_until(
            lambda: (1280, 720) in {(r.width, r.height) for r in recorder.records[-5:]},
            timeout=10,
            what="720p frames again",
        )
    finally:
        sender.stop()
    assert changes == [(1280, 720), (320, 180), (1280, 720)]
    sizes = [(r.width, r.height) for r in recorder.records]
    assert (320, 180) in sizes, "the receiver saw the small format"
    assert not sender.errors
    print(f"stepped back up {up_after:.1f} s after the link was freed")
    sender_call.hang_up().result(10)
    receiver_call.hang_up().result(10)
