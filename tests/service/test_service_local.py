"""LocalCallingService: lifecycle, thread, sockets, sync and async use, the standalone CLI."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from engine_plugin.identity import CommunicationIdentityClient, parse_connection_string
from engine_plugin.service import LocalCallingService, add_static
from engine_plugin.service.local import THREAD_NAME

ROOT = Path(__file__).resolve().parents[2]
CONNECTION_STRING = re.compile(r"endpoint=http://127\.0\.0\.1:(\d+)/;accesskey=[A-Za-z0-9+/]+=*")


_OTHERS: set[threading.Thread] = set()


@pytest.fixture(autouse=True)
def _ignore_other_services() -> None:
    """Services started outside a test (a session fixture of the SDK tests) are not counted."""
    _OTHERS.clear()
    _OTHERS.update(t for t in threading.enumerate() if t.name == THREAD_NAME)


def service_threads() -> list[threading.Thread]:
    """This test's service threads."""
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t not in _OTHERS]


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_start_stop_idempotent_and_clean() -> None:
    service = LocalCallingService()
    with pytest.raises(RuntimeError, match="not started"):
        _ = service.endpoint
    assert len(service.access_key) == 32
    assert service.start() is service
    service.start()
    assert len(service_threads()) == 1
    port = service.port
    assert port > 0 and port_is_open(port)
    assert service.endpoint == f"http://127.0.0.1:{port}/"
    assert CONNECTION_STRING.fullmatch(service.connection_string)
    assert parse_connection_string(service.connection_string) == (
        service.endpoint,
        service.access_key,
    )
    service.stop()
    service.stop()
    assert service_threads() == []
    assert not port_is_open(port)
    assert not service.running
    # A stopped service can start again (on a new free port), with the same key.
    key = service.access_key
    with service:
        assert service.access_key == key and port_is_open(service.port)
    assert service_threads() == []


def test_given_port_and_key() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    key = bytes(range(32))
    with LocalCallingService(port=free, access_key=key) as service:
        assert service.port == free
        assert service.connection_string == (
            f"endpoint=http://127.0.0.1:{free}/;accesskey={base64.b64encode(key).decode()}"
        )
        # The same port twice: the second start fails clearly and leaves nothing behind.
        with pytest.raises(OSError):
            LocalCallingService(port=free).start()
        assert len(service_threads()) == 1
    with pytest.raises(ValueError, match="16 bytes"):
        LocalCallingService(access_key=b"short")


async def test_async_with_does_not_block_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        async with LocalCallingService() as service:
            assert len(service_threads()) == 1
            async with (
                aiohttp.ClientSession() as session,
                session.get(service.endpoint + "health") as response,
            ):
                assert response.status == 200
                assert (await response.json())["status"] == "ok"
    finally:
        task.cancel()
    assert ticks > 0
    assert service_threads() == []


def test_static_hook(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi")
    with LocalCallingService(configure_app=lambda app: add_static(app, "/static", tmp_path)) as s:
        with urllib.request.urlopen(s.endpoint + "static/hello.txt", timeout=5) as response:
            assert response.read() == b"hi"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_line(stream: object, timeout: float) -> str:
    """The next line of a pipe, or fail after ``timeout`` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)  # type: ignore[attr-defined]
    reader.start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no line within {timeout} s") from None


def test_standalone_process() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "engine_plugin.service", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(process.stdout, 20.0).strip()
        match = CONNECTION_STRING.fullmatch(line)
        assert match, line
        assert int(match.group(1)) == port
        client = CommunicationIdentityClient.from_connection_string(line)
        user, token = client.create_user_and_token(["voip"])
        assert user.raw_id.startswith("8:acs:") and token.token
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        stderr = process.stderr.read() if process.stderr else ""
        assert "received SIGTERM: stopping" in stderr
        assert not port_is_open(port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def test_standalone_dev_tokens_and_page_url() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "engine_plugin.service", "--port", str(port), "--dev-tokens"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(process.stdout, 20.0).strip()
        assert CONNECTION_STRING.fullmatch(line), line
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/dev/token",
            data=b'{"displayName": "CLI"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
            assert json.loads(response.read())["endpoint"] == f"http://127.0.0.1:{port}/"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stdout is not None and process.stdout.read() == ""  # one line only
        stderr = process.stderr.read() if process.stderr else ""
        assert f"browser page: http://localhost:{port}/" in stderr
        assert "WARNING" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def test_standalone_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "engine_plugin.service", "--help"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    for option in ("--host", "--port", "--access-key", "--dev-tokens"):
        assert option in result.stdout
    assert "development only" in result.stdout
