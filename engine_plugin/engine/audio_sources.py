"""Outgoing call audio: feeders that send a tone, a WAV asset or a microphone.

    feeder = default_outgoing_feeder(outgoing_audio_stream).start()
    ...
    feeder.stop()                      # joins its thread

Each feeder runs on a thread of its own (``engine_plugin-feeder-…``), paced
in real time by the stream's ``buffer_duration``: while the stream is
STARTED it sends one buffer of exactly ``expected_buffer_size_in_bytes``
per period, in the stream's own properties (rate, channels), which define
what is sent. Before the stream starts and after it stops the feeder
waits; ``stop()`` ends the thread and joins it. A feeder that falls more
than ``MAX_LAG_S`` behind (a stalled process) skips ahead instead of sending
a burst.

- :class:`ToneFeeder`: a continuous sine.
- :class:`WavFeeder`: a PCM WAV file (8, 16, 24 or 32-bit integer samples,
  any rate and channel count), converted once, when the feeder is made, to
  the stream's rate and channels; looped by default.
- :class:`MicrophoneFeeder`: a Panda3D ``MicrophoneAudio``. Panda3D 1.10
  finds microphones on Windows only (DirectShow/waveIn); elsewhere
  ``MicrophoneAudio.getOptions()`` is empty and making one raises
  :class:`NoMicrophoneError`.
- :func:`default_outgoing_feeder`: the microphone where one exists, else a
  WAV (if given), else a tone.
"""

from __future__ import annotations

import logging
import threading
import time
import wave
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import numpy as np
import numpy.typing as npt

from ..media.audio_format import AudioStreamState
from ..media.audio_processing import PcmResampler
from ..media.frames import RawAudioBuffer
from ..media.test_patterns import ToneGenerator
from ..sdk.errors import InvalidStateError
from ..sdk.outgoing_audio import RawOutgoingAudioStream

__all__ = [
    "MAX_LAG_S",
    "AudioFeeder",
    "MicrophoneFeeder",
    "NoMicrophoneError",
    "ToneFeeder",
    "WavFeeder",
    "default_outgoing_feeder",
    "microphones",
    "read_wav",
]

logger = logging.getLogger(__name__)

MAX_LAG_S = 0.2
"""A feeder this far behind its schedule skips ahead instead of catching up in a burst."""

Int16Array = npt.NDArray[np.int16]


class NoMicrophoneError(RuntimeError):
    """No microphone was found (Panda3D 1.10 finds them on Windows only)."""


