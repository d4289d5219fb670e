"""Call audio through Panda3D's real audio system, heard in a file OpenAL Soft writes.

There is no sound device here, so the tests give Panda3D's OpenAL Soft (1.19,
built into ``libp3openal_audio``) its ``wave`` backend: with ``ALSOFT_DRIVERS=wave``
and an ``ALSOFT_CONF`` whose ``[wave] file=`` names a file, what OpenAL mixes
for the "sound card" is written there in real time. The tests analyse that
file: a remote agent's tone comes out of the speakers continuously, and each
participant's voice comes from the side their wall is on.

Those scenarios run in a process of their own (``_child_main``): Panda3D picks
its audio library once per process, at the first ``AudioManager`` (a ShowBase
made earlier with ``audio-library-name null`` would pin the null one), and
OpenAL Soft reads its configuration once per process too. The child talks to
the session's calling service over loopback and reports on stdout; an
assertion failing there fails the test with the child's traceback.

The feeders (outgoing audio) need no sound device and are tested in-process.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import subprocess
import sys
import threading
import time
import uuid
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    JoinCallOptions,
    OutgoingAudioOptions,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStream,
    RawOutgoingAudioStreamOptions,
    RawOutgoingAudioStreamProperties,
)
from engine_plugin.engine import setup
from engine_plugin.engine.audio_playback import MixedAudioPlayer, PcmPlayout, PositionalVoices
from engine_plugin.engine.audio_sources import (
    MicrophoneFeeder,
    NoMicrophoneError,
    ToneFeeder,
    WavFeeder,
    default_outgoing_feeder,
    microphones,
    read_wav,
)
from engine_plugin.media.test_patterns import ToneGenerator, tone_level_db
from engine_plugin.testing import ToneSender

from ..conftest import wait_until
from ..sdk.media_helpers import AudioRecorder

RATE = 48000
FPS = 60
ANALYSIS_S = 1.2
"""Seconds of the device's output analysed once the tone is flowing."""
MARGIN_S = 0.15
"""Left out at both ends of the analysed stretch (the device file's clock vs ours)."""

# -- the OpenAL capture, in a process of its own -------------------------------------

ROOT = Path(__file__).resolve().parents[2]
CONNECTION_STRING_ENV = "ENGINE_PLUGIN_TEST_CONNECTION_STRING"


