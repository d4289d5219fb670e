"""VideoStreamPixelFormat, VideoStreamResolution, VideoStreamFormat and validate_formats."""

from __future__ import annotations

import re

import pytest

from engine_plugin.media import (
    InvalidVideoFormatError,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    validate_formats,
)

PF = VideoStreamPixelFormat
RES = VideoStreamResolution


def test_pixel_format_geometry() -> None:
    assert [f.plane_count for f in PF] == [1, 1, 1, 1, 2, 3]
    assert [f.av_format for f in PF] == ["bgr0", "bgr24", "rgb0", "rgba", "nv12", "yuv420p"]
    assert [PF.BGRX.bytes_per_pixel, PF.BGR24.bytes_per_pixel, PF.RGBA.bytes_per_pixel] == [
        4,
        3,
        4,
    ]
    with pytest.raises(ValueError, match="I420 is a planar format"):
        _ = PF.I420.bytes_per_pixel
    assert PF.RGBA.min_strides(640) == (2560,)
    assert PF.RGBX.min_strides(640) == (2560,)
    assert PF.BGRX.min_strides(640) == (2560,)
    assert PF.BGR24.min_strides(640) == (1920,)
    assert PF.NV12.min_strides(640) == (640, 640)
    assert PF.I420.min_strides(640) == (640, 320, 320)
    assert PF.I420.min_strides(641) == (641, 321, 321)
    assert PF.NV12.min_strides(641) == (641, 642)  # 321 U,V pairs
    assert PF.NV12.plane_heights(361) == (361, 181)
    assert PF.I420.plane_heights(360) == (360, 180, 180)
    assert PF.I420.plane_heights(361) == (361, 181, 181)
    assert PF.RGBA.plane_heights(360) == (360,)
    assert PF.I420.plane_row_bytes(1000) == PF.I420.min_strides(1000)


def test_resolutions_table() -> None:
    table = {
        RES.UNKNOWN: (0, 0, 0),
        RES.P1080: (1920, 1080, 30),
        RES.P720: (1280, 720, 30),
        RES.P540: (960, 540, 30),
        RES.P480: (854, 480, 30),
        RES.P360: (640, 360, 30),
        RES.P270: (480, 270, 15),
        RES.P240: (426, 240, 15),
        RES.P180: (320, 180, 15),
        RES.VGA: (640, 480, 30),
        RES.P424X320: (424, 320, 15),
        RES.QVGA: (320, 240, 15),
        RES.P212X160: (212, 160, 15),
    }
    assert list(RES) == list(table)
    for member, (w, h, fps) in table.items():
        assert (member.width, member.height, member.max_frames_per_second) == (w, h, fps)
        assert w % 2 == 0 and h % 2 == 0
    assert RES.from_size(640, 360) is RES.P360
    assert RES.from_size(641, 360) is RES.UNKNOWN


def test_format_defaults_and_sizes() -> None:
    fmt = VideoStreamFormat(resolution=RES.P720)
    assert (fmt.width, fmt.height) == (1280, 720)
    assert fmt.pixel_format is PF.RGBA
    assert fmt.frames_per_second == 30
    assert fmt.strides == (5120,)
    assert fmt.plane_sizes == (5120 * 720,)
    assert fmt.buffer_size == 5120 * 720
    fmt.validate("virtual")

    i420 = VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420, stride1=704)
    assert i420.strides == (704, 320, 320)
    assert i420.plane_sizes == (704 * 360, 320 * 180, 320 * 180)
    assert i420.buffer_size == sum(i420.plane_sizes)

    nv12 = VideoStreamFormat(width=1000, height=562, pixel_format=PF.NV12, stride2=1024)
    assert nv12.strides == (1000, 1024)
    assert nv12.plane_sizes == (1000 * 562, 1024 * 281)
    nv12.validate("screen_share")

    # strides of planes the format does not have are ignored
    rgba = VideoStreamFormat(resolution=RES.P360, stride2=5, stride3=7)
    assert rgba.strides == (2560,)
    rgba.validate("virtual")


