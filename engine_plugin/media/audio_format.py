"""Audio stream formats and the properties of raw audio streams.

Raw audio is always interleaved signed 16-bit little-endian PCM
(``AudioStreamFormat.PCM16_BIT``). One buffer holds
``rate * channels * 2 * duration`` bytes: 48 kHz stereo 20 ms = 3840 bytes.
An outgoing buffer may also be a whole multiple of that duration, up to
100 ms.
"""

from __future__ import annotations

import enum

__all__ = [
    "MAX_OUTGOING_BUFFER_MS",
    "AudioStreamBufferDuration",
    "AudioStreamChannelMode",
    "AudioStreamFormat",
    "AudioStreamSampleRate",
    "AudioStreamState",
    "InvalidAudioBufferError",
    "InvalidAudioFormatError",
    "RawIncomingAudioStreamProperties",
    "RawOutgoingAudioStreamProperties",
    "check_outgoing_buffer_size",
]

#: The longest outgoing buffer accepted, in milliseconds.
MAX_OUTGOING_BUFFER_MS = 100


class InvalidAudioFormatError(ValueError):
    """Audio stream properties that cannot be used; the message says why."""


class InvalidAudioBufferError(ValueError):
    """An audio buffer whose size does not match its stream's properties."""


class AudioStreamFormat(enum.Enum):
    """The sample format of raw audio: only signed 16-bit PCM."""

    PCM16_BIT = "pcm16_bit"

    @property
    def bytes_per_sample(self) -> int:
        """Bytes per sample of one channel (2)."""
        return 2


class AudioStreamSampleRate(enum.Enum):
    """Sample rates of raw audio streams; ``.hz`` is the rate as an int."""

    HZ_16000 = 16000
    HZ_22050 = 22050
    HZ_24000 = 24000
    HZ_32000 = 32000
    HZ_44100 = 44100
    HZ_48000 = 48000

    @property
    def hz(self) -> int:
        """Samples per second per channel."""
        return int(self.value)


class AudioStreamChannelMode(enum.Enum):
    """Channel layouts of raw audio streams; ``.channels`` is 1 or 2."""

    MONO = 1
    STEREO = 2

    @property
    def channels(self) -> int:
        """Number of interleaved channels."""
        return int(self.value)

    @property
    def av_layout(self) -> str:
        """The PyAV layout name: ``"mono"`` or ``"stereo"``."""
        return "mono" if self is AudioStreamChannelMode.MONO else "stereo"


class AudioStreamBufferDuration(enum.Enum):
    """Duration of one raw audio buffer; ``.ms`` is 10 or 20."""

    IN_MS10 = 10
    IN_MS20 = 20

    @property
    def ms(self) -> int:
        """Milliseconds of audio in one buffer."""
        return int(self.value)


class AudioStreamState(enum.Enum):
    """State of a raw audio stream."""

    STARTED = "started"
    STOPPED = "stopped"