def run_openal_scenario(scenario: str, connection_string: str, folder: Path) -> str:
    """Run ``scenario`` in a child process with OpenAL writing to ``folder``; its summary."""
    capture = folder / "device.wav"
    conf = folder / "alsoft.conf"
    conf.write_text(
        "[general]\ndrivers = wave\nfrequency = 48000\nchannels = stereo\n"
        f"sample-type = int16\n[wave]\nfile = {capture}\n"
    )
    env = dict(os.environ)
    env.update(
        ALSOFT_CONF=str(conf), ALSOFT_DRIVERS="wave", **{CONNECTION_STRING_ENV: connection_string}
    )
    code = "from tests.engine.test_audio_playback import _child_main; _child_main()"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, scenario, str(capture)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the {scenario} scenario took over 60 s:\n{exc.stderr!s:.4000}")
    if proc.returncode != 0:
        pytest.fail(f"the {scenario} scenario failed in its process:\n{proc.stderr[-6000:]}")
    results = [line[7:] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert results, f"no result from the {scenario} scenario: {proc.stdout[-2000:]}"
    return results[-1]


class AudioBase:
    """A windowless ShowBase with Panda3D's OpenAL audio, and when its device opened."""

    def __init__(self, base: Any, opened_at: float, capture: Path) -> None:
        self.base = base
        self.opened_at = opened_at
        self.capture = capture


def _child_main() -> None:
    """The child process: ``-c ... <scenario> <capture path>``; prints ``RESULT <summary>``."""
    import builtins

    from direct.showbase.ShowBase import ShowBase
    from panda3d.core import loadPrcFileData

    from engine_plugin import (
        CallAgentOptions,
        CallClient,
        CommunicationIdentityClient,
        CommunicationTokenCredential,
    )

    logging.basicConfig(level=logging.WARNING)
    scenario, capture = sys.argv[1], Path(sys.argv[2])
    loadPrcFileData("audio test", "window-type none\naudio-library-name p3openal_audio\n")
    base = ShowBase()
    opened_at = time.monotonic()
    manager = base.sfxManagerList[0]
    assert manager.isValid() and capture.exists(), (
        f"OpenAL did not open its wave backend: manager {manager}, capture {capture.exists()}"
    )
    identity = CommunicationIdentityClient.from_connection_string(os.environ[CONNECTION_STRING_ENV])
    client = CallClient()
    agents: list[Any] = []

    def make_agent(name: str) -> Any:
        _user, token = identity.create_user_and_token(["voip"])
        credential = CommunicationTokenCredential(token.token)
        agent = client.create_call_agent(credential, CallAgentOptions(display_name=name)).result(10)
        agents.append(agent)
        return agent

    try:
        summary = SCENARIOS[scenario](AudioBase(base, opened_at, capture), make_agent)
    finally:
        for agent in agents:
            agent.dispose()
        if getattr(builtins, "base", None) is base:
            base.destroy()
    print("RESULT " + summary, flush=True)


def read_device_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(interleaved int16, rate, channels) of OpenAL's WAVE_FORMAT_EXTENSIBLE output."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "a RIFF WAVE file"
    pos, channels, rate, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk == b"fmt ":
            _tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
        elif chunk == b"data":
            assert bits == 16, f"int16 samples (sample-type = int16); got {bits} bits"
            usable = len(body) // (2 * channels) * 2 * channels
            return np.frombuffer(body[:usable], dtype="<i2").astype(np.int16), rate, channels
        pos += 8 + size + (size & 1)
    raise AssertionError(f"{path}: no data chunk")


def envelope_db(mono: np.ndarray, rate: int, window_ms: float = 5.0) -> np.ndarray:
    """RMS level (dBFS) of consecutive ``window_ms`` windows of a mono int16/float signal."""
    size = int(rate * window_ms / 1000)
    count = mono.size // size
    blocks = mono[: count * size].astype(np.float64).reshape(count, size) / 32768.0
    return 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-20)


def run_frames(
    base: Any,
    seconds: float = 0.0,
    until: Callable[[], object] | None = None,
    timeout: float = 15.0,
    what: str = "",
) -> None:
    """Run the task loop at about ``FPS`` for ``seconds``, or until ``until()`` is true."""
    start = time.monotonic()
    next_frame = start
    while True:
        now = time.monotonic()
        if until is None and now - start >= seconds:
            return
        if until is not None and until():
            return
        if now - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or until}")
        base.taskMgr.step()
        next_frame += 1 / FPS
        time.sleep(max(0.0, next_frame - time.monotonic()))


def _incoming(unmixed: bool = False) -> RawIncomingAudioStream:
    props = RawIncomingAudioStreamProperties(
        sample_rate=AudioStreamSampleRate.HZ_48000,
        channel_mode=AudioStreamChannelMode.STEREO,
        buffer_duration=AudioStreamBufferDuration.IN_MS20,
    )
    return RawIncomingAudioStream(
        RawIncomingAudioStreamOptions(properties=props, receive_unmixed_audio=unmixed)
    )


def _outgoing(
    rate: AudioStreamSampleRate = AudioStreamSampleRate.HZ_48000,
    mode: AudioStreamChannelMode = AudioStreamChannelMode.STEREO,
) -> RawOutgoingAudioStream:
    return RawOutgoingAudioStream(
        RawOutgoingAudioStreamOptions(
            properties=RawOutgoingAudioStreamProperties(sample_rate=rate, channel_mode=mode)
        )
    )