def test_resolution_drives_size_when_mutated() -> None:
    fmt = VideoStreamFormat(resolution=RES.P720)
    fmt.resolution = RES.P360
    assert (fmt.width, fmt.height) == (640, 360)
    fmt.validate("virtual")


def test_copy_eq_repr_with() -> None:
    fmt = VideoStreamFormat(resolution=RES.P540, pixel_format=PF.NV12, frames_per_second=24)
    twin = fmt.copy()
    assert twin == fmt and twin is not fmt
    twin.frames_per_second = 25
    assert twin != fmt
    assert fmt.with_(stride1=1024).strides == (1024, 960)
    assert fmt.strides == (960, 960)
    with pytest.raises(TypeError, match="no field 'fps'"):
        fmt.with_(fps=3)
    assert repr(fmt) == (
        "VideoStreamFormat(resolution=VideoStreamResolution.P540, width=960, height=540, "
        "pixel_format=VideoStreamPixelFormat.NV12, frames_per_second=24)"
    )
    # width given as the resolution's own width is the same format
    assert VideoStreamFormat(resolution=RES.P360, width=640) == VideoStreamFormat(
        resolution=RES.P360
    )
    with pytest.raises(TypeError):
        hash(fmt)


def _error(fmt: VideoStreamFormat, kind: str) -> str:
    with pytest.raises(InvalidVideoFormatError) as info:
        fmt.validate(kind)
    return str(info.value)


def test_fps_errors() -> None:
    assert _error(VideoStreamFormat(resolution=RES.P360, frames_per_second=31), "virtual") == (
        "frames_per_second must be from 1 to 30 (at most 30 at P360); got 31"
    )
    assert _error(VideoStreamFormat(resolution=RES.P180, frames_per_second=30), "virtual") == (
        "frames_per_second must be from 1 to 15 (at most 15 at P180); got 30"
    )
    assert _error(VideoStreamFormat(resolution=RES.P720, frames_per_second=0), "virtual") == (
        "frames_per_second must be from 1 to 30 (at most 30 at P720); got 0"
    )
    assert (
        _error(VideoStreamFormat(width=1280, height=720, frames_per_second=60), "screen_share")
        == "frames_per_second must be from 1 to 30 (at most 30 for a screen share); got 60"
    )
    assert "frames_per_second must be a number; got '30'" in _error(
        VideoStreamFormat(resolution=RES.P720, frames_per_second="30"),  # type: ignore[arg-type]
        "virtual",
    )
    VideoStreamFormat(resolution=RES.P180, frames_per_second=15).validate("virtual")
    VideoStreamFormat(resolution=RES.P720, frames_per_second=29.97).validate("virtual")


def test_stride_errors() -> None:
    assert _error(VideoStreamFormat(resolution=RES.P360, stride1=2000), "virtual") == (
        "stride1 is 2000 bytes but an RGBA row of 640 pixels needs at least 2560 bytes"
    )
    assert (
        _error(
            VideoStreamFormat(resolution=RES.P360, pixel_format=PF.BGR24, stride1=1919), "virtual"
        )
        == "stride1 is 1919 bytes but a BGR24 row of 640 pixels needs at least 1920 bytes"
    )
    assert (
        _error(VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420, stride3=300), "virtual")
        == "stride3 is 300 bytes but an I420 V row (frame 640 pixels wide) needs at least 320 bytes"
    )
    assert (
        _error(VideoStreamFormat(resolution=RES.P360, pixel_format=PF.NV12, stride2=639), "virtual")
        == "stride2 is 639 bytes but an NV12 UV row (frame 640 pixels wide) needs at least "
        "640 bytes"
    )
    assert _error(VideoStreamFormat(resolution=RES.P360, stride1=-4), "virtual") == (
        "stride1 must be 0 (the minimum) or at least 2560 bytes; got -4"
    )
    # exactly the row size, and bigger, are fine
    VideoStreamFormat(resolution=RES.P360, stride1=2560).validate("virtual")
    VideoStreamFormat(resolution=RES.P360, stride1=4096).validate("virtual")


