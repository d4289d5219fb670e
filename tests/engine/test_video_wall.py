"""A remote agent's pattern appears on a video wall in the rendered image, the right way up."""

from __future__ import annotations

import os
import queue
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
    ParticipantsUpdatedEventArgs,
    RawIncomingVideoStream,
    RawOutgoingVideoStreamOptions,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VideoStreamStateChangedEventArgs,
    VirtualOutgoingVideoStream,
)
from engine_plugin.engine import UPDATE_TASK, VideoWall, setup
from engine_plugin.media.test_patterns import (
    pattern_frame,
    psnr,
    quadrant_colours_ok,
    read_frame_number,
)
from engine_plugin.testing.offscreen import offscreen_showbase, render_frames, screenshot_rgb

from ..sdk.media_helpers import PatternSender

W, H = 640, 360
SAVE_TO = os.environ.get("ENGINE_PLUGIN_SAVE_WALL")  # a PNG path, to look at the result


@pytest.fixture
def base() -> Iterator[Any]:
    with offscreen_showbase(W, H) as showbase:
        yield showbase


def _streams_of(call: Any) -> queue.Queue[RawIncomingVideoStream]:
    """Incoming streams, as they become AVAILABLE (handed over from the SDK's thread)."""
    found: queue.Queue[RawIncomingVideoStream] = queue.Queue()

    def on_stream(args: VideoStreamStateChangedEventArgs) -> None:
        if args.stream.state is VideoStreamState.AVAILABLE:
            found.put(args.stream)

    def on_participants(args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:
            participant.video_stream_state_changed += on_stream
            for stream in participant.incoming_video_streams:
                found.put(stream)

    call.remote_participants_updated += on_participants
    return found


def _run_until(base: Any, predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        render_frames(base)
        time.sleep(0.005)


@pytest.mark.timeout(60)
def test_remote_pattern_shows_on_a_wall_right_way_up(base, make_agent) -> None:  # type: ignore[no-untyped-def]
    plugin = setup(base)
    group = GroupCallLocator(str(uuid.uuid4()))
    sender_agent, viewer_agent = make_agent("Sender"), make_agent("Viewer")
    viewer_call = viewer_agent.join(
        group,
        JoinCallOptions(
            incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.BGRX)
        ),
    ).result(10)
    streams = _streams_of(viewer_call)
    fmt = VideoStreamFormat(
        resolution=VideoStreamResolution.P360, pixel_format=VideoStreamPixelFormat.RGBA
    )
    video = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
    sender_call = sender_agent.join(
        group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[video]))
    ).result(10)
    sender = PatternSender(video, fps=30)
    try:
        stream = streams.get(timeout=10)
        # aspect2d spans the window's height from -1 to 1: a wall 2 high fills a 16:9 window.
        wall = plugin.add(VideoWall(stream, parent=base.aspect2d, height=2.0))
        render_frames(base)
        assert not wall.showing_video  # the placeholder until the first frame is in
        _run_until(
            base, lambda: wall.showing_video and wall.frame_texture.uploads > 30, 20, "video"
        )
        render_frames(base)
        image = screenshot_rgb(base)
    finally:
        sender.stop()
    number = read_frame_number(image, channel_order="rgb24")
    assert number is not None, "the frame number is readable in the rendered image"
    sent = pattern_frame(W, H, number)[..., :3]
    score = psnr(image, sent)
    assert score >= 28, f"the wall shows the sent frame (PSNR {score:.1f} dB)"
    if SAVE_TO:
        from panda3d.core import Filename

        base.win.saveScreenshot(Filename.fromOsSpecific(SAVE_TO))
    assert quadrant_colours_ok(image, channel_order="rgb24"), "colours and orientation"
    assert wall.frame_texture.reallocations == 1, "one texture, reused for every frame"

    # A stream that stops brings the placeholder back; destroy leaves nothing behind.
    sender_call.stop_video(video).result(10)
    _run_until(base, lambda: not wall.showing_video, 10, "the placeholder")
    children_before = base.aspect2d.getNumChildren()
    plugin.destroy()
    assert base.aspect2d.getNumChildren() == children_before - 1
    assert base.taskMgr.getTasksNamed(UPDATE_TASK) == []
    sender_call.hang_up().result(10)
    viewer_call.hang_up().result(10)