class _AudioStreamProperties:
    """Shared part of the outgoing and incoming properties."""

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __init__(
        self,
        format: AudioStreamFormat = AudioStreamFormat.PCM16_BIT,
        sample_rate: AudioStreamSampleRate = AudioStreamSampleRate.HZ_48000,
        channel_mode: AudioStreamChannelMode = AudioStreamChannelMode.STEREO,
        buffer_duration: AudioStreamBufferDuration = AudioStreamBufferDuration.IN_MS20,
    ) -> None:
        self.format = format
        self.sample_rate = sample_rate
        self.channel_mode = channel_mode
        self.buffer_duration = buffer_duration

    @property
    def channels(self) -> int:
        """Number of channels (1 or 2)."""
        return self.channel_mode.channels

    @property
    def samples_per_buffer(self) -> int:
        """Samples per channel in one buffer (48 kHz, 20 ms: 960)."""
        return self.sample_rate.hz * self.buffer_duration.ms // 1000

    @property
    def expected_buffer_size_in_bytes(self) -> int:
        """Bytes of one buffer: rate * channels * 2 * duration (48 kHz stereo 20 ms: 3840)."""
        return self.samples_per_buffer * self.channels * self.format.bytes_per_sample

    @property
    def description(self) -> str:
        """``"48000 Hz stereo 16-bit, 20 ms"``, for messages."""
        mode = "mono" if self.channel_mode is AudioStreamChannelMode.MONO else "stereo"
        return f"{self.sample_rate.hz} Hz {mode} 16-bit, {self.buffer_duration.ms} ms"

    def validate(self) -> None:
        """Check every field's type and that a buffer holds a whole number of samples.

        Raises:
            InvalidAudioFormatError: e.g. for a sample rate given as a plain
                int, or 22050 Hz with 10 ms buffers (220.5 samples).
        """
        for name, value, enum_type in (
            ("format", self.format, AudioStreamFormat),
            ("sample_rate", self.sample_rate, AudioStreamSampleRate),
            ("channel_mode", self.channel_mode, AudioStreamChannelMode),
            ("buffer_duration", self.buffer_duration, AudioStreamBufferDuration),
        ):
            if not isinstance(value, enum_type):
                members = ", ".join(f"{enum_type.__name__}.{m.name}" for m in enum_type)
                raise InvalidAudioFormatError(f"{name} must be one of {members}; got {value!r}")
        if self.sample_rate.hz * self.buffer_duration.ms % 1000:
            exact = self.sample_rate.hz * self.buffer_duration.ms / 1000
            raise InvalidAudioFormatError(
                f"{self.sample_rate.hz} Hz with {self.buffer_duration.ms} ms buffers would need "
                f"{exact} samples per buffer; use AudioStreamBufferDuration.IN_MS20 "
                "or another sample rate"
            )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _AudioStreamProperties)
        return (self.format, self.sample_rate, self.channel_mode, self.buffer_duration) == (
            other.format,
            other.sample_rate,
            other.channel_mode,
            other.buffer_duration,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(format={self.format}, sample_rate={self.sample_rate}, "
            f"channel_mode={self.channel_mode}, buffer_duration={self.buffer_duration})"
        )


class RawOutgoingAudioStreamProperties(_AudioStreamProperties):
    """What the app will send: ``RawOutgoingAudioStreamProperties(sample_rate=..., ...)``.

    Attributes:
        format: ``AudioStreamFormat.PCM16_BIT``.
        sample_rate: an :class:`AudioStreamSampleRate` (default 48 kHz).
        channel_mode: an :class:`AudioStreamChannelMode` (default stereo).
        buffer_duration: an :class:`AudioStreamBufferDuration` (default 20 ms);
            every sent buffer holds this much audio, or a whole multiple of
            it up to 100 ms.
    """


class RawIncomingAudioStreamProperties(_AudioStreamProperties):
    """How the app wants to receive audio.

    Attributes:
        format: ``AudioStreamFormat.PCM16_BIT``.
        sample_rate: an :class:`AudioStreamSampleRate` (default 48 kHz).
        channel_mode: an :class:`AudioStreamChannelMode` (default stereo).
        buffer_duration: an :class:`AudioStreamBufferDuration` (default 20 ms):
            each received buffer holds exactly this much audio (this
            project's addition to the commercial API).
    """


def check_outgoing_buffer_size(nbytes: int, properties: RawOutgoingAudioStreamProperties) -> int:
    """Check the size of an outgoing audio buffer and return how many durations it holds.

    Accepted sizes are ``k * properties.expected_buffer_size_in_bytes`` for
    ``k`` from 1 to ``100 // duration_ms`` (5 for 20 ms, 10 for 10 ms).

    Raises:
        InvalidAudioFormatError: if the properties themselves are invalid.
        InvalidAudioBufferError: e.g. "expected 3840 bytes (48000 Hz stereo
            16-bit, 20 ms) or a whole multiple of it up to 100 ms (19200
            bytes); got 1000".
    """
    properties.validate()
    expected = properties.expected_buffer_size_in_bytes
    max_count = MAX_OUTGOING_BUFFER_MS // properties.buffer_duration.ms
    if nbytes > 0 and nbytes % expected == 0 and nbytes // expected <= max_count:
        return nbytes // expected
    raise InvalidAudioBufferError(
        f"expected {expected} bytes ({properties.description}) or a whole multiple of it "
        f"up to {MAX_OUTGOING_BUFFER_MS} ms ({expected * max_count} bytes); got {nbytes}"
    )
