"""Incoming raw audio: ``RawIncomingAudioStream`` (mixed, and per participant on request).

Threads: decoded audio arrives on the event-loop thread and is resampled into
one bounded FIFO per remote participant. The stream's own mixer thread emits a
buffer as soon as every participant who is speaking has one ready (so the
mix adds no clock of its own to the latency and follows the senders' clocks,
never drifting from them), and on a deadline otherwise: a participant whose
audio is late is mixed as silence, and with nobody sending the mixer still
emits silence every ``buffer_duration``. Events fire on that mixer thread.
A FIFO holds at most ``MAX_PENDING_MS``: a participant whose audio arrives in
a burst loses its oldest samples rather than adding lasting delay.
The listener's own voice never enters the mix: only remote tracks are mixed.
"""

from __future__ import annotations

import logging
import threading
import time

import av
import numpy as np

from .._events import EventSlot
from .._threads import mark_sdk_thread
from ..media.audio_format import AudioStreamState, RawIncomingAudioStreamProperties
from ..media.audio_processing import PcmResampler, mix, silence
from ..media.frames import TICKS_PER_SECOND, RawAudioBuffer
from .delivery import retire_thread
from .errors import InvalidStateError
from .event_args import (
    AudioStreamStateChangedEventArgs,
    IncomingMixedAudioEventArgs,
    IncomingUnmixedAudioEventArgs,
)
from .options import RawIncomingAudioStreamOptions

logger = logging.getLogger(__name__)

MAX_PENDING_MS = 80
"""Most audio a participant's FIFO holds; older samples are dropped (bounded latency)."""
LATE_ALLOWANCE_S = 0.020
"""How long past its due time the mixer waits for a speaking participant's next buffer."""
ACTIVE_FOR_S = 0.100
"""A participant who delivered nothing for this long no longer holds the mix back."""
RESYNC_AFTER_S = 0.2


class _ParticipantAudio:
    """One remote participant's resampled audio, waiting to be mixed."""

    def __init__(self, out_rate: int, out_channels: int, chunk_samples: int) -> None:
        self.lock = threading.Lock()
        self.resampler = PcmResampler(
            out_rate, out_channels, out_rate, out_channels, max_pending_ms=MAX_PENDING_MS
        )
        self.chunk_samples = chunk_samples
        self.last_arrival = 0.0

    def push(self, frame: av.AudioFrame) -> None:
        with self.lock:
            self.resampler.push(frame)
            self.last_arrival = time.monotonic()

    def ready(self) -> bool:
        with self.lock:
            return self.resampler.pending_samples >= self.chunk_samples

    def active(self, now: float) -> bool:
        return now - self.last_arrival < ACTIVE_FOR_S

    def pull(self) -> np.ndarray | None:
        with self.lock:
            return self.resampler.pull(self.chunk_samples)


