"""Raw audio through real calls: tones mixed at a listener, unmixed per participant."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from engine_plugin import (
    AudioStreamBufferDuration,
    AudioStreamChannelMode,
    AudioStreamSampleRate,
    AudioStreamState,
    CallState,
    GroupCallLocator,
    IncomingAudioOptions,
    IncomingMixedAudioEventArgs,
    IncomingUnmixedAudioEventArgs,
    JoinCallOptions,
    OutgoingAudioOptions,
    RawAudioBuffer,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStream,
    RawOutgoingAudioStreamOptions,
    RawOutgoingAudioStreamProperties,
)
from engine_plugin.media.test_patterns import ToneGenerator, tone_level_db

from ..conftest import wait_until


class ToneSender:
    """Sends a tone in real time (one buffer per buffer duration) while STARTED."""

    def __init__(self, stream: RawOutgoingAudioStream, frequency: float) -> None:
        props = stream.properties
        self.stream = stream
        self.samples = props.samples_per_buffer
        self.generator = ToneGenerator(frequency, props.sample_rate.hz, props.channel_mode.channels)
        self.period = props.buffer_duration.ms / 1000
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-tone", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import time

        next_t = time.monotonic()
        while not self._stop.is_set():
            if self.stream.state is AudioStreamState.STARTED:
                chunk = self.generator.next_chunk(self.samples)
                try:
                    self.stream.send_raw_audio_buffer(RawAudioBuffer(chunk.tobytes()))
                except Exception:
                    if self.stream.state is AudioStreamState.STARTED:
                        raise
            next_t += self.period
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


class AudioRecorder:
    """Keeps what arrives at an incoming audio stream."""

    def __init__(self, stream: RawIncomingAudioStream) -> None:
        self.mixed: list[np.ndarray] = []
        self.unmixed: dict[str, list[np.ndarray]] = {}
        self.lock = threading.Lock()
        stream.mixed_audio_buffer_received += self.on_mixed
        stream.unmixed_audio_buffer_received += self.on_unmixed

    def on_mixed(self, args: IncomingMixedAudioEventArgs) -> None:
        with self.lock:
            self.mixed.append(np.frombuffer(args.audio_buffer.data, dtype=np.int16).copy())

    def on_unmixed(self, args: IncomingUnmixedAudioEventArgs) -> None:
        with self.lock:
            for pid, buf in zip(args.remote_participant_ids, args.audio_buffers, strict=True):
                self.unmixed.setdefault(pid, []).append(
                    np.frombuffer(buf.data, dtype=np.int16).copy()
                )

    def tail(self, chunks: list[np.ndarray], seconds: float, per_second: int) -> np.ndarray:
        with self.lock:
            return np.concatenate(chunks[-int(seconds * per_second) :])


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
    listener = recorders[2].tail(recorders[2].mixed, 3.0, 50)
    assert len(listener) == 3 * 24000  # mono, 24 kHz, exact chunk sizes
    assert tone_level_db(listener, 24000, 1, 440.0) > -30
    assert tone_level_db(listener, 24000, 1, 880.0) > -30
    assert tone_level_db(listener, 24000, 1, 660.0) < -60

    low = recorders[0].tail(recorders[0].mixed, 3.0, 50)
    assert tone_level_db(low, 48000, 2, 880.0) > -30
    assert tone_level_db(low, 48000, 2, 440.0) < -60, "own tone in own mix"
    high = recorders[1].tail(recorders[1].mixed, 3.0, 50)
    assert tone_level_db(high, 48000, 2, 440.0) > -30
    assert tone_level_db(high, 48000, 2, 880.0) < -60, "own tone in own mix"

    # Unmixed: one buffer per remote participant, each holding only its own tone.
    by_name = {p.participant_id: p.display_name for p in calls[2].remote_participants}
    unmixed = recorders[2].unmixed
    assert {by_name[pid] for pid in unmixed} == {"Low", "High"}
    for pid, chunks in unmixed.items():
        pcm = recorders[2].tail(chunks, 2.0, 50)
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
    pcm = recorder.tail(recorder.mixed, 1.5, per_second)
    channels = mode.channels
    assert len(pcm) == int(1.5 * per_second) * (rate.hz * duration.ms // 1000) * channels
    assert tone_level_db(pcm, rate.hz, channels, 660.0) > -30
    speaker_call.stop_audio(out).result(10)
    assert out_states == [AudioStreamState.STARTED, AudioStreamState.STOPPED]
    speaker_call.hang_up().result(10)
    listener_call.hang_up().result(10)
