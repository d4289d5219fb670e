"""``CallAgent``: one user's presence on the calling service; joins, starts and accepts calls.

Threads: each agent owns one SDK event-loop thread. Its events, and the events
of its calls, fire there. ``dispose()`` stops that thread and everything the
agent made (sockets, peer connections, delivery threads).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._events import EventSlot
from .._loop import SdkLoop
from .._operation import Operation
from .._threads import on_sdk_thread
from ..identity import CommunicationUserIdentifier
from ..transport.mesh import MeshTransport
from ..transport.signaling import SignalingError
from .call import Call
from .delivery import join_retired
from .enums import CallState
from .errors import AuthenticationError, CallingError, InvalidStateError
from .event_args import (
    CallsUpdatedEventArgs,
    IncomingCallReceivedEventArgs,
    PropertyChangedEventArgs,
)
from .options import (
    AcceptCallOptions,
    CallAgentOptions,
    GroupCallLocator,
    JoinCallOptions,
    StartCallOptions,
)

if TYPE_CHECKING:
    from .call_client import CallClient

logger = logging.getLogger(__name__)


def _translate(exc: SignalingError) -> CallingError:
    if exc.code == "unauthorized":
        return AuthenticationError(exc.message)
    return CallingError(f"the calling service refused: {exc.message} ({exc.code})")


class CallerInfo:
    """Who is calling: ``identifier`` and ``display_name``."""

    def __init__(self, identifier: CommunicationUserIdentifier, display_name: str) -> None:
        self.identifier = identifier
        self.display_name = display_name

    def __repr__(self) -> str:
        return f"<CallerInfo {self.display_name!r} {self.identifier.raw_id}>"


class IncomingCall:
    """A call ringing this agent: ``accept(options)`` or ``reject()``.

    Events (on the event-loop thread):
        call_ended: the caller gave up, or another agent of this user answered.
    """

    call_ended = EventSlot[PropertyChangedEventArgs]()

    def __init__(self, agent: CallAgent, call_id: str, caller: CallerInfo) -> None:
        self._agent = agent
        self.id = call_id
        self.caller_info = caller
        self.ended_reason = ""

    def accept(self, options: AcceptCallOptions | None = None) -> Operation[Call]:
        """Answer: the returned call connects to the caller."""
        return self._agent._loop.submit(self._agent._accept(self, options), "accept")

    def reject(self) -> Operation[None]:
        """Decline the call."""
        return self._agent._loop.submit(self._agent._reject(self), "reject")

    def __repr__(self) -> str:
        return f"<IncomingCall {self.id} from {self.caller_info!r}>"


class CallAgent:
    """One user's presence on the calling service.

    Events (on the SDK's event-loop thread):
        incoming_call_received: ``args.incoming_call`` (an ``IncomingCall``).
        calls_updated: ``args.added_calls``, ``args.removed_calls``.
    """

    incoming_call_received = EventSlot[IncomingCallReceivedEventArgs]()
    calls_updated = EventSlot[CallsUpdatedEventArgs]()

    def __init__(
        self,
        client: CallClient,
        endpoint: str,
        token: str,
        options: CallAgentOptions,
    ) -> None:
        self._client = client
        self._options = options
        self._loop = SdkLoop(f"engine_plugin-agent-{id(self):x}")
        self._transport = MeshTransport(
            endpoint,
            token,
            self,
            ice_host_addresses=client.options.ice_host_addresses,
            ice_servers=client.options.ice_servers,
        )
        self._calls: list[Call] = []
        self._incoming: dict[str, IncomingCall] = {}
        self._disposed = False

    async def _connect(self) -> CallAgent:
        try:
            await self._transport.connect()
        except SignalingError as exc:
            # Nothing of this agent may outlive the failure: close, then end the loop.
            self._disposed = True
            await self._transport.close()
            self._loop.stop_soon()
            raise _translate(exc) from None
        return self

    # -- public -----------------------------------------------------------------

    @property
    def display_name(self) -> str:
        """The name others see."""
        return self._options.display_name

    @property
    def identifier(self) -> CommunicationUserIdentifier:
        """The user this agent acts as (from its token)."""
        return CommunicationUserIdentifier(self._transport.user_id)

    @property
    def calls(self) -> list[Call]:
        """The calls this agent is in (not yet DISCONNECTED)."""
        return list(self._calls)

    def join(
        self, locator: GroupCallLocator, options: JoinCallOptions | None = None
    ) -> Operation[Call]:
        """Join the group call ``locator.group_id`` (created on first join)."""
        if not isinstance(locator, GroupCallLocator):
            raise TypeError(f"join expects a GroupCallLocator, got {type(locator).__name__}")
        self._check_usable()
        return self._loop.submit(self._join(locator, options), "join")

    def start_call(
        self,
        participants: Sequence[CommunicationUserIdentifier],
        options: StartCallOptions | None = None,
    ) -> Operation[Call]:
        """Ring ``participants``: the call goes CONNECTING, RINGING, then CONNECTED or ended."""
        ids = []
        for p in participants:
            if not isinstance(p, CommunicationUserIdentifier):
                raise TypeError(
                    f"start_call expects CommunicationUserIdentifier values, got {type(p).__name__}"
                )
            ids.append(p.raw_id)
        if not ids:
            raise ValueError("start_call needs at least one participant to call")
        self._check_usable()
        return self._loop.submit(self._start_call(ids, options), "start_call")

    def dispose(self, timeout: float = 10.0) -> None:
        """Hang up every call and release everything the agent holds (blocks until done).

        Call it from an application thread, not from an event handler.
        """
        if self._disposed:
            return
        if on_sdk_thread():
            raise InvalidStateError(
                "dispose() was called on an SDK thread (inside an event handler); call it from "
                "an application thread"
            )
        self._disposed = True
        try:
            self._loop.submit(self._transport.close(), "dispose").result(timeout)
        except Exception:
            logger.exception("closing the agent's connection failed")
        finally:
            self._loop.close(timeout)
            join_retired(timeout)

    def __enter__(self) -> CallAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    # -- internals (event-loop thread) ---------------------------------------------

    def _check_usable(self) -> None:
        if self._disposed:
            raise InvalidStateError("this CallAgent was disposed")
        reason = self._transport.closed_reason
        if reason:
            raise InvalidStateError(
                f"the calling service closed this agent's connection ({reason}); "
                "create a new agent (with a fresh token if it was revoked)"
            )

    async def _open(self, call: Call, opener: str, *args: object) -> Call:
        media = call._initial_media()
        # The call is listed (and calls_updated fires) before it connects, so that a
        # handler attached there sees every state change and roster event, and so
        # that a call ended while connecting (call_ended unavailable) is removed again.
        self._calls.append(call)
        self.calls_updated.fire(CallsUpdatedEventArgs([call], []))
        call._set_state(CallState.CONNECTING)
        method = getattr(self._transport, opener)
        try:
            session = await method(*args, self.display_name, media, call)
        except SignalingError as exc:
            call._release_streams()
            call._set_state(CallState.DISCONNECTED)
            self._forget_call(call)
            raise _translate(exc) from None
        call._bind(session)
        return call

    async def _join(self, locator: GroupCallLocator, options: JoinCallOptions | None) -> Call:
        call = Call(self, options, outgoing=True, group=True)
        return await self._open(call, "join", locator.group_id)

    async def _start_call(self, ids: list[str], options: StartCallOptions | None) -> Call:
        call = Call(self, options, outgoing=True, group=False)
        return await self._open(call, "start_call", ids)

    async def _accept(self, incoming: IncomingCall, options: AcceptCallOptions | None) -> Call:
        self._incoming.pop(incoming.id, None)
        call = Call(self, options, outgoing=False, group=False)
        return await self._open(call, "accept", incoming.id)

    async def _reject(self, incoming: IncomingCall) -> None:
        self._incoming.pop(incoming.id, None)
        try:
            await self._transport.reject(incoming.id)
        except SignalingError as exc:
            raise _translate(exc) from None

    def _forget_call(self, call: Call) -> None:
        if call in self._calls:
            self._calls.remove(call)
            self.calls_updated.fire(CallsUpdatedEventArgs([], [call]))

    # -- AgentListener (event-loop thread) -------------------------------------------

    def on_incoming_call(self, call_id: str, caller_user_id: str, caller_name: str) -> None:
        """The service rings this agent."""
        incoming = IncomingCall(
            self, call_id, CallerInfo(CommunicationUserIdentifier(caller_user_id), caller_name)
        )
        self._incoming[call_id] = incoming
        self.incoming_call_received.fire(IncomingCallReceivedEventArgs(incoming))

    def on_incoming_call_ended(self, call_id: str, reason: str) -> None:
        """A ringing call stopped ringing here."""
        incoming = self._incoming.pop(call_id, None)
        if incoming is not None:
            incoming.ended_reason = reason
            incoming.call_ended.fire(PropertyChangedEventArgs())

    def on_disconnected(self, reason: str) -> None:
        """The signaling connection is gone."""
        if not self._disposed:
            logger.warning("agent %s lost the calling service: %s", self._transport.user_id, reason)
        for incoming in list(self._incoming.values()):
            self.on_incoming_call_ended(incoming.id, "disconnected")

    def __repr__(self) -> str:
        return f"<CallAgent {self._transport.user_id} {len(self._calls)} calls>"
