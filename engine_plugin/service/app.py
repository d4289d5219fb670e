"""The calling service's aiohttp application: identity REST API and signaling WebSocket.

A thin I/O layer over the pure parts: :class:`~engine_plugin.service.identity_store.IdentityStore`
(users), :mod:`engine_plugin.tokens` (JWTs), :mod:`engine_plugin.protocol`
(message validation) and :class:`~engine_plugin.service.calls.CallRegistry`
(the call state machine).

Routes:

- ``POST /identities?api-version=...`` (body may hold ``createTokenWithScopes``
  and ``expiresInMinutes``), ``POST /identities/{id}/:issueAccessToken``,
  ``POST /identities/{id}/:revokeAccessTokens``, ``DELETE /identities/{id}``
  (``{id}:action`` without the slash is accepted too). Each request must be
  signed with the access key (HMAC-SHA256, as Azure Communication Services):
  a missing or wrong signature, a wrong ``x-ms-content-sha256`` or an
  ``x-ms-date`` more than 15 minutes away is refused with 401.
- ``GET /signaling``: the WebSocket of ``docs/protocol.md``.
- ``GET /health``: ``200 {"status": "ok", ...}``.
- The browser files of ``engine_plugin/web``: ``GET /sdk/<file>`` (the browser
  SDK), ``GET /`` (the demo page, ``demo/index.html``) and ``GET /demo/<file>``
  (its assets), with ``Cache-Control: no-cache``. Only regular files inside
  those folders are served: no directory listing, no symbolic links, no dot
  files, nothing outside them.
- ``POST /dev/token`` (development only, when ``create_app(dev_tokens=True)``):
  a new identity and a ``voip`` token for anyone who asks; ``404
  DevTokensDisabled`` otherwise. ``GET /dev/config``: ``{"devTokens": bool}``.

More routes are added with :func:`add_static` or through
``LocalCallingService(configure_app=...)`` before the application starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from engine_plugin import protocol
from engine_plugin.identity import SCOPES, SIGNED_HEADERS, content_hash, hmac_authorization
from engine_plugin.protocol import ProtocolError
from engine_plugin.service.calls import DEFAULT_RING_TIMEOUT_S, CallRegistry, Outgoing
from engine_plugin.service.identity_store import IdentityStore, resource_id_for_key
from engine_plugin.tokens import TokenError, issue_token, verify_token

__all__ = [
    "CLOSE_UNAUTHORIZED",
    "DEFAULT_AUTH_TIMEOUT_S",
    "DEFAULT_DEAD_AFTER_S",
    "DEFAULT_HEARTBEAT_S",
    "DEV_TOKEN_MINUTES",
    "MAX_DATE_SKEW",
    "SERVICE_STATE",
    "WEB_DIR",
    "ServiceState",
    "add_static",
    "create_app",
]

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED: Final = 4401
"""WebSocket close code after an ``unauthorized`` error."""

DEFAULT_HEARTBEAT_S: Final = 1.0
"""Interval of the service's WebSocket pings."""

DEFAULT_DEAD_AFTER_S: Final = 5.0
"""A client from which nothing (not even a pong) arrived for this long is dropped."""

DEFAULT_AUTH_TIMEOUT_S: Final = 10.0
"""How long a new WebSocket may wait before sending ``auth``."""

MAX_DATE_SKEW: Final = timedelta(minutes=15)
"""Largest accepted distance between ``x-ms-date`` and the service's clock."""

MAX_SEND_QUEUE: Final = 4096
"""Messages queued for one client that does not read; beyond this it is disconnected."""

MIN_TOKEN_MINUTES: Final = 60
MAX_TOKEN_MINUTES: Final = 1440

_REST_MAX_BODY: Final = 64 * 1024

WEB_DIR: Final = Path(__file__).resolve().parent.parent / "web"
"""The package's browser files: ``sdk/`` (the browser SDK) and ``demo/`` (the demo page)."""

DEV_TOKEN_MINUTES: Final = 60
"""Lifetime of a token from ``POST /dev/token``."""

