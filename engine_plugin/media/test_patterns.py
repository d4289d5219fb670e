"""Generated test media: a video pattern with a frame-number barcode, and tones.

Tests, benchmarks and the testing kit use these to check real pixels and
samples after a trip through an encoder, the network and a decoder:

- :func:`pattern_frame` draws a moving, codec-friendly RGBA frame: smooth
  gradients, four solid colour markers (red top left, green top right, blue
  bottom left, white bottom right; see :data:`QUADRANT_COLOURS`), a square
  that moves from frame to frame, and the frame number stamped as a barcode
  in a band at the top.
- :class:`PatternFrames` draws the same frames into one reusable buffer,
  redrawing only what changes, for senders that must not pay per frame.
- :func:`read_frame_number` and :func:`read_frame_number_i420` read that
  barcode back from a decoded frame, or give ``None`` when it cannot be read
  reliably (the barcode carries a CRC-8, and every cell must be clearly black
  or white).
- :func:`quadrant_colours_ok` tells whether the colour markers are where they
  were drawn, which catches swapped channels and upside-down or mirrored
  frames.
- :func:`psnr` compares two images.
- :func:`tone` and :class:`ToneGenerator` make interleaved int16 sine tones;
  :func:`dominant_frequencies` and :func:`tone_level_db` analyse PCM.

Barcode layout: the frame is split into 40 cells of ``width // 40`` pixels
across (centred), in a band of ``max(8, height // 12)`` rows (rounded down to
even) at the top. Cells 2 and 37 are black and 3 and 36 white (references
for the threshold); cells 4 to 35 hold 32 bits, most significant first: 24
bits of the frame number (modulo 2**24) and a CRC-8 of them; the outer two
cells on each side are grey. At 320x180 a cell is 8 x 14 pixels, which
survives VP8 at 250 kbps and H.264 at 150 kbps. Sizes and offsets are even,
so edges fall on 4:2:0 chroma block boundaries. Only numpy is used, with no
per-pixel Python loops.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BARCODE_BITS",
    "FRAME_NUMBER_MODULUS",
    "QUADRANT_COLOURS",
    "PatternFrames",
    "ToneGenerator",
    "dominant_frequencies",
    "pattern_frame",
    "psnr",
    "quadrant_colours",
    "quadrant_colours_ok",
    "read_frame_number",
    "read_frame_number_i420",
    "stamp_frame_number",
    "tone",
    "tone_level_db",
]

# --------------------------------------------------------------------------- layout

BARCODE_BITS: Final = 24
"""Bits of the frame number the barcode carries (a CRC-8 follows them)."""

FRAME_NUMBER_MODULUS: Final = 1 << BARCODE_BITS
"""Frame numbers are stamped modulo this (about 6.5 days at 30 fps)."""

_CELLS: Final = 40
_BLACK_REFS: Final = (2, 37)
_WHITE_REFS: Final = (3, 36)
_FIRST_BIT_CELL: Final = 4
_CODE_BITS: Final = BARCODE_BITS + 8
_GREY: Final = 128
_MIN_CONTRAST: Final = 60.0
"""Least luma difference between the white and black reference cells."""
_MIN_MARGIN: Final = 0.2
"""Least distance of a cell from the threshold, as a fraction of the contrast."""

QUADRANT_COLOURS: Final[Mapping[str, tuple[int, int, int]]] = {
    "top_left": (255, 0, 0),
    "top_right": (0, 255, 0),
    "bottom_left": (0, 0, 255),
    "bottom_right": (255, 255, 255),
}
"""The solid RGB marker drawn near each corner (below the barcode band at the top)."""

_MOVER_COLOURS: Final = ((255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 128, 0))
_MOVER_PERIOD: Final = 120
"""Frames for the moving square to cross the frame and come back (4 s at 30 fps)."""

# Channel order name -> indices of (R, G, B) and of alpha/padding (None when absent).
_CHANNEL_ORDERS: Final[Mapping[str, tuple[int, int, int, int | None]]] = {
    "rgba": (0, 1, 2, 3),
    "rgbx": (0, 1, 2, 3),
    "bgra": (2, 1, 0, 3),
    "bgrx": (2, 1, 0, 3),
    "argb": (1, 2, 3, 0),
    "xrgb": (1, 2, 3, 0),
    "abgr": (3, 2, 1, 0),
    "xbgr": (3, 2, 1, 0),
    "rgb24": (0, 1, 2, None),
    "rgb": (0, 1, 2, None),
    "bgr24": (2, 1, 0, None),
    "bgr": (2, 1, 0, None),
}


@dataclass(frozen=True)
class _Layout:
    """Where everything sits in a ``width`` x ``height`` pattern frame."""

    width: int
    height: int
    cell_w: int
    x0: int
    band_h: int
    margin: int
    marker_w: int
    marker_h: int
    mover: int

    @property
    def top_marker_y(self) -> int:
        return self.band_h + self.margin

    @property
    def bottom_marker_y(self) -> int:
        return self.height - self.margin - self.marker_h

    @property
    def mover_y(self) -> int:
        top = self.top_marker_y + self.marker_h
        return _even(top + (self.bottom_marker_y - top - self.mover) // 2)

    def marker_box(self, corner: str) -> tuple[int, int, int, int]:
        """``(y0, y1, x0, x1)`` of a corner marker."""
        y = self.top_marker_y if corner.startswith("top") else self.bottom_marker_y
        right = _even(self.width - self.margin - self.marker_w)
        x = self.margin if corner.endswith("left") else right
        return y, y + self.marker_h, x, x + self.marker_w


def _even(value: int) -> int:
    return value - value % 2


@functools.lru_cache(maxsize=32)
def _layout(width: int, height: int) -> _Layout:
    if width < 2 * _CELLS or height < 48:
        raise ValueError(
            f"pattern frames need at least {2 * _CELLS}x48 pixels, not {width}x{height}"
        )
    # Even sizes and offsets keep every edge on a 2x2 chroma block boundary (4:2:0).
    cell_w = width // _CELLS
    band_h = _even(max(8, height // 12))
    margin = _even(max(2, height // 40))
    marker_w = _even(width // 5)
    marker_h = _even(height // 5)
    free = height - band_h - 3 * margin - 2 * marker_h
    mover = max(4, min(height // 6, free - 2)) // 4 * 4
    return _Layout(
        width=width,
        height=height,
        cell_w=cell_w,
        x0=(width - _CELLS * cell_w) // 2,
        band_h=band_h,
        margin=margin,
        marker_w=marker_w,
        marker_h=marker_h,
        mover=mover,
    )


# --------------------------------------------------------------------------- barcode


def _crc8(value: int) -> int:
    """CRC-8 (polynomial 0x07, output XOR 0x55, as CRC-8/I-432-1) of a 24-bit value."""
    crc = 0
    for byte in value.to_bytes(3, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc ^ 0x55


def _code_bits(frame_number: int) -> npt.NDArray[np.bool_]:
    value = frame_number % FRAME_NUMBER_MODULUS
    code = (value << 8) | _crc8(value)
    shifts = np.arange(_CODE_BITS - 1, -1, -1, dtype=np.uint64)
    return ((np.uint64(code) >> shifts) & np.uint64(1)).astype(bool)


def _channels(channel_order: str) -> tuple[int, int, int, int | None]:
    try:
        return _CHANNEL_ORDERS[channel_order.lower()]
    except KeyError:
        known = ", ".join(sorted(_CHANNEL_ORDERS))
        raise ValueError(f"unknown channel order {channel_order!r} (known: {known})") from None


def _check_image(image: np.ndarray, channel_order: str) -> tuple[int, int, int, int | None]:
    order = _channels(channel_order)
    expected = 3 if order[3] is None else 4
    if image.ndim != 3 or image.shape[2] != expected:
        raise ValueError(
            f"expected an H x W x {expected} array for {channel_order!r}, got shape {image.shape}"
        )
    return order


def stamp_frame_number(
    image: np.ndarray, frame_number: int, *, channel_order: str = "rgba"
) -> None:
    """Draw the barcode of ``frame_number`` into ``image`` (H x W x 3 or 4 uint8) in place.

    :func:`pattern_frame` calls this; call it yourself to renumber a
    precomputed frame cheaply (it writes only the band at the top). Alpha or
    padding, if the order has it, is set to 255 in the band.
    """
    if frame_number < 0:
        raise ValueError("frame numbers are not negative")
    order = _check_image(image, channel_order)
    height, width = image.shape[:2]
    lay = _layout(width, height)
    cells = np.full(_CELLS, _GREY, dtype=np.uint8)
    cells[list(_BLACK_REFS)] = 0
    cells[list(_WHITE_REFS)] = 255
    cells[_FIRST_BIT_CELL : _FIRST_BIT_CELL + _CODE_BITS] = np.where(
        _code_bits(frame_number), 255, 0
    )
    row = np.full(width, _GREY, dtype=np.uint8)
    row[lay.x0 : lay.x0 + _CELLS * lay.cell_w] = np.repeat(cells, lay.cell_w)
    pixels = np.repeat(row[:, None], image.shape[2], axis=1)
    if order[3] is not None:
        pixels[:, order[3]] = 255
    image[: lay.band_h] = pixels[None]


def _read_band(band: np.ndarray, width: int, height: int) -> int | None:
    """Read the barcode from the top band (2-D luma, any range) of a width x height frame."""
    try:
        lay = _layout(width, height)
    except ValueError:
        return None
    if band.shape[0] < lay.band_h or band.shape[1] < width:
        return None
    r0 = lay.band_h // 4
    r1 = max(r0 + 1, lay.band_h - lay.band_h // 4)
    c0 = lay.cell_w // 4
    c1 = max(c0 + 1, lay.cell_w - lay.cell_w // 4)
    strip = band[r0:r1, lay.x0 : lay.x0 + _CELLS * lay.cell_w]
    cells = strip.reshape(r1 - r0, _CELLS, lay.cell_w)[:, :, c0:c1]
    values = cells.mean(axis=(0, 2), dtype=np.float64)
    black = float(values[list(_BLACK_REFS)].mean())
    white = float(values[list(_WHITE_REFS)].mean())
    contrast = white - black
    if contrast < _MIN_CONTRAST:
        return None
    refs_spread = max(
        float(np.ptp(values[list(_BLACK_REFS)])), float(np.ptp(values[list(_WHITE_REFS)]))
    )
    if refs_spread > contrast * (0.5 - _MIN_MARGIN):
        return None
    bits_values = values[_FIRST_BIT_CELL : _FIRST_BIT_CELL + _CODE_BITS]
    position = (bits_values - black) / contrast
    if np.any(np.abs(position - 0.5) < _MIN_MARGIN):
        return None
    code = 0
    for bit in (position > 0.5).tolist():
        code = (code << 1) | int(bit)
    value, crc = code >> 8, code & 0xFF
    if _crc8(value) != crc:
        return None
    return value


def read_frame_number(image: np.ndarray, *, channel_order: str = "rgba") -> int | None:
    """Read the frame number stamped by :func:`pattern_frame` from an H x W x C uint8 image.

    ``channel_order`` names the layout: ``"rgba"`` (default), ``"rgbx"``,
    ``"bgra"``, ``"bgrx"``, ``"argb"``, ``"abgr"``, ``"rgb24"`` or ``"bgr24"``.
    Returns the number modulo :data:`FRAME_NUMBER_MODULUS`, or ``None`` when
    the barcode cannot be read reliably (no contrast, an ambiguous cell, or a
    CRC mismatch; an upside-down or mirrored frame reads as ``None``, bar a
    1-in-256 chance for a mirrored one).
    """
    order = _check_image(image, channel_order)
    height, width = image.shape[:2]
    try:
        lay = _layout(width, height)
    except ValueError:
        return None
    band = image[: lay.band_h].astype(np.float32)
    luma = 0.299 * band[..., order[0]] + 0.587 * band[..., order[1]] + 0.114 * band[..., order[2]]
    return _read_band(luma, width, height)


def read_frame_number_i420(y_plane: np.ndarray, width: int, height: int) -> int | None:
    """Read the frame number from the luma (Y) plane of an I420 / NV12 frame.

    ``y_plane`` is either 2-D (``height`` rows of at least ``width`` samples, so
    a padded line stride is fine) or 1-D, whose first ``width * height``
    samples are the plane (a whole packed I420 buffer works too).
    """
    if y_plane.ndim == 1:
        if y_plane.size < width * height:
            raise ValueError(f"a {width}x{height} Y plane needs {width * height} samples")
        plane = y_plane[: width * height].reshape(height, width)
    elif y_plane.ndim == 2:
        if y_plane.shape[0] < height or y_plane.shape[1] < width:
            raise ValueError(f"Y plane of shape {y_plane.shape} is smaller than {width}x{height}")
        plane = y_plane[:height, :width]
    else:
        raise ValueError(f"expected a 1-D or 2-D Y plane, got shape {y_plane.shape}")
    try:
        lay = _layout(width, height)
    except ValueError:
        return None
    return _read_band(plane[: lay.band_h], width, height)


# --------------------------------------------------------------------------- pattern


@functools.lru_cache(maxsize=8)
def _background(width: int, height: int, seed: int) -> np.ndarray:
    """The static part of a pattern frame (gradients and markers), read-only."""
    lay = _layout(width, height)
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0.0, 2.0 * math.pi, size=3)
    slopes = rng.uniform(0.3, 1.0, size=(3, 2))
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    image = np.empty((height, width, 4), dtype=np.uint8)
    for channel in range(3):
        wave = np.cos(
            2.0 * math.pi * (slopes[channel, 0] * x + slopes[channel, 1] * y) + phases[channel]
        )
        image[..., channel] = (128.0 + 90.0 * wave).astype(np.uint8)
    image[..., 3] = 255
    for corner, colour in QUADRANT_COLOURS.items():
        y0, y1, x0, x1 = lay.marker_box(corner)
        image[y0:y1, x0:x1, :3] = colour
    image.setflags(write=False)
    return image


def _mover_x(lay: _Layout, frame_number: int) -> int:
    phase = (frame_number % _MOVER_PERIOD) / _MOVER_PERIOD
    travel = 1.0 - abs(2.0 * phase - 1.0)
    return _even(round(travel * (lay.width - lay.mover)))


def _draw_mover(image: np.ndarray, lay: _Layout, x: int, seed: int) -> None:
    y = lay.mover_y
    image[y : y + lay.mover, x : x + lay.mover, :3] = _MOVER_COLOURS[seed % len(_MOVER_COLOURS)]
    inner = lay.mover // 4
    image[y + inner : y + lay.mover - inner, x + inner : x + lay.mover - inner, :3] = 0


def pattern_frame(width: int, height: int, frame_number: int, *, seed: int = 0) -> np.ndarray:
    """A ``height`` x ``width`` x 4 RGBA uint8 test frame for ``frame_number``.

    Smooth gradients (chosen by ``seed``, so streams can differ), solid
    markers in the corners (:data:`QUADRANT_COLOURS`), a square that bounces
    left and right (a 120-frame cycle) and the frame number as a barcode at
    the top (see the module docstring). The static part is cached per size
    and seed, so a 1080p frame costs about a copy of its bytes (under 2 ms
    here). Needs at least 80x48 pixels. Returns a new writable array; for a
    stream of frames without the copy, see :class:`PatternFrames`.
    """
    if frame_number < 0:
        raise ValueError("frame numbers are not negative")
    lay = _layout(width, height)
    image = _background(width, height, seed).copy()
    _draw_mover(image, lay, _mover_x(lay, frame_number), seed)
    stamp_frame_number(image, frame_number)
    return image


class PatternFrames:
    """Pattern frames drawn incrementally into one reusable buffer.

    ``render(n)`` gives the same pixels as ``pattern_frame(width, height, n,
    seed=seed)`` but redraws only what changes (the moving square and the
    barcode band): tens of microseconds at 1080p and no per-frame memory, so
    a sender's frame generation stays out of CPU and memory figures. The
    returned array is this object's buffer, overwritten by the next call:
    copy it (``av.VideoFrame.from_ndarray`` does) before rendering again.
    """

    def __init__(self, width: int, height: int, *, seed: int = 0) -> None:
        self.width = width
        self.height = height
        self.seed = seed
        self._layout = _layout(width, height)
        self._background = _background(width, height, seed)
        self._buffer = self._background.copy()
        self._mover_x: int | None = None

    def render(self, frame_number: int) -> np.ndarray:
        """The frame for ``frame_number`` (H x W x 4 RGBA, valid until the next call)."""
        if frame_number < 0:
            raise ValueError("frame numbers are not negative")
        lay = self._layout
        x = _mover_x(lay, frame_number)
        if x != self._mover_x:
            if self._mover_x is not None:
                y, old = lay.mover_y, self._mover_x
                area = (slice(y, y + lay.mover), slice(old, old + lay.mover))
                self._buffer[area] = self._background[area]
            _draw_mover(self._buffer, lay, x, self.seed)
            self._mover_x = x
        stamp_frame_number(self._buffer, frame_number)
        return self._buffer


def quadrant_colours(
    image: np.ndarray, *, channel_order: str = "rgba"
) -> dict[str, tuple[float, float, float]]:
    """Mean (R, G, B) of the centre of each corner marker, keyed like :data:`QUADRANT_COLOURS`."""
    order = _check_image(image, channel_order)
    height, width = image.shape[:2]
    lay = _layout(width, height)
    result: dict[str, tuple[float, float, float]] = {}
    for corner in QUADRANT_COLOURS:
        y0, y1, x0, x1 = lay.marker_box(corner)
        dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
        patch = image[y0 + dy : y1 - dy, x0 + dx : x1 - dx]
        means = patch.reshape(-1, patch.shape[2]).mean(axis=0, dtype=np.float64)
        result[corner] = (float(means[order[0]]), float(means[order[1]]), float(means[order[2]]))
    return result


def quadrant_colours_ok(
    image: np.ndarray, *, channel_order: str = "rgba", tolerance: float = 80.0
) -> bool:
    """True when every corner marker has its colour, each channel within ``tolerance``.

    A frame with red and blue swapped, flipped upside down or mirrored fails.
    """
    found = quadrant_colours(image, channel_order=channel_order)
    return all(
        abs(got - want) <= tolerance
        for corner, colour in QUADRANT_COLOURS.items()
        for got, want in zip(found[corner], colour, strict=True)
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 arrays of the same shape.

    ``inf`` when they are identical. Every channel counts: pass ``x[..., :3]``
    to leave out an alpha channel, which would otherwise raise the figure.
    """
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError("psnr expects uint8 arrays")
    diff = a.astype(np.int16) - b.astype(np.int16)
    mse = float(np.mean(np.square(diff, dtype=np.int32), dtype=np.float64))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0 * 255.0 / mse)


