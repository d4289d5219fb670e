"""Incoming raw audio: ``RawIncomingAudioStream`` (mixed, and per participant on request).

Threads: decoded audio arrives on the event-loop thread and is resampled into
one bounded FIFO per remote participant; the stream's own mixer thread ticks
every ``buffer_duration`` on a drift-free schedule, takes one chunk per
participant (silence for one that has none ready) and fires
``mixed_audio_buffer_received`` and, when asked for,
``unmixed_audio_buffer_received``, on that mixer thread. The listener's own
voice never enters the mix: only remote participants' tracks are mixed.
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
from ..media.audio_processing import PcmResampler, av_frame_to_pcm, mix, silence
from ..media.frames import RawAudioBuffer
from .delivery import retire_thread
from .errors import InvalidStateError
from .event_args import (
    AudioStreamStateChangedEventArgs,
    IncomingMixedAudioEventArgs,
    IncomingUnmixedAudioEventArgs,
)
from .options import RawIncomingAudioStreamOptions

logger = logging.getLogger(__name__)

TICKS_PER_SECOND = 10_000_000
MAX_PENDING_MS = 200
RESYNC_AFTER_S = 0.2


class _ParticipantAudio:
    """One remote participant's resampled audio, waiting to be mixed."""

    def __init__(self, out_rate: int, out_channels: int, chunk_samples: int) -> None:
        self.lock = threading.Lock()
        self.resampler: PcmResampler | None = None
        self.out_rate = out_rate
        self.out_channels = out_channels
        self.chunk_samples = chunk_samples
        self.primed = False

    def push(self, frame: av.AudioFrame) -> None:
        pcm = av_frame_to_pcm(frame)
        channels = len(frame.layout.channels)
        with self.lock:
            if self.resampler is None:
                self.resampler = PcmResampler(
                    frame.sample_rate,
                    channels,
                    self.out_rate,
                    self.out_channels,
                    max_pending_ms=MAX_PENDING_MS,
                )
            self.resampler.push(pcm)

    def pull(self) -> np.ndarray | None:
        with self.lock:
            resampler = self.resampler
            if resampler is None:
                return None
            # Start (and restart after running dry) with a little margin against jitter.
            if not self.primed:
                if resampler.pending_samples < self.chunk_samples * 3 // 2:
                    return None
                self.primed = True
            chunk = resampler.pull(self.chunk_samples)
            if chunk is None:
                self.primed = False
            return chunk


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

    def _remove_participant(self, participant_id: str) -> None:
        with self._lock:
            self._participants.pop(participant_id, None)

    def _run(self) -> None:
        mark_sdk_thread("audio mixer")
        quiet = silence(self._chunk_samples, self._channels)
        next_tick = time.monotonic() + self._duration_s
        ticks = time.monotonic_ns() // 100
        step_ticks = int(self._duration_s * TICKS_PER_SECOND)
        while not self._stop_event.is_set():
            delay = next_tick - time.monotonic()
            if delay > 0 and self._stop_event.wait(delay):
                break
            now = time.monotonic()
            if now - next_tick > RESYNC_AFTER_S:
                next_tick = now  # the process stalled: restart the schedule, no burst
            next_tick += self._duration_s
            with self._lock:
                entries = list(self._participants.items())
            ids: list[str] = []
            chunks: list[np.ndarray] = []
            for pid, entry in entries:
                chunk = entry.pull()
                ids.append(pid)
                chunks.append(quiet if chunk is None else chunk)
            mixed = mix(chunks) if chunks else quiet
            ticks += step_ticks
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