MAX_DISPLAY_NAME: Final = 256
"""Longest ``displayName`` accepted by ``POST /dev/token``."""

_WEB_CONTENT_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}


class _Close:
    """Writer-queue item: close the WebSocket with ``code``."""

    def __init__(self, code: int, reason: bytes) -> None:
        self.code = code
        self.reason = reason


class _Peer:
    """One authenticated WebSocket: its user and an ordered outgoing queue."""

    def __init__(
        self, connection_id: str, user_id: str, generation: int, ws: web.WebSocketResponse
    ) -> None:
        self.connection_id = connection_id
        self.user_id = user_id
        self.generation = generation
        self.ws = ws
        self._queue: asyncio.Queue[str | _Close | None] = asyncio.Queue()
        self._closing = False
        self.writer = asyncio.get_running_loop().create_task(
            self._write(), name=f"engine_plugin-service-writer-{connection_id}"
        )

    def send(self, text: str) -> None:
        """Queue one encoded message (dropped once the peer is closing)."""
        if self._closing:
            return
        if self._queue.qsize() >= MAX_SEND_QUEUE:
            logger.warning("connection %s does not read its messages: closing", self.connection_id)
            self.close(WSCloseCode.POLICY_VIOLATION, b"too many unread messages")
            return
        self._queue.put_nowait(text)

    def close(self, code: int, reason: bytes) -> None:
        """Close after the messages queued so far."""
        if not self._closing:
            self._closing = True
            self._queue.put_nowait(_Close(code, reason))

    async def finish(self) -> None:
        """Stop the writer (after it has sent what it can within a second)."""
        self._queue.put_nowait(None)
        done, _ = await asyncio.wait({self.writer}, timeout=1.0)
        if not done:
            self.writer.cancel()
            await asyncio.wait({self.writer})

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            try:
                if isinstance(item, _Close):
                    await self.ws.close(code=item.code, message=item.reason)
                    return
                await self.ws.send_str(item)
            except Exception as exc:  # the socket went away under us
                logger.debug("connection %s: send failed: %r", self.connection_id, exc)
                return


class ServiceState:
    """Everything one running service holds: key, users, calls and open WebSockets.

    Found as ``app[SERVICE_STATE]``. ``endpoint`` is written into tokens; when
    ``None`` it is taken from each request's ``Host``. ``dev_tokens`` enables
    ``POST /dev/token``; ``web_dir`` holds the browser files (``sdk/``, ``demo/``).
    """

    def __init__(
        self,
        access_key: bytes,
        *,
        endpoint: str | None = None,
        ring_timeout_s: float = DEFAULT_RING_TIMEOUT_S,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        dead_after_s: float = DEFAULT_DEAD_AFTER_S,
        auth_timeout_s: float = DEFAULT_AUTH_TIMEOUT_S,
        dev_tokens: bool = False,
        web_dir: str | Path | None = None,
    ) -> None:
        self.access_key = access_key
        self.endpoint = endpoint
        self.dev_tokens = dev_tokens
        self.web_dir = WEB_DIR if web_dir is None else Path(web_dir)
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self.auth_timeout_s = auth_timeout_s
        self.store = IdentityStore(resource_id_for_key(access_key))
        self.registry = CallRegistry(ring_timeout_s=ring_timeout_s)
        self.peers: dict[str, _Peer] = {}
        self.sockets: set[web.WebSocketResponse] = set()

    def endpoint_for(self, request: web.Request) -> str:
        """The endpoint to write into tokens issued for ``request``."""
        return self.endpoint or f"{request.scheme}://{request.host}/"

    def dispatch(self, outgoing: list[Outgoing]) -> None:
        """Queue each ``(connection_id, message)`` on its connection, in order."""
        for connection_id, message in outgoing:
            peer = self.peers.get(connection_id)
            if peer is not None:
                peer.send(protocol.encode(message))

    def close_user(self, user_id: str, reason: str, message: str) -> None:
        """Send ``unauthorized`` to the user's open connections and close them (4401)."""
        for connection_id in self.registry.connections_of(user_id):
            peer = self.peers.get(connection_id)
            if peer is not None:
                error = protocol.make_error("unauthorized", message)
                error["reason"] = reason
                peer.send(protocol.encode(error))
                peer.close(CLOSE_UNAUTHORIZED, b"unauthorized")


