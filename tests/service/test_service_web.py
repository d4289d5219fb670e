"""The browser files (/sdk/, /, /demo/) and the development token endpoint (/dev/token)."""

from __future__ import annotations

import http.client
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from service_helpers import WsClient

from engine_plugin.service import SERVICE_STATE, LocalCallingService
from engine_plugin.service.app import WEB_DIR
from engine_plugin.service.local import is_loopback
from engine_plugin.tokens import verify_token

JS = "text/javascript; charset=utf-8"
HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"
SECRET = b"outside the served folders"


# --- Helpers ------------------------------------------------------------------------


class Reply:
    """One HTTP reply: status, headers and body."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None, method: str = ""
) -> Reply:
    """A request with urllib; error statuses are returned, not raised."""
    request = urllib.request.Request(
        url, data=data, headers=headers or {}, method=method or ("POST" if data else "GET")
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


def raw_get(port: int, target: str) -> Reply:
    """GET ``target`` exactly as written (no client-side ``..`` or escape normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def post_json(url: str, payload: Any, content_type: str = "application/json") -> Reply:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return fetch(url, data=body, headers={"Content-Type": content_type}, method="POST")


# --- Fixtures -----------------------------------------------------------------------


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    """A web folder: sdk/ and demo/ files, plus things that must never be served."""
    root = tmp_path / "web"
    (root / "sdk" / "sub").mkdir(parents=True)
    (root / "demo").mkdir()
    (root / "sdk" / "calling.js").write_text("export const answer = 42;\n")
    (root / "sdk" / "sub" / "util.js").write_text("export const nested = true;\n")
    (root / "sdk" / ".hidden.js").write_text("hidden")
    (root / "demo" / "index.html").write_text("<!doctype html><title>test page</title>\n")
    (root / "demo" / "app.css").write_text("body { margin: 0; }\n")
    (root / "demo" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.js").write_bytes(SECRET)
    (root / "sdk" / "link.js").symlink_to(tmp_path / "secret.txt")
    (root / "sdk" / "linkdir").symlink_to(tmp_path / "elsewhere")
    return root


@pytest.fixture
def web_service(web_dir: Path) -> Iterator[LocalCallingService]:
    """A service serving ``web_dir`` instead of the package's files."""

    def use_web_dir(app: Any) -> None:
        app[SERVICE_STATE].web_dir = web_dir

    with LocalCallingService(configure_app=use_web_dir) as running:
        yield running


@pytest.fixture
def dev_service() -> Iterator[LocalCallingService]:
    """A service with ``POST /dev/token`` enabled."""
    with LocalCallingService(dev_tokens=True) as running:
        yield running


# --- Browser files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "file"),
    [
        ("sdk/calling.js", JS, "sdk/calling.js"),
        ("sdk/sub/util.js", JS, "sdk/sub/util.js"),
        ("demo/app.css", CSS, "demo/app.css"),
        ("demo/logo.svg", "image/svg+xml", "demo/logo.svg"),
        ("demo/index.html", HTML, "demo/index.html"),
        ("", HTML, "demo/index.html"),
    ],
    ids=["js", "nested-js", "css", "svg", "html", "root"],
)
def test_files_are_served_with_their_types(
    web_service: LocalCallingService, web_dir: Path, path: str, content_type: str, file: str
) -> None:
    reply = fetch(web_service.endpoint + path)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.body == (web_dir / file).read_bytes()


def test_head_and_revalidation(web_service: LocalCallingService) -> None:
    url = web_service.endpoint + "sdk/calling.js"
    head = fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Type"] == JS
    etag = fetch(url).headers["ETag"]
    assert fetch(url, headers={"If-None-Match": etag}).status == 304


@pytest.mark.parametrize(
    "path",
    [
        "sdk/missing.js",
        "demo/missing.css",
        "sdk/",
        "sdk/sub",
        "sdk/sub/",
        "demo/",
        "sdk/.hidden.js",
        "sdk/link.js",
        "sdk/linkdir/secret.js",
        "sdk",
        "demo",
        "web/sdk/calling.js",
    ],
)
def test_missing_files_directories_dot_files_and_links_are_404(
    web_service: LocalCallingService, path: str
) -> None:
    reply = fetch(web_service.endpoint + path)
    assert reply.status == 404, reply.body
    assert SECRET not in reply.body


@pytest.mark.parametrize(
    "target",
    [
        "/sdk/../secret.txt",
        "/sdk/../../secret.txt",
        "/sdk/sub/../../../secret.txt",
        "/sdk/%2e%2e/%2e%2e/secret.txt",
        "/sdk/..%2f..%2fsecret.txt",
        "/sdk/..%2F..%2Fsecret.txt",
        "/demo/..%2f..%2fsecret.txt",
        "/demo/..%2fsdk%2fcalling.js",
        "/sdk/..%5c..%5csecret.txt",
        "/sdk//etc/passwd",
        "/sdk/%2fetc%2fpasswd",
        "/sdk/linkdir/..%2f..%2fsecret.txt",
    ],
)
def test_traversal_is_refused(web_service: LocalCallingService, target: str) -> None:
    reply = raw_get(web_service.port, target)
    assert reply.status in (400, 403, 404), (reply.status, reply.body)
    assert SECRET not in reply.body and b"answer" not in reply.body


def test_the_package_files_are_served(service: LocalCallingService) -> None:
    page = fetch(service.endpoint)
    assert page.status == 200
    assert page.headers["Content-Type"] == HTML
    assert page.body == (WEB_DIR / "demo" / "index.html").read_bytes()
    scripts = sorted((WEB_DIR / "sdk").rglob("*.js"))
    for script in scripts:
        reply = fetch(service.endpoint + "sdk/" + script.relative_to(WEB_DIR / "sdk").as_posix())
        assert reply.status == 200, script
        assert reply.headers["Content-Type"] == JS
        assert reply.body == script.read_bytes()
    # The service's own source is not reachable through the browser routes.
    for target in ("/sdk/..%2f..%2fservice%2fapp.py", "/demo/../../service/app.py"):
        reply = raw_get(service.port, target)
        assert reply.status in (400, 403, 404) and b"import" not in reply.body


# --- Development tokens --------------------------------------------------------------------


def test_dev_tokens_are_disabled_by_default(service: LocalCallingService) -> None:
    assert not service.dev_tokens
    config = fetch(service.endpoint + "dev/config")
    assert config.status == 200 and config.json() == {"devTokens": False}
    reply = post_json(service.endpoint + "dev/token", {"displayName": "Ann"})
    assert reply.status == 404
    error = reply.json()["error"]
    assert error["code"] == "DevTokensDisabled"
    assert "--dev-tokens" in error["message"]
    assert "LocalCallingService(dev_tokens=True)" in error["message"]


def test_dev_token_is_a_new_voip_identity(dev_service: LocalCallingService) -> None:
    assert fetch(dev_service.endpoint + "dev/config").json() == {"devTokens": True}
    before = datetime.now(UTC)
    reply = post_json(dev_service.endpoint + "dev/token", {"displayName": "Ann"})
    assert reply.status == 201, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in reply.headers
    body = reply.json()
    assert {"userId", "token", "expiresOn", "endpoint"} <= body.keys()
    assert body["endpoint"] == dev_service.endpoint
    assert body["displayName"] == "Ann"
    expires = datetime.fromisoformat(body["expiresOn"])
    assert timedelta(minutes=59) < expires - before <= timedelta(minutes=61)
    claims = verify_token(dev_service.access_key, body["token"])
    assert claims.user_id == body["userId"]
    assert claims.scopes == ("voip",)
    assert claims.endpoint == body["endpoint"]
    # Each request is a new identity; the body may be empty (no display name).
    other = fetch(
        dev_service.endpoint + "dev/token",
        data=b"",
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    assert other.status == 201, other.body
    assert other.json()["userId"] != body["userId"] and other.json()["displayName"] == ""


async def test_dev_token_authenticates_on_the_signaling_websocket() -> None:
    async with (
        LocalCallingService(dev_tokens=True) as service,
        aiohttp.ClientSession() as session,
    ):
        async with session.post(
            service.endpoint + "dev/token", json={"displayName": "Browser"}
        ) as response:
            assert response.status == 201
            issued = await response.json()
        client = WsClient(session, await session.ws_connect(service.endpoint + "signaling"))
        welcome = await client.request({"type": "auth", "token": issued["token"]})
        assert welcome["type"] == "welcome"
        assert welcome["user_id"] == issued["userId"]
        joined = await client.request({"type": "join", "group_id": "dev-token-test"})
        assert joined["type"] == "joined"
        await client.close()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"displayName": "Ann"}'),
        ("application/x-www-form-urlencoded", b"displayName=Ann"),
        ("multipart/form-data; boundary=x", b"--x--\r\n"),
        ("", b'{"displayName": "Ann"}'),
    ],
    ids=["text", "form", "multipart", "none"],
)
def test_dev_token_needs_a_json_content_type(
    dev_service: LocalCallingService, content_type: str, body: bytes
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if not content_type:
        # urllib adds a form content type to a POST body unless one is given.
        connection = http.client.HTTPConnection("127.0.0.1", dev_service.port, timeout=5)
        try:
            connection.request("POST", "/dev/token", body=body)
            response = connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            connection.close()
    else:
        reply = fetch(dev_service.endpoint + "dev/token", data=body, headers=headers)
    assert reply.status == 415, reply.body
    error = reply.json()["error"]
    assert error["code"] == "UnsupportedMediaType"
    assert "application/json" in error["message"]
    assert fetch(dev_service.endpoint + "health").json()["users"] == 0  # nobody was made


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"displayName": 42}).encode(),
        json.dumps({"displayName": None}).encode(),
        json.dumps({"displayName": "x" * 257}).encode(),
        b"[]",
        b'"Ann"',
        b"{not json",
    ],
    ids=["number", "null", "too-long", "array", "string", "not-json"],
)
def test_dev_token_refuses_a_bad_body(dev_service: LocalCallingService, body: bytes) -> None:
    reply = post_json(dev_service.endpoint + "dev/token", body)
    assert reply.status == 400, reply.body
    assert reply.json()["error"]["code"] == "ValidationError"
    assert post_json(dev_service.endpoint + "dev/token", {"displayName": "x" * 256}).status == 201


