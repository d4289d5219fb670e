"""Video stream formats: pixel formats, resolutions and ``VideoStreamFormat``.

These mirror the commercial SDK's ``VideoStreamPixelFormat``,
``VideoStreamResolution`` and ``VideoStreamFormat``. Every check raises
:class:`InvalidVideoFormatError` with a message that states what was expected
and what was given, because a silently dropped format is the SDK's most common
complaint.

Plane geometry (rows and bytes per row) for each pixel format:

=========  ======  ================================  ==============================
format     planes  bytes per row (minimum stride)    rows
=========  ======  ================================  ==============================
RGBA/RGBX  1       width * 4                         height
BGRX       1       width * 4                         height
BGR24      1       width * 3                         height
NV12       2       Y: width; UV: 2 * ceil(width/2)   Y: height; UV: ceil(height/2)
I420       3       Y: width; U, V: ceil(width/2)     Y: height; U, V: ceil(height/2)
=========  ======  ================================  ==============================
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

__all__ = [
    "InvalidVideoFormatError",
    "VideoStreamFormat",
    "VideoStreamPixelFormat",
    "VideoStreamResolution",
    "validate_formats",
]

#: The largest frame a screen-share stream may carry.
SCREEN_SHARE_MAX_WIDTH = 1920
SCREEN_SHARE_MAX_HEIGHT = 1080
#: The highest frame rate any outgoing stream may ask for.
MAX_FRAMES_PER_SECOND = 30

_KINDS = ("virtual", "screen_share")


class InvalidVideoFormatError(ValueError):
    """A :class:`VideoStreamFormat` (or a list of them) that cannot be used.

    The message says what was expected and what was given.
    """


def with_article(word: str) -> str:
    """``"an RGBA"``, ``"a BGRX"``: the word with the article its spelt-out name takes."""
    return ("an " if word[:1] in "AEFHILMNORSX" else "a ") + word


def _half_up(n: int) -> int:
    """``ceil(n / 2)`` for non-negative integers."""
    return (n + 1) // 2


class VideoStreamPixelFormat(enum.Enum):
    """The memory layout of a raw video frame.

    Packed formats (one plane): ``BGRX``, ``BGR24``, ``RGBX``, ``RGBA``
    (bytes in memory in the order of the name; X is an ignored byte).
    Planar YUV 4:2:0 formats: ``NV12`` (a Y plane and one interleaved UV
    plane) and ``I420`` (Y, U and V planes).
    """

    BGRX = "bgrx"
    BGR24 = "bgr24"
    RGBX = "rgbx"
    RGBA = "rgba"
    NV12 = "nv12"
    I420 = "i420"

    @property
    def plane_count(self) -> int:
        """How many buffers (planes) a frame of this format has."""
        return _PLANE_COUNT[self]

    @property
    def av_format(self) -> str:
        """The FFmpeg/PyAV pixel format name (``av.VideoFrame(w, h, av_format)``)."""
        return _AV_FORMAT[self]

    @property
    def is_packed(self) -> bool:
        """True for the single-plane RGB formats."""
        return self.plane_count == 1

    @property
    def bytes_per_pixel(self) -> int:
        """Bytes per pixel of a packed format (4, or 3 for ``BGR24``).

        Raises ``ValueError`` for the planar YUV formats, whose planes have
        different sizes: use :meth:`plane_row_bytes` instead.
        """
        try:
            return _BYTES_PER_PIXEL[self]
        except KeyError:
            raise ValueError(
                f"{self.name} is a planar format with no single bytes-per-pixel figure; "
                "use plane_row_bytes(width)"
            ) from None

    @property
    def plane_names(self) -> tuple[str, ...]:
        """A short name per plane, for messages: ``("Y", "U", "V")`` for I420."""
        return _PLANE_NAMES[self]

    def min_strides(self, width: int) -> tuple[int, ...]:
        """The smallest stride (bytes per row) of each plane for ``width`` pixels."""
        if self is VideoStreamPixelFormat.NV12:
            # The UV plane holds ceil(width/2) U,V pairs: for even widths, width bytes.
            return (width, 2 * _half_up(width))
        if self is VideoStreamPixelFormat.I420:
            return (width, _half_up(width), _half_up(width))
        return (width * _BYTES_PER_PIXEL[self],)

    def plane_row_bytes(self, width: int) -> tuple[int, ...]:
        """The bytes of pixel data in one row of each plane (same as :meth:`min_strides`)."""
        return self.min_strides(width)

    def plane_heights(self, height: int) -> tuple[int, ...]:
        """The number of rows of each plane for a frame ``height`` pixels high."""
        if self is VideoStreamPixelFormat.NV12:
            return (height, _half_up(height))
        if self is VideoStreamPixelFormat.I420:
            return (height, _half_up(height), _half_up(height))
        return (height,)


_PLANE_COUNT = {
    VideoStreamPixelFormat.BGRX: 1,
    VideoStreamPixelFormat.BGR24: 1,
    VideoStreamPixelFormat.RGBX: 1,
    VideoStreamPixelFormat.RGBA: 1,
    VideoStreamPixelFormat.NV12: 2,
    VideoStreamPixelFormat.I420: 3,
}
_AV_FORMAT = {
    VideoStreamPixelFormat.BGRX: "bgr0",
    VideoStreamPixelFormat.BGR24: "bgr24",
    VideoStreamPixelFormat.RGBX: "rgb0",
    VideoStreamPixelFormat.RGBA: "rgba",
    VideoStreamPixelFormat.NV12: "nv12",
    VideoStreamPixelFormat.I420: "yuv420p",
}
_BYTES_PER_PIXEL = {
    VideoStreamPixelFormat.BGRX: 4,
    VideoStreamPixelFormat.BGR24: 3,
    VideoStreamPixelFormat.RGBX: 4,
    VideoStreamPixelFormat.RGBA: 4,
}
_PLANE_NAMES = {
    VideoStreamPixelFormat.BGRX: ("BGRX",),
    VideoStreamPixelFormat.BGR24: ("BGR24",),
    VideoStreamPixelFormat.RGBX: ("RGBX",),
    VideoStreamPixelFormat.RGBA: ("RGBA",),
    VideoStreamPixelFormat.NV12: ("Y", "UV"),
    VideoStreamPixelFormat.I420: ("Y", "U", "V"),
}


class VideoStreamResolution(enum.Enum):
    """The fixed resolutions a virtual outgoing stream may use.

    Each member has ``width``, ``height`` and ``max_frames_per_second``;
    ``UNKNOWN`` (0x0, 0 fps) means "no fixed resolution" (screen share and
    received frames).
    """

    UNKNOWN = (0, 0, 0)
    P1080 = (1920, 1080, 30)
    P720 = (1280, 720, 30)
    P540 = (960, 540, 30)
    P480 = (854, 480, 30)
    P360 = (640, 360, 30)
    P270 = (480, 270, 15)
    P240 = (426, 240, 15)
    P180 = (320, 180, 15)
    VGA = (640, 480, 30)
    P424X320 = (424, 320, 15)
    QVGA = (320, 240, 15)
    P212X160 = (212, 160, 15)

    @property
    def width(self) -> int:
        """Width in pixels (0 for ``UNKNOWN``)."""
        return int(self.value[0])

    @property
    def height(self) -> int:
        """Height in pixels (0 for ``UNKNOWN``)."""
        return int(self.value[1])

    @property
    def max_frames_per_second(self) -> int:
        """The highest frame rate allowed at this resolution (0 for ``UNKNOWN``)."""
        return int(self.value[2])

    @classmethod
    def from_size(cls, width: int, height: int) -> VideoStreamResolution:
        """The member of that exact size, or ``UNKNOWN``."""
        for member in cls:
            if member is not cls.UNKNOWN and (member.width, member.height) == (width, height):
                return member
        return cls.UNKNOWN


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class VideoStreamFormat:
    """The format of the frames of a video stream.

    Keyword-constructible and mutable, as in the commercial SDK::

        VideoStreamFormat(resolution=VideoStreamResolution.P720,
                          pixel_format=VideoStreamPixelFormat.RGBA,
                          frames_per_second=30)
        VideoStreamFormat(width=1366, height=768,            # screen share
                          pixel_format=VideoStreamPixelFormat.BGRX)

    Attributes:
        resolution: a :class:`VideoStreamResolution`; when it is not
            ``UNKNOWN`` it fixes the width and height.
        width, height: pixels. Reading them gives the resolution's size when
            they were left at 0; setting both a resolution and a different
            size is reported by :meth:`validate`.
        pixel_format: a :class:`VideoStreamPixelFormat`.
        frames_per_second: 1 to 30, at most the resolution's maximum.
        stride1, stride2, stride3: bytes per row of planes 1 to 3; 0 means the
            smallest stride for the plane (see :attr:`strides`). Strides of
            planes the pixel format does not have are ignored.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __init__(
        self,
        resolution: VideoStreamResolution = VideoStreamResolution.UNKNOWN,
        width: int = 0,
        height: int = 0,
        pixel_format: VideoStreamPixelFormat = VideoStreamPixelFormat.RGBA,
        frames_per_second: float = 30,
        stride1: int = 0,
        stride2: int = 0,
        stride3: int = 0,
    ) -> None:
        self.resolution = resolution
        self._width = width
        self._height = height
        self.pixel_format = pixel_format
        self.frames_per_second = frames_per_second
        self.stride1 = stride1
        self.stride2 = stride2
        self.stride3 = stride3

    # -- size -------------------------------------------------------------

    @property
    def width(self) -> int:
        """Width in pixels: as set, or the resolution's width when left at 0."""
        if not self._width and isinstance(self.resolution, VideoStreamResolution):
            return self.resolution.width
        return self._width

    @width.setter
    def width(self, value: int) -> None:
        self._width = value

    @property
    def height(self) -> int:
        """Height in pixels: as set, or the resolution's height when left at 0."""
        if not self._height and isinstance(self.resolution, VideoStreamResolution):
            return self.resolution.height
        return self._height

    @height.setter
    def height(self, value: int) -> None:
        self._height = value

    # -- geometry ---------------------------------------------------------

    @property
    def raw_strides(self) -> tuple[int, ...]:
        """``stride1..3`` as set (0 = default), one per plane of the pixel format."""
        return (self.stride1, self.stride2, self.stride3)[: self.pixel_format.plane_count]

    @property
    def strides(self) -> tuple[int, ...]:
        """The effective stride of each plane: as set, or the plane's minimum when 0."""
        minimum = self.pixel_format.min_strides(self.width)
        return tuple(s or m for s, m in zip(self.raw_strides, minimum, strict=True))

    @property
    def plane_row_bytes(self) -> tuple[int, ...]:
        """Bytes of pixel data in one row of each plane (without padding)."""
        return self.pixel_format.plane_row_bytes(self.width)

    @property
    def plane_heights(self) -> tuple[int, ...]:
        """Rows of each plane."""
        return self.pixel_format.plane_heights(self.height)

    @property
    def plane_sizes(self) -> tuple[int, ...]:
        """Bytes of each plane: stride * rows."""
        return tuple(s * h for s, h in zip(self.strides, self.plane_heights, strict=True))

    @property
    def buffer_size(self) -> int:
        """Bytes of a whole frame: the sum of :attr:`plane_sizes`."""
        return sum(self.plane_sizes)

    @property
    def size_text(self) -> str:
        """``"640x360 RGBA"``: the size and pixel format, for messages."""
        name = getattr(self.pixel_format, "name", repr(self.pixel_format))
        return f"{self.width}x{self.height} {name}"

    # -- checks -----------------------------------------------------------

    def validate(self, kind: str) -> None:
        """Check that this format can be used by an outgoing stream of ``kind``.

        Args:
            kind: ``"virtual"`` (a :class:`VideoStreamResolution` is required)
                or ``"screen_share"`` (``width``/``height`` up to 1920x1080,
                both even).

        Raises:
            InvalidVideoFormatError: with a message saying what was expected
                and what was given.
            ValueError: if ``kind`` is neither of the above.
        """
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, _KINDS))}; got {kind!r}")
        self._check_types()
        if kind == "virtual":
            self._check_virtual_size()
            max_fps = self.resolution.max_frames_per_second
            fps_limit = f"at most {max_fps} at {self.resolution.name}"
        else:
            self._check_screen_share_size()
            max_fps = MAX_FRAMES_PER_SECOND
            fps_limit = f"at most {max_fps} for a screen share"
        fps = self.frames_per_second
        if not 1 <= fps <= max_fps:
            raise InvalidVideoFormatError(
                f"frames_per_second must be from 1 to {max_fps} ({fps_limit}); got {fps}"
            )
        if self.pixel_format.plane_count > 1 and (self.width % 2 or self.height % 2):
            raise InvalidVideoFormatError(
                f"{self.pixel_format.name} needs an even width and height; "
                f"got {self.width}x{self.height}"
            )
        self.check_strides()

    def check_strides(self) -> None:
        """Check that each stride set is at least its plane's row size.

        Raises:
            InvalidVideoFormatError: e.g. "stride1 is 2000 bytes but an RGBA
                row of 640 pixels needs at least 2560 bytes".
        """
        fmt = self.pixel_format
        for index, (stride, row) in enumerate(
            zip(self.raw_strides, self.plane_row_bytes, strict=True)
        ):
            name = f"stride{index + 1}"
            if not _is_int(stride):
                raise InvalidVideoFormatError(
                    f"{name} must be an int (bytes per row, 0 for the minimum); got {stride!r}"
                )
            if stride < 0:
                raise InvalidVideoFormatError(
                    f"{name} must be 0 (the minimum) or at least {row} bytes; got {stride}"
                )
            if stride and stride < row:
                if fmt.is_packed:
                    what = f"{with_article(fmt.name)} row of {self.width} pixels"
                else:
                    what = (
                        f"{with_article(fmt.name)} {fmt.plane_names[index]} row "
                        f"(frame {self.width} pixels wide)"
                    )
                raise InvalidVideoFormatError(
                    f"{name} is {stride} bytes but {what} needs at least {row} bytes"
                )

    def _check_types(self) -> None:
        if not isinstance(self.pixel_format, VideoStreamPixelFormat):
            raise InvalidVideoFormatError(
                "pixel_format must be a VideoStreamPixelFormat "
                f"({', '.join(m.name for m in VideoStreamPixelFormat)}); "
                f"got {self.pixel_format!r}"
            )
        if not isinstance(self.resolution, VideoStreamResolution):
            raise InvalidVideoFormatError(
                f"resolution must be a VideoStreamResolution; got {self.resolution!r}"
            )
        for name, value in (("width", self._width), ("height", self._height)):
            if not _is_int(value) or value < 0:
                raise InvalidVideoFormatError(
                    f"{name} must be a whole number of pixels; got {value!r}"
                )
        if not _is_number(self.frames_per_second):
            raise InvalidVideoFormatError(
                f"frames_per_second must be a number; got {self.frames_per_second!r}"
            )

    def _check_virtual_size(self) -> None:
        res = self.resolution
        if res is VideoStreamResolution.UNKNOWN:
            names = ", ".join(m.name for m in VideoStreamResolution if m.value[0])
            raise InvalidVideoFormatError(
                "a virtual outgoing stream needs a resolution "
                f"(one of {names}); got UNKNOWN"
                + (f" with width/height {self._width}x{self._height}" if self._width else "")
                + " (use a screen-share stream for custom sizes)"
            )
        self._check_size_matches_resolution()

    def _check_size_matches_resolution(self) -> None:
        res = self.resolution
        for name, given, fixed in (
            ("width", self._width, res.width),
            ("height", self._height, res.height),
        ):
            if given and given != fixed:
                raise InvalidVideoFormatError(
                    f"{name} {given} does not match resolution {res.name} "
                    f"({res.width}x{res.height}); leave {name} at 0 or set it to {fixed}"
                )

    def _check_screen_share_size(self) -> None:
        if self.resolution is not VideoStreamResolution.UNKNOWN:
            self._check_size_matches_resolution()
        for name, value, top in (
            ("width", self.width, SCREEN_SHARE_MAX_WIDTH),
            ("height", self.height, SCREEN_SHARE_MAX_HEIGHT),
        ):
            if not 2 <= value <= top or value % 2:
                raise InvalidVideoFormatError(
                    f"a screen share's {name} must be an even number from 2 to {top} "
                    f"(at most {SCREEN_SHARE_MAX_WIDTH}x{SCREEN_SHARE_MAX_HEIGHT}); got {value}"
                )

    # -- value behaviour --------------------------------------------------

    def _key(self) -> tuple[Any, ...]:
        return (
            self.resolution,
            self.width,
            self.height,
            self.pixel_format,
            self.frames_per_second,
            self.strides if isinstance(self.pixel_format, VideoStreamPixelFormat) else None,
        )

    def copy(self) -> VideoStreamFormat:
        """An independent copy."""
        return VideoStreamFormat(
            resolution=self.resolution,
            width=self._width,
            height=self._height,
            pixel_format=self.pixel_format,
            frames_per_second=self.frames_per_second,
            stride1=self.stride1,
            stride2=self.stride2,
            stride3=self.stride3,
        )

    def with_(self, **changes: Any) -> VideoStreamFormat:
        """A copy with some constructor arguments changed: ``fmt.with_(stride1=4096)``."""
        new = self.copy()
        for name, value in changes.items():
            if name not in _FIELDS:
                raise TypeError(f"VideoStreamFormat has no field {name!r}")
            setattr(new, name, value)
        return new

    def same_frame_layout(self, other: VideoStreamFormat) -> bool:
        """True when frames of ``self`` and ``other`` have the same width, height
        and pixel format (strides and frame rate may differ)."""
        return (self.width, self.height, self.pixel_format) == (
            other.width,
            other.height,
            other.pixel_format,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VideoStreamFormat):
            return NotImplemented
        return self._key() == other._key()

    def __repr__(self) -> str:
        parts = []
        if self.resolution is not VideoStreamResolution.UNKNOWN:
            parts.append(f"resolution={self.resolution}")
        parts.append(f"width={self.width}")
        parts.append(f"height={self.height}")
        parts.append(f"pixel_format={self.pixel_format}")
        parts.append(f"frames_per_second={self.frames_per_second}")
        for index, stride in enumerate((self.stride1, self.stride2, self.stride3)):
            if stride:
                parts.append(f"stride{index + 1}={stride}")
        return f"VideoStreamFormat({', '.join(parts)})"