def _hears(
    recorder: AudioRecorder,
    frequency: float,
    buffers: int = 25,
    chunks: list[np.ndarray] | None = None,
    threshold: float = -25.0,
) -> bool:
    with recorder.lock:
        source = recorder.mixed if chunks is None else chunks
        if len(source) < buffers:
            return False
        pcm = np.concatenate(source[-buffers:])
    return tone_level_db(pcm, RATE, 2, frequency) > threshold


def _engine_feeder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("engine_plugin-feeder")]


# -- the mix through the speakers ----------------------------------------------------


def _scenario_mixed(audio_base: AudioBase, make_agent: Callable[[str], Any]) -> str:
    base = audio_base.base
    plugin = setup(base)
    group = GroupCallLocator(str(uuid.uuid4()))
    speaker, listener = make_agent("Speaker"), make_agent("Listener")
    incoming = _incoming()
    recorder = AudioRecorder(incoming)  # to know when the tone reaches the listener
    handlers_before = len(incoming.mixed_audio_buffer_received)
    player = plugin.add(MixedAudioPlayer(incoming))
    listener_call = listener.join(
        group, JoinCallOptions(incoming_audio_options=IncomingAudioOptions(stream=incoming))
    ).result(10)
    out = _outgoing()
    speaker_call = speaker.join(
        group, JoinCallOptions(outgoing_audio_options=OutgoingAudioOptions(stream=out))
    ).result(10)
    sender = ToneSender(out, 440.0)
    try:
        run_frames(base, until=lambda: _hears(recorder, 440.0), timeout=15, what="the tone")
        flowing_at = time.monotonic()
        before = player.stats()
        run_frames(base, ANALYSIS_S + 2 * MARGIN_S)
        after = player.stats()
        stopped_at = time.monotonic()
    finally:
        sender.stop()
    plugin.destroy()
    assert player.sound is None, "destroy releases the sound"
    assert len(incoming.mixed_audio_buffer_received) == handlers_before, "handler removed"
    speaker_call.hang_up().result(10)
    listener_call.hang_up().result(10)
    base.destroy()  # closes the device: the capture file is complete

    pcm, rate, channels = read_device_wav(audio_base.capture)
    assert (rate, channels) == (RATE, 2)
    first = int((flowing_at - audio_base.opened_at + MARGIN_S) * rate)
    last = int((stopped_at - audio_base.opened_at - MARGIN_S) * rate)
    assert last - first > rate, f"a second of output to analyse ({(last - first) / rate:.2f} s)"
    played = pcm[first * 2 : last * 2]
    level = tone_level_db(played, rate, 2, 440.0)
    assert level > -16, f"the remote's 440 Hz tone comes out of the speakers ({level:.1f} dBFS)"
    assert tone_level_db(played, rate, 2, 660.0) < level - 40, "and nothing else"
    mono = played.reshape(-1, 2).mean(axis=1)
    env = envelope_db(mono, rate)
    assert env.min() > -25, (
        f"no gap: every 5 ms of the stretch holds the tone (quietest {env.min():.1f} dBFS "
        f"at {np.argmin(env) * 5} ms)"
    )
    # The playout's own accounting agrees: no silence had to be inserted meanwhile.
    assert after.underruns == before.underruns, (before, after)
    # (Trimming, when the level stayed high for a second, is allowed: it skips, never stops.)
    assert after.buffers_dropped == 0, after
    assert after.buffers_received - before.buffers_received >= (ANALYSIS_S / 0.02) * 0.9
    assert 0 < after.level_ms <= 160
    assert after.update_ms_p95 < 2.0, f"main-thread cost per update: {after}"
    return (
        f"mixed playout: {after.updates} updates, median {after.update_ms_median * 1000:.0f} us, "
        f"p95 {after.update_ms_p95 * 1000:.0f} us, max {after.update_ms_max * 1000:.0f} us; "
        f"level {before.level_ms:.0f} -> {after.level_ms:.0f} ms, "
        f"trimmed {after.buffers_trimmed}, underruns {after.underruns} "
        f"({after.silence_ms:.0f} ms silence), tone {level:.1f} dBFS, "
        f"quietest 5 ms {env.min():.1f} dBFS"
    )