def test_dev_token_only_by_post_and_no_cors(dev_service: LocalCallingService) -> None:
    assert fetch(dev_service.endpoint + "dev/token").status == 405
    preflight = fetch(
        dev_service.endpoint + "dev/token",
        method="OPTIONS",
        headers={
            "Origin": "http://example.invalid",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status >= 400
    assert "Access-Control-Allow-Origin" not in preflight.headers


# --- page_url and the loopback warning ------------------------------------------------------


def test_page_url() -> None:
    service = LocalCallingService()
    with pytest.raises(RuntimeError, match="not started"):
        _ = service.page_url
    with service:
        assert service.page_url == f"http://localhost:{service.port}/"
        assert fetch(service.page_url).status == 200
    with LocalCallingService("localhost") as named:
        assert named.page_url == f"http://localhost:{named.port}/"
    # Another loopback address is a secure context too, and localhost would not reach it.
    with LocalCallingService("127.0.0.2") as other:
        assert other.page_url == f"http://127.0.0.2:{other.port}/"
        assert fetch(other.page_url).status == 200


def test_is_loopback() -> None:
    for host in ("localhost", "LOCALHOST", "127.0.0.1", "127.3.2.1", "::1", "[::1]"):
        assert is_loopback(host), host
    for host in ("", "0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "example.org"):
        assert not is_loopback(host), host


def test_dev_tokens_on_a_non_loopback_host_warn(caplog: pytest.LogCaptureFixture) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails, after the warning.
    service = LocalCallingService("192.0.2.1", dev_tokens=True)
    with caplog.at_level(logging.WARNING, logger="engine_plugin.service"), pytest.raises(OSError):
        service.start()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("anyone who can reach its port" in message for message in warnings), warnings
    assert not service.running


def test_no_warning_on_loopback(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="engine_plugin.service"),
        LocalCallingService(dev_tokens=True),
    ):
        pass
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("development tokens enabled" in r.getMessage() for r in caplog.records)


def test_web_dir_is_in_the_package() -> None:
    assert WEB_DIR.name == "web" and WEB_DIR.parent.name == "engine_plugin"
    assert (WEB_DIR / "demo" / "index.html").is_file()
    assert os.path.isdir(WEB_DIR / "sdk")