SERVICE_STATE: Final = web.AppKey("engine_plugin_service_state", ServiceState)
"""``app[SERVICE_STATE]``: the :class:`ServiceState` of an app made by :func:`create_app`."""


def create_app(
    access_key: bytes,
    *,
    endpoint: str | None = None,
    ring_timeout_s: float = DEFAULT_RING_TIMEOUT_S,
    heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    dead_after_s: float = DEFAULT_DEAD_AFTER_S,
    auth_timeout_s: float = DEFAULT_AUTH_TIMEOUT_S,
    dev_tokens: bool = False,
    web_dir: str | Path | None = None,
) -> web.Application:
    """Build the service's aiohttp application.

    ``access_key`` signs tokens and authenticates identity requests.

    Keyword options:

    - ``endpoint`` (default ``None``: from each request's ``Host``): the URL
      written into tokens; ``app[SERVICE_STATE].endpoint`` may be set once the
      port is known.
    - ``ring_timeout_s`` (default 60): an unanswered call stops ringing after this.
    - ``heartbeat_s`` (default 1.0): interval of the service's WebSocket pings.
    - ``dead_after_s`` (default 5.0): a client from which nothing arrived (not
      even a pong) for this long is dropped; the others see ``disconnected``.
    - ``auth_timeout_s`` (default 10): time allowed before the ``auth`` message.
    - ``dev_tokens`` (default ``False``): serve ``POST /dev/token``, which gives
      anyone who can reach the service a new identity and a ``voip`` token
      (for a browser demo page; development only).
    - ``web_dir`` (default :data:`WEB_DIR`, the package's ``engine_plugin/web``):
      the folder whose ``sdk/`` and ``demo/`` are served at ``/sdk/``, ``/``
      and ``/demo/``.
    """
    if len(access_key) < 16:
        raise ValueError("access_key must be at least 16 bytes")
    app = web.Application(client_max_size=_REST_MAX_BODY)
    app[SERVICE_STATE] = ServiceState(
        access_key,
        endpoint=endpoint,
        ring_timeout_s=ring_timeout_s,
        heartbeat_s=heartbeat_s,
        dead_after_s=dead_after_s,
        auth_timeout_s=auth_timeout_s,
        dev_tokens=dev_tokens,
        web_dir=web_dir,
    )
    app.router.add_get("/health", _health)
    app.router.add_get("/signaling", _signaling)
    app.router.add_post("/identities", _create_identity)
    app.router.add_post("/identities/{target}", _identity_action)
    app.router.add_post("/identities/{user_id}/{action}", _identity_action)
    app.router.add_delete("/identities/{user_id}", _delete_identity)
    app.router.add_post("/dev/token", _dev_token)
    app.router.add_get("/dev/config", _dev_config)
    app.router.add_get("/", _demo_page)
    app.router.add_get("/sdk/{path:.+}", _sdk_file)
    app.router.add_get("/demo/{path:.+}", _demo_file)
    app.cleanup_ctx.append(_ring_timer)
    app.on_shutdown.append(_close_sockets)
    return app


def add_static(app: web.Application, prefix: str, directory: str | Path) -> None:
    """Serve the files of ``directory`` under ``prefix`` (e.g. ``"/sdk"``).

    The hook for the browser SDK and demo page; call it before the
    application starts (``LocalCallingService(configure_app=...)`` does).
    """
    app.router.add_static(prefix, Path(directory), show_index=False, follow_symlinks=False)


# --- Background work ------------------------------------------------------------


async def _ring_timer(app: web.Application) -> AsyncIterator[None]:
    state = app[SERVICE_STATE]

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)
            state.dispatch(state.registry.expire())

    task = asyncio.get_running_loop().create_task(tick(), name="engine_plugin-service-rings")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_sockets(app: web.Application) -> None:
    sockets = list(app[SERVICE_STATE].sockets)
    closing = [ws.close(code=WSCloseCode.GOING_AWAY, message=b"service stopping") for ws in sockets]
    await asyncio.gather(*closing, return_exceptions=True)


