"""RawVideoFrameBuffer, RawAudioBuffer and plane_array."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from engine_plugin.media import (
    InvalidAudioBufferError,
    InvalidVideoFrameError,
    RawAudioBuffer,
    RawOutgoingAudioStreamProperties,
    RawVideoFrameBuffer,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    plane_array,
)

PF = VideoStreamPixelFormat
RES = VideoStreamResolution


def _frame_error(frame: RawVideoFrameBuffer, expected: VideoStreamFormat | None = None) -> str:
    with pytest.raises(InvalidVideoFrameError) as info:
        frame.validate(expected)
    return str(info.value)


def test_defaults() -> None:
    frame = RawVideoFrameBuffer()
    assert frame.buffers == [] and frame.stream_format is None and frame.timestamp_in_ticks == 0
    assert _frame_error(frame) == (
        "frame.stream_format must be a VideoStreamFormat (e.g. stream_format=stream.format); "
        "got None"
    )


@pytest.mark.parametrize(
    "make",
    [bytes, bytearray, lambda b: memoryview(bytearray(b)), lambda b: np.frombuffer(b, np.uint8)],
    ids=["bytes", "bytearray", "memoryview", "ndarray"],
)
def test_valid_frames_of_every_buffer_type(make: Any) -> None:
    fmt = VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420)
    frame = RawVideoFrameBuffer(
        buffers=[make(bytes(n)) for n in fmt.plane_sizes],
        stream_format=fmt,
        timestamp_in_ticks=123,
    )
    frame.validate()
    frame.validate(VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420, stride1=1024))


def test_numpy_image_shapes_are_fine() -> None:
    fmt = VideoStreamFormat(resolution=RES.P180)
    RawVideoFrameBuffer(buffers=[np.zeros((180, 320, 4), np.uint8)], stream_format=fmt).validate()
    # a (h, w) uint32 array holds the same bytes
    RawVideoFrameBuffer(buffers=[np.zeros((180, 320), np.uint32)], stream_format=fmt).validate()


def test_wrong_plane_count() -> None:
    fmt = VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420)
    assert _frame_error(RawVideoFrameBuffer(buffers=[bytes(230400)], stream_format=fmt)) == (
        "an I420 frame needs 3 buffers (Y, U, V); got 1"
    )
    nv12 = VideoStreamFormat(resolution=RES.P360, pixel_format=PF.NV12)
    assert _frame_error(RawVideoFrameBuffer(buffers=[], stream_format=nv12)) == (
        "an NV12 frame needs 2 buffers (Y, UV); got 0"
    )
    bgrx = VideoStreamFormat(resolution=RES.P360, pixel_format=PF.BGRX)
    assert _frame_error(RawVideoFrameBuffer(buffers=[b"", b""], stream_format=bgrx)) == (
        "a BGRX frame needs 1 buffer; got 2"
    )


def test_wrong_plane_size() -> None:
    fmt = VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420)
    frame = RawVideoFrameBuffer(
        buffers=[bytes(230400), bytes(57600), bytes(100)], stream_format=fmt
    )
    assert _frame_error(frame) == (
        "buffers[2] (V) holds 100 bytes but plane 3 of a 640x360 I420 frame with stride3 320 "
        "needs exactly 57600 bytes"
    )
    padded = VideoStreamFormat(width=1000, height=10, stride1=4096)
    frame = RawVideoFrameBuffer(buffers=[bytes(4096 * 10 + 1)], stream_format=padded)
    assert _frame_error(frame) == (
        "buffers[0] (RGBA) holds 40961 bytes but plane 1 of a 1000x10 RGBA frame with stride1 "
        "4096 needs from 40864 to 40960 bytes (10 rows of stride 4096; the last row's padding "
        "may be left out)"
    )
    # both ends of the range are fine
    for size in (4096 * 9 + 4000, 4096 * 10):
        RawVideoFrameBuffer(buffers=[bytes(size)], stream_format=padded).validate()


def test_not_a_buffer() -> None:
    fmt = VideoStreamFormat(resolution=RES.P180)
    frame = RawVideoFrameBuffer(buffers=["pixels"], stream_format=fmt)
    assert _frame_error(frame) == (
        "buffers[0] (RGBA) is a str, which has no buffer protocol; "
        "use bytes, bytearray, memoryview or a numpy array"
    )


def test_frame_against_the_streams_format() -> None:
    frame = RawVideoFrameBuffer(
        buffers=[bytes(640 * 360 * 4)], stream_format=VideoStreamFormat(resolution=RES.P360)
    )
    assert _frame_error(frame, VideoStreamFormat(resolution=RES.P720)) == (
        "frame is 640x360 RGBA but the stream's current format is 1280x720 RGBA; "
        "send frames of the current format (see format_changed)"
    )
    assert "640x360 I420" in _frame_error(
        frame, VideoStreamFormat(resolution=RES.P360, pixel_format=PF.I420)
    )
    frame.validate(VideoStreamFormat(width=640, height=360, frames_per_second=5))


def test_bad_strides_and_timestamps() -> None:
    frame = RawVideoFrameBuffer(
        buffers=[bytes(640 * 360 * 4)],
        stream_format=VideoStreamFormat(resolution=RES.P360, stride1=100),
    )
    assert _frame_error(frame) == (
        "frame.stream_format: stride1 is 100 bytes but an RGBA row of 640 pixels needs at "
        "least 2560 bytes"
    )
    frame.stream_format = VideoStreamFormat(resolution=RES.P360)
    frame.timestamp_in_ticks = -1
    assert _frame_error(frame) == ("timestamp_in_ticks must be an int >= 0 (100-ns ticks); got -1")
    frame.timestamp_in_ticks = 1.5  # type: ignore[assignment]
    assert "got 1.5" in _frame_error(frame)
    frame.timestamp_in_ticks = 0
    frame.stream_format = VideoStreamFormat()
    assert _frame_error(frame) == (
        "frame.stream_format must have a width and height of at least 1; got 0x0"
    )


def test_plane_array_views() -> None:
    data = bytearray(range(256)) * 4  # 1024 bytes
    rows = plane_array(data, 8, 128)
    assert rows.shape == (8, 128) and rows.dtype == np.uint8
    rows[0, 0] = 99
    assert data[0] == 99  # a view, not a copy
    cropped = plane_array(data, 8, 128, row_bytes=100)
    assert cropped.shape == (8, 100)
    assert np.shares_memory(cropped, rows)
    assert cropped[1, 0] == data[128]

    # last row without its padding: the cropped view still works without a copy
    short = bytes(128 * 7 + 100)
    view = plane_array(short, 8, 128, row_bytes=100)
    assert view.shape == (8, 100) and not view.flags.writeable
    padded = plane_array(short, 8, 128)  # full rows need the padding: zero-filled copy
    assert padded.shape == (8, 128) and padded[7, 100:].sum() == 0

    with pytest.raises(ValueError, match="plane holds 10 bytes but 8 rows of 100 bytes"):
        plane_array(bytes(10), 8, 128, row_bytes=100)
    with pytest.raises(ValueError, match=re.escape("row_bytes must be from 0 to stride (128)")):
        plane_array(bytes(1024), 8, 128, row_bytes=129)

    # numpy arrays of other shapes and dtypes are seen as their bytes
    img = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    flat = plane_array(img, 6, 16)
    assert np.shares_memory(flat, img)
    assert (flat == img.reshape(6, 16)).all()


def test_frame_views() -> None:
    fmt = VideoStreamFormat(width=3, height=2, stride1=16)
    buf = np.arange(32, dtype=np.uint8)
    frame = RawVideoFrameBuffer(buffers=[buf], stream_format=fmt)
    assert frame.plane_view(0).shape == (2, 12)
    pixels = frame.to_ndarray()
    assert pixels.shape == (2, 3, 4)
    assert list(pixels[1, 0]) == [16, 17, 18, 19]
    assert np.shares_memory(pixels, buf)
    i420 = RawVideoFrameBuffer(
        buffers=[bytes(4), bytes(1), bytes(1)],
        stream_format=VideoStreamFormat(width=2, height=2, pixel_format=PF.I420),
    )
    with pytest.raises(ValueError, match="use plane_view"):
        i420.to_ndarray()
    assert repr(i420) == "RawVideoFrameBuffer(2x2 I420, 3 buffer(s), timestamp_in_ticks=0)"


def test_audio_buffer_views() -> None:
    samples = np.array([1, -2, 32767, -32768], dtype=np.int16)
    raw = samples.tobytes()
    buffer = RawAudioBuffer(raw, timestamp_in_ticks=5)
    assert buffer.nbytes == 8
    view = buffer.as_int16()
    assert list(view) == [1, -2, 32767, -32768]
    assert np.shares_memory(view, np.frombuffer(raw, np.uint8))
    assert RawAudioBuffer(samples).as_int16() is not None
    assert np.shares_memory(RawAudioBuffer(samples).as_int16(), samples)
    assert np.shares_memory(RawAudioBuffer(memoryview(raw)).as_int16(), np.frombuffer(raw, "u1"))
    stereo = samples.reshape(2, 2)
    assert RawAudioBuffer(stereo).as_int16().shape == (4,)
    assert RawAudioBuffer().nbytes == 0
    with pytest.raises(InvalidAudioBufferError, match="holds 3 bytes, not a whole number"):
        RawAudioBuffer(b"abc").as_int16()
    assert repr(buffer) == "RawAudioBuffer(8 bytes, timestamp_in_ticks=5)"


def test_audio_buffer_validate() -> None:
    props = RawOutgoingAudioStreamProperties()
    assert RawAudioBuffer(bytes(3840)).validate(props) == 1
    assert RawAudioBuffer(np.zeros(1920 * 5, np.int16)).validate(props) == 5
    with pytest.raises(InvalidAudioBufferError, match=r"expected 3840 bytes .* got 3842"):
        RawAudioBuffer(bytes(3842)).validate(props)
    with pytest.raises(InvalidAudioBufferError, match="audio data is a str"):
        RawAudioBuffer("noise").validate(props)