def test_virtual_needs_resolution() -> None:
    message = _error(VideoStreamFormat(width=640, height=360), "virtual")
    assert message.startswith("a virtual outgoing stream needs a resolution (one of P1080, ")
    assert "got UNKNOWN with width/height 640x360" in message
    assert _error(VideoStreamFormat(resolution=RES.P720, width=1000), "virtual") == (
        "width 1000 does not match resolution P720 (1280x720); leave width at 0 or set it to 1280"
    )
    assert "height 700 does not match resolution P720" in _error(
        VideoStreamFormat(resolution=RES.P720, height=700), "virtual"
    )


def test_screen_share_sizes() -> None:
    VideoStreamFormat(width=1920, height=1080).validate("screen_share")
    VideoStreamFormat(width=2, height=2, pixel_format=PF.I420).validate("screen_share")
    VideoStreamFormat(width=1366, height=768, pixel_format=PF.BGRX).validate("screen_share")
    assert _error(VideoStreamFormat(width=2560, height=1080), "screen_share") == (
        "a screen share's width must be an even number from 2 to 1920 (at most 1920x1080); got 2560"
    )
    assert _error(VideoStreamFormat(width=1920, height=1200), "screen_share") == (
        "a screen share's height must be an even number from 2 to 1080 "
        "(at most 1920x1080); got 1200"
    )
    assert _error(VideoStreamFormat(width=1001, height=500), "screen_share").endswith("got 1001")
    assert _error(VideoStreamFormat(width=1000, height=501), "screen_share").endswith("got 501")
    assert "width must be an even number" in _error(VideoStreamFormat(), "screen_share")


def test_type_errors() -> None:
    assert _error(
        VideoStreamFormat(resolution=RES.P360, pixel_format="rgba"),  # type: ignore[arg-type]
        "virtual",
    ).startswith("pixel_format must be a VideoStreamPixelFormat (BGRX, BGR24, ")
    assert (
        _error(
            VideoStreamFormat(resolution="720p"),  # type: ignore[arg-type]
            "virtual",
        )
        == "resolution must be a VideoStreamResolution; got '720p'"
    )
    assert _error(VideoStreamFormat(resolution=RES.P360, stride1=2560.0), "virtual") == (  # type: ignore[arg-type]
        "stride1 must be an int (bytes per row, 0 for the minimum); got 2560.0"
    )
    with pytest.raises(ValueError, match="kind must be one of 'virtual', 'screen_share'"):
        VideoStreamFormat(resolution=RES.P360).validate("camera")


def test_validate_formats() -> None:
    good = [
        VideoStreamFormat(resolution=RES.P720),
        VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420),
    ]
    checked = validate_formats(good, "virtual")
    assert checked == good
    assert all(a is not b for a, b in zip(checked, good, strict=True))
    good[0].frames_per_second = 10
    assert checked[0].frames_per_second == 30  # copies

    with pytest.raises(InvalidVideoFormatError) as info:
        validate_formats([], "virtual")
    assert str(info.value) == (
        "at least one VideoStreamFormat expected in formats; got an empty list"
    )
    with pytest.raises(InvalidVideoFormatError) as info:
        validate_formats(
            [
                VideoStreamFormat(resolution=RES.P720),
                VideoStreamFormat(resolution=RES.P360, stride1=100),
            ],
            "virtual",
        )
    assert str(info.value) == (
        "formats[1]: stride1 is 100 bytes but an RGBA row of 640 pixels needs at least 2560 bytes"
    )
    with pytest.raises(InvalidVideoFormatError, match=re.escape("formats[0] must be a Video")):
        validate_formats([{"resolution": RES.P720}], "virtual")  # type: ignore[list-item]
    with pytest.raises(InvalidVideoFormatError, match="wrap it in a list"):
        validate_formats(VideoStreamFormat(resolution=RES.P720), "virtual")  # type: ignore[arg-type]
    with pytest.raises(InvalidVideoFormatError, match="formats\\[0\\]: a screen share's width"):
        validate_formats([VideoStreamFormat(width=4000, height=100)], "screen_share")
