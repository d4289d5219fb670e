"""Shared fixtures: a real calling service on loopback and real agents talking to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from engine_plugin import (
    CallAgent,
    CallAgentOptions,
    CallClient,
    CommunicationIdentityClient,
    CommunicationTokenCredential,
    LocalCallingService,
)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


@pytest.fixture(scope="session")
def service() -> Iterator[LocalCallingService]:
    with LocalCallingService() as svc:
        yield svc


@pytest.fixture(scope="session")
def identity(service: LocalCallingService) -> CommunicationIdentityClient:
    return CommunicationIdentityClient.from_connection_string(service.connection_string)


@pytest.fixture
def make_agent(identity: CommunicationIdentityClient) -> Iterator[Callable[[str], CallAgent]]:
    """``make_agent("Alice")``: a connected CallAgent for a new user; disposed after the test."""
    agents: list[CallAgent] = []
    client = CallClient()

    def make(name: str) -> CallAgent:
        _user, token = identity.create_user_and_token(["voip"])
        agent = client.create_call_agent(
            CommunicationTokenCredential(token.token), CallAgentOptions(display_name=name)
        ).result(10)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.dispose()


@pytest.fixture
def no_thread_leak() -> Iterator[None]:
    """Fail if SDK threads made during the test are still alive after it."""
    before = set(threading.enumerate())
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