# --- Health -----------------------------------------------------------------------


async def _health(request: web.Request) -> web.Response:
    state = request.app[SERVICE_STATE]
    return web.json_response(
        {
            "status": "ok",
            "users": len(state.store),
            "connections": state.registry.connection_count,
            "calls": state.registry.call_count,
        }
    )


# --- Identity REST API --------------------------------------------------------------


def _rest_error(status: int, code: str, message: str) -> web.HTTPException:
    body = json.dumps({"error": {"code": code, "message": message}})
    cls: type[web.HTTPException] = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        404: web.HTTPNotFound,
        415: web.HTTPUnsupportedMediaType,
    }[status]
    return cls(text=body, content_type="application/json")


async def _signed_body(request: web.Request) -> bytes:
    """Read the body and check the request's HMAC signature; raises 401 when wrong."""
    state = request.app[SERVICE_STATE]
    body = await request.read()
    headers: dict[str, str] = {}
    for name in ("x-ms-date", "x-ms-content-sha256", "Authorization", "Host"):
        value = request.headers.get(name)
        if not value:
            raise _rest_error(401, "Unauthorized", f"missing header {name}")
        headers[name] = value
    date, body_hash = headers["x-ms-date"], headers["x-ms-content-sha256"]
    authorization, host = headers["Authorization"], headers["Host"]
    try:
        sent = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        sent = None
    if sent is None or sent.tzinfo is None:
        raise _rest_error(401, "Unauthorized", f"x-ms-date {date!r} is not an RFC 1123 date")
    skew = abs(datetime.now(UTC) - sent)
    if skew > MAX_DATE_SKEW:
        raise _rest_error(
            401,
            "Unauthorized",
            f"x-ms-date is {int(skew.total_seconds())} s away from the service's clock "
            f"(at most {int(MAX_DATE_SKEW.total_seconds())} s are accepted)",
        )
    if body_hash != content_hash(body):
        raise _rest_error(401, "Unauthorized", "x-ms-content-sha256 does not match the body")
    prefix = f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature="
    if not authorization.startswith(prefix):
        raise _rest_error(
            401, "Unauthorized", f"Authorization must be {prefix!r} followed by the signature"
        )
    expected = hmac_authorization(
        state.access_key, request.method, request.raw_path, date, host, body_hash
    )
    if not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise _rest_error(401, "Unauthorized", "the signature does not match (wrong access key?)")
    return body


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise _rest_error(400, "ValidationError", "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise _rest_error(400, "ValidationError", "the body must be a JSON object")
    return value


def _scopes(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _rest_error(
            400, "ValidationError", f"{field} must be a non-empty list of scopes (chat, voip)"
        )
    scopes: list[str] = []
    for scope in value:
        if scope not in SCOPES:
            raise _rest_error(
                400,
                "ValidationError",
                f"scope {scope!r} is not valid; expected one of {sorted(SCOPES)}",
            )
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def _lifetime_s(payload: dict[str, Any]) -> int:
    minutes = payload.get("expiresInMinutes", MAX_TOKEN_MINUTES)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not MIN_TOKEN_MINUTES <= minutes <= MAX_TOKEN_MINUTES
    ):
        raise _rest_error(
            400,
            "ValidationError",
            f"expiresInMinutes must be an integer {MIN_TOKEN_MINUTES}-{MAX_TOKEN_MINUTES}, "
            f"got {minutes!r}",
        )
    return minutes * 60


def _token_json(
    state: ServiceState, request: web.Request, user_id: str, scopes: list[str], lifetime_s: int
) -> dict[str, str]:
    token, expires_at = issue_token(
        state.access_key,
        user_id=user_id,
        scopes=scopes,
        endpoint=state.endpoint_for(request),
        generation=state.store.generation(user_id),
        lifetime_s=lifetime_s,
    )
    return {"token": token, "expiresOn": expires_at.isoformat().replace("+00:00", "Z")}


def _known_user(state: ServiceState, user_id: str) -> str:
    if not state.store.exists(user_id):
        raise _rest_error(404, "IdentityNotFound", f"no identity {user_id!r}")
    return user_id


async def _create_identity(request: web.Request) -> web.Response:
    state = request.app[SERVICE_STATE]
    payload = _json_body(await _signed_body(request))
    scopes = payload.get("createTokenWithScopes")
    checked = None if scopes is None else _scopes(scopes, "createTokenWithScopes")
    lifetime_s = _lifetime_s(payload)
    user_id = state.store.create_user()
    result: dict[str, Any] = {"identity": {"id": user_id}}
    if checked is not None:
        result["accessToken"] = _token_json(state, request, user_id, checked, lifetime_s)
    logger.info("created identity %s", user_id)
    return web.json_response(result, status=201)


async def _identity_action(request: web.Request) -> web.Response:
    state = request.app[SERVICE_STATE]
    body = await _signed_body(request)
    if "target" in request.match_info:
        user_id, sep, action = request.match_info["target"].rpartition(":")
        action = sep + action
    else:
        user_id, action = request.match_info["user_id"], request.match_info["action"]
    if action == ":issueAccessToken":
        payload = _json_body(body)
        _known_user(state, user_id)
        scopes = _scopes(payload.get("scopes"), "scopes")
        token = _token_json(state, request, user_id, scopes, _lifetime_s(payload))
        logger.info("issued a %s token to %s", "+".join(scopes), user_id)
        return web.json_response(token)
    if action == ":revokeAccessTokens":
        _known_user(state, user_id)
        state.store.revoke(user_id)
        state.close_user(user_id, "revoked", "the access tokens of this user were revoked")
        logger.info("revoked the tokens of %s", user_id)
        return web.Response(status=204)
    raise _rest_error(
        404,
        "NotFound",
        f"unknown action {action!r}; expected :issueAccessToken or :revokeAccessTokens",
    )


async def _delete_identity(request: web.Request) -> web.Response:
    state = request.app[SERVICE_STATE]
    await _signed_body(request)
    user_id = _known_user(state, request.match_info["user_id"])
    state.store.delete(user_id)
    state.close_user(user_id, "unknown_user", "this user was deleted")
    logger.info("deleted identity %s", user_id)
    return web.Response(status=204)


# --- Browser files --------------------------------------------------------------------


def _web_file(root: Path, relative: str) -> Path | None:
    """The regular file ``relative`` (``/``-separated) inside ``root``, or ``None``.

    ``None`` for an empty, ``.`` or ``..`` segment, a dot file, a backslash or
    NUL, a symbolic link anywhere below ``root``, a directory, a missing file,
    or anything that does not resolve inside ``root``.
    """
    parts = relative.split("/")
    for part in parts:
        if not part or part.startswith(".") or "\\" in part or "\0" in part:
            return None
    path = root
    try:
        for part in parts:
            path = path / part
            if path.is_symlink():
                return None
        if not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
            return None
    except (OSError, ValueError):
        return None
    return path


def _serve_web_file(root: Path, relative: str) -> web.FileResponse:
    path = _web_file(root, relative)
    if path is None:
        raise web.HTTPNotFound(text=f"no file {relative!r}\n")
    content_type = _WEB_CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    headers = {
        "Content-Type": content_type,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    return web.FileResponse(path, headers=headers)


async def _sdk_file(request: web.Request) -> web.FileResponse:
    state = request.app[SERVICE_STATE]
    return _serve_web_file(state.web_dir / "sdk", request.match_info["path"])


async def _demo_file(request: web.Request) -> web.FileResponse:
    state = request.app[SERVICE_STATE]
    return _serve_web_file(state.web_dir / "demo", request.match_info["path"])


async def _demo_page(request: web.Request) -> web.FileResponse:
    state = request.app[SERVICE_STATE]
    return _serve_web_file(state.web_dir / "demo", "index.html")


# --- Development tokens -------------------------------------------------------------


async def _dev_config(request: web.Request) -> web.Response:
    state = request.app[SERVICE_STATE]
    return web.json_response({"devTokens": state.dev_tokens}, headers={"Cache-Control": "no-store"})


async def _dev_token(request: web.Request) -> web.Response:
    """A new identity and a ``voip`` token, for a browser page (development only).

    A JSON body is required (``Content-Type: application/json``): another
    origin cannot send one without a CORS preflight, which is never granted,
    so a cross-site form cannot obtain tokens.
    """
    state = request.app[SERVICE_STATE]
    if not state.dev_tokens:
        raise _rest_error(
            404,
            "DevTokensDisabled",
            "development tokens are disabled on this service: start the service with "
            "--dev-tokens (LocalCallingService(dev_tokens=True)) to get tokens from "
            "POST /dev/token, or issue them with the identity API",
        )
    if request.content_type != "application/json":
        sent = request.headers.get("Content-Type") or "no Content-Type"
        raise _rest_error(
            415,
            "UnsupportedMediaType",
            "POST /dev/token expects Content-Type: application/json and a JSON object "
            f'body (optionally {{"displayName": "..."}}); got {sent}',
        )
    payload = _json_body(await request.read())
    display_name = payload.get("displayName", "")
    if not isinstance(display_name, str) or len(display_name) > MAX_DISPLAY_NAME:
        raise _rest_error(
            400,
            "ValidationError",
            f"displayName must be a string of at most {MAX_DISPLAY_NAME} characters",
        )
    user_id = state.store.create_user()
    token = _token_json(state, request, user_id, ["voip"], DEV_TOKEN_MINUTES * 60)
    logger.info("issued a development token to %s (%r)", user_id, display_name)
    result = {
        "userId": user_id,
        "token": token["token"],
        "expiresOn": token["expiresOn"],
        "endpoint": state.endpoint_for(request),
        "displayName": display_name,
    }
    return web.json_response(result, status=201, headers={"Cache-Control": "no-store"})


# --- Signaling WebSocket ----------------------------------------------------------------


class _Liveness:
    """When the service last heard anything from one WebSocket."""

    def __init__(self) -> None:
        self.last_seen = asyncio.get_running_loop().time()

    def seen(self) -> None:
        self.last_seen = asyncio.get_running_loop().time()


async def _signaling(request: web.Request) -> web.WebSocketResponse:
    state = request.app[SERVICE_STATE]
    # Pings and pongs are handled here (autoping off) so that the service, not
    # aiohttp's fixed "half the heartbeat" rule, decides when a client is dead.
    ws = web.WebSocketResponse(
        autoping=False, max_msg_size=protocol.HARD_MAX_FRAME_BYTES, timeout=2.0
    )
    await ws.prepare(request)
    state.sockets.add(ws)
    liveness = _Liveness()
    watchdog = asyncio.get_running_loop().create_task(
        _watchdog(state, request, ws, liveness), name="engine_plugin-service-heartbeat"
    )
    try:
        peer = await _authenticate(state, ws, liveness)
        if peer is not None:
            await _serve(state, peer, liveness)
    finally:
        watchdog.cancel()
        await asyncio.wait({watchdog})
        state.sockets.discard(ws)
    return ws


async def _watchdog(
    state: ServiceState, request: web.Request, ws: web.WebSocketResponse, liveness: _Liveness
) -> None:
    """Ping every ``heartbeat_s``; drop the connection after ``dead_after_s`` of silence."""
    loop = asyncio.get_running_loop()
    while not ws.closed:
        await asyncio.sleep(state.heartbeat_s)
        silent = loop.time() - liveness.last_seen
        if silent >= state.dead_after_s:
            logger.info("no pong from a signaling client for %.1f s: dropping it", silent)
            if request.transport is not None:
                request.transport.close()
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.ping(), state.heartbeat_s)


async def _receive(
    ws: web.WebSocketResponse, liveness: _Liveness, deadline: float | None = None
) -> aiohttp.WSMessage:
    """The next data or close message; answers pings, notes that the client is alive.

    Raises :class:`TimeoutError` once the loop time passes ``deadline``.
    """
    loop = asyncio.get_running_loop()
    while True:
        timeout = None if deadline is None else deadline - loop.time()
        if timeout is not None and timeout <= 0:
            raise TimeoutError
        msg = await ws.receive(timeout=timeout)
        liveness.seen()
        if msg.type is WSMsgType.PING:
            with contextlib.suppress(Exception):
                await ws.pong(msg.data)
            continue
        if msg.type is WSMsgType.PONG:
            continue
        return msg


async def _send_now(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):
        await ws.send_str(protocol.encode(message))


async def _refuse(
    ws: web.WebSocketResponse, message: str, *, reason: str | None = None, ref: str | None = None
) -> None:
    error = protocol.make_error("unauthorized", message, ref)
    if reason is not None:
        error["reason"] = reason
    await _send_now(ws, error)
    with contextlib.suppress(Exception):
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"unauthorized")


