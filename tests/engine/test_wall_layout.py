"""WallLayout follows the call: a wall per participant, one per screen share, gone when they go."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from engine_plugin import (
    GroupCallLocator,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingVideoOptions,
    RawOutgoingVideoStreamOptions,
    ScreenShareOutgoingVideoStream,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VirtualOutgoingVideoStream,
)
from engine_plugin.engine import UPDATE_TASK, VideoWall, WallLayout, setup
from engine_plugin.testing import PatternSender
from engine_plugin.testing.offscreen import offscreen_showbase, render_frames


@pytest.fixture
def base() -> Iterator[Any]:
    with offscreen_showbase(320, 180) as showbase:
        yield showbase


def _run_until(base: Any, predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        render_frames(base)
        time.sleep(0.005)


def _camera() -> VirtualOutgoingVideoStream:
    fmt = VideoStreamFormat(resolution=VideoStreamResolution.P180, frames_per_second=15)
    return VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))


def _screen() -> ScreenShareOutgoingVideoStream:
    fmt = VideoStreamFormat(width=400, height=224, frames_per_second=15)
    return ScreenShareOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))


@pytest.mark.timeout(60)
def test_walls_follow_participants_and_screen_shares(base, make_agent) -> None:  # type: ignore[no-untyped-def]
    plugin = setup(base)
    group = GroupCallLocator(str(uuid.uuid4()))
    viewer, alice, bob = make_agent("Viewer"), make_agent("Alice"), make_agent("Bob")
    viewer_call = viewer.join(
        group,
        JoinCallOptions(
            incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.BGRX)
        ),
    ).result(10)
    layout = plugin.add(WallLayout(viewer_call, parent=base.render, center=(0, 12, 0)))

    alice_camera, alice_screen, bob_camera = _camera(), _screen(), _camera()
    alice_call = alice.join(
        group,
        JoinCallOptions(
            outgoing_video_options=OutgoingVideoOptions(streams=[alice_camera, alice_screen])
        ),
    ).result(10)
    bob_call = bob.join(
        group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[bob_camera]))
    ).result(10)
    senders = [PatternSender(s, fps=15) for s in (alice_camera, alice_screen, bob_camera)]
    try:
        _run_until(base, lambda: len(layout.walls) == 3, 15, "three walls")
        _run_until(base, lambda: all(w.showing_video for w in layout.walls), 15, "video on all")
        labels = [w.label_text for w in layout.walls]
        # A participant's voice can be placed at their wall.
        alice_id = next(
            p.participant_id for p in viewer_call.remote_participants if p.display_name == "Alice"
        )
        assert (
            layout.node_of(alice_id)
            == layout.walls_of(
                next(p for p in viewer_call.remote_participants if p.display_name == "Alice")
            )[0].root
        )
        assert layout.node_of("nobody") is None
        assert sorted(labels) == ["Alice", "Alice (screen)", "Bob"]
        # In a row, left to right, evenly spaced, under the layout's root.
        xs = [w.root.getX() for w in layout.walls]
        assert xs == sorted(xs) and abs(xs[0] + xs[-1]) < 1e-6

        # Alice stops sharing: her screen wall goes; Bob leaves: his wall goes.
        alice_call.stop_video(alice_screen).result(10)
        _run_until(base, lambda: len(layout.walls) == 2, 10, "the screen wall to go")
        bob_call.hang_up().result(10)
        _run_until(
            base, lambda: [w.label_text for w in layout.walls] == ["Alice"], 10, "bob's wall"
        )
        assert layout.walls == [w for w in plugin.components if isinstance(w, VideoWall)]
    finally:
        for sender in senders:
            sender.stop()
    plugin.destroy()
    assert base.render.find("**/wall-layout").isEmpty()
    assert base.taskMgr.getTasksNamed(UPDATE_TASK) == []
    alice_call.hang_up().result(10)
    viewer_call.hang_up().result(10)
