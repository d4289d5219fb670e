"""A remote participant's pattern shows on a video wall in the rendered image, right way up."""

from __future__ import annotations

import os
import uuid

import pytest

from engine_plugin import (
    GroupCallLocator,
    IncomingVideoOptions,
    JoinCallOptions,
    VideoStreamPixelFormat,
)
from engine_plugin.engine import UPDATE_TASK, VideoWall, setup
from engine_plugin.testing import (
    IncomingStreams,
    find_pattern,
    render_frames,
    run_until,
    screenshot_rgb,
)

SAVE_TO = os.environ.get("ENGINE_PLUGIN_SAVE_WALL")  # a PNG path, to look at the result
BGRX_IN = JoinCallOptions(
    incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.BGRX)
)


@pytest.mark.timeout(60)
def test_remote_pattern_shows_on_a_wall_right_way_up(
    offscreen_base, call_agent, synthetic_participant
) -> None:  # type: ignore[no-untyped-def]
    base = offscreen_base
    plugin = setup(base)
    group = str(uuid.uuid4())
    viewer_call = call_agent("Viewer").join(GroupCallLocator(group), BGRX_IN).result(10)
    streams = IncomingStreams(viewer_call)
    bot = synthetic_participant("Bot", tone_hz=None)
    bot.join(group)
    stream = streams.next()
    # aspect2d spans the window's height from -1 to 1: a wall 2 high fills a 16:9 window.
    wall = plugin.add(VideoWall(stream, parent=base.aspect2d, height=2.0))
    render_frames(base)
    assert not wall.showing_video  # the placeholder until the first frame is in
    run_until(base, lambda: wall.showing_video and wall.frame_texture.uploads > 30, 20, "video")
    render_frames(base)
    image = screenshot_rgb(base)
    if SAVE_TO:
        from panda3d.core import Filename

        base.win.saveScreenshot(Filename.fromOsSpecific(SAVE_TO))
    match = find_pattern(image)
    assert match is not None, "the frame number is readable in the rendered image"
    assert match.psnr_db >= 28, f"the wall shows the sent frame (PSNR {match.psnr_db:.1f} dB)"
    assert match.colours_and_orientation_ok
    assert wall.frame_texture.reallocations == 1, "one texture, reused for every frame"

    # A stream that stops brings the placeholder back; destroy leaves nothing behind.
    bot.leave()
    run_until(base, lambda: not wall.showing_video, 10, "the placeholder")
    children_before = base.aspect2d.getNumChildren()
    plugin.destroy()
    assert base.aspect2d.getNumChildren() == children_before - 1
    assert base.taskMgr.getTasksNamed(UPDATE_TASK) == []
    viewer_call.hang_up().result(10)
