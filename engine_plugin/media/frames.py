"""Raw video frames and raw audio buffers.

A plane (video) or ``data`` (audio) is any object with the buffer protocol:
``bytes``, ``bytearray``, ``memoryview``, a numpy array, an ``av`` plane.
Nothing here copies unless it has to: :func:`plane_array` and
:meth:`RawAudioBuffer.as_int16` return numpy views of the caller's memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .audio_format import (
    InvalidAudioBufferError,
    RawOutgoingAudioStreamProperties,
    check_outgoing_buffer_size,
)
from .video_format import (
    InvalidVideoFormatError,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    with_article,
)

__all__ = [
    "TICKS_PER_SECOND",
    "InvalidVideoFrameError",
    "RawAudioBuffer",
    "RawVideoFrameBuffer",
    "plane_array",
]

#: ``timestamp_in_ticks`` counts 100-nanosecond ticks.
TICKS_PER_SECOND = 10_000_000

_INT16_LE = np.dtype("<i2")


class InvalidVideoFrameError(ValueError):
    """A :class:`RawVideoFrameBuffer` that does not match its format; the message says why."""


def _flat_bytes(obj: Any) -> npt.NDArray[np.uint8]:
    """A 1-D uint8 view of the bytes of a buffer-protocol object (copy only if not contiguous).

    Raises ``TypeError`` if ``obj`` has no buffer protocol.
    """
    if isinstance(obj, np.ndarray):
        arr = obj if obj.flags.c_contiguous else np.ascontiguousarray(obj)
        return arr.reshape(-1).view(np.uint8)
    view = memoryview(obj)  # TypeError when obj has no buffer protocol
    if not view.c_contiguous:
        return np.ascontiguousarray(np.asarray(view)).reshape(-1).view(np.uint8)
    return np.frombuffer(view, dtype=np.uint8)


def _nbytes(obj: Any) -> int:
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    return memoryview(obj).nbytes


def plane_array(
    plane: Any, rows: int, stride: int, *, row_bytes: int | None = None
) -> npt.NDArray[np.uint8]:
    """A 2-D uint8 array over the bytes of one plane, without copying where possible.

    Args:
        plane: any buffer-protocol object (bytes, bytearray, memoryview, numpy
            array of any shape and dtype, an ``av`` plane). A non-contiguous
            numpy array is copied first.
        rows: number of rows of the plane.
        stride: bytes from the start of one row to the start of the next.
        row_bytes: if given, the result is ``(rows, row_bytes)``: the pixel
            bytes of each row without its padding. That view never copies and
            only needs ``stride * (rows - 1) + row_bytes`` bytes (the last
            row's padding may be missing).

    Returns:
        ``(rows, stride)`` (padding included) or ``(rows, row_bytes)``. The
        view is read-only when the plane is (``bytes``). When the plane is
        shorter than ``rows * stride`` bytes and ``row_bytes`` is not given,
        the missing padding is zero-filled in a copy.

    Raises:
        ValueError: if the plane is too small for that many rows.
        TypeError: if ``plane`` has no buffer protocol.
    """
    if rows < 0 or stride < 0:
        raise ValueError(f"rows and stride must not be negative; got rows={rows}, stride={stride}")
    flat = _flat_bytes(plane)
    size = flat.size
    if row_bytes is not None:
        if not 0 <= row_bytes <= stride:
            raise ValueError(f"row_bytes must be from 0 to stride ({stride}); got {row_bytes}")
        need = stride * (rows - 1) + row_bytes if rows else 0
        if size < need:
            raise ValueError(
                f"plane holds {size} bytes but {rows} rows of {row_bytes} bytes "
                f"with stride {stride} need at least {need}"
            )
        if rows == 0:
            return flat[:0].reshape(0, row_bytes)
        return np.lib.stride_tricks.as_strided(
            flat,
            shape=(rows, row_bytes),
            strides=(stride, 1),
            writeable=flat.flags.writeable,
        )
    need = rows * stride
    if size >= need:
        return flat[:need].reshape(rows, stride)
    minimum = stride * (rows - 1) + 1 if rows else 0
    if size < minimum:
        raise ValueError(f"plane holds {size} bytes, too few for {rows} rows with stride {stride}")
    padded = np.zeros((rows, stride), dtype=np.uint8)
    padded.reshape(-1)[:size] = flat
    return padded


class RawVideoFrameBuffer:
    """One raw video frame held in memory buffers, one per plane.

    ``RawVideoFrameBuffer(buffers=[rgba], stream_format=stream.format,
    timestamp_in_ticks=ticks)``

    Attributes:
        buffers: list of planes (RGBA/RGBX/BGRX/BGR24: 1, NV12: 2 (Y, UV),
            I420: 3 (Y, U, V)), each any buffer-protocol object. Row ``r`` of
            plane ``i`` starts at byte ``r * strides[i]``. Frames produced by
            this package (received frames) hold 2-D ``(rows, stride)`` uint8
            numpy arrays.
        stream_format: the :class:`VideoStreamFormat` of this frame (width,
            height, pixel format and strides).
        timestamp_in_ticks: capture time in 100-ns ticks (10 000 000 per second).
    """

    def __init__(
        self,
        buffers: list[Any] | None = None,
        stream_format: VideoStreamFormat | None = None,
        timestamp_in_ticks: int = 0,
    ) -> None:
        self.buffers: list[Any] = list(buffers) if buffers is not None else []
        self.stream_format = stream_format
        self.timestamp_in_ticks = timestamp_in_ticks

    def validate(self, expected_format: VideoStreamFormat | None = None) -> None:
        """Check that the buffers match ``stream_format`` (and the stream's format).

        Args:
            expected_format: the stream's current format; when given, the
                frame's width, height and pixel format must match it (its
                strides may differ).

        Raises:
            InvalidVideoFrameError: with a message saying what was expected.
        """
        fmt = self.stream_format
        if not isinstance(fmt, VideoStreamFormat):
            raise InvalidVideoFrameError(
                "frame.stream_format must be a VideoStreamFormat "
                f"(e.g. stream_format=stream.format); got {fmt!r}"
            )
        if not isinstance(fmt.pixel_format, VideoStreamPixelFormat):
            raise InvalidVideoFrameError(
                f"frame.stream_format.pixel_format must be a VideoStreamPixelFormat; "
                f"got {fmt.pixel_format!r}"
            )
        if not (isinstance(self.timestamp_in_ticks, int) and self.timestamp_in_ticks >= 0) or (
            isinstance(self.timestamp_in_ticks, bool)
        ):
            raise InvalidVideoFrameError(
                "timestamp_in_ticks must be an int >= 0 (100-ns ticks); "
                f"got {self.timestamp_in_ticks!r}"
            )
        width, height = fmt.width, fmt.height
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            raise InvalidVideoFrameError(
                f"frame.stream_format must have a width and height of at least 1; "
                f"got {width!r}x{height!r}"
            )
        if expected_format is not None and not fmt.same_frame_layout(expected_format):
            raise InvalidVideoFrameError(
                f"frame is {fmt.size_text} but the stream's current format is "
                f"{expected_format.size_text}; send frames of the current format "
                "(see format_changed)"
            )
        try:
            fmt.check_strides()
        except InvalidVideoFormatError as exc:
            raise InvalidVideoFrameError(f"frame.stream_format: {exc}") from None
        pix = fmt.pixel_format
        names = pix.plane_names
        count = pix.plane_count
        buffers = self.buffers
        if not isinstance(buffers, list | tuple):
            raise InvalidVideoFrameError(
                f"frame.buffers must be a list of {count} plane(s); got {type(buffers).__name__}"
            )
        if len(buffers) != count:
            planes = f" ({', '.join(names)})" if count > 1 else ""
            raise InvalidVideoFrameError(
                f"{with_article(pix.name)} frame needs {count} buffer{'s' if count > 1 else ''}"
                f"{planes}; got {len(buffers)}"
            )
        for index, (plane, stride, rows, row) in enumerate(
            zip(buffers, fmt.strides, fmt.plane_heights, fmt.plane_row_bytes, strict=True)
        ):
            try:
                nbytes = _nbytes(plane)
            except TypeError:
                raise InvalidVideoFrameError(
                    f"buffers[{index}] ({names[index]}) is a {type(plane).__name__}, which has "
                    "no buffer protocol; use bytes, bytearray, memoryview or a numpy array"
                ) from None
            least = stride * (rows - 1) + row
            most = stride * rows
            if not least <= nbytes <= most:
                if least == most:
                    needed = f"exactly {most} bytes"
                else:
                    needed = (
                        f"from {least} to {most} bytes ({rows} rows of stride {stride}; "
                        "the last row's padding may be left out)"
                    )
                raise InvalidVideoFrameError(
                    f"buffers[{index}] ({names[index]}) holds {nbytes} bytes but plane "
                    f"{index + 1} of a {width}x{height} {pix.name} frame with "
                    f"stride{index + 1} {stride} needs {needed}"
                )

    def plane_view(self, index: int) -> npt.NDArray[np.uint8]:
        """A ``(rows, row_bytes)`` uint8 view of plane ``index`` with the padding cut off.

        Requires :attr:`stream_format`; does not copy.
        """
        fmt = self._format()
        return plane_array(
            self.buffers[index],
            fmt.plane_heights[index],
            fmt.strides[index],
            row_bytes=fmt.plane_row_bytes[index],
        )

    def to_ndarray(self) -> npt.NDArray[np.uint8]:
        """A ``(height, width, bytes_per_pixel)`` uint8 view of a packed (RGB) frame.

        Channels are in memory order (RGBA: R, G, B, A; BGRX: B, G, R, X).
        Row 0 is the top of the image. Does not copy. For NV12 and I420 use
        :meth:`plane_view`.
        """
        fmt = self._format()
        pix = fmt.pixel_format
        if not pix.is_packed:
            raise ValueError(
                f"to_ndarray() needs a packed RGB format; {pix.name} has "
                f"{pix.plane_count} planes: use plane_view(i)"
            )
        rows = self.plane_view(0)
        return rows.reshape(fmt.height, fmt.width, pix.bytes_per_pixel)

    def _format(self) -> VideoStreamFormat:
        if self.stream_format is None:
            raise ValueError("frame.stream_format is not set")
        return self.stream_format

    def __repr__(self) -> str:
        fmt = self.stream_format
        what = fmt.size_text if fmt is not None else "no format"
        return (
            f"RawVideoFrameBuffer({what}, {len(self.buffers)} buffer(s), "
            f"timestamp_in_ticks={self.timestamp_in_ticks})"
        )


class RawAudioBuffer:
    """One buffer of raw audio: interleaved signed 16-bit little-endian PCM.

    ``RawAudioBuffer(data, timestamp_in_ticks=ticks)``

    Attributes:
        data: any buffer-protocol object (bytes, bytearray, memoryview, numpy
            int16 array) holding the samples.
        timestamp_in_ticks: capture time in 100-ns ticks.
    """

    def __init__(self, data: Any = b"", timestamp_in_ticks: int = 0) -> None:
        self.data = data
        self.timestamp_in_ticks = timestamp_in_ticks

    @property
    def nbytes(self) -> int:
        """Bytes of audio in :attr:`data`."""
        return _nbytes(self.data)

    def as_int16(self) -> npt.NDArray[np.int16]:
        """The samples as a 1-D interleaved int16 array (a view of ``data`` when possible).

        Raises:
            InvalidAudioBufferError: if ``data`` does not hold a whole number
                of 16-bit samples.
        """
        data = self.data
        if isinstance(data, np.ndarray) and data.dtype == _INT16_LE and data.flags.c_contiguous:
            return data.reshape(-1)
        flat = _flat_bytes(data)
        if flat.size % 2:
            raise InvalidAudioBufferError(
                f"audio data holds {flat.size} bytes, not a whole number of 16-bit samples"
            )
        return flat.view(_INT16_LE)

    def validate(self, properties: RawOutgoingAudioStreamProperties) -> int:
        """Check the size against an outgoing stream's properties.

        Returns:
            How many ``buffer_duration`` periods the buffer holds (1 to 100 ms worth).

        Raises:
            InvalidAudioBufferError: see :func:`check_outgoing_buffer_size`.
        """
        try:
            nbytes = self.nbytes
        except TypeError:
            raise InvalidAudioBufferError(
                f"audio data is a {type(self.data).__name__}, which has no buffer protocol; "
                "use bytes, bytearray, memoryview or a numpy int16 array"
            ) from None
        return check_outgoing_buffer_size(nbytes, properties)

    def __repr__(self) -> str:
        try:
            size = f"{self.nbytes} bytes"
        except TypeError:
            size = repr(self.data)
        return f"RawAudioBuffer({size}, timestamp_in_ticks={self.timestamp_in_ticks})"
