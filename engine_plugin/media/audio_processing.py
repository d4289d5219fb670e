"""PCM audio processing: resampling into fixed-size chunks, mixing, and ``av`` frames.

All samples here are signed 16-bit integers. "Interleaved" arrays are 1-D:
``[L0, R0, L1, R1, ...]`` for stereo. A "sample" count is per channel
(48 kHz, 20 ms = 960 samples = 1920 int16 values in stereo).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt

__all__ = [
    "PcmResampler",
    "av_frame_to_pcm",
    "mix",
    "pcm_to_av_frame",
    "silence",
]

logger = logging.getLogger(__name__)

_LAYOUTS = {1: "mono", 2: "stereo"}
_INT16_MIN = np.iinfo(np.int16).min
_INT16_MAX = np.iinfo(np.int16).max

Int16Array = npt.NDArray[np.int16]


def _layout(channels: int) -> str:
    try:
        return _LAYOUTS[channels]
    except KeyError:
        raise ValueError(f"channels must be 1 (mono) or 2 (stereo); got {channels}") from None


def silence(samples: int, channels: int) -> Int16Array:
    """``samples`` samples of silence for ``channels`` channels (interleaved zeros)."""
    if samples < 0:
        raise ValueError(f"samples must not be negative; got {samples}")
    _layout(channels)
    return np.zeros(samples * channels, dtype=np.int16)


def mix(chunks: Sequence[npt.NDArray[np.int16]]) -> Int16Array:
    """Add int16 chunks of the same shape, saturating at -32768 and 32767.

    The sum is done in int32, so no intermediate overflow wraps around.

    Raises:
        ValueError: for an empty sequence or chunks of different shapes.
        TypeError: for a chunk that is not int16.
    """
    if len(chunks) == 0:
        raise ValueError("mix() needs at least one chunk; got none")
    first = chunks[0]
    for index, chunk in enumerate(chunks):
        if not isinstance(chunk, np.ndarray) or chunk.dtype != np.int16:
            raise TypeError(
                f"chunks[{index}] must be an int16 numpy array; got "
                f"{getattr(chunk, 'dtype', type(chunk).__name__)}"
            )
        if chunk.shape != first.shape:
            raise ValueError(
                f"chunks[{index}] has shape {chunk.shape} but chunks[0] has {first.shape}; "
                "mix chunks of the same length and channel count"
            )
    if len(chunks) == 1:
        return first.copy()
    total = first.astype(np.int32)
    for chunk in chunks[1:]:
        total += chunk
    np.clip(total, _INT16_MIN, _INT16_MAX, out=total)
    return total.astype(np.int16)


def _interleaved(data: npt.NDArray[np.int16], channels: int) -> Int16Array:
    """Check an int16 array and return it as 1-D interleaved (a view when possible)."""
    if not isinstance(data, np.ndarray) or data.dtype != np.int16:
        raise TypeError(
            "PCM data must be an int16 numpy array; got "
            f"{getattr(data, 'dtype', type(data).__name__)}"
        )
    if data.ndim == 2 and data.shape[1] != channels:
        raise ValueError(f"a 2-D PCM array must be (samples, {channels}); got shape {data.shape}")
    if data.ndim not in (1, 2):
        raise ValueError(
            f"PCM data must be 1-D interleaved or (samples, channels); got shape {data.shape}"
        )
    flat = data.reshape(-1)
    if flat.size % channels:
        raise ValueError(
            f"{flat.size} int16 values are not a whole number of {channels}-channel samples"
        )
    return flat


def _remap_channels(pcm: Int16Array, channels: int, out_channels: int) -> Int16Array:
    """Interleaved mono <-> stereo: duplicate, or average (the input itself if equal)."""
    if channels == out_channels:
        return pcm
    if out_channels == 2:
        return np.repeat(pcm, 2)
    pairs = pcm.reshape(-1, 2).astype(np.int32)
    return ((pairs[:, 0] + pairs[:, 1]) // 2).astype(np.int16)


def pcm_to_av_frame(
    data: npt.NDArray[np.int16], rate: int, channels: int, pts: int | None = None
) -> av.AudioFrame:
    """Wrap interleaved int16 PCM in a packed ``s16`` ``av.AudioFrame``.

    Args:
        data: 1-D interleaved or ``(samples, channels)`` int16 array.
        rate: sample rate in Hz.
        channels: 1 or 2.
        pts: presentation time in samples (time base ``1/rate``), or None.
    """
    flat = _interleaved(data, channels)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(flat).reshape(1, -1), format="s16", layout=_layout(channels)
    )
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = Fraction(1, rate)
    return frame


_SCALE = {"flt": 32768.0, "dbl": 32768.0, "s32": 1.0 / 65536.0}


def av_frame_to_pcm(frame: av.AudioFrame) -> Int16Array:
    """The samples of an ``av.AudioFrame`` as 1-D interleaved int16.

    Handles packed and planar ``s16``, ``s32``, ``flt``, ``dbl`` and ``u8``
    (float samples are scaled by 32768 and saturated). Other layouts keep
    their channel count: convert with :class:`PcmResampler` to get mono or
    stereo.
    """
    fmt = frame.format
    array: npt.NDArray[Any] = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if fmt.is_planar:
        # (channels, samples) -> interleaved
        array = array.T
    flat = array.reshape(-1)[: frame.samples * channels]
    base = fmt.name.rstrip("p")
    if base == "s16":
        return np.ascontiguousarray(flat, dtype=np.int16)
    if base in ("flt", "dbl"):
        scaled = np.rint(flat * _SCALE[base])
        return np.clip(scaled, _INT16_MIN, _INT16_MAX).astype(np.int16)
    if base == "s32":
        return (flat >> 16).astype(np.int16)
    if base == "u8":
        return ((flat.astype(np.int16) - 128) << 8).astype(np.int16)
    raise ValueError(f"unsupported audio sample format {fmt.name!r}")


class PcmResampler:
    """Converts audio to one rate and channel count and hands it out in exact chunks.

    Push decoded ``av.AudioFrame`` objects (any format, layout and rate: each
    carries its own) or int16 arrays (in ``in_rate``/``in_channels``), then
    pull chunks of exactly the size you need::

        resampler = PcmResampler(48000, 2, 16000, 1)
        resampler.push(frame)
        while (chunk := resampler.pull(160)) is not None:   # 10 ms mono
            ...

    The queue is bounded: when more than ``max_pending_ms`` of audio waits,
    the oldest samples are dropped (and counted in :attr:`dropped_samples`),
    so latency cannot build up when nobody pulls. Not thread-safe.

    Args:
        in_rate, in_channels: what pushed int16 arrays hold.
        out_rate, out_channels: what :meth:`pull` returns (channels 1 or 2).
        max_pending_ms: the most audio kept waiting (default 200 ms).
    """

    def __init__(
        self,
        in_rate: int,
        in_channels: int,
        out_rate: int,
        out_channels: int,
        *,
        max_pending_ms: int = 200,
    ) -> None:
        for name, rate in (("in_rate", in_rate), ("out_rate", out_rate)):
            if not isinstance(rate, int) or rate <= 0:
                raise ValueError(f"{name} must be a positive int (Hz); got {rate!r}")
        self._in_layout = _layout(in_channels)
        self._out_layout = _layout(out_channels)
        if max_pending_ms <= 0:
            raise ValueError(f"max_pending_ms must be positive; got {max_pending_ms}")
        self.in_rate = in_rate
        self.in_channels = in_channels
        self.out_rate = out_rate
        self.out_channels = out_channels
        self.max_pending_ms = max_pending_ms
        #: Samples (per channel) dropped because the queue was full.
        self.dropped_samples = 0
        self._chunks: deque[Int16Array] = deque()
        self._pending = 0
        self._resampler: av.AudioResampler | None = None
        self._resampler_key: tuple[str, str, int] | None = None
        self._resampler_channels = in_channels

    @property
    def pending_samples(self) -> int:
        """Samples (per channel, at ``out_rate``) waiting to be pulled."""
        return self._pending

    @property
    def max_pending_samples(self) -> int:
        """The bound on :attr:`pending_samples` (``max_pending_ms`` at ``out_rate``)."""
        return self.out_rate * self.max_pending_ms // 1000

    def push(self, data: av.AudioFrame | npt.NDArray[np.int16]) -> None:
        """Add audio: an ``av.AudioFrame`` or an int16 array of ``in_rate``/``in_channels``.

        An int16 array is 1-D interleaved or ``(samples, in_channels)``; it is
        copied, so the caller may reuse it. Mono becomes stereo by duplicating
        the channel (no -3 dB pan law) and stereo becomes mono by averaging.
        """
        if isinstance(data, av.AudioFrame):
            self._push_frame(data)
            return
        flat = _interleaved(data, self.in_channels)
        if self.in_rate == self.out_rate:
            self._flush_resampler()
            remapped = _remap_channels(flat, self.in_channels, self.out_channels)
            self._append(remapped.copy() if remapped is flat else remapped)
            return
        self._push_frame(pcm_to_av_frame(flat, self.in_rate, self.in_channels))

    def _push_frame(self, frame: av.AudioFrame) -> None:
        channels = len(frame.layout.channels)
        # Rate, sample format and surround downmix go to libswresample;
        # mono <-> stereo is done here so that mono is duplicated at full level.
        layout = _LAYOUTS.get(channels, "stereo")
        work_channels = 1 if layout == "mono" else 2
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key == ("s16", layout, self.out_rate):
            self._flush_resampler()
            pcm = av_frame_to_pcm(frame)
            self._append(_remap_channels(pcm, work_channels, self.out_channels))
            return
        if key != self._resampler_key:
            self._flush_resampler()
            logger.debug("resampling %s to s16 %s %d Hz", key, layout, self.out_rate)
            self._resampler = av.AudioResampler(format="s16", layout=layout, rate=self.out_rate)
            self._resampler_key = key
            self._resampler_channels = work_channels
        assert self._resampler is not None
        for out in self._resampler.resample(frame):
            self._append(_remap_channels(av_frame_to_pcm(out), work_channels, self.out_channels))

    def flush(self) -> None:
        """Push out the audio still inside the resampler (at the end of a stream)."""
        self._flush_resampler()

    def _flush_resampler(self) -> None:
        if self._resampler is None:
            return
        for out in self._resampler.resample(None):
            pcm = av_frame_to_pcm(out)
            self._append(_remap_channels(pcm, self._resampler_channels, self.out_channels))
        self._resampler = None
        self._resampler_key = None

    def _append(self, chunk: Int16Array) -> None:
        if chunk.size == 0:
            return
        self._chunks.append(chunk)
        self._pending += chunk.size // self.out_channels
        excess = self._pending - self.max_pending_samples
        if excess > 0:
            self._discard(excess)
            self.dropped_samples += excess
            logger.debug("audio queue full: dropped the oldest %d samples", excess)

    def _discard(self, samples: int) -> None:
        values = samples * self.out_channels
        while values:
            head = self._chunks[0]
            if head.size <= values:
                self._chunks.popleft()
                values -= head.size
            else:
                self._chunks[0] = head[values:]
                values = 0
        self._pending -= samples

    def pull(self, samples: int) -> Int16Array | None:
        """Take exactly ``samples`` samples (1-D interleaved int16), or None if fewer wait.

        Raises:
            ValueError: if ``samples`` is not positive or more than the queue can
                ever hold (:attr:`max_pending_samples`).
        """
        if samples <= 0:
            raise ValueError(f"samples must be positive; got {samples}")
        if samples > self.max_pending_samples:
            raise ValueError(
                f"cannot pull {samples} samples: at most {self.max_pending_samples} "
                f"({self.max_pending_ms} ms at {self.out_rate} Hz) are kept"
            )
        if self._pending < samples:
            return None
        values = samples * self.out_channels
        out = np.empty(values, dtype=np.int16)
        filled = 0
        while filled < values:
            head = self._chunks[0]
            take = min(head.size, values - filled)
            out[filled : filled + take] = head[:take]
            filled += take
            if take == head.size:
                self._chunks.popleft()
            else:
                self._chunks[0] = head[take:]
        self._pending -= samples
        return out

    def clear(self) -> None:
        """Drop everything waiting and the resampler's state."""
        self._chunks.clear()
        self._pending = 0
        self._resampler = None
        self._resampler_key = None