# -- each voice from its wall ---------------------------------------------------------


def _scenario_positional(audio_base: AudioBase, make_agent: Callable[[str], Any]) -> str:
    base = audio_base.base
    plugin = setup(base)
    group = GroupCallLocator(str(uuid.uuid4()))
    listener = make_agent("Listener")
    incoming = _incoming(unmixed=True)
    recorder = AudioRecorder(incoming)
    listener_call = listener.join(
        group, JoinCallOptions(incoming_audio_options=IncomingAudioOptions(stream=incoming))
    ).result(10)
    # Two walls in front of the listener: one to the left, one to the right.
    ear = base.render.attachNewNode("ear")
    walls = {
        "Left": base.render.attachNewNode("left wall"),
        "Right": base.render.attachNewNode("right wall"),
    }
    walls["Left"].setPos(-4, 6, 0)
    walls["Right"].setPos(4, 6, 0)
    nodes: dict[str, Any] = {}  # participant id -> node; filled once the roster is known
    voices = plugin.add(PositionalVoices(incoming, nodes, listener=ear))

    speakers = []
    senders = []
    for name, frequency in (("Left", 440.0), ("Right", 660.0)):
        out = _outgoing(AudioStreamSampleRate.HZ_16000, AudioStreamChannelMode.MONO)
        call = (
            make_agent(name)
            .join(group, JoinCallOptions(outgoing_audio_options=OutgoingAudioOptions(stream=out)))
            .result(10)
        )
        speakers.append(call)
        senders.append(ToneSender(out, frequency))
    try:
        wait_until(lambda: len(listener_call.remote_participants) == 2, what="both speakers")
        for participant in listener_call.remote_participants:
            nodes[participant.participant_id] = walls[participant.display_name]
        ids = {p.display_name: p.participant_id for p in listener_call.remote_participants}

        def both_heard() -> bool:
            with recorder.lock:
                left = list(recorder.unmixed.get(ids["Left"], []))
                right = list(recorder.unmixed.get(ids["Right"], []))
            return _hears(recorder, 440.0, chunks=left) and _hears(recorder, 660.0, chunks=right)

        run_frames(base, until=both_heard, timeout=15, what="both tones")
        flowing_at = time.monotonic()
        run_frames(base, ANALYSIS_S + 2 * MARGIN_S)
        stopped_at = time.monotonic()
        assert voices.node_of(ids["Left"]) == walls["Left"]
        assert voices.sound_of(ids["Right"]) is not None
        stats = voices.stats()
    finally:
        for sender in senders:
            sender.stop()
    plugin.destroy()
    for call in [*speakers, listener_call]:
        call.hang_up().result(10)
    base.destroy()

    pcm, rate, _channels = read_device_wav(audio_base.capture)
    first = int((flowing_at - audio_base.opened_at + MARGIN_S) * rate)
    last = int((stopped_at - audio_base.opened_at - MARGIN_S) * rate)
    stereo = pcm[first * 2 : last * 2].reshape(-1, 2)
    left_ch, right_ch = (np.ascontiguousarray(stereo[:, i]) for i in (0, 1))
    levels = {
        (side, f): tone_level_db(ch, rate, 1, f)
        for side, ch in (("L", left_ch), ("R", right_ch))
        for f in (440.0, 660.0)
    }
    text = ", ".join(f"{s} {f:.0f} Hz {v:.1f} dB" for (s, f), v in levels.items())
    assert levels["L", 440.0] > -30 and levels["R", 660.0] > -30, f"both voices heard: {text}"
    assert levels["L", 440.0] > levels["R", 440.0] + 6, f"the left wall's voice on the left: {text}"
    assert levels["R", 660.0] > levels["L", 660.0] + 6, f"the right wall's on the right: {text}"
    for pid, s in stats.items():
        assert s.buffers_dropped == 0, (pid, s)
    return f"positional voices: {text}"


