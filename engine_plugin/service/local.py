"""``LocalCallingService``: the calling service, in-process, on its own thread and event loop."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import ipaddress
import logging
import secrets
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from engine_plugin.service.app import (
    DEFAULT_AUTH_TIMEOUT_S,
    DEFAULT_DEAD_AFTER_S,
    DEFAULT_HEARTBEAT_S,
    SERVICE_STATE,
    create_app,
)
from engine_plugin.service.calls import DEFAULT_RING_TIMEOUT_S

__all__ = ["THREAD_NAME", "LocalCallingService", "is_loopback"]

logger = logging.getLogger(__name__)

THREAD_NAME = "engine_plugin-service"
"""Name of the thread that runs the service's event loop."""

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 15.0

_LOCALHOST_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "", "0.0.0.0", "::"})


def is_loopback(host: str) -> bool:
    """True when ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _page_on_localhost(host: str) -> bool:
    """True when ``http://localhost:PORT/`` reaches a service listening on ``host``."""
    return host.lower().strip("[]") in _LOCALHOST_NAMES


class LocalCallingService:
    """The embedded calling service: identity REST API and signaling, on ``host:port``.

    Use it as ``with LocalCallingService() as service:`` or
    ``async with LocalCallingService() as service:``, or call :meth:`start`
    and :meth:`stop` (both idempotent; a stopped service may be started
    again). It runs on its own thread (named ``engine_plugin-service``) with
    its own asyncio loop; nothing of it survives :meth:`stop`.

    Arguments:

    - ``host`` (default ``"127.0.0.1"``) and ``port`` (default 0: a free port).
    - ``access_key`` (default: 32 random bytes): signs tokens and
      authenticates identity requests.

    Keyword options:

    - ``ring_timeout_s`` (default 60): an unanswered call stops ringing after this.
    - ``heartbeat_s`` (default 1.0): interval of the service's WebSocket pings.
    - ``dead_after_s`` (default 5.0): a client silent this long (no pong) is
      dropped, and the others see it leave with reason ``disconnected``.
    - ``auth_timeout_s`` (default 10): time a new WebSocket has to send ``auth``.
    - ``configure_app`` (default ``None``): called with the aiohttp application
      before it starts, to add routes (e.g. :func:`~engine_plugin.service.app.add_static`).
    - ``dev_tokens`` (default ``False``): serve ``POST /dev/token``, which gives
      anyone who can reach the port a new identity and a ``voip`` token, so
      that the demo page (:attr:`page_url`) can join calls. Development only:
      on a non-loopback ``host`` a warning is logged at start.

    The browser SDK (``/sdk/``) and the demo page (:attr:`page_url`) are
    always served.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_key: bytes | None = None,
        ring_timeout_s: float = DEFAULT_RING_TIMEOUT_S,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        dead_after_s: float = DEFAULT_DEAD_AFTER_S,
        auth_timeout_s: float = DEFAULT_AUTH_TIMEOUT_S,
        configure_app: Callable[[web.Application], Any] | None = None,
        dev_tokens: bool = False,
    ) -> None:
        if access_key is None:
            access_key = secrets.token_bytes(32)
        if not isinstance(access_key, bytes) or len(access_key) < 16:
            raise ValueError("access_key must be at least 16 bytes")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535, got {port}")
        self._host = host
        self._requested_port = port
        self._access_key = access_key
        self._ring_timeout_s = ring_timeout_s
        self._heartbeat_s = heartbeat_s
        self._dead_after_s = dead_after_s
        self._auth_timeout_s = auth_timeout_s
        self._configure_app = configure_app
        self._dev_tokens = dev_tokens
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- Properties ----------------------------------------------------------

    @property
    def access_key(self) -> bytes:
        """The access key (raw bytes)."""
        return self._access_key

    @property
    def host(self) -> str:
        """The address the service listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port the service listens on; raises :class:`RuntimeError` before :meth:`start`."""
        if self._port is None:
            raise RuntimeError("LocalCallingService is not started: call start() or use `with`")
        return self._port

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT/``; raises :class:`RuntimeError` before :meth:`start`."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/"

    @property
    def page_url(self) -> str:
        """The demo page's URL; raises :class:`RuntimeError` before :meth:`start`.

        ``http://localhost:PORT/`` when the service listens on ``127.0.0.1``,
        ``::1``, ``localhost`` or every address (``0.0.0.0``, ``::``): browsers
        treat ``localhost`` as a secure context, which camera and microphone
        access need. Otherwise ``http://HOST:PORT/`` (another 127.x.y.z address
        is a secure context too).
        """
        port = self.port
        if _page_on_localhost(self._host):
            return f"http://localhost:{port}/"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{port}/"

    @property
    def dev_tokens(self) -> bool:
        """True when ``POST /dev/token`` is served."""
        return self._dev_tokens

    @property
    def connection_string(self) -> str:
        """``endpoint=http://127.0.0.1:PORT/;accesskey=BASE64KEY``.

        What ``CommunicationIdentityClient.from_connection_string`` takes.
        """
        key = base64.b64encode(self._access_key).decode("ascii")
        return f"endpoint={self.endpoint};accesskey={key}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._port is not None

    # --- Lifecycle -------------------------------------------------------------

    def start(self) -> LocalCallingService:
        """Start listening (blocks until ready, at most 15 s); returns ``self``."""
        future = self._begin_start()
        if future is not None:
            try:
                future.result(_START_TIMEOUT_S)
            except BaseException:
                self._abort_start()
                raise
        return self

    def stop(self) -> None:
        """Close every connection, stop the server and join its thread."""
        future = self._begin_stop()
        if future is not None:
            try:
                future.result(_STOP_TIMEOUT_S)
            finally:
                self._end_stop()

    async def astart(self) -> LocalCallingService:
        """Start from asyncio code without blocking the caller's loop."""
        future = self._begin_start()
        if future is not None:
            try:
                await asyncio.wrap_future(future)
            except BaseException:
                self._abort_start()
                raise
        return self

    async def astop(self) -> None:
        """Stop from asyncio code; only the final thread join (milliseconds) blocks."""
        future = self._begin_stop()
        if future is not None:
            try:
                await asyncio.wrap_future(future)
            finally:
                self._end_stop()

    def __enter__(self) -> LocalCallingService:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalCallingService:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    def __repr__(self) -> str:
        where = self.endpoint if self.running else "not started"
        return f"<LocalCallingService {where}>"

    # --- Internals ---------------------------------------------------------------

    def _begin_start(self) -> concurrent.futures.Future[None] | None:
        with self._lock:
            if self._thread is not None:
                return None
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=self._run_loop, args=(loop,), name=THREAD_NAME, daemon=True
            )
            self._loop, self._thread = loop, thread
            thread.start()
            return asyncio.run_coroutine_threadsafe(self._serve(), loop)

    def _abort_start(self) -> None:
        future = self._begin_stop()
        if future is not None:
            try:
                future.result(_STOP_TIMEOUT_S)
            except Exception:
                logger.exception("cleaning up after a failed start")
            finally:
                self._end_stop()

    def _begin_stop(self) -> concurrent.futures.Future[None] | None:
        with self._lock:
            if self._thread is None or self._loop is None:
                return None
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(self._shutdown(), loop)

    def _end_stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._port = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_TIMEOUT_S)
            if thread.is_alive():
                logger.error("the service thread did not stop within %s s", _STOP_TIMEOUT_S)
            else:
                loop.close()

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)

    async def _serve(self) -> None:
        app = create_app(
            self._access_key,
            ring_timeout_s=self._ring_timeout_s,
            heartbeat_s=self._heartbeat_s,
            dead_after_s=self._dead_after_s,
            auth_timeout_s=self._auth_timeout_s,
            dev_tokens=self._dev_tokens,
        )
        if self._configure_app is not None:
            self._configure_app(app)
        if self._dev_tokens and not is_loopback(self._host):
            logger.warning(
                "development tokens are enabled and the service listens on %s, which is not "
                "a loopback address: anyone who can reach its port can get access tokens "
                "from POST /dev/token",
                self._host or "every address",
            )
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        port = int(runner.addresses[0][1])
        host = f"[{self._host}]" if ":" in self._host else self._host
        app[SERVICE_STATE].endpoint = f"http://{host}:{port}/"
        self._port = port
        logger.info("calling service listening on %s", app[SERVICE_STATE].endpoint)
        if self._dev_tokens:
            logger.info("development tokens enabled: POST %sdev/token", self.endpoint)

    async def _shutdown(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            logger.info("calling service on port %s stopped", self._port)