# --------------------------------------------------------------------------- audio


def _sine(
    frequency_hz: float, start: int, samples: int, rate: int, channels: int, amplitude: float
) -> np.ndarray:
    if rate <= 0 or channels <= 0 or samples < 0:
        raise ValueError("rate and channels must be positive and samples not negative")
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError("amplitude is a fraction of full scale, 0 to 1")
    index = np.arange(start, start + samples, dtype=np.float64)
    # Phase in cycles, reduced modulo 1 before the sine keeps long runs exact.
    cycles = np.mod(index * (frequency_hz / rate), 1.0)
    mono = np.rint(amplitude * 32767.0 * np.sin(2.0 * math.pi * cycles)).astype(np.int16)
    return np.repeat(mono, channels)


def tone(
    frequency_hz: float,
    duration_s: float,
    rate: int,
    channels: int,
    amplitude: float = 0.3,
    phase_samples: int = 0,
) -> np.ndarray:
    """An interleaved int16 sine of ``round(duration_s * rate)`` samples per channel.

    ``amplitude`` is a fraction of full scale; every channel carries the same
    signal. ``phase_samples`` starts the sine as if that many samples had
    already been played, so consecutive calls can join without a jump.
    """
    samples = round(duration_s * rate)
    return _sine(frequency_hz, phase_samples, samples, rate, channels, amplitude)