# -- playout accounting, without a call ----------------------------------------------


def _scenario_playout(audio_base: AudioBase, make_agent: Callable[[str], Any]) -> str:
    base = audio_base.base
    manager = base.sfxManagerList[0]
    playout = PcmPlayout(RATE, 2, latency_ms=60, low_ms=25, high_ms=160, max_queue_ms=200)
    tone = ToneGenerator(440.0, RATE, 2)

    # Before any pump, a burst beyond the queue's bound drops the oldest buffers.
    for _ in range(20):
        playout.push(tone.next_chunk(960))
    assert playout.stats().buffers_dropped == 10  # 200 ms kept of 400
    assert playout.stats().queued_ms == 200

    assert playout.open(manager)
    playout.pump(1 / FPS)  # 200 ms waiting: above high, the oldest trimmed down to 60
    stats = playout.stats()
    assert stats.playing
    assert stats.buffers_trimmed == 7, stats
    assert stats.level_ms == 60, stats

    # Real-time pushes keep the level steady; latency that crept up comes back down;
    # starving for 150 ms inserts silence.
    pusher_stop = threading.Event()
    paused = threading.Event()

    def pusher() -> None:
        next_t = time.monotonic()
        while not pusher_stop.is_set():
            if not paused.is_set():
                playout.push(tone.next_chunk(960))
            next_t += 0.02
            pusher_stop.wait(max(0.0, next_t - time.monotonic()))

    def pump(task: Any) -> int:
        playout.pump(base.clock.getDt())
        return int(task.cont)

    base.taskMgr.add(pump, "test-pump", sort=40)
    thread = threading.Thread(target=pusher, daemon=True)
    thread.start()
    try:
        run_frames(base, 0.5)
        steady = playout.stats()
        # A burst of 60 ms more (below high): latency crept up, trimmed within 2 s.
        for _ in range(3):
            playout.push(tone.next_chunk(960))
        run_frames(base, 0.1)
        crept = playout.stats()
        run_frames(base, 2.1)  # the excess is found at the end of a 1 s window
        recovered = playout.stats()
        paused.set()
        run_frames(base, 0.15)
        paused.clear()
        run_frames(base, 0.3)
    finally:
        pusher_stop.set()
        thread.join(5)
        base.taskMgr.remove("test-pump")
    starved = playout.stats()
    assert steady.underruns == 0 and steady.buffers_trimmed == 7, steady
    assert crept.level_ms > 120 and crept.buffers_trimmed == 7, crept
    assert recovered.buffers_trimmed >= 9 and recovered.level_ms < 110, recovered
    assert recovered.underruns == 0, recovered
    assert starved.underruns >= 1 and starved.silence_ms > 0, starved
    assert 0 < starved.level_ms <= 160, starved
    playout.close()
    assert playout.sound is None

    # No audio manager that can play: buffers are taken and counted, never kept.
    silent = PcmPlayout(RATE, 2)
    assert not silent.open(None)
    silent.push(tone.next_chunk(960))
    silent.pump()
    assert silent.stats().buffers_discarded == 1 and silent.stats().queued_ms == 0
    return (
        f"playout: steady level {steady.level_ms:.0f} ms; after +60 ms {crept.level_ms:.0f} ms, "
        f"recovered to {recovered.level_ms:.0f} ms; starved 150 ms: {starved.underruns} "
        f"underrun(s), {starved.silence_ms:.0f} ms silence"
    )


