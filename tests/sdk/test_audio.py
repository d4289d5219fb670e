"""Raw audio through real calls: tones mixed at a listener, unmixed per participant."""

from __future__ import annotations

import uuid

import pytest

from engine_plugin import (
    AudioStreamBufferDuration,
    AudioStreamChannelMode,
    AudioStreamSampleRate,
    AudioStreamState,
    CallState,
    GroupCallLocator,
    IncomingAudioOptions,
    JoinCallOptions,
    OutgoingAudioOptions,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStream,
    RawOutgoingAudioStreamOptions,
    RawOutgoingAudioStreamProperties,
)
from engine_plugin.media.test_patterns import tone_level_db
from engine_plugin.testing import ToneSender

from ..conftest import wait_until
from .media_helpers import AudioRecorder


def _out(rate: AudioStreamSampleRate, mode: AudioStreamChannelMode) -> RawOutgoingAudioStream:
    return RawOutgoingAudioStream(
        RawOutgoingAudioStreamOptions(
            properties=RawOutgoingAudioStreamProperties(sample_rate=rate, channel_mode=mode)
        )
    )


def _in(
    rate: AudioStreamSampleRate, mode: AudioStreamChannelMode, unmixed: bool
) -> RawIncomingAudioStream:
    props = RawIncomingAudioStreamProperties(
        sample_rate=rate, channel_mode=mode, buffer_duration=AudioStreamBufferDuration.IN_MS20
    )
    return RawIncomingAudioStream(
        RawIncomingAudioStreamOptions(properties=props, receive_unmixed_audio=unmixed)
    )


@pytest.mark.timeout(60)
def test_two_tones_mixed_at_the_third_and_own_tone_absent(make_agent) -> None:  # type: ignore[no-untyped-def]
    group = GroupCallLocator(str(uuid.uuid4()))
    agents = [make_agent(n) for n in ("Low", "High", "Listener")]
    outs = [
        _out(AudioStreamSampleRate.HZ_48000, AudioStreamChannelMode.STEREO),
        _out(AudioStreamSampleRate.HZ_16000, AudioStreamChannelMode.MONO),
    ]
    ins = [
        _in(AudioStreamSampleRate.HZ_48000, AudioStreamChannelMode.STEREO, False),
        _in(AudioStreamSampleRate.HZ_48000, AudioStreamChannelMode.STEREO, False),
        _in(AudioStreamSampleRate.HZ_24000, AudioStreamChannelMode.MONO, True),
    ]
    recorders = [AudioRecorder(s) for s in ins]
    calls = []
    for i, agent in enumerate(agents):
        options = JoinCallOptions(incoming_audio_options=IncomingAudioOptions(stream=ins[i]))
        if i < 2:
            options.outgoing_audio_options = OutgoingAudioOptions(stream=outs[i])
        calls.append(agent.join(group, options).result(10))
    senders = [ToneSender(outs[0], 440.0), ToneSender(outs[1], 880.0)]
    try:
        wait_until(lambda: all(c.state is CallState.CONNECTED for c in calls), what="connected")
        wait_until(lambda: all(len(c.remote_participants) == 2 for c in calls), what="full rosters")
        # 3 s of audio at the listener after both tones started flowing.
        wait_until(lambda: len(recorders[2].mixed) >= 250, timeout=20, what="5 s of mixed audio")
    finally:
        for s in senders:
            s.stop()
    listener = recorders[2].tail(150)
    assert len(listener) == 3 * 24000  # mono, 24 kHz, exact chunk sizes
    assert tone_level_db(listener, 24000, 1, 440.0) > -30
    assert tone_level_db(listener, 24000, 1, 880.0) > -30
    assert tone_level_db(listener, 24000, 1, 660.0) < -60

    low = recorders[0].tail(150)
    assert tone_level_db(low, 48000, 2, 880.0) > -30
    assert tone_level_db(low, 48000, 2, 440.0) < -60, "own tone in own mix"
    high = recorders[1].tail(150)
    assert tone_level_db(high, 48000, 2, 440.0) > -30
    assert tone_level_db(high, 48000, 2, 880.0) < -60, "own tone in own mix"

    # Unmixed: one buffer per remote participant, each holding only its own tone.
    by_name = {p.participant_id: p.display_name for p in calls[2].remote_participants}
    unmixed = recorders[2].unmixed
    assert {by_name[pid] for pid in unmixed} == {"Low", "High"}
    for pid, chunks in unmixed.items():
        pcm = recorders[2].tail(100, chunks)
        mine, other = (440.0, 880.0) if by_name[pid] == "Low" else (880.0, 440.0)
        assert tone_level_db(pcm, 24000, 1, mine) > -30
        assert tone_level_db(pcm, 24000, 1, other) < -60
    for c in calls:
        c.hang_up().result(10)
    assert [s.state for s in outs + ins] == [AudioStreamState.STOPPED] * 5


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("rate", "mode", "duration"),
    [
        (
            AudioStreamSampleRate.HZ_44100,
            AudioStreamChannelMode.STEREO,
            AudioStreamBufferDuration.IN_MS10,
        ),
        (
            AudioStreamSampleRate.HZ_22050,
            AudioStreamChannelMode.MONO,
            AudioStreamBufferDuration.IN_MS20,
        ),
        (
            AudioStreamSampleRate.HZ_32000,
            AudioStreamChannelMode.MONO,
            AudioStreamBufferDuration.IN_MS10,
        ),
    ],
    ids=["44100-stereo-10ms", "22050-mono-20ms", "32000-mono-10ms"],
)
def test_audio_started_mid_call_in_other_layouts_arrives(make_agent, rate, mode, duration) -> None:  # type: ignore[no-untyped-def]
    group = GroupCallLocator(str(uuid.uuid4()))
    speaker, listener = make_agent("Speaker"), make_agent("Listener")
    speaker_call = speaker.join(group).result(10)
    listener_call = listener.join(group).result(10)
    wait_until(lambda: len(speaker_call.remote_participants) == 1, what="both in the call")
    # Both streams are attached to the live call, in the listener's own layout too.
    out = RawOutgoingAudioStream(
        RawOutgoingAudioStreamOptions(
            properties=RawOutgoingAudioStreamProperties(
                sample_rate=rate, channel_mode=mode, buffer_duration=duration
            )
        )
    )
    props = RawIncomingAudioStreamProperties(
        sample_rate=rate, channel_mode=mode, buffer_duration=duration
    )
    inc = RawIncomingAudioStream(RawIncomingAudioStreamOptions(properties=props))
    recorder = AudioRecorder(inc)
    out_states: list[AudioStreamState] = []
    out.state_changed += lambda a: out_states.append(a.stream.state)
    listener_call.start_audio(inc).result(10)
    speaker_call.start_audio(out).result(10)
    assert out.state is AudioStreamState.STARTED and inc.state is AudioStreamState.STARTED
    sender = ToneSender(out, 660.0)
    per_second = 1000 // duration.ms
    try:
        wait_until(lambda: len(recorder.mixed) >= 3 * per_second, timeout=15, what="3 s of audio")
    finally:
        sender.stop()
    pcm = recorder.tail(int(1.5 * per_second))
    channels = mode.channels
    assert len(pcm) == int(1.5 * per_second) * (rate.hz * duration.ms // 1000) * channels
    assert tone_level_db(pcm, rate.hz, channels, 660.0) > -30
    speaker_call.stop_audio(out).result(10)
    assert out_states == [AudioStreamState.STARTED, AudioStreamState.STOPPED]
    speaker_call.hang_up().result(10)
    listener_call.hang_up().result(10)