class ToneGenerator:
    """Consecutive chunks of one continuous sine tone (no phase jumps between chunks).

    ``ToneGenerator(440.0, 48000, 2).next_chunk(960)`` gives 20 ms of
    interleaved stereo int16; the next call continues where it stopped.
    """

    def __init__(self, frequency: float, rate: int, channels: int, amplitude: float = 0.3) -> None:
        if rate <= 0 or channels <= 0:
            raise ValueError("rate and channels must be positive")
        self.frequency = frequency
        self.rate = rate
        self.channels = channels
        self.amplitude = amplitude
        self._position = 0

    @property
    def samples_generated(self) -> int:
        """Samples per channel produced so far."""
        return self._position

    def next_chunk(self, samples: int) -> np.ndarray:
        """The next ``samples`` samples per channel, interleaved int16."""
        chunk = _sine(
            self.frequency, self._position, samples, self.rate, self.channels, self.amplitude
        )
        self._position += samples
        return chunk


def _mono(pcm: np.ndarray, channels: int) -> np.ndarray:
    """Mean of the channels as float64 in [-1, 1] (int16 is scaled by 1/32768)."""
    if channels <= 0:
        raise ValueError("channels must be positive")
    data = np.asarray(pcm)
    scale = 32768.0 if data.dtype == np.int16 else 1.0
    flat = data.reshape(-1)
    frames = flat.size // channels
    mono = flat[: frames * channels].reshape(frames, channels).mean(axis=1, dtype=np.float64)
    return mono / scale


