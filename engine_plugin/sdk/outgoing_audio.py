"""Outgoing raw audio: ``RawOutgoingAudioStream``.

Threads: ``send_raw_audio_buffer`` may be called from any thread;
``state_changed`` fires on the SDK's event-loop thread.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from .._events import EventSlot
from .._operation import Operation
from ..media.audio_format import (
    AudioStreamState,
    RawOutgoingAudioStreamProperties,
    check_outgoing_buffer_size,
)
from ..media.audio_processing import PcmResampler
from ..media.frames import RawAudioBuffer
from ..transport.tracks import AUDIO_CHANNELS, AUDIO_RATE, AUDIO_SAMPLES, AudioSource
from .errors import InvalidStateError
from .event_args import AudioStreamStateChangedEventArgs
from .options import RawOutgoingAudioStreamOptions

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger(__name__)


class RawOutgoingAudioStream:
    """PCM audio the application sends into the call (a game's voice, a tone, a WAV).

    Attach with ``OutgoingAudioOptions(stream=...)`` (starts when the call
    connects) or ``call.start_audio(stream)``; send only after
    ``state_changed`` reports ``STARTED``.

    Events:
        state_changed: ``args.stream`` (this stream), on the event-loop thread.
    """

    state_changed = EventSlot[AudioStreamStateChangedEventArgs]()

    def __init__(self, options: RawOutgoingAudioStreamOptions) -> None:
        if not isinstance(options, RawOutgoingAudioStreamOptions):
            raise TypeError(f"expected RawOutgoingAudioStreamOptions, got {type(options).__name__}")
        properties = options.properties or RawOutgoingAudioStreamProperties()
        properties.validate()
        self.options = options
        self._properties = properties
        self._state = AudioStreamState.STOPPED
        self._lock = threading.Lock()
        self._source: AudioSource | None = None
        self._resampler: PcmResampler | None = None
        self._call: object | None = None
        self.buffers_sent = 0

    @property
    def properties(self) -> RawOutgoingAudioStreamProperties:
        """The PCM layout the application sends."""
        return self._properties

    @property
    def expected_buffer_size_in_bytes(self) -> int:
        """Bytes in one buffer of ``buffer_duration`` (48 kHz stereo 20 ms: 3840)."""
        return int(self._properties.expected_buffer_size_in_bytes)

    @property
    def state(self) -> AudioStreamState:
        """``STARTED`` while attached to a connected call, else ``STOPPED``."""
        return self._state

    def send_raw_audio_buffer(self, buffer: RawAudioBuffer) -> Operation[None]:
        """Send one buffer of interleaved signed 16-bit little-endian samples.

        The size must be ``expected_buffer_size_in_bytes`` or a whole multiple
        of it up to 100 ms; anything else raises ``InvalidAudioBufferError``.
        Outside ``STARTED`` raises ``InvalidStateError``.
        """
        if not isinstance(buffer, RawAudioBuffer):
            raise TypeError(f"expected a RawAudioBuffer, got {type(buffer).__name__}")
        check_outgoing_buffer_size(buffer.nbytes, self._properties)
        with self._lock:
            source, resampler = self._source, self._resampler
            if self._state is not AudioStreamState.STARTED or source is None or resampler is None:
                raise InvalidStateError(
                    "send_raw_audio_buffer needs the stream STARTED, but it is "
                    f"{self._state.name}; "
                    "send after state_changed reports STARTED"
                )
            resampler.push(buffer.as_int16())
            while True:
                chunk = resampler.pull(AUDIO_SAMPLES)
                if chunk is None:
                    break
                source.push(chunk)
            self.buffers_sent += 1
        return Operation.completed(None, "send_raw_audio_buffer")

    # -- internals, called by Call on the loop thread ------------------------------

    def _set_state(self, state: AudioStreamState) -> None:
        if state is self._state:
            return
        self._state = state
        self.state_changed.fire(AudioStreamStateChangedEventArgs(self))

    def _attach(self, call: object, loop: asyncio.AbstractEventLoop) -> AudioSource:
        if self._call is not None and self._call is not call:
            raise InvalidStateError("this audio stream is already attached to another call")
        self._call = call
        with self._lock:
            if self._source is None:
                self._source = AudioSource(loop)
            return self._source

    def _start(self) -> None:
        with self._lock:
            self._resampler = PcmResampler(
                self._properties.sample_rate.hz,
                self._properties.channel_mode.channels,
                AUDIO_RATE,
                AUDIO_CHANNELS,
            )
        self._set_state(AudioStreamState.STARTED)

    def _detach(self) -> None:
        with self._lock:
            self._source = None
            self._resampler = None
            self._call = None
        self._set_state(AudioStreamState.STOPPED)