async def _authenticate(
    state: ServiceState, ws: web.WebSocketResponse, liveness: _Liveness
) -> _Peer | None:
    """Wait for ``auth``; returns the new peer, or ``None`` once refused or closed."""
    deadline = asyncio.get_running_loop().time() + state.auth_timeout_s
    while True:
        try:
            msg = await _receive(ws, liveness, deadline)
        except TimeoutError:
            await _refuse(ws, f"no auth message within {state.auth_timeout_s:g} s")
            return None
        if msg.type is WSMsgType.BINARY:
            await _send_now(ws, _binary_error())
            continue
        if msg.type is not WSMsgType.TEXT:
            return None
        try:
            message = protocol.parse_client_message(msg.data)
        except ProtocolError as exc:
            await _send_now(ws, exc.to_message())
            continue
        ref = message.get("ref")
        if message["type"] != protocol.AUTH:
            await _refuse(
                ws,
                f"authenticate first: the first message must be auth, got {message['type']}",
                ref=ref,
            )
            return None
        try:
            claims = verify_token(state.access_key, message["token"])
            state.store.check(claims, scope="voip")
        except TokenError as exc:
            logger.info("refused a signaling connection: %s (%s)", exc.reason, exc.message)
            await _refuse(ws, f"token refused: {exc.message}", reason=exc.reason, ref=ref)
            return None
        connection_id = str(uuid.uuid4())
        peer = _Peer(connection_id, claims.user_id, claims.generation, ws)
        state.peers[connection_id] = peer
        state.registry.connect(connection_id, claims.user_id)
        welcome = {
            "type": protocol.WELCOME,
            "user_id": claims.user_id,
            "connection_id": connection_id,
        }
        if ref is not None:
            welcome["ref"] = ref
        peer.send(protocol.encode(welcome))
        logger.info("connection %s authenticated as %s", connection_id, claims.user_id)
        return peer