class AudioFeeder:
    """Sends audio to a ``RawOutgoingAudioStream`` in real time, on a thread of its own.

    Subclasses implement :meth:`_chunks`. ``start()`` returns the feeder, so
    ``feeder = ToneFeeder(stream).start()`` works; it is also a context
    manager (started on entry, stopped on exit).

    Attributes:
        buffers_sent: buffers the stream accepted.
        skips: times the thread fell more than ``MAX_LAG_S`` behind and skipped ahead.
        errors: exceptions a send raised while the stream was STARTED.
    """

    kind = "audio"

    def __init__(self, stream: RawOutgoingAudioStream) -> None:
        props = stream.properties
        self.stream = stream
        self.rate = props.sample_rate.hz
        self.channels = props.channel_mode.channels
        self.samples_per_buffer = props.samples_per_buffer
        self.period_s = props.buffer_duration.ms / 1000
        self.buffers_sent = 0
        self.skips = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._finished = False

    # -- public ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the feeder's thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once a feeder with an end (a WAV not looped) has sent all of it."""
        return self._finished

    def start(self) -> Self:
        """Start the thread (no-op if it runs). Returns the feeder."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"engine_plugin-feeder-{self.kind}-{id(self):x}", daemon=True
            )
            self._thread.start()
        logger.debug("%s feeder started", self.kind)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sending and join the thread (from any thread but the feeder's own)."""
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("%s feeder thread did not stop within %.1f s", self.kind, timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- for subclasses -------------------------------------------------------------

    def _chunks(self) -> list[Int16Array]:
        """The buffers to send this period (interleaved int16 of the stream's layout)."""
        raise NotImplementedError

    def _on_started(self) -> None:
        """The stream is STARTED (again): called on the feeder's thread before sending."""

    def _on_exit(self) -> None:
        """The thread is ending: release what it opened (on the feeder's thread)."""

    # -- the thread -----------------------------------------------------------------

    def _run(self) -> None:
        sending = False
        next_t = time.monotonic()
        try:
            while not self._stop.is_set() and not self._finished:
                if self.stream.state is AudioStreamState.STARTED:
                    if not sending:
                        sending = True
                        next_t = time.monotonic()
                        self._on_started()
                    for chunk in self._chunks():
                        self._send(chunk)
                else:
                    sending = False
                next_t += self.period_s
                delay = next_t - time.monotonic()
                if delay < -MAX_LAG_S:
                    self.skips += 1
                    next_t = time.monotonic()
                    delay = 0.0
                self._stop.wait(max(0.0, delay))
        except Exception:
            logger.exception("%s feeder failed", self.kind)
        finally:
            self._on_exit()
            logger.debug("%s feeder stopped after %d buffers", self.kind, self.buffers_sent)

    def _send(self, chunk: Int16Array) -> None:
        try:
            self.stream.send_raw_audio_buffer(RawAudioBuffer(chunk.tobytes()))
            self.buffers_sent += 1
        except InvalidStateError:
            if self.stream.state is AudioStreamState.STARTED:
                raise
        except Exception as exc:  # a bad buffer: keep it and go on
            if len(self.errors) < 100:
                self.errors.append(exc)
            logger.warning("%s feeder: send failed: %s", self.kind, exc)


class ToneFeeder(AudioFeeder):
    """Sends a continuous sine of ``frequency`` Hz at ``amplitude`` (0 to 1) of full scale."""

    kind = "tone"

    def __init__(
        self, stream: RawOutgoingAudioStream, frequency: float = 440.0, amplitude: float = 0.3
    ) -> None:
        super().__init__(stream)
        self.frequency = frequency
        self._generator = ToneGenerator(frequency, self.rate, self.channels, amplitude)

    def _chunks(self) -> list[Int16Array]:
        return [self._generator.next_chunk(self.samples_per_buffer)]


def read_wav(path: str | Path) -> tuple[Int16Array, int, int]:
    """A PCM WAV file as ``(interleaved int16, rate, channels)``; more than 2 channels are averaged.

    Reads 8-bit (unsigned), 16, 24 and 32-bit integer samples with the stdlib
    ``wave`` module. Float and compressed WAVs raise ``ValueError``.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            channels = wav.getnchannels()
            width = wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except wave.Error as exc:
        raise ValueError(
            f"{path}: not a PCM WAV the wave module reads ({exc}); "
            "convert it to 16-bit PCM, e.g. ffmpeg -i in.wav -c:a pcm_s16le out.wav"
        ) from exc
    if width == 1:
        pcm = ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    elif width == 2:
        pcm = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    elif width == 3:
        bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        pcm = (bytes3[:, 1].astype(np.uint16) | (bytes3[:, 2].astype(np.uint16) << 8)).view(
            np.int16
        )
    elif width == 4:
        pcm = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise ValueError(f"{path}: {8 * width}-bit samples are not supported")
    if channels > 2:
        frames = pcm.size // channels
        pcm = pcm[: frames * channels].reshape(frames, channels).mean(axis=1).astype(np.int16)
        channels = 1
    return np.ascontiguousarray(pcm), rate, channels


class WavFeeder(AudioFeeder):
    """Sends a WAV file, converted to the stream's rate and channels, looped if ``loop``.

    The file is read and converted when the feeder is made (on the caller's
    thread, with :class:`~engine_plugin.media.audio_processing.PcmResampler`
    when the rate or channels differ), so a bad file fails here. Without
    ``loop`` the feeder ends after the last buffer (padded with silence) and
    :attr:`finished` becomes True.
    """

    kind = "wav"

    def __init__(self, stream: RawOutgoingAudioStream, path: str | Path, loop: bool = True) -> None:
        super().__init__(stream)
        self.path = Path(path)
        self.loop = loop
        pcm, rate, channels = read_wav(self.path)
        if pcm.size == 0:
            raise ValueError(f"{self.path}: the WAV holds no samples")
        self.source_rate = rate
        self.source_channels = channels
        self._pcm = self._convert(pcm, rate, channels)
        self._samples = self._pcm.size // self.channels
        self._position = 0
        logger.debug(
            "WAV %s: %d Hz %d ch -> %d Hz %d ch, %.2f s",
            self.path,
            rate,
            channels,
            self.rate,
            self.channels,
            self._samples / self.rate,
        )

    @property
    def duration_s(self) -> float:
        """The converted audio's length in seconds."""
        return self._samples / self.rate

    def _convert(self, pcm: Int16Array, rate: int, channels: int) -> Int16Array:
        if rate == self.rate and channels == self.channels:
            return pcm
        seconds = pcm.size // channels / rate
        resampler = PcmResampler(
            rate, channels, self.rate, self.channels, max_pending_ms=int(seconds * 1000) + 1000
        )
        resampler.push(pcm)
        resampler.flush()
        out = resampler.pull(resampler.pending_samples) if resampler.pending_samples else None
        if out is None:
            raise ValueError(f"{self.path}: nothing left after resampling")
        return out

    def _chunks(self) -> list[Int16Array]:
        need = self.samples_per_buffer
        ch = self.channels
        parts: list[Int16Array] = []
        while need:
            if self._position >= self._samples:
                if not self.loop:
                    break
                self._position = 0
            take = min(need, self._samples - self._position)
            parts.append(self._pcm[self._position * ch : (self._position + take) * ch])
            self._position += take
            need -= take
        if not parts:
            self._finished = True
            return []
        if need:  # the end of a WAV that is not looped
            parts.append(np.zeros(need * ch, dtype=np.int16))
        if not self.loop and self._position >= self._samples:
            self._finished = True
        return [parts[0] if len(parts) == 1 else np.concatenate(parts)]


class _AudioCursor(Protocol):
    """What a Panda3D ``MovieAudioCursor`` (a microphone's) offers (Panda3D's method names)."""

    def ready(self) -> int: ...

    def readSamples(self, n: int) -> bytes: ...

    def audioRate(self) -> int: ...

    def audioChannels(self) -> int: ...


def microphones() -> list[Any]:
    """The microphones Panda3D finds (``MicrophoneAudio`` objects; empty off Windows)."""
    from panda3d.core import MicrophoneAudio

    return list(MicrophoneAudio.getOptions())


class MicrophoneFeeder(AudioFeeder):
    """Sends what a microphone captures, converted to the stream's rate and channels.

    Args:
        stream: the outgoing stream.
        microphone: a ``MicrophoneAudio`` (or any ``MovieAudio`` whose cursor
            fills in real time), or an index into :func:`microphones`
            (default: the first).

    Raises:
        NoMicrophoneError: no microphone exists (always so off Windows with
            Panda3D 1.10).
    """

    kind = "microphone"

    def __init__(self, stream: RawOutgoingAudioStream, microphone: Any = None) -> None:
        super().__init__(stream)
        if microphone is None or isinstance(microphone, int):
            found = microphones()
            index = microphone or 0
            if not found:
                raise NoMicrophoneError(
                    "no microphone: Panda3D found none (MicrophoneAudio.getOptions() is empty; "
                    "Panda3D 1.10 finds microphones on Windows only). Send a tone or a WAV "
                    "instead (ToneFeeder, WavFeeder, or default_outgoing_feeder)"
                )
            if index >= len(found):
                raise NoMicrophoneError(f"no microphone {index}: Panda3D found {len(found)}")
            microphone = found[index]
        self.microphone = microphone
        self.samples_dropped = 0
        self._cursor: _AudioCursor | None = None
        self._resampler: PcmResampler | None = None
        self._mic_channels = 1

    def _on_started(self) -> None:
        if self._cursor is None:
            cursor = self.microphone.open()
            if cursor is None:
                raise NoMicrophoneError(f"the microphone {self.microphone!r} could not be opened")
            self._cursor = cursor
            logger.info(
                "microphone %s open: %d Hz, %d channel(s)",
                getattr(self.microphone, "name", self.microphone),
                cursor.audioRate(),
                cursor.audioChannels(),
            )
        cursor = self._cursor
        self._mic_channels = cursor.audioChannels()
        self._resampler = PcmResampler(
            cursor.audioRate(),
            min(self._mic_channels, 2),
            self.rate,
            self.channels,
            max_pending_ms=max(200, 4 * int(self.period_s * 1000)),
        )
        # Start from now: what the microphone held before is stale.
        stale = cursor.ready()
        if stale > 0:
            cursor.readSamples(stale)

    def _chunks(self) -> list[Int16Array]:
        cursor, resampler = self._cursor, self._resampler
        if cursor is None or resampler is None:
            return []
        ready = cursor.ready()
        if ready > 0:
            pcm = np.frombuffer(cursor.readSamples(ready), dtype="<i2").astype(np.int16)
            if self._mic_channels > 2:
                frames = pcm.size // self._mic_channels
                pcm = pcm[: frames * self._mic_channels].reshape(frames, -1)[:, :2].reshape(-1)
            dropped_before = resampler.dropped_samples
            resampler.push(np.ascontiguousarray(pcm))
            self.samples_dropped += resampler.dropped_samples - dropped_before
        chunks: list[Int16Array] = []
        while (chunk := resampler.pull(self.samples_per_buffer)) is not None:
            chunks.append(chunk)
        return chunks

    def _on_exit(self) -> None:
        self._cursor = None
        self._resampler = None


def default_outgoing_feeder(
    stream: RawOutgoingAudioStream,
    *,
    wav_path: str | Path | None = None,
    tone_frequency: float = 440.0,
) -> AudioFeeder:
    """A feeder for ``stream``, not started yet: the microphone, else the WAV, else a tone.

    The microphone is chosen when Panda3D finds one; the choice is logged.
    """
    if microphones():
        try:
            feeder: AudioFeeder = MicrophoneFeeder(stream)
            logger.info("outgoing audio: the microphone")
            return feeder
        except NoMicrophoneError as exc:
            logger.info("outgoing audio: %s", exc)
    else:
        logger.info("outgoing audio: no microphone found")
    if wav_path is not None:
        logger.info("outgoing audio: WAV %s", wav_path)
        return WavFeeder(stream, wav_path, loop=True)
    logger.info("outgoing audio: a %.0f Hz tone", tone_frequency)
    return ToneFeeder(stream, tone_frequency)