def _window(size: int) -> np.ndarray:
    """4-term Blackman-Harris window: sidelobes below -92 dB, main lobe +-4 bins."""
    n = np.arange(size, dtype=np.float64)
    t = 2.0 * math.pi * n / max(size - 1, 1)
    return 0.35875 - 0.48829 * np.cos(t) + 0.14128 * np.cos(2 * t) - 0.01168 * np.cos(3 * t)


def _power_spectrum(pcm: np.ndarray, channels: int) -> tuple[np.ndarray, float, int]:
    """One-sided power spectrum, the window's sum of squares, and the sample count."""
    mono = _mono(pcm, channels)
    window = _window(mono.size)
    spectrum = np.fft.rfft(mono * window)
    return np.square(np.abs(spectrum)), float(np.sum(np.square(window))), mono.size


def dominant_frequencies(pcm: np.ndarray, rate: int, channels: int, count: int = 3) -> list[float]:
    """The ``count`` strongest spectral peaks of ``pcm`` in Hz, strongest first.

    ``pcm`` is interleaved (int16, or float in [-1, 1]); channels are mixed
    down first. Peaks more than 60 dB below the strongest, and anything below
    20 Hz, are ignored, so fewer than ``count`` may come back (none for
    silence). Resolution is about ``rate / len`` Hz, refined by interpolation;
    give at least 0.1 s of audio. After a lossy codec, weaker peaks may be
    coding noise: to tell whether a tone is there, use :func:`tone_level_db`.
    """
    power, _, size = _power_spectrum(pcm, channels)
    if size < 16 or not np.any(power > 0):
        return []
    bin_hz = rate / size
    level = 10.0 * np.log10(power + 1e-30)
    lowest = max(1, math.ceil(20.0 / bin_hz))
    floor = float(level[lowest:].max()) - 60.0
    reach = 4
    padded = np.pad(level, reach, constant_values=-np.inf)
    neighbours = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    is_peak = (level >= neighbours.max(axis=1)) & (level > floor)
    is_peak[:lowest] = False
    peaks = np.flatnonzero(is_peak)
    peaks = peaks[np.argsort(level[peaks])[::-1]][:count]
    result: list[float] = []
    for k in peaks.tolist():
        offset = 0.0
        if 0 < k < level.size - 1:
            left, mid, right = level[k - 1], level[k], level[k + 1]
            denom = left - 2.0 * mid + right
            if denom < 0:
                offset = 0.5 * (left - right) / denom
        result.append(float((k + offset) * bin_hz))
    return result


def tone_level_db(
    pcm: np.ndarray,
    rate: int,
    channels: int,
    frequency_hz: float,
    *,
    bandwidth_hz: float = 10.0,
) -> float:
    """Level of the sine at ``frequency_hz`` in dB relative to full scale (dBFS).

    Sums the spectrum's power within ``bandwidth_hz`` (at least five bins) on
    either side of the frequency, scaled so that a full-scale sine reads
    0 dB and one at ``amplitude=0.3`` about -10.5 dB. ``-inf`` for digital
    silence. Channels are mixed down first.
    """
    power, window_energy, size = _power_spectrum(pcm, channels)
    if size == 0:
        return -math.inf
    bin_hz = rate / size
    half = max(5.0 * bin_hz, bandwidth_hz)
    lo = max(0, math.floor((frequency_hz - half) / bin_hz))
    hi = min(power.size, math.ceil((frequency_hz + half) / bin_hz) + 1)
    band = float(power[lo:hi].sum())
    if band <= 0.0:
        return -math.inf
    amplitude_sq = 4.0 * band / (size * window_energy)
    return 10.0 * math.log10(amplitude_sq)
