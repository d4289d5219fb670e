"""Audio enums, stream properties and outgoing buffer sizes."""

from __future__ import annotations

import pytest

from engine_plugin.media import (
    AudioStreamBufferDuration,
    AudioStreamChannelMode,
    AudioStreamFormat,
    AudioStreamSampleRate,
    AudioStreamState,
    InvalidAudioBufferError,
    InvalidAudioFormatError,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStreamProperties,
    check_outgoing_buffer_size,
)

RATE = AudioStreamSampleRate
MODE = AudioStreamChannelMode
DUR = AudioStreamBufferDuration


def test_enums() -> None:
    assert [r.hz for r in RATE] == [16000, 22050, 24000, 32000, 44100, 48000]
    assert [m.channels for m in MODE] == [1, 2]
    assert [d.ms for d in DUR] == [10, 20]
    assert [s.name for s in AudioStreamState] == ["STARTED", "STOPPED"]
    assert [f.name for f in AudioStreamFormat] == ["PCM16_BIT"]


@pytest.mark.parametrize(
    "cls", [RawOutgoingAudioStreamProperties, RawIncomingAudioStreamProperties]
)
def test_defaults(cls: type[RawOutgoingAudioStreamProperties]) -> None:
    props = cls()
    assert props.format is AudioStreamFormat.PCM16_BIT
    assert props.sample_rate is RATE.HZ_48000
    assert props.channel_mode is MODE.STEREO
    assert props.buffer_duration is DUR.IN_MS20
    assert props.expected_buffer_size_in_bytes == 3840
    assert props.samples_per_buffer == 960
    props.validate()
    assert props == cls()
    assert props != cls(channel_mode=MODE.MONO)


@pytest.mark.parametrize("rate", list(RATE))
@pytest.mark.parametrize("mode", list(MODE))
@pytest.mark.parametrize("duration", list(DUR))
def test_expected_sizes(
    rate: AudioStreamSampleRate, mode: AudioStreamChannelMode, duration: AudioStreamBufferDuration
) -> None:
    props = RawOutgoingAudioStreamProperties(
        sample_rate=rate, channel_mode=mode, buffer_duration=duration
    )
    if rate is RATE.HZ_22050 and duration is DUR.IN_MS10:
        with pytest.raises(InvalidAudioFormatError) as info:
            props.validate()
        assert str(info.value) == (
            "22050 Hz with 10 ms buffers would need 220.5 samples per buffer; "
            "use AudioStreamBufferDuration.IN_MS20 or another sample rate"
        )
        return
    props.validate()
    assert props.expected_buffer_size_in_bytes == rate.hz * mode.channels * 2 * duration.ms // 1000
    assert props.samples_per_buffer * 1000 == rate.hz * duration.ms


def test_wrong_types() -> None:
    with pytest.raises(InvalidAudioFormatError) as info:
        RawOutgoingAudioStreamProperties(sample_rate=48000).validate()  # type: ignore[arg-type]
    assert str(info.value).startswith("sample_rate must be one of AudioStreamSampleRate.HZ_16000, ")
    assert str(info.value).endswith("AudioStreamSampleRate.HZ_48000; got 48000")
    with pytest.raises(InvalidAudioFormatError, match="channel_mode must be one of"):
        RawIncomingAudioStreamProperties(channel_mode=2).validate()  # type: ignore[arg-type]


def test_outgoing_buffer_sizes() -> None:
    props = RawOutgoingAudioStreamProperties()
    assert [check_outgoing_buffer_size(3840 * k, props) for k in range(1, 6)] == [1, 2, 3, 4, 5]
    for bad in (0, 1000, 3839, 3841, 3840 * 6, 3840 * 5 + 2):
        with pytest.raises(InvalidAudioBufferError) as info:
            check_outgoing_buffer_size(bad, props)
        assert str(info.value) == (
            "expected 3840 bytes (48000 Hz stereo 16-bit, 20 ms) or a whole multiple of it "
            f"up to 100 ms (19200 bytes); got {bad}"
        )


def test_outgoing_buffer_sizes_10ms_mono() -> None:
    props = RawOutgoingAudioStreamProperties(
        sample_rate=RATE.HZ_16000, channel_mode=MODE.MONO, buffer_duration=DUR.IN_MS10
    )
    assert props.expected_buffer_size_in_bytes == 320
    assert check_outgoing_buffer_size(320 * 10, props) == 10  # 100 ms accepted
    with pytest.raises(InvalidAudioBufferError) as info:
        check_outgoing_buffer_size(320 * 11, props)  # 110 ms refused
    assert str(info.value) == (
        "expected 320 bytes (16000 Hz mono 16-bit, 10 ms) or a whole multiple of it "
        "up to 100 ms (3200 bytes); got 3520"
    )


def test_outgoing_buffer_size_checks_the_properties() -> None:
    props = RawOutgoingAudioStreamProperties(sample_rate=RATE.HZ_22050, buffer_duration=DUR.IN_MS10)
    with pytest.raises(InvalidAudioFormatError, match=r"220\.5 samples"):
        check_outgoing_buffer_size(882, props)
