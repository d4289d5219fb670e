"""The client side of the signaling protocol (``docs/protocol.md``) over aiohttp's WebSocket."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from ..protocol import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)


class SignalingError(Exception):
    """The service answered a request with an ``error`` message, or the connection failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def signaling_url(endpoint: str) -> str:
    """``http://host:port/`` -> ``ws://host:port/signaling`` (https -> wss)."""
    base = endpoint if endpoint.endswith("/") else endpoint + "/"
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + "signaling"


class SignalingClient:
    """One authenticated WebSocket to the calling service.

    ``request()`` sends a message with a fresh ``ref`` and waits for the reply
    that echoes it; every other message goes to ``on_event`` (on the loop).
    """

    def __init__(
        self, endpoint: str, token: str, on_event: Callable[[dict[str, Any]], None]
    ) -> None:
        self.endpoint = endpoint
        self._token = token
        self._on_event = on_event
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._on_reply: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._refs = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self.on_closed: Callable[[str], None] | None = None
        self.user_id = ""
        self.connection_id = ""

    async def connect(self, timeout: float = 10.0) -> None:
        """Open the socket and authenticate; raises :class:`SignalingError` when refused."""
        self._session = aiohttp.ClientSession()
        try:
            self._ws = await self._session.ws_connect(
                signaling_url(self.endpoint),
                heartbeat=5.0,
                max_msg_size=4 * MAX_MESSAGE_BYTES,
                timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
            )
        except (aiohttp.ClientError, OSError) as exc:
            await self._session.close()
            self._session = None
            raise SignalingError(
                "unreachable", f"cannot reach the calling service at {self.endpoint}: {exc}"
            ) from exc
        self._reader = asyncio.get_running_loop().create_task(self._read())
        welcome = await self.request({"type": "auth", "token": self._token}, timeout=timeout)
        self.user_id = str(welcome.get("user_id", ""))
        self.connection_id = str(welcome.get("connection_id", ""))

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message without waiting for a reply."""
        if self._ws is None or self._ws.closed:
            raise SignalingError("closed", "the connection to the calling service is closed")
        await self._ws.send_str(json.dumps(message, separators=(",", ":")))

    async def request(
        self,
        message: dict[str, Any],
        timeout: float = 10.0,
        on_reply: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Send ``message`` and return the reply carrying its ``ref``; errors raise.

        ``on_reply`` (if given) is called with a successful reply by the reader
        itself, before any later message is handled: state that later events
        rely on (a new call's session) is set up there, in order.
        """
        ref = f"r{next(self._refs)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        if on_reply is not None:
            self._on_reply[ref] = on_reply
        try:
            await self.send({**message, "ref": ref})
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise SignalingError(
                "timeout", f"no reply to {message.get('type')!r} within {timeout} s"
            ) from None
        finally:
            self._pending.pop(ref, None)
            self._on_reply.pop(ref, None)
        if reply.get("type") == "error":
            raise SignalingError(str(reply.get("code")), str(reply.get("message")))
        return reply

    async def _read(self) -> None:
        assert self._ws is not None
        reason = "closed"
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    logger.warning("signaling: ignoring a message that is not JSON")
                    continue
                if not isinstance(data, dict) or not isinstance(data.get("type"), str):
                    logger.warning("signaling: ignoring a message without a type")
                    continue
                ref = data.get("ref")
                if isinstance(ref, str) and ref in self._pending:
                    future = self._pending.pop(ref)
                    on_reply = self._on_reply.pop(ref, None)
                    if on_reply is not None and data["type"] != "error" and not future.done():
                        try:
                            on_reply(data)
                        except Exception as exc:
                            future.set_exception(exc)
                    if not future.done():
                        future.set_result(data)
                    continue
                if data["type"] == "error":
                    logger.warning("signaling error from service: %s", data.get("message"))
                try:
                    self._on_event(data)
                except Exception:
                    logger.exception("signaling: handling %s failed", data.get("type"))
            if self._ws.close_code == 4401:
                reason = "unauthorized"
        except asyncio.CancelledError:
            reason = "closed"
            raise
        except Exception as exc:  # connection reset
            reason = f"connection lost: {exc}"
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(SignalingError("closed", f"signaling {reason}"))
            self._pending.clear()
            callback, self.on_closed = self.on_closed, None
            if callback is not None:
                callback(reason)

    async def close(self) -> None:
        """Close the socket and the HTTP session."""
        self.on_closed = None
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
            self._reader = None
        if self._session is not None:
            await self._session.close()
            self._session = None