_FIELDS = (
    "resolution",
    "width",
    "height",
    "pixel_format",
    "frames_per_second",
    "stride1",
    "stride2",
    "stride3",
)


def validate_formats(formats: Iterable[VideoStreamFormat], kind: str) -> list[VideoStreamFormat]:
    """Check the formats an outgoing stream offers and return copies of them.

    Args:
        formats: the ``RawOutgoingVideoStreamOptions.formats`` list.
        kind: ``"virtual"`` or ``"screen_share"`` (see :meth:`VideoStreamFormat.validate`).

    Returns:
        A new list of copies, so later changes to the caller's objects do not
        reach the stream.

    Raises:
        InvalidVideoFormatError: for an empty list, an item that is not a
            ``VideoStreamFormat``, or an invalid format (the message starts
            with ``formats[i]:``).
    """
    if isinstance(formats, VideoStreamFormat):
        raise InvalidVideoFormatError(
            "formats must be a list of VideoStreamFormat; got a single VideoStreamFormat "
            "(wrap it in a list)"
        )
    if isinstance(formats, str | bytes) or not isinstance(formats, Iterable):
        raise InvalidVideoFormatError(
            f"formats must be a list of VideoStreamFormat; got {type(formats).__name__}"
        )
    items = list(formats)
    if not items:
        raise InvalidVideoFormatError(
            "at least one VideoStreamFormat expected in formats; got an empty list"
        )
    result = []
    for index, fmt in enumerate(items):
        if not isinstance(fmt, VideoStreamFormat):
            raise InvalidVideoFormatError(
                f"formats[{index}] must be a VideoStreamFormat; got {type(fmt).__name__}"
            )
        try:
            fmt.validate(kind)
        except InvalidVideoFormatError as exc:
            raise InvalidVideoFormatError(f"formats[{index}]: {exc}") from None
        result.append(fmt.copy())
    return result
