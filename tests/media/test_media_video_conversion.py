"""to_av_frame / from_av_frame with real PyAV frames: pixels, colours, orientation, strides."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
import pytest

from engine_plugin.media import (
    InvalidVideoFrameError,
    RawVideoFrameBuffer,
    VideoConverter,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    av_pixel_format,
    from_av_frame,
    to_av_frame,
)

PF = VideoStreamPixelFormat
U8 = npt.NDArray[np.uint8]

WIDTH, HEIGHT = 1000, 562  # not multiples of 16
PADDED_STRIDE = 4096
GARBAGE = 0xAB

# quadrant colours (R, G, B): red top left, green top right, blue bottom left, white bottom right
QUADRANTS = {
    "top_left": (255, 0, 0),
    "top_right": (0, 255, 0),
    "bottom_left": (0, 0, 255),
    "bottom_right": (255, 255, 255),
}
CHANNEL_ORDER = {
    PF.RGBA: (0, 1, 2, 3),
    PF.RGBX: (0, 1, 2, 3),
    PF.BGRX: (2, 1, 0, 3),
    PF.BGR24: (2, 1, 0),
}


def _quadrant_image(width: int, height: int) -> U8:
    """RGBA: four solid quadrants with a small gradient strip at the top for texture."""
    img = np.empty((height, width, 4), np.uint8)
    hw, hh = width // 2, height // 2
    img[:hh, :hw, :3] = QUADRANTS["top_left"]
    img[:hh, hw:, :3] = QUADRANTS["top_right"]
    img[hh:, :hw, :3] = QUADRANTS["bottom_left"]
    img[hh:, hw:, :3] = QUADRANTS["bottom_right"]
    img[:, :, 3] = 255
    img[:4, :, 1] = (np.arange(width) % 256).astype(np.uint8)
    return img


def _centres(width: int, height: int) -> dict[str, tuple[int, int]]:
    """(row, column) of the centre of each quadrant."""
    return {
        "top_left": (height // 4, width // 4),
        "top_right": (height // 4, 3 * width // 4),
        "bottom_left": (3 * height // 4, width // 4),
        "bottom_right": (3 * height // 4, 3 * width // 4),
    }


def _expected_yuv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """BT.601 limited-range Y, U, V of an RGB colour (an independent reference)."""
    r, g, b = (c / 255 for c in rgb)
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return y, u, v


def _padded(rows: U8, stride: int) -> U8:
    """Copy ``(n, row_bytes)`` rows into a ``(n, stride)`` buffer whose padding is garbage."""
    out = np.full((rows.shape[0], stride), GARBAGE, np.uint8)
    out[:, : rows.shape[1]] = rows
    return out


def _planes_of(av_frame: av.VideoFrame, fmt: VideoStreamPixelFormat) -> list[U8]:
    """The pixel bytes of each plane of an av frame, without padding (copies)."""
    rows = fmt.plane_heights(av_frame.height)
    row_bytes = fmt.plane_row_bytes(av_frame.width)
    out = []
    for plane, n, rb in zip(av_frame.planes, rows, row_bytes, strict=True):
        arr = np.frombuffer(memoryview(plane), np.uint8)[: n * plane.line_size]
        out.append(arr.reshape(n, plane.line_size)[:, :rb].copy())
    return out


def _source_frame(fmt: VideoStreamPixelFormat, width: int, height: int) -> RawVideoFrameBuffer:
    """A frame of ``fmt`` showing the quadrant image, every plane padded to PADDED_STRIDE."""
    rgba = _quadrant_image(width, height)
    if fmt.is_packed:
        pixels = rgba[:, :, list(CHANNEL_ORDER[fmt])]
        planes = [pixels.reshape(height, -1)]
    else:
        reference = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format=fmt.av_format)
        planes = _planes_of(reference, fmt)
    buffers = [_padded(p, PADDED_STRIDE) for p in planes]
    stream_format = VideoStreamFormat(
        width=width,
        height=height,
        pixel_format=fmt,
        stride1=PADDED_STRIDE,
        stride2=PADDED_STRIDE if fmt.plane_count > 1 else 0,
        stride3=PADDED_STRIDE if fmt.plane_count > 2 else 0,
    )
    return RawVideoFrameBuffer(buffers=buffers, stream_format=stream_format, timestamp_in_ticks=7)


def _unpadded(frame: RawVideoFrameBuffer) -> list[U8]:
    assert frame.stream_format is not None
    return [frame.plane_view(i) for i in range(frame.stream_format.pixel_format.plane_count)]


def _check_colours(frame: RawVideoFrameBuffer, tolerance: int) -> None:
    """Each quadrant centre holds its colour (in the frame's own pixel format)."""
    fmt = frame.stream_format
    assert fmt is not None
    pix = fmt.pixel_format
    for name, (row, col) in _centres(fmt.width, fmt.height).items():
        rgb = QUADRANTS[name]
        if pix.is_packed:
            got = frame.to_ndarray()[row, col].astype(int)
            order = CHANNEL_ORDER[pix]
            for channel, index in enumerate(order[:3]):
                assert abs(got[channel] - rgb[index]) <= tolerance, (name, pix, got, rgb)
            continue
        y, u, v = _expected_yuv(rgb)
        planes = _unpadded(frame)
        got_y = int(planes[0][row, col])
        if pix is PF.I420:
            got_u, got_v = int(planes[1][row // 2, col // 2]), int(planes[2][row // 2, col // 2])
        else:
            got_u = int(planes[1][row // 2, 2 * (col // 2)])
            got_v = int(planes[1][row // 2, 2 * (col // 2) + 1])
        for label, want, got in (("Y", y, got_y), ("U", u, got_u), ("V", v, got_v)):
            assert abs(got - want) <= tolerance, (name, pix, label, got, want)


@pytest.mark.parametrize("fmt", list(PF), ids=lambda f: f.name)
def test_padded_round_trip_is_exact(fmt: VideoStreamPixelFormat) -> None:
    source = _source_frame(fmt, WIDTH, HEIGHT)
    av_frame = to_av_frame(source)
    assert (av_frame.width, av_frame.height, av_frame.format.name) == (
        WIDTH,
        HEIGHT,
        fmt.av_format,
    )
    assert av_frame.pts == 7 and av_frame.time_base == Fraction(1, 10_000_000)
    for got, want in zip(_planes_of(av_frame, fmt), _unpadded(source), strict=True):
        np.testing.assert_array_equal(got, want)

    back = from_av_frame(av_frame, fmt, 42)
    assert back.timestamp_in_ticks == 42
    back.validate()
    assert back.stream_format is not None
    assert back.stream_format.strides == tuple(p.line_size for p in av_frame.planes)
    for buffer, rows, stride in zip(
        back.buffers, back.stream_format.plane_heights, back.stream_format.strides, strict=True
    ):
        assert isinstance(buffer, np.ndarray) and buffer.dtype == np.uint8
        assert buffer.shape == (rows, stride)
    for got, want in zip(_unpadded(back), _unpadded(source), strict=True):
        np.testing.assert_array_equal(got, want)
    _check_colours(back, tolerance=0 if fmt.is_packed else 2)


@pytest.mark.parametrize("fmt", list(PF), ids=lambda f: f.name)
def test_to_rgba_keeps_colours_and_orientation(fmt: VideoStreamPixelFormat) -> None:
    source = _source_frame(fmt, WIDTH, HEIGHT)
    rgba = from_av_frame(to_av_frame(source), PF.RGBA, 0)
    image = rgba.to_ndarray()
    assert image.shape == (HEIGHT, WIDTH, 4)
    if fmt.is_packed:
        want = _quadrant_image(WIDTH, HEIGHT)
        np.testing.assert_array_equal(image[:, :, :3], want[:, :, :3])  # exact
    _check_colours(rgba, tolerance=0 if fmt.is_packed else 3)


@pytest.mark.parametrize("fmt", list(PF), ids=lambda f: f.name)
def test_through_the_encoder_format(fmt: VideoStreamPixelFormat) -> None:
    """Outgoing frame -> yuv420p (what an encoder takes) -> incoming frame of ``fmt``."""
    source = _source_frame(PF.RGBA, WIDTH, HEIGHT)
    yuv = to_av_frame(source).reformat(format="yuv420p")
    received = from_av_frame(yuv, fmt, 0)
    received.validate()
    assert received.stream_format is not None
    assert (received.stream_format.width, received.stream_format.height) == (WIDTH, HEIGHT)
    _check_colours(received, tolerance=3)


@pytest.mark.parametrize("fmt", [PF.I420, PF.NV12, PF.RGBA, PF.BGR24], ids=lambda f: f.name)
@pytest.mark.parametrize("size", [(999, 563), (17, 3), (1, 1)])
def test_odd_sizes(fmt: VideoStreamPixelFormat, size: tuple[int, int]) -> None:
    width, height = size
    rng = np.random.default_rng(width * height)
    rows = fmt.plane_heights(height)
    row_bytes = fmt.plane_row_bytes(width)
    planes = [
        rng.integers(0, 256, (n, rb), dtype=np.uint8) for n, rb in zip(rows, row_bytes, strict=True)
    ]
    stride = max(row_bytes) + 13  # odd padding
    source = RawVideoFrameBuffer(
        buffers=[_padded(p, stride) for p in planes],
        stream_format=VideoStreamFormat(
            width=width,
            height=height,
            pixel_format=fmt,
            stride1=stride,
            stride2=stride,
            stride3=stride,
        ),
    )
    av_frame = to_av_frame(source)
    # FFmpeg's own idea of each plane's size agrees with ours (ceil for odd chroma)
    assert [p.buffer_size // p.line_size for p in av_frame.planes] == list(rows)
    for got, want in zip(_planes_of(av_frame, fmt), planes, strict=True):
        np.testing.assert_array_equal(got, want)
    back = from_av_frame(av_frame, fmt, 0)
    for got, want in zip(_unpadded(back), planes, strict=True):
        np.testing.assert_array_equal(got, want)


def test_buffers_may_skip_the_last_rows_padding() -> None:
    fmt = VideoStreamFormat(width=1000, height=4, stride1=4096)
    data = np.arange(4096 * 3 + 4000, dtype=np.uint32).astype(np.uint8)
    frame = RawVideoFrameBuffer(buffers=[data.tobytes()], stream_format=fmt)
    av_frame = to_av_frame(frame)
    got = _planes_of(av_frame, PF.RGBA)[0]
    np.testing.assert_array_equal(got[3], data[4096 * 3 : 4096 * 3 + 4000])


def test_to_av_frame_validates() -> None:
    frame = RawVideoFrameBuffer(
        buffers=[bytes(10)], stream_format=VideoStreamFormat(width=4, height=4)
    )
    with pytest.raises(InvalidVideoFrameError, match="holds 10 bytes"):
        to_av_frame(frame)


def test_from_av_frame_does_not_alias_the_decoded_frame() -> None:
    decoded = av.VideoFrame.from_ndarray(_quadrant_image(64, 32), format="rgba")
    before = decoded.to_ndarray().copy()
    same = from_av_frame(decoded, PF.RGBA, 0)
    same.buffers[0][:] = 0
    np.testing.assert_array_equal(decoded.to_ndarray(), before)
    converted = from_av_frame(decoded, PF.BGRX, 0)
    converted.buffers[0][:] = 0
    np.testing.assert_array_equal(decoded.to_ndarray(), before)


def test_from_av_frame_survives_the_av_frame() -> None:
    decoded = av.VideoFrame.from_ndarray(_quadrant_image(64, 32), format="rgba")
    frame = from_av_frame(decoded.reformat(format="yuv420p"), PF.RGBA, 0)
    del decoded
    _check_colours(frame, tolerance=3)


def test_converter_reuses_its_context_across_formats_and_sizes() -> None:
    converter = VideoConverter()
    for width, height in ((64, 32), (320, 180), (64, 32)):
        yuv = av.VideoFrame.from_ndarray(_quadrant_image(width, height), format="rgba").reformat(
            format="yuv420p"
        )
        for fmt in PF:
            frame = converter.from_av_frame(yuv, fmt, 1)
            frame.validate()
            _check_colours(frame, tolerance=3)
        assert converter.to_av_frame(frame).format.name == "yuv420p"


def test_from_av_frame_of_other_decoder_formats() -> None:
    """Full-range (yuvj420p) and 4:4:4 input still comes out right."""
    rgba = av.VideoFrame.from_ndarray(_quadrant_image(64, 32), format="rgba")
    for av_format in ("yuvj420p", "yuv444p", "gbrp"):
        frame = from_av_frame(rgba.reformat(format=av_format), PF.RGBA, 0)
        _check_colours(frame, tolerance=4)


def test_av_pixel_format() -> None:
    assert av_pixel_format(av.VideoFrame(2, 2, "nv12")) is PF.NV12
    assert av_pixel_format(av.VideoFrame(2, 2, "bgr0")) is PF.BGRX
    assert av_pixel_format(av.VideoFrame(2, 2, "yuv444p")) is None


def test_from_av_frame_type_check() -> None:
    with pytest.raises(TypeError, match="pixel_format must be a VideoStreamPixelFormat"):
        from_av_frame(av.VideoFrame(2, 2, "rgba"), "rgba", 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [322, 408, 1352, 1362, 1364, 1366])
@pytest.mark.parametrize(
    "pixel_format",
    [VideoStreamPixelFormat.RGBA, VideoStreamPixelFormat.BGRX, VideoStreamPixelFormat.BGR24],
    ids=lambda f: f.name,
)
def test_every_column_is_converted_at_awkward_widths(
    width: int, pixel_format: VideoStreamPixelFormat
) -> None:
    # swscale's fast path left the last 2-8 columns black at such widths.
    grey = np.full((64, width, 4), 200, np.uint8)
    frame = av.VideoFrame.from_ndarray(grey, format="rgba").reformat(format="yuv420p")
    out = from_av_frame(frame, pixel_format, 0)
    bpp = 3 if pixel_format is VideoStreamPixelFormat.BGR24 else 4
    plane = np.asarray(out.buffers[0])[:, : width * bpp].reshape(64, width, bpp)
    assert np.abs(plane[..., :3].astype(int) - 200).max() <= 10
