"""Calls and rooms: the service's signaling state machine, free of I/O (Sans-I/O).

:class:`CallRegistry` is fed events (a connection authenticated, a validated
client message arrived, a connection dropped, time passed) and answers with
the messages to send, as a list of :data:`Outgoing` ``(connection_id,
message)`` pairs in the order they must be sent. The aiohttp layer
(``engine_plugin.service.app``) does the sockets; tests drive this class
directly and assert whole message sequences.

Rules (see ``docs/protocol.md``):

- ``join`` enters the group call whose id is derived from the group id
  (:func:`group_call_id`); the newcomer gets ``joined`` with the roster of the
  others, the others get ``participant_joined``.
- ``start_call`` creates an ad-hoc call with the caller in it and rings every
  connected agent of every target (``incoming_call``); the caller gets
  ``call_started``, then ``ringing`` if an agent was rung or
  ``call_ended unavailable`` if none is online. When the last ringing agent
  stops ringing and nobody has accepted, the caller gets ``call_ended``:
  ``declined`` if every rung user rejected, else ``no_answer`` (agents that
  disconnected or a ring that timed out).
- ``accept`` / ``reject``: the user's other agents get ``incoming_call_ended``
  (``accepted_elsewhere`` / ``rejected_elsewhere``).
- ``signal`` is relayed only between participants of the same call, with
  ``from`` set by the service to the sender's own participant id.
- A connection that drops leaves every call with reason ``disconnected``.
- A call ends when its last participant leaves; agents still ringing for it
  get ``incoming_call_ended cancelled``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from engine_plugin import protocol
from engine_plugin.protocol import ProtocolError

__all__ = ["DEFAULT_RING_TIMEOUT_S", "CallRegistry", "Outgoing", "group_call_id"]

Outgoing = tuple[str, dict[str, Any]]
"""One message to send: ``(connection_id, message)``."""

_Msg = dict[str, Any]
_Ref = str | None

DEFAULT_RING_TIMEOUT_S: Final = 60.0
"""How long an unanswered ``incoming_call`` rings before the caller gets ``no_answer``."""

_GROUP_NAMESPACE: Final = uuid.UUID("5d4ad0b3-1f0e-4c51-9a55-5f0f4a3c2e71")


def group_call_id(group_id: str) -> str:
    """The call id of the group call for ``group_id`` (a stable UUID string)."""
    return str(uuid.uuid5(_GROUP_NAMESPACE, group_id))


def _default_id() -> str:
    return str(uuid.uuid4())


@dataclass
class _Participant:
    participant_id: str
    connection_id: str
    user_id: str
    display_name: str
    media: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "user_id": self.user_id,
            "display_name": self.display_name,
            "media": self.media,
        }


@dataclass
class _Ring:
    connection_id: str
    user_id: str
    since: float


@dataclass
class _Call:
    call_id: str
    group_id: str | None
    caller: dict[str, str] | None = None
    participants: dict[str, _Participant] = field(default_factory=dict)
    rings: dict[str, _Ring] = field(default_factory=dict)
    rung_users: set[str] = field(default_factory=set)
    declined_by: set[str] = field(default_factory=set)
    answered: bool = False


@dataclass
class _Connection:
    connection_id: str
    user_id: str
    calls: dict[str, str] = field(default_factory=dict)  # call id -> participant id
    rings: set[str] = field(default_factory=set)  # call ids ringing on this agent


def _with_ref(message: dict[str, Any], ref: str | None) -> dict[str, Any]:
    if ref is not None:
        message["ref"] = ref
    return message


def _empty_media() -> dict[str, Any]:
    return protocol.Media().to_json()


class CallRegistry:
    """Every connection, call, participant and ring of one service.

    Keyword options:

    - ``ring_timeout_s`` (default 60): an unanswered ring ends after this long,
      when :meth:`expire` is called.
    - ``clock`` (default :func:`time.monotonic`): the time source for rings.
    - ``new_id`` (default random UUIDs): makes participant and ad-hoc call ids;
      tests pass a counter to get predictable ids.

    Not thread-safe: drive it from one thread (the service's event loop).
    """

    def __init__(
        self,
        *,
        ring_timeout_s: float = DEFAULT_RING_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        new_id: Callable[[], str] = _default_id,
    ) -> None:
        self.ring_timeout_s = ring_timeout_s
        self._clock = clock
        self._new_id = new_id
        self._connections: dict[str, _Connection] = {}
        self._users: dict[str, list[str]] = {}  # user id -> connection ids, in connect order
        self._calls: dict[str, _Call] = {}
        self._handlers: dict[str, Callable[[_Connection, _Msg, _Ref], list[Outgoing]]]
        self._handlers = {
            protocol.AUTH: self._on_auth,
            protocol.JOIN: self._on_join,
            protocol.START_CALL: self._on_start_call,
            protocol.ACCEPT: self._on_accept,
            protocol.REJECT: self._on_reject,
            protocol.LEAVE: self._on_leave,
            protocol.SIGNAL: self._on_signal,
            protocol.UPDATE: self._on_update,
            protocol.PING: self._on_ping,
        }

    # --- Events --------------------------------------------------------------

    def connect(self, connection_id: str, user_id: str) -> None:
        """Register an authenticated connection (one agent) of ``user_id``."""
        if connection_id in self._connections:
            raise ValueError(f"connection {connection_id!r} is already connected")
        self._connections[connection_id] = _Connection(connection_id, user_id)
        self._users.setdefault(user_id, []).append(connection_id)

    def disconnect(self, connection_id: str) -> list[Outgoing]:
        """Forget a connection: it leaves every call (reason ``disconnected``) and stops ringing.

        Returns the messages for the others. Unknown connections are ignored.
        """
        conn = self._connections.pop(connection_id, None)
        if conn is None:
            return []
        agents = self._users.get(conn.user_id, [])
        if connection_id in agents:
            agents.remove(connection_id)
        if not agents:
            self._users.pop(conn.user_id, None)
        out: list[Outgoing] = []
        for call_id in sorted(conn.rings):
            call = self._calls.get(call_id)
            if call is not None and call.rings.pop(connection_id, None) is not None:
                out += self._after_rings_changed(call)
        conn.rings.clear()
        for call_id, participant_id in list(conn.calls.items()):
            call = self._calls.get(call_id)
            if call is not None:
                out += self._remove_participant(call, participant_id, "disconnected")
        return [item for item in out if item[0] != connection_id]

    def handle(self, connection_id: str, message: dict[str, Any]) -> list[Outgoing]:
        """Handle one validated client message (from :func:`protocol.parse_client_message`).

        Returns the replies and events to send; a request that cannot be
        honoured yields one ``error`` message to the sender (codes
        ``not_in_call``, ``unknown_call``, ``unknown_participant``,
        ``forbidden``, ``invalid``), never an exception.
        """
        conn = self._connections.get(connection_id)
        if conn is None:
            raise KeyError(f"connection {connection_id!r} is not connected")
        ref = message.get("ref")
        handler = self._handlers.get(message.get("type", ""))
        try:
            if handler is None:
                raise ProtocolError("unknown_type", f"unknown message type {message.get('type')!r}")
            return handler(conn, message, ref if isinstance(ref, str) else None)
        except ProtocolError as exc:
            return [(connection_id, protocol.make_error(exc.code, exc.message, ref))]

    def expire(self, now: float | None = None) -> list[Outgoing]:
        """End rings older than ``ring_timeout_s``; call it periodically.

        Rung agents get ``incoming_call_ended cancelled``; a caller whose call
        nobody answered gets ``call_ended no_answer``.
        """
        now = self._clock() if now is None else now
        out: list[Outgoing] = []
        for call in list(self._calls.values()):
            expired = [r for r in call.rings.values() if now - r.since >= self.ring_timeout_s]
            if not expired:
                continue
            for ring in expired:
                out += self._stop_ring(call, ring.connection_id, "cancelled")
            out += self._after_rings_changed(call)
        return out

    # --- Introspection -------------------------------------------------------

    @property
    def connection_count(self) -> int:
        """Connected agents."""
        return len(self._connections)

    @property
    def call_count(self) -> int:
        """Calls that exist (with at least one participant)."""
        return len(self._calls)

    def connections_of(self, user_id: str) -> list[str]:
        """Connection ids of ``user_id``'s connected agents, in connect order."""
        return list(self._users.get(user_id, ()))

    def user_of(self, connection_id: str) -> str | None:
        """The user id of a connection, or ``None`` if it is not connected."""
        conn = self._connections.get(connection_id)
        return None if conn is None else conn.user_id

    def participants(self, call_id: str) -> list[dict[str, Any]]:
        """The roster of a call (``Participant`` objects in join order); empty if no such call."""
        call = self._calls.get(call_id)
        return [] if call is None else [p.to_json() for p in call.participants.values()]

    def calls_of(self, connection_id: str) -> dict[str, str]:
        """``{call_id: participant_id}`` for the calls a connection is in."""
        conn = self._connections.get(connection_id)
        return {} if conn is None else dict(conn.calls)

    # --- Message handlers ---------------------------------------------------

    def _on_auth(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        raise ProtocolError("invalid", "auth: this connection is already authenticated")

    def _on_ping(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        return [(conn.connection_id, _with_ref({"type": protocol.PONG}, ref))]

    def _on_join(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        group_id = message["group_id"]
        call_id = group_call_id(group_id)
        if call_id in conn.calls:
            raise ProtocolError(
                "forbidden", f"join: this connection is already in the call of group {group_id!r}"
            )
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call(call_id=call_id, group_id=group_id)
        return self._add_participant(call, conn, message, ref)

    def _on_start_call(
        self, conn: _Connection, message: dict[str, Any], ref: str | None
    ) -> list[Outgoing]:
        targets: list[str] = message["targets"]
        if conn.user_id in targets:
            raise ProtocolError("invalid", "start_call.targets: a user cannot call themselves")
        call_id = self._new_id()
        display_name = message.get("display_name", "")
        call = _Call(
            call_id=call_id,
            group_id=None,
            caller={"user_id": conn.user_id, "display_name": display_name},
        )
        self._calls[call_id] = call
        participant_id = self._new_id()
        call.participants[participant_id] = _Participant(
            participant_id=participant_id,
            connection_id=conn.connection_id,
            user_id=conn.user_id,
            display_name=display_name,
            media=message.get("media") or _empty_media(),
        )
        conn.calls[call_id] = participant_id
        out: list[Outgoing] = [
            (
                conn.connection_id,
                _with_ref(
                    {
                        "type": protocol.CALL_STARTED,
                        "call_id": call_id,
                        "participant_id": participant_id,
                    },
                    ref,
                ),
            )
        ]
        now = self._clock()
        for target in targets:
            for agent_id in self._users.get(target, ()):
                call.rings[agent_id] = _Ring(agent_id, target, now)
                call.rung_users.add(target)
                self._connections[agent_id].rings.add(call_id)
                out.append(
                    (
                        agent_id,
                        {
                            "type": protocol.INCOMING_CALL,
                            "call_id": call_id,
                            "caller": dict(call.caller or {}),
                        },
                    )
                )
        if call.rings:
            out.append((conn.connection_id, {"type": protocol.RINGING, "call_id": call_id}))
        else:
            out += self._end_unanswered(call, "unavailable")
        return out

    def _ringing_call(self, conn: _Connection, message: dict[str, Any]) -> _Call:
        mtype, call_id = message["type"], message["call_id"]
        call = self._calls.get(call_id)
        if call is None:
            raise ProtocolError("unknown_call", f"{mtype}: no call {call_id!r} (it may have ended)")
        if conn.connection_id not in call.rings:
            if call_id in conn.calls:
                raise ProtocolError("forbidden", f"{mtype}: already in call {call_id!r}")
            raise ProtocolError(
                "forbidden", f"{mtype}: call {call_id!r} is not ringing on this connection"
            )
        return call

    def _on_accept(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        call = self._ringing_call(conn, message)
        self._drop_ring(call, conn.connection_id)
        call.answered = True
        out = self._add_participant(call, conn, message, ref)
        for ring in list(call.rings.values()):
            if ring.user_id == conn.user_id:
                out += self._stop_ring(call, ring.connection_id, "accepted_elsewhere")
        return out

    def _on_reject(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        call = self._ringing_call(conn, message)
        self._drop_ring(call, conn.connection_id)
        call.declined_by.add(conn.user_id)
        out: list[Outgoing] = [
            (
                conn.connection_id,
                _with_ref({"type": protocol.REJECTED, "call_id": call.call_id}, ref),
            )
        ]
        for ring in list(call.rings.values()):
            if ring.user_id == conn.user_id:
                out += self._stop_ring(call, ring.connection_id, "rejected_elsewhere")
        return out + self._after_rings_changed(call)

    def _participant_of(
        self, conn: _Connection, message: dict[str, Any]
    ) -> tuple[_Call, _Participant]:
        mtype, call_id = message["type"], message["call_id"]
        call = self._calls.get(call_id)
        if call is None:
            raise ProtocolError("unknown_call", f"{mtype}: no call {call_id!r} (it may have ended)")
        participant_id = conn.calls.get(call_id)
        if participant_id is None:
            raise ProtocolError(
                "not_in_call", f"{mtype}: this connection is not in call {call_id!r}"
            )
        return call, call.participants[participant_id]

    def _on_leave(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        call, participant = self._participant_of(conn, message)
        out: list[Outgoing] = [
            (conn.connection_id, _with_ref({"type": protocol.LEFT, "call_id": call.call_id}, ref))
        ]
        return out + self._remove_participant(call, participant.participant_id, "left")

    def _on_signal(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        call, sender = self._participant_of(conn, message)
        target = call.participants.get(message["to"])
        if target is None:
            raise ProtocolError(
                "unknown_participant",
                f"signal.to: no participant {message['to']!r} in call {call.call_id!r}",
            )
        if target is sender:
            raise ProtocolError("invalid", "signal.to: a participant cannot signal itself")
        relayed = {
            "type": protocol.SIGNAL,
            "call_id": call.call_id,
            "from": sender.participant_id,
            "data": message["data"],
        }
        return [(target.connection_id, relayed)]

    def _on_update(self, conn: _Connection, message: _Msg, ref: _Ref) -> list[Outgoing]:
        call, participant = self._participant_of(conn, message)
        participant.media = message["media"]
        event = {
            "type": protocol.PARTICIPANT_UPDATED,
            "call_id": call.call_id,
            "participant": participant.to_json(),
        }
        return [
            (other.connection_id, event)
            for other in call.participants.values()
            if other is not participant
        ]

    # --- Helpers ---------------------------------------------------------------

    def _add_participant(
        self, call: _Call, conn: _Connection, message: dict[str, Any], ref: str | None
    ) -> list[Outgoing]:
        participant_id = self._new_id()
        others = list(call.participants.values())
        participant = _Participant(
            participant_id=participant_id,
            connection_id=conn.connection_id,
            user_id=conn.user_id,
            display_name=message.get("display_name", ""),
            media=message.get("media") or _empty_media(),
        )
        call.participants[participant_id] = participant
        conn.calls[call.call_id] = participant_id
        joined = {
            "type": protocol.JOINED,
            "call_id": call.call_id,
            "participant_id": participant_id,
            "participants": [other.to_json() for other in others],
        }
        out: list[Outgoing] = [(conn.connection_id, _with_ref(joined, ref))]
        event = {
            "type": protocol.PARTICIPANT_JOINED,
            "call_id": call.call_id,
            "participant": participant.to_json(),
        }
        out += [(other.connection_id, event) for other in others]
        return out

    def _remove_participant(self, call: _Call, participant_id: str, reason: str) -> list[Outgoing]:
        participant = call.participants.pop(participant_id)
        conn = self._connections.get(participant.connection_id)
        if conn is not None:
            conn.calls.pop(call.call_id, None)
        event = {
            "type": protocol.PARTICIPANT_LEFT,
            "call_id": call.call_id,
            "participant_id": participant_id,
            "reason": reason,
        }
        out: list[Outgoing] = [(other.connection_id, event) for other in call.participants.values()]
        if not call.participants:
            out += self._close_call(call)
        return out

    def _drop_ring(self, call: _Call, connection_id: str) -> None:
        call.rings.pop(connection_id, None)
        conn = self._connections.get(connection_id)
        if conn is not None:
            conn.rings.discard(call.call_id)

    def _stop_ring(self, call: _Call, connection_id: str, reason: str) -> list[Outgoing]:
        self._drop_ring(call, connection_id)
        event = {"type": protocol.INCOMING_CALL_ENDED, "call_id": call.call_id, "reason": reason}
        return [(connection_id, event)]

    def _after_rings_changed(self, call: _Call) -> list[Outgoing]:
        if call.rings or call.answered or call.call_id not in self._calls:
            return []
        declined = bool(call.rung_users) and call.rung_users <= call.declined_by
        return self._end_unanswered(call, "declined" if declined else "no_answer")

    def _end_unanswered(self, call: _Call, reason: str) -> list[Outgoing]:
        out: list[Outgoing] = []
        for participant in list(call.participants.values()):
            out.append(
                (
                    participant.connection_id,
                    {"type": protocol.CALL_ENDED, "call_id": call.call_id, "reason": reason},
                )
            )
            conn = self._connections.get(participant.connection_id)
            if conn is not None:
                conn.calls.pop(call.call_id, None)
        call.participants.clear()
        return out + self._close_call(call)

    def _close_call(self, call: _Call) -> list[Outgoing]:
        out: list[Outgoing] = []
        for ring in list(call.rings.values()):
            out += self._stop_ring(call, ring.connection_id, "cancelled")
        self._calls.pop(call.call_id, None)
        return out
