"""The signaling WebSocket end to end: real service, real aiohttp clients, 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from service_helpers import Clients, WsClient

from engine_plugin.identity import CommunicationIdentityClient
from engine_plugin.protocol import MAX_MESSAGE_BYTES
from engine_plugin.service import LocalCallingService, group_call_id
from engine_plugin.tokens import issue_token

OFFER = {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}
ANSWER = {"sdp": {"type": "answer", "sdp": "v=0\r\n"}}


async def test_auth_ok(clients: Clients) -> None:
    user, token = clients.identity.create_user_and_token(["voip"])
    client = await clients.open()
    welcome = await client.request({"type": "auth", "token": token.token})
    assert welcome["type"] == "welcome"
    assert welcome["user_id"] == user.raw_id
    assert welcome["connection_id"]
    assert await client.request({"type": "ping"}) == {"type": "pong", "ref": "t2"}


async def refusal(clients: Clients, token: str) -> dict[str, object]:
    client = await clients.open()
    await client.send({"type": "auth", "token": token, "ref": "a"})
    error = await client.expect("error")
    assert error["code"] == "unauthorized" and error["ref"] == "a"
    assert await client.expect_close() == 4401
    return error


async def test_auth_refused(service: LocalCallingService, clients: Clients) -> None:
    identity = clients.identity
    user = identity.create_user()

    forged, _ = issue_token(
        b"f" * 32, user_id=user.raw_id, scopes=["voip"], endpoint=service.endpoint, generation=0
    )
    error = await refusal(clients, forged)
    assert error["reason"] == "bad_signature"
    assert error["message"] == "token refused: token signature does not match this service's key"

    expired, _ = issue_token(
        service.access_key,
        user_id=user.raw_id,
        scopes=["voip"],
        endpoint=service.endpoint,
        generation=0,
        lifetime_s=3600,
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    error = await refusal(clients, expired)
    assert error["reason"] == "expired"
    assert str(error["message"]).startswith("token refused: token expired at ")

    old = identity.get_token(user, ["voip"]).token
    identity.revoke_tokens(user)
    error = await refusal(clients, old)
    assert (error["reason"], error["message"]) == (
        "revoked",
        "token refused: the token has been revoked; get a new one",
    )

    chat_only = identity.get_token(user, ["chat"]).token
    error = await refusal(clients, chat_only)
    assert error["reason"] == "insufficient_scope"
    assert "do not include 'voip'" in str(error["message"])

    current = identity.get_token(user, ["voip"]).token
    identity.delete_user(user)
    error = await refusal(clients, current)
    assert (error["reason"], error["message"]) == (
        "unknown_user",
        "token refused: the token's user does not exist (deleted?)",
    )

    error = await refusal(clients, "garbage")
    assert error["reason"] == "malformed"


async def test_first_message_must_be_auth(clients: Clients) -> None:
    client = await clients.open()
    # A frame that does not parse is only an error, even before auth ...
    await client.send({"type": "bogus"})
    assert (await client.expect("error"))["code"] == "unknown_type"
    # ... but any other request before auth is refused and the socket closed.
    await client.send({"type": "join", "group_id": "g"})
    error = await client.expect("error")
    assert error == {
        "type": "error",
        "code": "unauthorized",
        "message": "authenticate first: the first message must be auth, got join",
    }
    assert await client.expect_close() == 4401


async def test_client_pings_are_answered(clients: Clients) -> None:
    client = await clients.connect(heartbeat=0.2)
    # The client pings every 0.2 s and would drop the socket without pongs.
    # (aiohttp restarts receive()'s own timeout at every pong, hence wait_for.)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.ws.receive(), 0.7)
    assert not client.ws.closed
    assert await client.request({"type": "ping"}) == {"type": "pong", "ref": "t2"}


async def test_errors_keep_the_connection(clients: Clients) -> None:
    client = await clients.connect()
    cases: list[tuple[str | bytes, str, str]] = [
        ("{not json", "malformed", "not valid JSON"),
        ("[1]", "malformed", "expected a JSON object"),
        (json.dumps({"type": "fly", "ref": "r1"}), "unknown_type", "unknown message type 'fly'"),
        (json.dumps({"type": "join", "ref": "r2"}), "invalid", "join.group_id: missing"),
        (
            json.dumps({"type": "ping", "pad": "x" * MAX_MESSAGE_BYTES}),
            "too_large",
            "at most 65536 bytes",
        ),
        (b"\x00\x01binary", "malformed", "binary frames are refused"),
        (json.dumps({"type": "auth", "token": "x"}), "invalid", "already authenticated"),
    ]
    for frame, code, says in cases:
        if isinstance(frame, bytes):
            await client.ws.send_bytes(frame)
        else:
            await client.ws.send_str(frame)
        error = await client.expect("error")
        assert error["code"] == code and says in error["message"], error
        # The same connection still works.
        assert await client.request({"type": "ping"}) == {"type": "pong", "ref": f"t{client._refs}"}
    refs = await _refs_of_errors(client)
    assert refs == ["r1", "r2"]


async def _refs_of_errors(client: WsClient) -> list[str]:
    found = []
    for text in (
        json.dumps({"type": "fly", "ref": "r1"}),
        json.dumps({"type": "join", "ref": "r2"}),
    ):
        await client.ws.send_str(text)
        found.append((await client.expect("error"))["ref"])
    return found


async def test_huge_frame_closes_cleanly(clients: Clients) -> None:
    victim = await clients.connect()
    other = await clients.connect()
    await victim.ws.send_str("x" * (2 << 20))
    assert await victim.expect_close() == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert await other.request({"type": "ping"}) == {"type": "pong", "ref": "t2"}


async def join_three(clients: Clients) -> tuple[str, list[WsClient], list[str]]:
    room = group_call_id("room-1")
    a, b, c = [await clients.connect() for _ in range(3)]
    ja = await a.request({"type": "join", "group_id": "room-1", "display_name": "A"})
    assert (ja["type"], ja["call_id"], ja["participants"]) == ("joined", room, [])
    jb = await b.request({"type": "join", "group_id": "room-1", "display_name": "B"})
    assert [p["participant_id"] for p in jb["participants"]] == [ja["participant_id"]]
    jc = await c.request({"type": "join", "group_id": "room-1", "display_name": "C"})
    assert jc["participants"] == [
        {
            "participant_id": ja["participant_id"],
            "user_id": a.user_id,
            "display_name": "A",
            "media": {"audio": False, "video": []},
        },
        {
            "participant_id": jb["participant_id"],
            "user_id": b.user_id,
            "display_name": "B",
            "media": {"audio": False, "video": []},
        },
    ]
    pids = [ja["participant_id"], jb["participant_id"], jc["participant_id"]]
    joined_a = [await a.expect("participant_joined") for _ in range(2)]
    assert [m["participant"]["participant_id"] for m in joined_a] == pids[1:]
    assert [m["participant"]["display_name"] for m in joined_a] == ["B", "C"]
    joined_b = await b.expect("participant_joined")
    assert joined_b == {
        "type": "participant_joined",
        "call_id": room,
        "participant": {
            "participant_id": pids[2],
            "user_id": c.user_id,
            "display_name": "C",
            "media": {"audio": False, "video": []},
        },
    }
    for client in (a, b, c):
        await client.assert_quiet()
    return room, [a, b, c], pids


async def test_join_three(clients: Clients) -> None:
    await join_three(clients)


async def test_mesh_signal_relay(clients: Clients) -> None:
    room, (a, b, c), (pa, pb, pc) = await join_three(clients)
    # The newcomer C offers to everyone listed; they answer.
    for target, pid in ((a, pa), (b, pb)):
        await c.send(
            {"type": "signal", "call_id": room, "to": pid, "data": OFFER, "from": "forged"}
        )
        relayed = await target.expect("signal")
        assert relayed == {"type": "signal", "call_id": room, "from": pc, "data": OFFER}
        await target.send({"type": "signal", "call_id": room, "to": pc, "data": ANSWER})
        assert await c.expect("signal") == {
            "type": "signal",
            "call_id": room,
            "from": pid,
            "data": ANSWER,
        }
    candidate = {
        "candidate": {
            "candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }
    }
    await a.send({"type": "signal", "call_id": room, "to": pb, "data": candidate})
    assert (await b.expect("signal"))["data"] == candidate
    await c.assert_quiet()


async def test_outsider_cannot_signal(clients: Clients) -> None:
    room, (a, _b, _c), (pa, _pb, _pc) = await join_three(clients)
    outsider = await clients.connect()
    await outsider.send({"type": "signal", "call_id": room, "to": pa, "data": OFFER, "ref": "x"})
    error = await outsider.expect("error")
    assert (error["code"], error["ref"]) == ("not_in_call", "x")
    # Being in another call does not help.
    other = await outsider.request({"type": "join", "group_id": "room-2"})
    await outsider.send({"type": "signal", "call_id": other["call_id"], "to": pa, "data": OFFER})
    assert (await outsider.expect("error"))["code"] == "unknown_participant"
    await a.assert_quiet()


async def test_update_broadcast(clients: Clients) -> None:
    room, (a, b, c), (pa, _pb, _pc) = await join_three(clients)
    screen = {"slot": "screen", "type": "screen_sharing", "width": 1920, "height": 1080}
    media = {"audio": True, "video": [screen]}
    await a.send({"type": "update", "call_id": room, "media": media})
    for other in (b, c):
        assert await other.expect("participant_updated") == {
            "type": "participant_updated",
            "call_id": room,
            "participant": {
                "participant_id": pa,
                "user_id": a.user_id,
                "display_name": "A",
                "media": media,
            },
        }
    await a.assert_quiet()
    await a.send(
        {
            "type": "update",
            "call_id": room,
            "media": {"audio": True, "video": [screen, screen]},
        }
    )
    error = await a.expect("error")
    assert error["code"] == "invalid" and "at most one source per slot" in error["message"]


async def test_leave_and_disconnect(service: LocalCallingService, clients: Clients) -> None:
    room, (a, b, c), (_pa, pb, pc) = await join_three(clients)
    assert await b.request({"type": "leave", "call_id": room}) == {
        "type": "left",
        "call_id": room,
        "ref": "t3",
    }
    for other in (a, c):
        assert await other.expect("participant_left") == {
            "type": "participant_left",
            "call_id": room,
            "participant_id": pb,
            "reason": "left",
        }
    started = time.monotonic()
    await c.close()
    left = await a.expect("participant_left", timeout=3.0)
    assert left == {
        "type": "participant_left",
        "call_id": room,
        "participant_id": pc,
        "reason": "disconnected",
    }
    assert time.monotonic() - started < 3.0
    await b.assert_quiet()


async def test_silent_dead_client_is_dropped(clients: Clients) -> None:
    a = await clients.connect()
    # This client never reads, so it never answers the service's heartbeat pings.
    dead = await clients.connect(autoping=False)
    room = (await a.request({"type": "join", "group_id": "g"}))["call_id"]
    await dead.request({"type": "join", "group_id": "g"})
    await a.expect("participant_joined")
    started = time.monotonic()
    left = await a.expect("participant_left", timeout=8.0)
    assert (left["call_id"], left["reason"]) == (room, "disconnected")
    # Silent for 5 s (the service's limit), checked every second.
    assert 4.0 < time.monotonic() - started < 6.5


async def test_ring_and_accept(clients: Clients) -> None:
    identity = clients.identity
    caller = await clients.connect()
    bob, bob_token = identity.create_user_and_token(["voip"])
    phone = await clients.connect(bob_token.token)
    desk = await clients.connect(identity.get_token(bob, ["voip"]).token)
    started = await caller.request(
        {"type": "start_call", "targets": [bob.raw_id], "display_name": "Alice"}
    )
    assert started["type"] == "call_started"
    call_id = started["call_id"]
    for agent in (phone, desk):
        assert await agent.expect("incoming_call") == {
            "type": "incoming_call",
            "call_id": call_id,
            "caller": {"user_id": caller.user_id, "display_name": "Alice"},
        }
    assert await caller.expect("ringing") == {"type": "ringing", "call_id": call_id}
    joined = await desk.request({"type": "accept", "call_id": call_id, "display_name": "Bob"})
    assert joined["type"] == "joined"
    assert [p["participant_id"] for p in joined["participants"]] == [started["participant_id"]]
    assert await phone.expect("incoming_call_ended") == {
        "type": "incoming_call_ended",
        "call_id": call_id,
        "reason": "accepted_elsewhere",
    }
    event = await caller.expect("participant_joined")
    assert event["participant"]["participant_id"] == joined["participant_id"]
    # The mesh can start: the callee (newcomer) offers to the caller.
    await desk.send(
        {"type": "signal", "call_id": call_id, "to": started["participant_id"], "data": OFFER}
    )
    assert (await caller.expect("signal"))["from"] == joined["participant_id"]


async def test_ring_and_reject(clients: Clients) -> None:
    caller = await clients.connect()
    callee = await clients.connect()
    started = await caller.request({"type": "start_call", "targets": [callee.user_id]})
    call_id = started["call_id"]
    await callee.expect("incoming_call")
    await caller.expect("ringing")
    assert await callee.request({"type": "reject", "call_id": call_id}) == {
        "type": "rejected",
        "call_id": call_id,
        "ref": "t2",
    }
    assert await caller.expect("call_ended") == {
        "type": "call_ended",
        "call_id": call_id,
        "reason": "declined",
    }
    await caller.send({"type": "leave", "call_id": call_id})
    assert (await caller.expect("error"))["code"] == "unknown_call"


async def test_call_offline_user_is_unavailable(clients: Clients) -> None:
    caller = await clients.connect()
    offline = clients.identity.create_user()
    started = await caller.request({"type": "start_call", "targets": [offline.raw_id]})
    assert await caller.expect("call_ended") == {
        "type": "call_ended",
        "call_id": started["call_id"],
        "reason": "unavailable",
    }


async def test_ring_timeout(clients: Clients) -> None:
    async with LocalCallingService(ring_timeout_s=0.5) as short:
        identity = CommunicationIdentityClient.from_connection_string(short.connection_string)
        other = Clients(short, clients.session)
        caller = await other.connect()
        callee_user, token = identity.create_user_and_token(["voip"])
        callee = await other.connect(token.token)
        started = await caller.request({"type": "start_call", "targets": [callee_user.raw_id]})
        await caller.expect("ringing")
        await callee.expect("incoming_call")
        assert await callee.expect("incoming_call_ended", timeout=3.0) == {
            "type": "incoming_call_ended",
            "call_id": started["call_id"],
            "reason": "cancelled",
        }
        assert (await caller.expect("call_ended"))["reason"] == "no_answer"


async def test_revoke_closes_open_connections(clients: Clients) -> None:
    user, token = clients.identity.create_user_and_token(["voip"])
    watcher = await clients.connect()
    victim = await clients.connect(token.token)
    room = (await watcher.request({"type": "join", "group_id": "g"}))["call_id"]
    await victim.request({"type": "join", "group_id": "g"})
    await watcher.expect("participant_joined")
    clients.identity.revoke_tokens(user)
    error = await victim.expect("error")
    assert (error["code"], error["reason"]) == ("unauthorized", "revoked")
    assert await victim.expect_close() == 4401
    left = await watcher.expect("participant_left")
    assert (left["call_id"], left["reason"]) == (room, "disconnected")


async def test_stop_closes_clients() -> None:
    async with LocalCallingService() as running, aiohttp.ClientSession() as session:
        clients = Clients(running, session)
        client = await clients.connect()
        await running.astop()
        assert await client.expect_close() == aiohttp.WSCloseCode.GOING_AWAY


async def test_auth_timeout() -> None:
    async with (
        LocalCallingService(auth_timeout_s=0.3) as running,
        aiohttp.ClientSession() as session,
    ):
        client = await Clients(running, session).open()
        await client.send({"type": "ping", "oops": True, "ref": 5})  # an error, not an auth
        assert (await client.expect("error"))["code"] == "invalid"
        error = await client.expect("error", timeout=3.0)
        assert (error["code"], error["message"]) == ("unauthorized", "no auth message within 0.3 s")
        assert await client.expect_close() == 4401
