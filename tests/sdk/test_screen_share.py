"""A screen share of a custom size next to a virtual camera, from the same agent."""

from __future__ import annotations

import uuid

import pytest

from engine_plugin import (
    GroupCallLocator,
    IncomingVideoOptions,
    InvalidVideoFormatError,
    JoinCallOptions,
    MediaStreamType,
    OutgoingVideoOptions,
    RawOutgoingVideoStreamOptions,
    ScreenShareOutgoingVideoStream,
    VideoStreamFormat,
    VideoStreamKind,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.media.test_patterns import pattern_frame, psnr
from engine_plugin.testing import PatternSender

from ..conftest import wait_until
from .call_helpers import CallWatcher, PatternRecorder, assert_pattern_frames

# Even (as validate requires) but not multiples of 16: the codec's padding must not show.
SCREEN_W, SCREEN_H = 808, 456
CAMERA_SEED, SCREEN_SEED = 11, 22
SCREEN_FIRST = 1_000_000  # screen-share frame numbers never overlap the camera's


def test_screen_share_sizes_that_validate_accepts_and_refuses() -> None:
    def share(w: int, h: int) -> ScreenShareOutgoingVideoStream:
        fmt = VideoStreamFormat(width=w, height=h, pixel_format=VideoStreamPixelFormat.RGBA)
        return ScreenShareOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))

    for w, h in ((SCREEN_W, SCREEN_H), (1920, 1080), (2, 2)):
        stream = share(w, h)
        assert (stream.format.width, stream.format.height) == (w, h)
        assert stream.kind is VideoStreamKind.SCREEN_SHARE_OUTGOING
        assert stream.state is VideoStreamState.NOT_AVAILABLE
    for (w, h), message in (
        ((809, 456), "width must be an even number from 2 to 1920 (at most 1920x1080); got 809"),
        ((808, 1082), "height must be an even number from 2 to 1080 (at most 1920x1080); got 1082"),
        ((0, 456), "width must be an even number from 2 to 1920 (at most 1920x1080); got 0"),
    ):
        with pytest.raises(InvalidVideoFormatError) as err:
            share(w, h)
        assert str(err.value) == f"formats[0]: a screen share's {message}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sender_joins", ["last", "first"])
def test_screen_share_and_camera_arrive_as_two_distinct_streams(
    sender_joins, service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    """The newcomer offers: joining last, the sender offers; joining first, it answers."""
    group = GroupCallLocator(str(uuid.uuid4()))
    alice, bob = make_agent("Alice"), make_agent("Bob")
    by_type = {
        MediaStreamType.VIDEO: PatternRecorder(seed=CAMERA_SEED),
        MediaStreamType.SCREEN_SHARING: PatternRecorder(seed=SCREEN_SEED),
    }
    watcher = CallWatcher(bob, lambda p, s: by_type[s.media_stream_type].attach(s))
    camera = VirtualOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(
            formats=[
                VideoStreamFormat(
                    resolution=VideoStreamResolution.P360,
                    pixel_format=VideoStreamPixelFormat.RGBA,
                    frames_per_second=30,
                )
            ]
        )
    )
    screen = ScreenShareOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(
            formats=[
                VideoStreamFormat(
                    width=SCREEN_W,
                    height=SCREEN_H,
                    pixel_format=VideoStreamPixelFormat.RGBA,
                    frames_per_second=15,
                )
            ]
        )
    )
    senders = [
        PatternSender(camera, fps=30, seed=CAMERA_SEED),
        PatternSender(screen, fps=15, seed=SCREEN_SEED, first_number=SCREEN_FIRST),
    ]
    try:
        joins = [
            lambda: bob.join(
                group,
                JoinCallOptions(
                    incoming_video_options=IncomingVideoOptions(
                        pixel_format=VideoStreamPixelFormat.RGBA
                    )
                ),
            ).result(10),
            lambda: alice.join(
                group,
                JoinCallOptions(
                    outgoing_video_options=OutgoingVideoOptions(streams=[camera, screen])
                ),
            ).result(10),
        ]
        if sender_joins == "first":
            a, b = joins[1](), joins[0]()
        else:
            b, a = joins[0](), joins[1]()
        wait_until(
            lambda: (
                len(by_type[MediaStreamType.VIDEO].frames()) >= 75
                and len(by_type[MediaStreamType.SCREEN_SHARING].frames()) >= 40
            ),
            timeout=20,
            what="2.5 s of both streams",
        )
    finally:
        for sender in senders:
            sender.stop()
    assert not senders[0].errors and not senders[1].errors
    assert camera.state is VideoStreamState.STARTED and screen.state is VideoStreamState.STARTED
    assert [s.kind for s in a.outgoing_video_streams] == [
        VideoStreamKind.VIRTUAL_OUTGOING,
        VideoStreamKind.SCREEN_SHARE_OUTGOING,
    ]

    alice_at_bob = watcher.participant(b, "Alice").participant
    streams = alice_at_bob.incoming_video_streams
    assert sorted(s.media_stream_type.name for s in streams) == ["SCREEN_SHARING", "VIDEO"]
    sizes = {s.media_stream_type: (s.format.width, s.format.height) for s in streams}
    assert sizes == {
        MediaStreamType.VIDEO: (640, 360),
        MediaStreamType.SCREEN_SHARING: (SCREEN_W, SCREEN_H),
    }
    for s in streams:
        assert s.state is VideoStreamState.STARTED
        assert by_type[s.media_stream_type].states[s.id] == [
            VideoStreamState.AVAILABLE,
            VideoStreamState.STARTED,
        ]
        # Each recorder only ever got frames of its own stream.
        assert {f.stream_id for f in by_type[s.media_stream_type].frames()} == {s.id}

    cam = by_type[MediaStreamType.VIDEO].settled(after_s=1.0)
    scr = by_type[MediaStreamType.SCREEN_SHARING].settled(after_s=1.0)
    assert_pattern_frames(cam, size=(640, 360), min_count=30)
    assert_pattern_frames(scr, size=(SCREEN_W, SCREEN_H), min_count=10)
    assert all(f.number is not None and f.number < SCREEN_FIRST for f in cam)
    assert all(f.number is not None and f.number >= SCREEN_FIRST for f in scr)

    # The pixels tell the streams apart too: the last frame each recorder got
    # matches its own seed's pattern and not the other seed's (same size, number).
    for kind, _frames, own, other in (
        (MediaStreamType.VIDEO, cam, CAMERA_SEED, SCREEN_SEED),
        (MediaStreamType.SCREEN_SHARING, scr, SCREEN_SEED, CAMERA_SEED),
    ):
        image = by_type[kind].last_image
        last = by_type[kind].frames()[-1]
        assert image is not None and last.number is not None
        h, w = image.shape[:2]
        own_score = psnr(image, pattern_frame(w, h, last.number, seed=own)[..., :3])
        other_score = psnr(image, pattern_frame(w, h, last.number, seed=other)[..., :3])
        assert own_score >= 30 and other_score < 20, (kind, own_score, other_score)

    a.hang_up().result(10)
    wait_until(
        lambda: all(s.state is VideoStreamState.NOT_AVAILABLE for s in streams),
        what="both incoming streams end",
    )
    b.hang_up().result(10)
