"""Conversions between :class:`RawVideoFrameBuffer` and ``av.VideoFrame``.

Outgoing: :func:`to_av_frame` copies a raw frame (any strides, padded rows,
odd sizes) once into a fresh ``av.VideoFrame`` of the same pixel format; the
encoder converts it to YUV itself.

Incoming: :func:`from_av_frame` converts a decoded frame to the pixel format
the app asked for with swscale and hands out its planes as numpy arrays.

All pixel work is done by numpy slicing (whole-plane copies) and swscale;
nothing loops over pixels in Python. Colours follow FFmpeg's conventions:
row 0 is the top of the image, RGBA/RGBX bytes are R, G, B, (A/X), BGRX/BGR24
bytes are B, G, R, (X); YUV <-> RGB uses the frame's colorspace and range
(BT.601 limited range when the frame does not say).
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation, VideoReformatter

from .frames import TICKS_PER_SECOND, RawVideoFrameBuffer, plane_array
from .video_format import VideoStreamFormat, VideoStreamPixelFormat

__all__ = [
    "TICKS_TIME_BASE",
    "VideoConverter",
    "av_pixel_format",
    "from_av_frame",
    "to_av_frame",
]

#: The time base of ``timestamp_in_ticks`` (100 ns), used as the pts time base.
TICKS_TIME_BASE = Fraction(1, TICKS_PER_SECOND)

_BY_AV_FORMAT = {fmt.av_format: fmt for fmt in VideoStreamPixelFormat}


def _plane_rows(plane: av.video.plane.VideoPlane, rows: int) -> npt.NDArray[np.uint8]:
    """A ``(rows, line_size)`` uint8 view of an ``av`` video plane's memory."""
    line = plane.line_size
    return np.frombuffer(memoryview(plane), dtype=np.uint8)[: rows * line].reshape(rows, line)


class VideoConverter:
    """Converts frames for one stream, reusing one swscale context.

    Not thread-safe: use one converter per stream (per thread). The module
    functions :func:`to_av_frame` and :func:`from_av_frame` are thread-safe
    and do the same with a fresh context each call.

    Args:
        threads: swscale worker threads per conversion (``1``: none, ``0``:
            one per CPU). Default 1: on a 2-core machine the encoder and
            decoder need the other core more than swscale does.
    """

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads
        self._reformatter = VideoReformatter()

    def to_av_frame(self, frame: RawVideoFrameBuffer) -> av.VideoFrame:
        """See :func:`to_av_frame`."""
        return to_av_frame(frame)

    def from_av_frame(
        self,
        av_frame: av.VideoFrame,
        pixel_format: VideoStreamPixelFormat,
        timestamp_in_ticks: int,
    ) -> RawVideoFrameBuffer:
        """See :func:`from_av_frame`."""
        return _from_av_frame(
            av_frame, pixel_format, timestamp_in_ticks, self._reformatter, self.threads
        )


def to_av_frame(frame: RawVideoFrameBuffer) -> av.VideoFrame:
    """Copy a raw frame into a fresh ``av.VideoFrame`` of the same pixel format.

    Strides and padding are honoured (rows may be wider than the pixels, the
    last row's padding may be missing); odd widths and heights get
    ``ceil(n/2)`` chroma samples. The frame is validated first. The result's
    ``pts`` is ``timestamp_in_ticks`` with a time base of 1/10 000 000 s.

    Raises:
        InvalidVideoFrameError: if the frame does not match its ``stream_format``.
    """
    frame.validate()
    fmt = frame.stream_format
    assert fmt is not None  # validate() checked it
    pix = fmt.pixel_format
    out = av.VideoFrame(fmt.width, fmt.height, pix.av_format)
    for plane, dst_plane, rows, stride, row in zip(
        frame.buffers,
        out.planes,
        fmt.plane_heights,
        fmt.strides,
        fmt.plane_row_bytes,
        strict=True,
    ):
        src = plane_array(plane, rows, stride, row_bytes=row)
        _plane_rows(dst_plane, rows)[:, :row] = src
    out.pts = frame.timestamp_in_ticks
    out.time_base = TICKS_TIME_BASE
    return out


def from_av_frame(
    av_frame: av.VideoFrame,
    pixel_format: VideoStreamPixelFormat,
    timestamp_in_ticks: int,
) -> RawVideoFrameBuffer:
    """Turn a decoded ``av.VideoFrame`` into a :class:`RawVideoFrameBuffer` of ``pixel_format``.

    The frame is converted with swscale when its format differs. The
    result's ``buffers`` are 2-D ``(rows, stride)`` uint8 numpy arrays, one
    per plane (padding included; :meth:`RawVideoFrameBuffer.plane_view` and
    :meth:`RawVideoFrameBuffer.to_ndarray` cut it off), and its
    ``stream_format`` has the frame's width, height, ``pixel_format`` and
    ``stride1..3`` equal to the planes' line sizes (resolution ``UNKNOWN``).
    The arrays never share memory with ``av_frame``: converted planes are
    views of swscale's fresh output, otherwise the planes are copied.
    """
    return _from_av_frame(av_frame, pixel_format, timestamp_in_ticks, VideoReformatter(), 1)


def _from_av_frame(
    av_frame: av.VideoFrame,
    pixel_format: VideoStreamPixelFormat,
    timestamp_in_ticks: int,
    reformatter: VideoReformatter,
    threads: int,
) -> RawVideoFrameBuffer:
    if not isinstance(pixel_format, VideoStreamPixelFormat):
        raise TypeError(f"pixel_format must be a VideoStreamPixelFormat; got {pixel_format!r}")
    target = pixel_format.av_format
    source = av_frame
    if av_frame.format.name != target:
        interpolation = None
        if av_frame.width % 16 and pixel_format.plane_count == 1:
            # swscale's fast YUV -> packed RGB path leaves the last columns unwritten
            # at some widths that are not a multiple of 16 (322, 408, 1352, 1364...).
            interpolation = Interpolation.BILINEAR | Interpolation.ACCURATE_RND
        source = reformatter.reformat(
            av_frame, format=target, threads=threads, interpolation=interpolation
        )
    owned = source is not av_frame
    width, height = source.width, source.height
    heights = pixel_format.plane_heights(height)
    buffers: list[npt.NDArray[np.uint8]] = []
    strides: list[int] = []
    for plane, rows in zip(source.planes, heights, strict=True):
        if plane.line_size <= 0:
            raise ValueError(
                f"av frame plane has line size {plane.line_size}; bottom-up frames "
                "(negative line sizes) are not supported"
            )
        view = _plane_rows(plane, rows)
        buffers.append(view if owned else view.copy())
        strides.append(plane.line_size)
    strides += [0] * (3 - len(strides))
    stream_format = VideoStreamFormat(
        width=width,
        height=height,
        pixel_format=pixel_format,
        stride1=strides[0],
        stride2=strides[1],
        stride3=strides[2],
    )
    return RawVideoFrameBuffer(
        buffers=list(buffers),
        stream_format=stream_format,
        timestamp_in_ticks=timestamp_in_ticks,
    )


def av_pixel_format(av_frame: av.VideoFrame) -> VideoStreamPixelFormat | None:
    """The :class:`VideoStreamPixelFormat` of an ``av`` frame, or None if it has none."""
    return _BY_AV_FORMAT.get(av_frame.format.name)
