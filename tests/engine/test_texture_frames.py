"""IncomingVideoOptions(frame_kind=TEXTURE): frames come as Panda3D textures on the main thread."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from panda3d.core import CardMaker, Texture

from engine_plugin import (
    GroupCallLocator,
    IncomingVideoOptions,
    InvalidStateError,
    JoinCallOptions,
    RawVideoFrameKind,
    RawVideoFrameReceivedEventArgs,
    VideoStreamState,
)
from engine_plugin.engine import RawVideoFrameTexture, setup
from engine_plugin.testing import IncomingStreams, find_pattern, run_until, screenshot_rgb

TEXTURES = JoinCallOptions(
    incoming_video_options=IncomingVideoOptions(frame_kind=RawVideoFrameKind.TEXTURE)
)


@pytest.mark.timeout(60)
def test_frames_arrive_as_textures_on_the_main_thread(
    offscreen_base, call_agent, synthetic_participant
) -> None:  # type: ignore[no-untyped-def]
    base = offscreen_base
    plugin = setup(base)
    group = str(uuid.uuid4())
    call = call_agent("Viewer").join(GroupCallLocator(group), TEXTURES).result(10)
    got: list[tuple[RawVideoFrameTexture, bool]] = []
    card = base.aspect2d.attachNewNode(CardMaker("show").generate())

    def on_frame(args: RawVideoFrameReceivedEventArgs) -> None:
        frame: Any = args.frame
        got.append((frame, threading.current_thread() is threading.main_thread()))
        # Panda3D may be used here: this is the main thread.
        card.setTexture(frame.texture, 1)

    streams = IncomingStreams(call)
    synthetic_participant("Bot", tone_hz=None).join(group)
    stream = streams.next()
    stream.raw_video_frame_received += on_frame
    stream.start()
    run_until(base, lambda: len(got) >= 20, 20, "20 texture frames")
    frame = got[-1][0]
    assert all(main for _frame, main in got), "every frame event fired on the main thread"
    assert isinstance(frame, RawVideoFrameTexture) and isinstance(frame.texture, Texture)
    assert (frame.stream_format.width, frame.stream_format.height) == (640, 360)
    # Show the texture full-window with its uv range, and find the sent pattern, upright.
    (u0, v0), (u1, v1) = frame.uv_range
    maker = CardMaker("full")
    maker.setFrame(-16 / 9, 16 / 9, -1, 1)
    maker.setUvRange((u0, v0), (u1, v1))
    card.removeNode()
    card = base.aspect2d.attachNewNode(maker.generate())
    run_until(base, lambda: find_pattern(screenshot_rgb(base)) is not None, 10, "the pattern")
    match = find_pattern(screenshot_rgb(base))
    assert match is not None and match.colours_and_orientation_ok and match.psnr_db > 28
    assert plugin.texture_delivery.frames_delivered >= 20
    plugin.destroy()
    call.hang_up().result(10)


def test_texture_frames_need_the_engine_plugin(call_agent, synthetic_participant) -> None:  # type: ignore[no-untyped-def]
    group = str(uuid.uuid4())
    call = call_agent("Viewer").join(GroupCallLocator(group), TEXTURES).result(10)
    synthetic_participant("Bot", tone_hz=None).join(group)
    stream = IncomingStreams(call).next()
    with pytest.raises(InvalidStateError) as err:
        stream.start()
    assert str(err.value) == (
        "frame_kind=TEXTURE needs the engine plugin: call engine_plugin.engine.setup() "
        "before starting the stream"
    )
    assert stream.state is VideoStreamState.AVAILABLE
    call.hang_up().result(10)