SCENARIOS: dict[str, Callable[[AudioBase, Callable[[str], Any]], str]] = {
    "mixed": _scenario_mixed,
    "positional": _scenario_positional,
    "playout": _scenario_playout,
}


@pytest.mark.timeout(90)
def test_remote_tone_plays_through_openal_without_gaps(service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A remote's 440 Hz tone, mixed, comes out of the speakers with no 5 ms gap."""
    print("\n" + run_openal_scenario("mixed", service.connection_string, tmp_path))


@pytest.mark.timeout(90)
def test_each_voice_comes_from_its_wall(service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two remotes' voices, walls left and right: each louder on its own side."""
    print("\n" + run_openal_scenario("positional", service.connection_string, tmp_path))


@pytest.mark.timeout(90)
def test_playout_bounds_latency_and_fills_starvation_with_silence(service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The playout's level: trimmed after bursts, topped up with silence when starved."""
    print("\n" + run_openal_scenario("playout", service.connection_string, tmp_path))


def test_positional_voices_need_unmixed_audio() -> None:
    with pytest.raises(ValueError, match="receive_unmixed_audio"):
        PositionalVoices(_incoming(unmixed=False), {})


# -- outgoing feeders ---------------------------------------------------------------


def _write_wav(
    path: Path, frequency: float, rate: int, channels: int, seconds: float, width: int = 2
) -> None:
    samples = int(rate * seconds)
    mono = 0.3 * np.sin(2 * np.pi * frequency * np.arange(samples) / rate)
    if width == 2:
        raw = np.repeat((mono * 32767).astype("<i2"), channels).tobytes()
    else:  # 24-bit
        ints = np.repeat((mono * 8388607).astype(np.int32), channels)
        raw = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(raw)


@pytest.mark.timeout(60)
def test_tone_then_wav_feeder_reach_a_remote_agent(  # type: ignore[no-untyped-def]
    service, no_thread_leak, make_agent, tmp_path
) -> None:
    wav_path = tmp_path / "tone660.wav"
    _write_wav(wav_path, 660.0, 22050, 1, 1.0)  # converted to the stream's 48 kHz stereo
    group = GroupCallLocator(str(uuid.uuid4()))
    sender_agent, receiver_agent = make_agent("Feeder"), make_agent("Ear")
    incoming = _incoming()
    recorder = AudioRecorder(incoming)
    receiver_call = receiver_agent.join(
        group, JoinCallOptions(incoming_audio_options=IncomingAudioOptions(stream=incoming))
    ).result(10)
    out = _outgoing()
    sender_call = sender_agent.join(
        group, JoinCallOptions(outgoing_audio_options=OutgoingAudioOptions(stream=out))
    ).result(10)

    tone = ToneFeeder(out, 440.0).start()
    try:
        wait_until(lambda: _hears(recorder, 440.0), timeout=15, what="the tone feeder's tone")
    finally:
        tone.stop()
    assert not tone.running and not _engine_feeder_threads(), "no thread after stop"
    assert tone.buffers_sent > 0 and tone.errors == []

    with WavFeeder(out, wav_path, loop=True) as wav:
        assert wav.source_rate == 22050 and abs(wav.duration_s - 1.0) < 0.01
        wait_until(
            lambda: _hears(recorder, 660.0) and not _hears(recorder, 440.0, threshold=-50),
            timeout=15,
            what="the WAV's 660 Hz tone, and the 440 Hz one gone",
        )
    assert not _engine_feeder_threads(), "no thread after the with block"
    assert wav.buffers_sent > 25 and wav.errors == []
    tail = recorder.tail(25)
    assert tone_level_db(tail, RATE, 2, 660.0) > -20

    # A feeder started before the stream exists in a call waits; hanging up stops sending.
    sender_call.hang_up().result(10)
    assert out.state is AudioStreamState.STOPPED
    idle = ToneFeeder(out, 440.0).start()
    time.sleep(0.1)
    assert idle.running and idle.buffers_sent == 0 and idle.errors == []
    idle.stop()
    receiver_call.hang_up().result(10)
    assert receiver_call.state is CallState.DISCONNECTED


class _FakeStream:
    """Stands in for a RawOutgoingAudioStream: STARTED, keeps what is sent."""

    def __init__(self, rate: AudioStreamSampleRate, mode: AudioStreamChannelMode) -> None:
        self.properties = RawOutgoingAudioStreamProperties(sample_rate=rate, channel_mode=mode)
        self.state = AudioStreamState.STARTED
        self.sent: list[np.ndarray] = []

    def send_raw_audio_buffer(self, buffer: Any) -> None:
        assert buffer.nbytes == self.properties.expected_buffer_size_in_bytes
        self.sent.append(buffer.as_int16().copy())


def test_wav_feeder_converts_and_ends_when_not_looped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "short.wav"
    _write_wav(path, 660.0, 44100, 2, 0.25, width=3)  # 24-bit stereo at 44.1 kHz
    pcm, rate, channels = read_wav(path)
    assert (rate, channels, pcm.size) == (44100, 2, 2 * int(44100 * 0.25))
    assert tone_level_db(pcm, rate, 2, 660.0) > -12
    stream = _FakeStream(AudioStreamSampleRate.HZ_16000, AudioStreamChannelMode.MONO)
    feeder = WavFeeder(stream, path, loop=False)  # type: ignore[arg-type]
    assert abs(feeder.duration_s - 0.25) < 0.005
    feeder.start()
    wait_until(lambda: feeder.finished and not feeder.running, timeout=5, what="the end")
    assert len(stream.sent) == math.ceil(feeder.duration_s / 0.02)
    sent = np.concatenate(stream.sent)
    assert tone_level_db(sent[:3200], 16000, 1, 660.0) > -13, "660 Hz after the conversion"
    feeder.stop()
    assert not _engine_feeder_threads()

    bad = tmp_path / "not.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(ValueError, match="not a PCM WAV"):
        WavFeeder(stream, bad)  # type: ignore[arg-type]


class _FakeCursor:
    """A microphone's cursor: samples become ready in real time (16 kHz mono, 550 Hz)."""

    def __init__(self) -> None:
        self.generator = ToneGenerator(550.0, 16000, 1)
        self.started = time.monotonic()
        self.read = 0

    def ready(self) -> int:
        return int((time.monotonic() - self.started) * 16000) - self.read

    # Panda3D's method names:
    def readSamples(self, n: int) -> bytes:
        self.read += n
        return bytes(self.generator.next_chunk(n).tobytes())

    def audioRate(self) -> int:
        return 16000

    def audioChannels(self) -> int:
        return 1


class _FakeMicrophone:
    name = "fake microphone"

    def open(self) -> _FakeCursor:
        return _FakeCursor()


def test_microphone_feeder_and_the_default_choice() -> None:
    stream = _FakeStream(AudioStreamSampleRate.HZ_48000, AudioStreamChannelMode.STEREO)
    with MicrophoneFeeder(stream, _FakeMicrophone()):  # type: ignore[arg-type]
        wait_until(lambda: len(stream.sent) >= 15, timeout=5, what="microphone buffers")
    assert not _engine_feeder_threads()
    sent = np.concatenate(stream.sent[-10:])
    assert tone_level_db(sent, 48000, 2, 550.0) > -13, "the microphone's 550 Hz, resampled"

    if microphones():  # a machine with a microphone (Panda3D 1.10: Windows)
        assert isinstance(default_outgoing_feeder(stream), MicrophoneFeeder)  # type: ignore[arg-type]
    else:
        with pytest.raises(NoMicrophoneError, match="no microphone"):
            MicrophoneFeeder(stream)  # type: ignore[arg-type]
        assert isinstance(default_outgoing_feeder(stream), ToneFeeder)  # type: ignore[arg-type]
