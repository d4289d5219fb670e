"""Whole state sequences of calls, participants and streams, through real calls.

Every sequence is recorded from the moment the call exists: ``CallWatcher``
subscribes in ``CallAgent.calls_updated``, which fires on the SDK's loop thread
before the call starts connecting, so nothing is missed and nothing races.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from engine_plugin import (
    AudioStreamChannelMode,
    AudioStreamSampleRate,
    AudioStreamState,
    CallEndReason,
    CallState,
    GroupCallLocator,
    IncomingAudioOptions,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingAudioOptions,
    OutgoingVideoOptions,
    ParticipantState,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStream,
    RawOutgoingAudioStreamOptions,
    RawOutgoingAudioStreamProperties,
    RawOutgoingVideoStreamOptions,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.media.test_patterns import tone_level_db
from engine_plugin.testing import PatternSender, ToneSender

from ..conftest import wait_until
from .call_helpers import CallWatcher, PatternRecorder, assert_pattern_frames
from .media_helpers import AudioRecorder

S = VideoStreamState
C = CallState
P = ParticipantState
RGBA_IN = IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)


def _group() -> GroupCallLocator:
    return GroupCallLocator(str(uuid.uuid4()))


def _video(resolution: VideoStreamResolution, fps: int) -> VirtualOutgoingVideoStream:
    fmt = VideoStreamFormat(
        resolution=resolution, pixel_format=VideoStreamPixelFormat.RGBA, frames_per_second=fps
    )
    return VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))


def _record_states(stream: object) -> list[object]:
    states: list[object] = []
    stream.state_changed += lambda a: states.append(a.stream.state)  # type: ignore[attr-defined]
    return states


@pytest.mark.timeout(30)
def test_join_then_hang_up_gives_the_whole_call_state_sequence(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    alice = make_agent("Alice")
    watcher = CallWatcher(alice)
    ids_seen: list[tuple[CallState, str]] = []
    alice.calls_updated += lambda a: [
        c.state_changed.__iadd__(lambda _e, c=c: ids_seen.append((c.state, c.id)))
        for c in a.added_calls
    ]
    call = alice.join(_group()).result(10)
    wait_until(lambda: call.state is C.CONNECTED, what="connected")
    assert alice.calls == [call]
    assert call.id, "the service's call id is known once join completes"
    call.hang_up().result(10)

    assert watcher.added_states == [C.NONE], "calls_updated fires before CONNECTING"
    assert [log.call for log in watcher.logs] == [call]
    assert watcher.states(call) == [C.CONNECTING, C.CONNECTED, C.DISCONNECTING, C.DISCONNECTED]
    assert watcher.removed == [call]
    assert alice.calls == []
    assert call.call_end_reason is CallEndReason.HUNG_UP
    # The call's id is known from CONNECTED on (handlers can use it at once).
    assert [(state, bool(call_id)) for state, call_id in ids_seen] == [
        (C.CONNECTING, False),
        (C.CONNECTED, True),
        (C.DISCONNECTING, True),
        (C.DISCONNECTED, True),
    ]
    # Hanging up again is a no-op, not an error, and fires nothing.
    call.hang_up().result(10)
    assert watcher.states(call)[-1] is C.DISCONNECTED and len(watcher.states(call)) == 4


@pytest.mark.timeout(60)
def test_roster_sequences_across_join_and_leave_of_three_agents(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    group = _group()
    alice, bob, carol = make_agent("Alice"), make_agent("Bob"), make_agent("Carol")
    recorders = {name: PatternRecorder(seed=7) for name in ("Alice", "Carol")}
    watchers = {
        "Alice": CallWatcher(alice, lambda p, s: recorders["Alice"].attach(s)),
        "Bob": CallWatcher(bob),
        "Carol": CallWatcher(carol, lambda p, s: recorders["Carol"].attach(s)),
    }
    bob_video = _video(VideoStreamResolution.P180, 15)
    sender = PatternSender(bob_video, fps=15, seed=7)
    try:
        a = alice.join(group, JoinCallOptions(incoming_video_options=RGBA_IN)).result(10)
        wait_until(lambda: a.state is C.CONNECTED, what="alice connected")
        b = bob.join(
            group,
            JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[bob_video])),
        ).result(10)
        wait_until(lambda: len(a.remote_participants) == 1, what="alice sees bob")
        c = carol.join(group, JoinCallOptions(incoming_video_options=RGBA_IN)).result(10)
        calls = {"Alice": a, "Bob": b, "Carol": c}
        wait_until(
            lambda: all(
                len(x.remote_participants) == 2
                and all(p.state is P.CONNECTED for p in x.remote_participants)
                for x in calls.values()
            ),
            what="everyone connected to everyone",
        )
        wait_until(
            lambda: all(len(r.frames()) >= 25 for r in recorders.values()),
            timeout=15,
            what="bob's video at alice and carol",
        )

        b.hang_up().result(10)
        wait_until(lambda: all(len(x.remote_participants) == 1 for x in (a, c)), what="bob removed")
        a.hang_up().result(10)
        wait_until(lambda: not c.remote_participants, what="alice removed at carol")
        c.hang_up().result(10)
    finally:
        sender.stop()
    assert not sender.errors

    roster = {name: watchers[name].roster(calls[name]) for name in calls}
    assert roster == {
        "Alice": [
            ("added", ("Bob",)),
            ("added", ("Carol",)),
            ("removed", ("Bob",)),
            ("removed", ("Carol",)),
        ],
        "Bob": [("added", ("Alice",)), ("added", ("Carol",)), ("removed", ("Alice", "Carol"))],
        "Carol": [("added", ("Alice", "Bob")), ("removed", ("Bob",)), ("removed", ("Alice",))],
    }
    for name in calls:
        assert watchers[name].states(calls[name]) == [
            C.CONNECTING,
            C.CONNECTED,
            C.DISCONNECTING,
            C.DISCONNECTED,
        ], name

    # Bob as Alice and Carol saw him: connected, streamed, then gone with his stream.
    for viewer in ("Alice", "Carol"):
        log = watchers[viewer].participant(calls[viewer], "Bob")
        assert log.states == [P.CONNECTING, P.CONNECTED, P.DISCONNECTED], viewer
        assert log.participant.state is P.DISCONNECTED
        assert log.participant.incoming_video_streams == []
        assert list(log.streams.values()) == [[S.AVAILABLE, S.STARTED, S.STOPPED, S.NOT_AVAILABLE]]
        (stream,) = log.stream_objects.values()
        assert stream.state is S.NOT_AVAILABLE
        assert_pattern_frames(
            recorders[viewer].settled(stream.id, 0.5), size=(320, 180), min_count=5
        )
        # Alice and Carol never sent video: nothing but Bob's stream reached anyone.
        assert {s.stream_id for s in recorders[viewer].frames()} == {stream.id}
    for viewer, other in (("Alice", "Carol"), ("Carol", "Alice")):
        log = watchers[viewer].participant(calls[viewer], other)
        assert log.streams == {}
        assert log.states[-1] is P.DISCONNECTED
    # Bob, who left, saw the others removed when his call ended.
    for other in ("Alice", "Carol"):
        log = watchers["Bob"].participant(b, other)
        assert log.states == [P.CONNECTING, P.CONNECTED, P.DISCONNECTED], other


@pytest.mark.timeout(60)
def test_stop_video_mid_call_then_start_it_again(service, no_thread_leak, make_agent) -> None:  # type: ignore[no-untyped-def]
    group = _group()
    alice, bob = make_agent("Alice"), make_agent("Bob")
    recorder = PatternRecorder(seed=3)
    bob_watch = CallWatcher(bob, lambda p, s: recorder.attach(s))
    stream = _video(VideoStreamResolution.P360, 30)
    out_states = _record_states(stream)
    sender = PatternSender(stream, fps=30, seed=3)
    try:
        b = bob.join(group, JoinCallOptions(incoming_video_options=RGBA_IN)).result(10)
        a = alice.join(
            group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[stream]))
        ).result(10)
        wait_until(lambda: len(recorder.frames()) >= 30, timeout=15, what="first frames")
        alice_log = bob_watch.participant(b, "Alice")
        (first_id,) = alice_log.streams

        a.stop_video(stream).result(10)
        assert out_states == [S.AVAILABLE, S.STARTED, S.STOPPING, S.STOPPED, S.NOT_AVAILABLE]
        assert a.outgoing_video_streams == []
        wait_until(
            lambda: alice_log.streams[first_id][-1] is S.NOT_AVAILABLE,
            what="bob's incoming stream ends",
        )
        assert alice_log.streams[first_id] == [S.AVAILABLE, S.STARTED, S.STOPPED, S.NOT_AVAILABLE]
        assert recorder.states[first_id] == [S.AVAILABLE, S.STARTED, S.STOPPED, S.NOT_AVAILABLE]
        assert alice_log.participant.incoming_video_streams == []
        frames_of_first = len(recorder.frames(first_id))
        last_of_first = max(f.number or 0 for f in recorder.frames(first_id))
        assert a.state is C.CONNECTED and b.state is C.CONNECTED

        a.start_video(stream).result(10)
        assert out_states[5:] == [S.AVAILABLE, S.STARTED]
        wait_until(lambda: len(alice_log.streams) == 2, what="a new incoming stream")
        second_id = next(i for i in alice_log.streams if i != first_id)
        wait_until(lambda: len(recorder.frames(second_id)) >= 45, timeout=15, what="frames again")
        assert [s.id for s in alice_log.participant.incoming_video_streams] == [second_id]
    finally:
        sender.stop()
    assert not sender.errors
    assert_pattern_frames(recorder.settled(first_id, 0.5), size=(640, 360), min_count=10)
    again = recorder.settled(second_id, 0.5)
    assert_pattern_frames(again, size=(640, 360), min_count=10)
    assert min(f.number or 0 for f in recorder.frames(second_id)) > last_of_first
    assert len(recorder.frames(first_id)) <= frames_of_first + 1, "frames after NOT_AVAILABLE"

    a.hang_up().result(10)
    wait_until(lambda: alice_log.streams[second_id][-1] is S.NOT_AVAILABLE, what="stream ends")
    assert alice_log.streams[second_id] == [S.AVAILABLE, S.STARTED, S.STOPPED, S.NOT_AVAILABLE]
    assert out_states == [
        S.AVAILABLE, S.STARTED, S.STOPPING, S.STOPPED, S.NOT_AVAILABLE,
        S.AVAILABLE, S.STARTED, S.STOPPING, S.STOPPED, S.NOT_AVAILABLE,
    ]  # fmt: skip
    b.hang_up().result(10)


@pytest.mark.timeout(60)
def test_second_call_in_the_same_process_reuses_the_same_streams(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    alice = make_agent("Alice")
    video = _video(VideoStreamResolution.P180, 15)
    audio_out = RawOutgoingAudioStream(
        RawOutgoingAudioStreamOptions(properties=RawOutgoingAudioStreamProperties())
    )
    audio_in = RawIncomingAudioStream(
        RawIncomingAudioStreamOptions(properties=RawIncomingAudioStreamProperties())
    )
    video_states = _record_states(video)
    out_states = _record_states(audio_out)
    in_states = _record_states(audio_in)
    options = JoinCallOptions(
        outgoing_video_options=OutgoingVideoOptions(streams=[video]),
        outgoing_audio_options=OutgoingAudioOptions(stream=audio_out),
        incoming_audio_options=IncomingAudioOptions(stream=audio_in),
    )
    sender = PatternSender(video, fps=15, seed=5)
    tone = ToneSender(audio_out, 440.0)
    try:
        for round_no, name in enumerate(("Bob", "Carol")):
            other = make_agent(name)
            recorder = PatternRecorder(seed=5)
            CallWatcher(other, lambda p, s, r=recorder: r.attach(s))
            listen = RawIncomingAudioStream(
                RawIncomingAudioStreamOptions(
                    properties=RawIncomingAudioStreamProperties(
                        sample_rate=AudioStreamSampleRate.HZ_16000,
                        channel_mode=AudioStreamChannelMode.MONO,
                    )
                )
            )
            heard = AudioRecorder(listen)
            group = _group()
            o = other.join(
                group,
                JoinCallOptions(
                    incoming_video_options=RGBA_IN,
                    incoming_audio_options=IncomingAudioOptions(stream=listen),
                ),
            ).result(10)
            a = alice.join(group, options).result(10)
            wait_until(lambda: video.state is S.STARTED, what=f"video STARTED in call {round_no}")
            assert audio_out.state is AudioStreamState.STARTED
            assert audio_in.state is AudioStreamState.STARTED
            wait_until(
                lambda r=recorder: len(r.frames()) >= 25, timeout=15, what=f"frames in {name}"
            )
            wait_until(lambda h=heard: len(h) >= 75, timeout=15, what=f"audio at {name}")
            assert_pattern_frames(recorder.settled(after_s=0.5), size=(320, 180), min_count=10)
            pcm = heard.tail(50)  # the last second, 16 kHz mono
            assert tone_level_db(pcm, 16000, 1, 440.0) > -30, f"tone at {name}"
            a.hang_up().result(10)
            o.hang_up().result(10)
            assert video.state is S.NOT_AVAILABLE
            assert audio_out.state is AudioStreamState.STOPPED
    finally:
        sender.stop()
        tone.stop()
    assert not sender.errors and not tone.errors
    one_call = [S.AVAILABLE, S.STARTED, S.STOPPING, S.STOPPED, S.NOT_AVAILABLE]
    assert video_states == one_call * 2
    a_s = AudioStreamState
    assert out_states == [a_s.STARTED, a_s.STOPPED] * 2
    assert in_states == [a_s.STARTED, a_s.STOPPED] * 2


@pytest.mark.timeout(60)
def test_an_agent_disposed_without_hanging_up_leaves_the_others_rosters(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    group = _group()
    alice, bob, carol = make_agent("Alice"), make_agent("Bob"), make_agent("Carol")
    watchers = {n: CallWatcher(x) for n, x in (("Alice", alice), ("Bob", bob), ("Carol", carol))}
    calls = {n: x.join(group).result(10) for n, x in (("Alice", alice), ("Bob", bob))}
    carol_call = carol.join(group).result(10)
    wait_until(
        lambda: (
            all(len(c.remote_participants) == 2 for c in (*calls.values(), carol_call))
            and all(p.state is P.CONNECTED for c in calls.values() for p in c.remote_participants)
        ),
        what="full mesh",
    )
    carol_threads = [t for t in threading.enumerate() if t.name.endswith(f"{id(carol):x}")]
    assert carol_threads, "the agent's loop thread is named after it"

    carol.dispose()
    disposed_at = time.monotonic()
    wait_until(
        lambda: all(len(c.remote_participants) == 1 for c in calls.values()),
        timeout=5,
        what="carol removed everywhere",
    )
    assert time.monotonic() - disposed_at < 3
    assert not [t for t in carol_threads if t.is_alive()], "dispose joins the agent's thread"
    for name, call in calls.items():
        assert [p.display_name for p in call.remote_participants] == [
            "Bob" if name == "Alice" else "Alice"
        ]
        assert watchers[name].roster(call)[-1] == ("removed", ("Carol",))
        assert watchers[name].participant(call, "Carol").states[-1] is P.DISCONNECTED
        assert call.state is C.CONNECTED
    assert watchers["Carol"].states(carol_call) == [
        C.CONNECTING,
        C.CONNECTED,
        C.DISCONNECTING,
        C.DISCONNECTED,
    ]
    assert carol.calls == []
    # The others go on: a newcomer still meets both.
    dave = make_agent("Dave")
    d = dave.join(group).result(10)
    wait_until(
        lambda: sorted(p.display_name for p in d.remote_participants) == ["Alice", "Bob"],
        what="dave meets alice and bob",
    )
    for call in (*calls.values(), d):
        call.hang_up().result(10)


@pytest.mark.timeout(30)
def test_hanging_up_while_connecting_leaves_the_call_for_good(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    group = _group()
    alice, bob = make_agent("Alice"), make_agent("Bob")
    alice_watch, bob_watch = CallWatcher(alice), CallWatcher(bob)
    a = alice.join(group).result(10)
    hang_ups = []

    def hang_up_at_once(args) -> None:  # type: ignore[no-untyped-def]
        for call in args.added_calls:
            hang_ups.append(call.hang_up())  # before the join has even been sent

    bob.calls_updated += hang_up_at_once
    b = bob.join(group).result(10)
    bob.calls_updated -= hang_up_at_once
    hang_ups[0].result(10)
    assert b.state is C.DISCONNECTED
    assert bob_watch.states(b) == [C.CONNECTING, C.DISCONNECTING, C.DISCONNECTED]
    assert b.call_end_reason is CallEndReason.HUNG_UP
    assert bob.calls == [] and bob_watch.removed == [b]
    # The service saw Bob join and leave: no ghost stays in Alice's call.
    wait_until(lambda: len(alice_watch.roster(a)) == 2, what="bob joins and leaves")
    assert alice_watch.roster(a) == [("added", ("Bob",)), ("removed", ("Bob",))]
    assert a.remote_participants == []
    # Bob's agent is fine: joining again works.
    again = bob.join(group).result(10)
    wait_until(lambda: [p.state for p in a.remote_participants] == [P.CONNECTED], what="bob back")
    assert bob_watch.states(again) == [C.CONNECTING, C.CONNECTED]
    for call in (again, a):
        call.hang_up().result(10)