def _binary_error() -> dict[str, Any]:
    return protocol.make_error(
        "malformed", "binary frames are refused; send each message as a UTF-8 JSON text frame"
    )


async def _serve(state: ServiceState, peer: _Peer, liveness: _Liveness) -> None:
    """Feed the peer's messages to the registry until its socket closes."""
    ws = peer.ws
    reason = "closed"
    try:
        while True:
            msg = await _receive(ws, liveness)
            if msg.type is WSMsgType.TEXT:
                try:
                    message = protocol.parse_client_message(msg.data)
                except ProtocolError as exc:
                    logger.debug("connection %s: %s", peer.connection_id, exc)
                    peer.send(protocol.encode(exc.to_message()))
                    continue
                try:
                    outgoing = state.registry.handle(peer.connection_id, message)
                except Exception:  # a bug must not take the connection down
                    logger.exception("handling %s failed", message.get("type"))
                    continue
                state.dispatch(outgoing)
            elif msg.type is WSMsgType.BINARY:
                peer.send(protocol.encode(_binary_error()))
            else:
                if msg.type is WSMsgType.ERROR:
                    reason = f"error: {ws.exception()!r}"
                break
    finally:
        state.peers.pop(peer.connection_id, None)
        state.dispatch(state.registry.disconnect(peer.connection_id))
        logger.info("connection %s of %s ended (%s)", peer.connection_id, peer.user_id, reason)
        await peer.finish()
