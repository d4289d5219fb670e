"""Shared fixtures: a real calling service on loopback and real agents talking to it.

The project's tests use the testing kit it ships (``engine_plugin.testing``,
a pytest plugin): ``service`` and ``make_agent`` are its ``calling_service``
and ``call_agent`` under the names these tests grew up with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import psutil
import pytest

from engine_plugin import CallAgent, CommunicationIdentityClient, LocalCallingService

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
    """Poll ``predicate`` until it is truthy and return that value; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


@pytest.fixture(scope="session")
def service(calling_service: LocalCallingService) -> LocalCallingService:
    return calling_service


@pytest.fixture(scope="session")
def identity(service: LocalCallingService) -> CommunicationIdentityClient:
    return CommunicationIdentityClient.from_connection_string(service.connection_string)


@pytest.fixture
def make_agent(call_agent: Callable[[str], CallAgent]) -> Callable[[str], CallAgent]:
    """``make_agent("Alice")``: a connected CallAgent for a new user; disposed after the test."""
    return call_agent


def _sockets() -> set[tuple[object, ...]]:
    return {
        (c.fd, c.type, c.laddr, c.raddr)
        for c in psutil.Process().net_connections(kind="inet")
        if c.status != psutil.CONN_TIME_WAIT
    }


@pytest.fixture
def no_thread_leak() -> Iterator[None]:
    """Fail if SDK threads or sockets made during the test are still there after it."""
    before = set(threading.enumerate())
    sockets_before = _sockets()
    yield

    def leaked() -> list[threading.Thread]:
        return [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and t.name.startswith("engine_plugin")
        ]

    deadline = time.monotonic() + 5
    while leaked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leaked(), f"threads outlived the test: {leaked()}"
    # The session's calling service keeps its own sockets: only the agents' must be gone.
    service_ports = {c[2].port for c in sockets_before if c[2] and not c[3]}  # listeners

    def open_sockets() -> set[tuple[object, ...]]:
        return {
            c
            for c in _sockets() - sockets_before
            if not (c[2] and c[2].port in service_ports)  # the service's end of a connection
        }

    while open_sockets() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not open_sockets(), f"sockets outlived the test: {open_sockets()}"
