"""Helpers for the calling-service tests: WebSocket clients and bounded waits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from engine_plugin.identity import CommunicationIdentityClient
from engine_plugin.service import LocalCallingService

RECEIVE_TIMEOUT_S = 5.0


def wait_until(
    predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` every 20 ms until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class WsClient:
    """A raw signaling client: sends dicts, receives parsed messages, in order."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.user_id = ""
        self.connection_id = ""
        self._refs = 0

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message as JSON text."""
        await self.ws.send_str(json.dumps(message))

    async def recv(self, timeout: float = RECEIVE_TIMEOUT_S) -> dict[str, Any]:
        """The next text message, parsed; fails on close or timeout."""
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type is aiohttp.WSMsgType.TEXT, f"expected a text message, got {msg!r}"
        value = json.loads(msg.data)
        assert isinstance(value, dict)
        return value

    async def expect(self, mtype: str, timeout: float = RECEIVE_TIMEOUT_S) -> dict[str, Any]:
        """The next message, which must be of type ``mtype``."""
        message = await self.recv(timeout)
        assert message["type"] == mtype, f"expected {mtype}, got {message}"
        return message

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send with a fresh ``ref``; the next message must be the reply that echoes it."""
        self._refs += 1
        ref = f"t{self._refs}"
        await self.send({**message, "ref": ref})
        reply = await self.recv()
        assert reply.get("ref") == ref, f"expected the reply to {ref}, got {reply}"
        return reply

    async def types_until_pong(self) -> list[str]:
        """Send ``ping`` and return the types received before its ``pong`` (a barrier)."""
        await self.send({"type": "ping", "ref": "barrier"})
        types: list[str] = []
        while True:
            message = await self.recv()
            if message["type"] == "pong" and message.get("ref") == "barrier":
                return types
            types.append(message["type"])

    async def assert_quiet(self) -> None:
        """Nothing is queued for this client (checked with a ping/pong barrier)."""
        assert await self.types_until_pong() == []

    async def expect_close(self, timeout: float = RECEIVE_TIMEOUT_S) -> int | None:
        """Wait for the service to close the socket; returns the close code."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, "the service did not close the connection"
            msg = await self.ws.receive(timeout=remaining)
            if msg.type is aiohttp.WSMsgType.CLOSE:
                return int(msg.data)
            if msg.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return self.ws.close_code
            assert msg.type is not aiohttp.WSMsgType.TEXT, f"unexpected message {msg.data}"

    async def close(self) -> None:
        """Close the socket."""
        await self.ws.close()


class Clients:
    """Opens signaling clients against one service and closes them all at the end."""

    def __init__(self, service: LocalCallingService, session: aiohttp.ClientSession) -> None:
        self.service = service
        self.session = session
        self.identity = CommunicationIdentityClient.from_connection_string(
            service.connection_string
        )

    async def open(self, **kwargs: Any) -> WsClient:
        """A WebSocket to ``/signaling``, not yet authenticated."""
        ws = await self.session.ws_connect(self.service.endpoint + "signaling", **kwargs)
        return WsClient(self.session, ws)

    async def connect(self, token: str | None = None, **kwargs: Any) -> WsClient:
        """An authenticated client (a new user with a voip token unless ``token`` is given)."""
        if token is None:
            _user, access = self.identity.create_user_and_token(["voip"])
            token = access.token
        client = await self.open(**kwargs)
        welcome = await client.request({"type": "auth", "token": token})
        assert welcome["type"] == "welcome", welcome
        client.user_id = welcome["user_id"]
        client.connection_id = welcome["connection_id"]
        return client