class RawIncomingAudioStream:
    """The call's audio as PCM: every remote participant mixed, and each alone if asked.

    Attach with ``IncomingAudioOptions(stream=...)`` or ``call.start_audio(stream)``.

    Events:
        state_changed: ``args.stream`` (this stream), on the event-loop thread.
        mixed_audio_buffer_received: ``args.audio_buffer`` (a ``RawAudioBuffer`` of
            ``buffer_duration`` at the requested rate and channels) and
            ``args.stream_properties``; on the stream's mixer thread, every
            ``buffer_duration`` while STARTED (silence when nobody speaks).
        unmixed_audio_buffer_received: ``args.audio_buffers`` (one per remote
            participant) and ``args.remote_participant_ids`` (same order), when
            ``receive_unmixed_audio`` is set; on the mixer thread.
    """

    state_changed = EventSlot[AudioStreamStateChangedEventArgs]()
    mixed_audio_buffer_received = EventSlot[IncomingMixedAudioEventArgs]()
    unmixed_audio_buffer_received = EventSlot[IncomingUnmixedAudioEventArgs]()

    def __init__(self, options: RawIncomingAudioStreamOptions) -> None:
        if not isinstance(options, RawIncomingAudioStreamOptions):
            raise TypeError(f"expected RawIncomingAudioStreamOptions, got {type(options).__name__}")
        properties = options.properties or RawIncomingAudioStreamProperties()
        properties.validate()
        self.options = options
        self._properties = properties
        self.receive_unmixed_audio = bool(options.receive_unmixed_audio)
        self._rate = properties.sample_rate.hz
        self._channels = properties.channel_mode.channels
        self._duration_s = properties.buffer_duration.ms / 1000
        self._chunk_samples = self._rate * properties.buffer_duration.ms // 1000
        self._state = AudioStreamState.STOPPED
        self._lock = threading.Lock()
        self._participants: dict[str, _ParticipantAudio] = {}
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._arrived = threading.Condition()
        self._call: object | None = None
        self.buffers_delivered = 0

    @property
    def properties(self) -> RawIncomingAudioStreamProperties:
        """The PCM layout buffers arrive in."""
        return self._properties

    @property
    def state(self) -> AudioStreamState:
        """``STARTED`` while attached to a connected call, else ``STOPPED``."""
        return self._state

    # -- internals, called by Call on the loop thread ------------------------------

    def _attach(self, call: object) -> None:
        if self._call is not None and self._call is not call:
            raise InvalidStateError("this audio stream is already attached to another call")
        self._call = call

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop_event.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"engine_plugin-audio-{id(self):x}", daemon=True
            )
            self._state = AudioStreamState.STARTED
            self._thread.start()
        self.state_changed.fire(AudioStreamStateChangedEventArgs(self))

    def _detach(self, wait: bool = False) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._call = None
            self._participants.clear()
            was_started = self._state is AudioStreamState.STARTED
            self._state = AudioStreamState.STOPPED
        self._stop_event.set()
        with self._arrived:
            self._arrived.notify()
        if thread is not None and wait and thread is not threading.current_thread():
            thread.join(5.0)
        elif thread is not None:
            retire_thread(thread)
        if was_started:
            self.state_changed.fire(AudioStreamStateChangedEventArgs(self))

    def _offer(self, participant_id: str, frame: av.AudioFrame) -> None:
        """A decoded frame from ``participant_id`` arrived (event-loop thread)."""
        if self._state is not AudioStreamState.STARTED:
            return
        with self._lock:
            entry = self._participants.get(participant_id)
            if entry is None:
                entry = self._participants[participant_id] = _ParticipantAudio(
                    self._rate, self._channels, self._chunk_samples
                )
        entry.push(frame)
        with self._arrived:
            self._arrived.notify()

    def _remove_participant(self, participant_id: str) -> None:
        with self._lock:
            self._participants.pop(participant_id, None)

    def _run(self) -> None:
        mark_sdk_thread("audio mixer")
        quiet = silence(self._chunk_samples, self._channels)
        step_ticks = int(self._duration_s * TICKS_PER_SECOND)
        ticks = time.monotonic_ns() // 100
        due = time.monotonic() + self._duration_s
        while not self._stop_event.is_set():
            now = time.monotonic()
            with self._lock:
                entries = list(self._participants.items())
            speaking = [e for _, e in entries if e.active(now)]
            all_ready = bool(speaking) and all(e.ready() for e in speaking)
            if not all_ready and now < due + (LATE_ALLOWANCE_S if speaking else 0.0):
                with self._arrived:
                    self._arrived.wait(due + LATE_ALLOWANCE_S - now if speaking else due - now)
                continue
            ids: list[str] = []
            chunks: list[np.ndarray] = []
            for pid, entry in entries:
                chunk = entry.pull()
                ids.append(pid)
                chunks.append(quiet if chunk is None else chunk)
            mixed = mix(chunks) if chunks else quiet
            ticks += step_ticks
            # The next buffer is due one duration after this one (after now when
            # this one came from arrivals, or when the thread fell far behind).
            due += self._duration_s
            if all_ready or now - due > RESYNC_AFTER_S:
                due = max(due, now + self._duration_s)
            self._emit(mixed, ids, chunks, ticks)

    def _emit(
        self, mixed: np.ndarray, ids: list[str], chunks: list[np.ndarray], ticks: int
    ) -> None:
        try:
            self.mixed_audio_buffer_received.fire(
                IncomingMixedAudioEventArgs(
                    RawAudioBuffer(data=mixed, timestamp_in_ticks=ticks), self._properties
                )
            )
            if self.receive_unmixed_audio and ids:
                self.unmixed_audio_buffer_received.fire(
                    IncomingUnmixedAudioEventArgs(
                        [RawAudioBuffer(data=c, timestamp_in_ticks=ticks) for c in chunks],
                        ids,
                        self._properties,
                    )
                )
        except Exception:
            logger.exception("audio delivery failed")
        self.buffers_delivered += 1
