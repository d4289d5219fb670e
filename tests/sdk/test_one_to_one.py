"""1:1 calls: ringing, accept, reject, nobody there, nobody answering."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engine_plugin import (
    AcceptCallOptions,
    CallAgent,
    CallAgentOptions,
    CallClient,
    CallEndReason,
    CallingError,
    CallState,
    CommunicationIdentityClient,
    CommunicationTokenCredential,
    CommunicationUserIdentifier,
    IncomingCall,
    IncomingCallReceivedEventArgs,
    IncomingVideoOptions,
    LocalCallingService,
    OutgoingVideoOptions,
    RawOutgoingVideoStreamOptions,
    StartCallOptions,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VirtualOutgoingVideoStream,
)
from engine_plugin.testing import PatternSender

from ..conftest import wait_until
from .call_helpers import CallWatcher, PatternRecorder, assert_pattern_frames

C = CallState
RING_THEN_END = [C.CONNECTING, C.RINGING, C.DISCONNECTING, C.DISCONNECTED]
RGBA_IN = IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)


class Ringer:
    """Keeps the incoming calls an agent is rung with, and how each stopped ringing."""

    def __init__(self, agent: CallAgent) -> None:
        self.calls: list[IncomingCall] = []
        self.ended: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        agent.incoming_call_received += self._on_incoming

    def _on_incoming(self, args: IncomingCallReceivedEventArgs) -> None:
        incoming: IncomingCall = args.incoming_call
        with self.lock:
            self.calls.append(incoming)
        incoming.call_ended += lambda _a, i=incoming: self._on_ended(i)

    def _on_ended(self, incoming: IncomingCall) -> None:
        with self.lock:
            self.ended.append((incoming.id, incoming.ended_reason))

    def one(self) -> IncomingCall:
        wait_until(lambda: self.calls, what="an incoming call")
        with self.lock:
            assert len(self.calls) == 1, self.calls
            return self.calls[0]


def _video() -> VirtualOutgoingVideoStream:
    fmt = VideoStreamFormat(
        resolution=VideoStreamResolution.P180,
        pixel_format=VideoStreamPixelFormat.RGBA,
        frames_per_second=15,
    )
    return VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))


@pytest.fixture
def second_agent_of(identity: CommunicationIdentityClient) -> Iterator:  # type: ignore[type-arg]
    """``second_agent_of(agent, name)``: another agent of the same user (its own connection)."""
    made: list[CallAgent] = []

    def make(agent: CallAgent, name: str) -> CallAgent:
        token = identity.get_token(agent.identifier, ["voip"])
        other = (
            CallClient()
            .create_call_agent(
                CommunicationTokenCredential(token.token), CallAgentOptions(display_name=name)
            )
            .result(10)
        )
        made.append(other)
        return other

    yield make
    for agent in made:
        agent.dispose()


@pytest.mark.timeout(60)
def test_start_call_rings_then_connects_and_media_flows_both_ways(
    service, no_thread_leak, make_agent, second_agent_of
) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_agent("Alice"), make_agent("Bob")
    bob_phone = second_agent_of(bob, "Bob (phone)")
    at_alice, at_bob = PatternRecorder(seed=2), PatternRecorder(seed=1)
    alice_watch = CallWatcher(alice, lambda p, s: at_alice.attach(s))
    bob_watch = CallWatcher(bob, lambda p, s: at_bob.attach(s))
    phone_watch = CallWatcher(bob_phone)
    rings = {"desk": Ringer(bob), "phone": Ringer(bob_phone)}
    alice_video, bob_video = _video(), _video()
    senders = [PatternSender(alice_video, 15, seed=1), PatternSender(bob_video, 15, seed=2)]
    try:
        call = alice.start_call(
            [bob.identifier],
            StartCallOptions(
                outgoing_video_options=OutgoingVideoOptions(streams=[alice_video]),
                incoming_video_options=RGBA_IN,
            ),
        ).result(10)
        desk, phone = rings["desk"].one(), rings["phone"].one()
        for incoming in (desk, phone):
            assert incoming.caller_info.display_name == "Alice"
            assert incoming.caller_info.identifier == alice.identifier
            assert incoming.caller_info.identifier.raw_id.startswith("8:acs:")
            assert incoming.id == call.id
        wait_until(lambda: call.state is C.RINGING, what="ringing")

        answered = desk.accept(
            AcceptCallOptions(
                outgoing_video_options=OutgoingVideoOptions(streams=[bob_video]),
                incoming_video_options=RGBA_IN,
            )
        ).result(10)
        wait_until(lambda: call.state is C.CONNECTED, what="caller connected")
        wait_until(lambda: rings["phone"].ended, what="the phone stops ringing")
        assert rings["phone"].ended == [(call.id, "accepted_elsewhere")]
        assert rings["desk"].ended == []
        assert answered.id == call.id
        wait_until(
            lambda: len(at_alice.frames()) >= 25 and len(at_bob.frames()) >= 25,
            timeout=15,
            what="video both ways",
        )
    finally:
        for sender in senders:
            sender.stop()
    assert not senders[0].errors and not senders[1].errors
    assert alice_watch.states(call) == [C.CONNECTING, C.RINGING, C.CONNECTED]
    assert bob_watch.states(answered) == [C.CONNECTING, C.CONNECTED]
    assert phone_watch.logs == [], "the other agent never got a call"
    assert_pattern_frames(at_alice.settled(after_s=0.5), size=(320, 180), min_count=10)
    assert_pattern_frames(at_bob.settled(after_s=0.5), size=(320, 180), min_count=10)
    assert [p.display_name for p in call.remote_participants] == ["Bob"]
    assert [p.display_name for p in answered.remote_participants] == ["Alice"]
    assert call.remote_participants[0].identifier == bob.identifier

    call.hang_up().result(10)
    # A 1:1 call ends for Bob too once Alice is gone.
    wait_until(lambda: answered.state is C.DISCONNECTED, what="bob's call ends")
    assert bob_watch.roster(answered) == [("added", ("Alice",)), ("removed", ("Alice",))]
    assert bob_watch.states(answered) == [
        C.CONNECTING,
        C.CONNECTED,
        C.DISCONNECTING,
        C.DISCONNECTED,
    ]
    assert answered.call_end_reason is CallEndReason.HUNG_UP
    assert bob.calls == []
    assert alice_watch.states(call)[-2:] == [C.DISCONNECTING, C.DISCONNECTED]
    assert call.call_end_reason is CallEndReason.HUNG_UP


@pytest.mark.timeout(30)
def test_rejected_call_ends_declined_for_the_caller(
    service, no_thread_leak, make_agent, second_agent_of
) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_agent("Alice"), make_agent("Bob")
    bob_phone = second_agent_of(bob, "Bob (phone)")
    alice_watch, bob_watch = CallWatcher(alice), CallWatcher(bob)
    desk_ring, phone_ring = Ringer(bob), Ringer(bob_phone)
    call = alice.start_call([bob.identifier]).result(10)
    desk = desk_ring.one()
    phone_ring.one()
    desk.reject().result(10)
    wait_until(lambda: call.state is C.DISCONNECTED, what="the call ends")

    assert alice_watch.states(call) == [C.CONNECTING, C.RINGING, C.DISCONNECTING, C.DISCONNECTED]
    assert call.call_end_reason is CallEndReason.DECLINED
    assert alice.calls == [] and alice_watch.removed == [call]
    assert bob.calls == [] and bob_watch.logs == []
    wait_until(lambda: phone_ring.ended, what="the phone stops ringing")
    assert phone_ring.ended == [(call.id, "rejected_elsewhere")]
    assert desk_ring.ended == []
    # The call is gone: answering it now is refused with the service's reason.
    with pytest.raises(CallingError) as err:
        desk.accept().result(10)
    assert str(err.value) == (
        f"the calling service refused: accept: no call {call.id!r} (it may have ended) "
        "(unknown_call)"
    )
    assert bob.calls == []
    # Both agents still work: Bob can call Alice back.
    back = bob_phone.start_call([alice.identifier]).result(10)
    wait_until(lambda: back.state is C.RINGING, what="calling back rings")
    back.hang_up().result(10)


@pytest.mark.timeout(30)
def test_calling_someone_with_no_connected_agent_ends_unavailable(
    service, no_thread_leak, make_agent, identity
) -> None:  # type: ignore[no-untyped-def]
    alice = make_agent("Alice")
    watcher = CallWatcher(alice)
    offline = identity.create_user()
    never_created = CommunicationUserIdentifier(offline.raw_id[:-4] + "0000")
    for target in (offline, never_created):
        call = alice.start_call([target]).result(10)
        wait_until(lambda c=call: c.state is C.DISCONNECTED, what="the call ends")
        assert watcher.states(call) == [C.CONNECTING, C.DISCONNECTING, C.DISCONNECTED]
        assert call.call_end_reason is CallEndReason.UNAVAILABLE
        assert alice.calls == []
    assert watcher.removed == [log.call for log in watcher.logs]

    # Refused requests: calling nobody, calling oneself.
    with pytest.raises(ValueError, match=r"^start_call needs at least one participant to call$"):
        alice.start_call([])
    with pytest.raises(CallingError) as err:
        alice.start_call([alice.identifier]).result(10)
    assert str(err.value) == (
        "the calling service refused: start_call.targets: a user cannot call themselves (invalid)"
    )
    refused = watcher.logs[-1]
    assert refused.states == [C.CONNECTING, C.DISCONNECTED]
    assert alice.calls == []


@pytest.mark.timeout(30)
def test_caller_giving_up_and_ring_timeout_stop_the_ringing(no_thread_leak) -> None:  # type: ignore[no-untyped-def]
    with LocalCallingService(ring_timeout_s=1.0) as svc:
        identity = CommunicationIdentityClient.from_connection_string(svc.connection_string)
        client = CallClient()
        agents = []
        try:
            for name in ("Alice", "Bob"):
                _user, token = identity.create_user_and_token(["voip"])
                agents.append(
                    client.create_call_agent(
                        CommunicationTokenCredential(token.token),
                        CallAgentOptions(display_name=name),
                    ).result(10)
                )
            alice, bob = agents
            watcher, ring = CallWatcher(alice), Ringer(bob)

            # The caller hangs up while it rings: the callee's ring is cancelled.
            call = alice.start_call([bob.identifier]).result(10)
            wait_until(lambda: ring.calls, what="ringing")
            call.hang_up().result(10)
            wait_until(lambda: ring.ended, what="cancelled")
            assert ring.ended == [(call.id, "cancelled")]
            assert watcher.states(call) == RING_THEN_END
            assert call.call_end_reason is CallEndReason.HUNG_UP

            # Nobody answers: after the ring timeout the caller gets NO_ANSWER.
            call = alice.start_call([bob.identifier]).result(10)
            wait_until(lambda: call.state is C.DISCONNECTED, timeout=5, what="no answer")
            assert watcher.states(call) == RING_THEN_END
            assert call.call_end_reason is CallEndReason.NO_ANSWER
            wait_until(lambda: len(ring.ended) == 2, what="the ring ends")
            assert ring.ended[1] == (call.id, "cancelled")
            assert alice.calls == [] and bob.calls == []
        finally:
            for agent in agents:
                agent.dispose()
