"""CallRegistry, the Sans-I/O call state machine: whole message sequences, no sockets."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from engine_plugin.protocol import parse_client_message
from engine_plugin.service.calls import CallRegistry, Outgoing, group_call_id

NO_MEDIA = {"audio": False, "video": []}
CAMERA = {"slot": "camera", "type": "video", "width": 640, "height": 480}
OFFER = {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(clock: Clock) -> CallRegistry:
    counter = itertools.count(1)
    return CallRegistry(ring_timeout_s=30.0, clock=clock, new_id=lambda: f"id{next(counter)}")


def send(registry: CallRegistry, connection_id: str, **message: Any) -> list[Outgoing]:
    """Validate like the service does, then handle."""
    return registry.handle(connection_id, parse_client_message(json.dumps(message)))


def participant(pid: str, user: str, name: str, media: dict[str, Any] = NO_MEDIA) -> dict[str, Any]:
    return {"participant_id": pid, "user_id": user, "display_name": name, "media": media}


def connect_all(registry: CallRegistry, *pairs: tuple[str, str]) -> None:
    for connection_id, user_id in pairs:
        registry.connect(connection_id, user_id)


def test_group_call_id_is_stable() -> None:
    assert group_call_id("room") == group_call_id("room") != group_call_id("room2")


def test_three_join_roster_and_events(registry: CallRegistry) -> None:
    connect_all(registry, ("ca", "ua"), ("cb", "ub"), ("cc", "uc"))
    call = group_call_id("room")
    assert send(registry, "ca", type="join", group_id="room", display_name="A", ref="1") == [
        (
            "ca",
            {
                "type": "joined",
                "call_id": call,
                "participant_id": "id1",
                "participants": [],
                "ref": "1",
            },
        )
    ]
    assert send(
        registry,
        "cb",
        type="join",
        group_id="room",
        display_name="B",
        media={"audio": True, "video": [CAMERA]},
    ) == [
        (
            "cb",
            {
                "type": "joined",
                "call_id": call,
                "participant_id": "id2",
                "participants": [participant("id1", "ua", "A")],
            },
        ),
        (
            "ca",
            {
                "type": "participant_joined",
                "call_id": call,
                "participant": participant("id2", "ub", "B", {"audio": True, "video": [CAMERA]}),
            },
        ),
    ]
    out = send(registry, "cc", type="join", group_id="room", display_name="C")
    assert out == [
        (
            "cc",
            {
                "type": "joined",
                "call_id": call,
                "participant_id": "id3",
                "participants": [
                    participant("id1", "ua", "A"),
                    participant("id2", "ub", "B", {"audio": True, "video": [CAMERA]}),
                ],
            },
        ),
        (
            "ca",
            {
                "type": "participant_joined",
                "call_id": call,
                "participant": participant("id3", "uc", "C"),
            },
        ),
        (
            "cb",
            {
                "type": "participant_joined",
                "call_id": call,
                "participant": participant("id3", "uc", "C"),
            },
        ),
    ]
    assert registry.call_count == 1
    assert [p["participant_id"] for p in registry.participants(call)] == ["id1", "id2", "id3"]
    # Joining the same group again from the same connection is refused.
    assert send(registry, "cc", type="join", group_id="room", ref="x") == [
        (
            "cc",
            {
                "type": "error",
                "code": "forbidden",
                "message": "join: this connection is already in the call of group 'room'",
                "ref": "x",
            },
        )
    ]


def joined_pair(registry: CallRegistry) -> str:
    connect_all(registry, ("ca", "ua"), ("cb", "ub"), ("cx", "ux"))
    send(registry, "ca", type="join", group_id="room", display_name="A")
    send(registry, "cb", type="join", group_id="room", display_name="B")
    return group_call_id("room")


def test_signal_relay_sets_from(registry: CallRegistry) -> None:
    call = joined_pair(registry)
    # A forged "from" is ignored: the service sets it to the sender's own participant id.
    assert send(
        registry, "cb", type="signal", call_id=call, to="id1", data=OFFER, **{"from": "id9"}
    ) == [("ca", {"type": "signal", "call_id": call, "from": "id2", "data": OFFER})]
    answer = {"sdp": {"type": "answer", "sdp": "v=0\r\n"}}
    assert send(registry, "ca", type="signal", call_id=call, to="id2", data=answer) == [
        ("cb", {"type": "signal", "call_id": call, "from": "id1", "data": answer})
    ]


def test_signal_errors(registry: CallRegistry) -> None:
    call = joined_pair(registry)

    def error(connection_id: str, **message: Any) -> tuple[str, str]:
        [(to, reply)] = send(registry, connection_id, type="signal", data=OFFER, **message)
        assert to == connection_id and reply["type"] == "error"
        return reply["code"], reply["message"]

    # An outsider cannot signal into the call, not even to a real participant id.
    assert error("cx", call_id=call, to="id1") == (
        "not_in_call",
        f"signal: this connection is not in call {call!r}",
    )
    assert error("ca", call_id="nope", to="id2") == (
        "unknown_call",
        "signal: no call 'nope' (it may have ended)",
    )
    assert error("ca", call_id=call, to="id7") == (
        "unknown_participant",
        f"signal.to: no participant 'id7' in call {call!r}",
    )
    assert error("ca", call_id=call, to="id1") == (
        "invalid",
        "signal.to: a participant cannot signal itself",
    )
    # A participant of another call cannot reach into this one either.
    send(registry, "cx", type="join", group_id="other")
    assert error("cx", call_id=group_call_id("other"), to="id1")[0] == "unknown_participant"


def test_update_broadcast(registry: CallRegistry) -> None:
    call = joined_pair(registry)
    registry.connect("cc", "uc")
    send(registry, "cc", type="join", group_id="room", display_name="C")
    media = {"audio": True, "video": [CAMERA]}
    event = {
        "type": "participant_updated",
        "call_id": call,
        "participant": participant("id1", "ua", "A", media),
    }
    assert send(registry, "ca", type="update", call_id=call, media=media) == [
        ("cb", event),
        ("cc", event),
    ]
    assert registry.participants(call)[0]["media"] == media
    [(_, reply)] = send(registry, "cx", type="update", call_id=call, media=media)
    assert reply["code"] == "not_in_call"


def test_leave_and_disconnect(registry: CallRegistry) -> None:
    call = joined_pair(registry)
    registry.connect("cc", "uc")
    send(registry, "cc", type="join", group_id="room", display_name="C")
    send(registry, "cc", type="join", group_id="second")
    send(registry, "cb", type="join", group_id="second")
    second = group_call_id("second")
    assert send(registry, "ca", type="leave", call_id=call, ref="bye") == [
        ("ca", {"type": "left", "call_id": call, "ref": "bye"}),
        (
            "cb",
            {
                "type": "participant_left",
                "call_id": call,
                "participant_id": "id1",
                "reason": "left",
            },
        ),
        (
            "cc",
            {
                "type": "participant_left",
                "call_id": call,
                "participant_id": "id1",
                "reason": "left",
            },
        ),
    ]
    [(_, again)] = send(registry, "ca", type="leave", call_id=call)
    assert again["code"] == "not_in_call"
    # Disconnecting leaves every call, with reason "disconnected".
    assert registry.disconnect("cc") == [
        (
            "cb",
            {
                "type": "participant_left",
                "call_id": call,
                "participant_id": "id3",
                "reason": "disconnected",
            },
        ),
        (
            "cb",
            {
                "type": "participant_left",
                "call_id": second,
                "participant_id": "id4",
                "reason": "disconnected",
            },
        ),
    ]
    assert registry.disconnect("cc") == []
    # The last one out ends the call.
    assert registry.disconnect("cb") == []
    assert registry.call_count == 0
    [(_, gone)] = send(registry, "ca", type="leave", call_id=call)
    assert gone["code"] == "unknown_call"


def start(registry: CallRegistry, *targets: str) -> list[Outgoing]:
    return send(
        registry, "ca", type="start_call", targets=list(targets), display_name="Alice", ref="s"
    )


def test_ring_and_accept(registry: CallRegistry) -> None:
    # Bob has two agents (phone, desk); Carol is offline.
    connect_all(registry, ("ca", "ua"), ("cb1", "ub"), ("cb2", "ub"))
    caller = {"user_id": "ua", "display_name": "Alice"}
    assert start(registry, "ub", "uc") == [
        ("ca", {"type": "call_started", "call_id": "id1", "participant_id": "id2", "ref": "s"}),
        ("cb1", {"type": "incoming_call", "call_id": "id1", "caller": caller}),
        ("cb2", {"type": "incoming_call", "call_id": "id1", "caller": caller}),
        ("ca", {"type": "ringing", "call_id": "id1"}),
    ]
    assert send(registry, "cb2", type="accept", call_id="id1", display_name="Bob", ref="a") == [
        (
            "cb2",
            {
                "type": "joined",
                "call_id": "id1",
                "participant_id": "id3",
                "participants": [participant("id2", "ua", "Alice")],
                "ref": "a",
            },
        ),
        (
            "ca",
            {
                "type": "participant_joined",
                "call_id": "id1",
                "participant": participant("id3", "ub", "Bob"),
            },
        ),
        ("cb1", {"type": "incoming_call_ended", "call_id": "id1", "reason": "accepted_elsewhere"}),
    ]
    # The other agent can no longer answer.
    [(_, late)] = send(registry, "cb1", type="accept", call_id="id1")
    assert late["code"] == "forbidden"
    [(_, twice)] = send(registry, "cb2", type="accept", call_id="id1")
    assert (twice["code"], twice["message"]) == ("forbidden", "accept: already in call 'id1'")


def test_ring_and_reject_declines(registry: CallRegistry) -> None:
    connect_all(registry, ("ca", "ua"), ("cb1", "ub"), ("cb2", "ub"))
    start(registry, "ub")
    assert send(registry, "cb1", type="reject", call_id="id1", ref="r") == [
        ("cb1", {"type": "rejected", "call_id": "id1", "ref": "r"}),
        ("cb2", {"type": "incoming_call_ended", "call_id": "id1", "reason": "rejected_elsewhere"}),
        ("ca", {"type": "call_ended", "call_id": "id1", "reason": "declined"}),
    ]
    assert registry.call_count == 0
    assert registry.calls_of("ca") == {}
    [(_, gone)] = send(registry, "cb2", type="reject", call_id="id1")
    assert gone["code"] == "unknown_call"


def test_two_callees_one_declines_one_accepts(registry: CallRegistry) -> None:
    connect_all(registry, ("ca", "ua"), ("cb", "ub"), ("cc", "uc"))
    start(registry, "ub", "uc")
    assert [m["type"] for _, m in send(registry, "cb", type="reject", call_id="id1")] == [
        "rejected"
    ]
    assert [(c, m["type"]) for c, m in send(registry, "cc", type="accept", call_id="id1")] == [
        ("cc", "joined"),
        ("ca", "participant_joined"),
    ]


def test_nobody_online_is_unavailable(registry: CallRegistry) -> None:
    registry.connect("ca", "ua")
    assert start(registry, "ub") == [
        ("ca", {"type": "call_started", "call_id": "id1", "participant_id": "id2", "ref": "s"}),
        ("ca", {"type": "call_ended", "call_id": "id1", "reason": "unavailable"}),
    ]
    assert registry.call_count == 0 and registry.calls_of("ca") == {}


def test_calling_yourself_is_invalid(registry: CallRegistry) -> None:
    registry.connect("ca", "ua")
    [(_, error)] = start(registry, "ub", "ua")
    assert (error["code"], error["ref"]) == ("invalid", "s")


def test_callee_disconnect_is_no_answer(registry: CallRegistry) -> None:
    connect_all(registry, ("ca", "ua"), ("cb", "ub"))
    start(registry, "ub")
    assert registry.disconnect("cb") == [
        ("ca", {"type": "call_ended", "call_id": "id1", "reason": "no_answer"})
    ]


def test_ring_timeout_is_no_answer(registry: CallRegistry, clock: Clock) -> None:
    connect_all(registry, ("ca", "ua"), ("cb", "ub"))
    start(registry, "ub")
    clock.now += 29.9
    assert registry.expire() == []
    clock.now += 0.1
    assert registry.expire() == [
        ("cb", {"type": "incoming_call_ended", "call_id": "id1", "reason": "cancelled"}),
        ("ca", {"type": "call_ended", "call_id": "id1", "reason": "no_answer"}),
    ]
    assert registry.call_count == 0


def test_caller_hangs_up_while_ringing(registry: CallRegistry) -> None:
    connect_all(registry, ("ca", "ua"), ("cb", "ub"))
    start(registry, "ub")
    assert send(registry, "ca", type="leave", call_id="id1") == [
        ("ca", {"type": "left", "call_id": "id1"}),
        ("cb", {"type": "incoming_call_ended", "call_id": "id1", "reason": "cancelled"}),
    ]
    connect_all(registry, ("cc", "uc"))
    send(registry, "cc", type="start_call", targets=["ub"])
    assert registry.disconnect("cc") == [
        ("cb", {"type": "incoming_call_ended", "call_id": "id3", "reason": "cancelled"})
    ]


def test_accept_without_ring_is_forbidden(registry: CallRegistry) -> None:
    connect_all(registry, ("ca", "ua"), ("cb", "ub"), ("cx", "ux"))
    start(registry, "ub")
    [(_, error)] = send(registry, "cx", type="accept", call_id="id1", ref="q")
    assert error == {
        "type": "error",
        "code": "forbidden",
        "message": "accept: call 'id1' is not ringing on this connection",
        "ref": "q",
    }
    [(_, error)] = send(registry, "cx", type="accept", call_id="zzz")
    assert error["code"] == "unknown_call"
    # The group call of a room never rings.
    send(registry, "ca", type="join", group_id="room")
    [(_, error)] = send(registry, "cx", type="accept", call_id=group_call_id("room"))
    assert error["code"] == "forbidden"


def test_ping_auth_and_unknown(registry: CallRegistry) -> None:
    registry.connect("ca", "ua")
    assert send(registry, "ca", type="ping", ref="p") == [("ca", {"type": "pong", "ref": "p"})]
    assert send(registry, "ca", type="ping") == [("ca", {"type": "pong"})]
    [(_, error)] = send(registry, "ca", type="auth", token="t")
    assert error["code"] == "invalid"
    [(_, error)] = registry.handle("ca", {"type": "nope"})
    assert error["code"] == "unknown_type"
    with pytest.raises(KeyError):
        registry.handle("zz", {"type": "ping"})
    with pytest.raises(ValueError):
        registry.connect("ca", "ua")
    assert registry.connections_of("ua") == ["ca"] and registry.user_of("ca") == "ua"
