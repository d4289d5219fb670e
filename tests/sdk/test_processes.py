"""Agents in separate OS processes: a standalone service, a sender and a receiver;
and a participant whose process dies or freezes."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine_plugin import (
    CallAgentOptions,
    CallClient,
    CallState,
    CommunicationIdentityClient,
    CommunicationTokenCredential,
    GroupCallLocator,
    LocalCallingService,
    ParticipantState,
)

from ..conftest import wait_until
from .call_helpers import CallWatcher

ROOT = Path(__file__).resolve().parents[2]
AGENT = Path(__file__).with_name("process_agent.py")


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first line ``proc`` writes on stdout, within ``timeout`` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"no line on stdout within {timeout} s")
    return proc.stdout.readline().strip()


def _stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int | None:
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


@pytest.fixture
def standalone_service(tmp_path: Path) -> Iterator[str]:
    """``python -m engine_plugin.service --port 0``; yields its connection string."""
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine_plugin.service", "--port", "0", "--log-level", "WARNING"],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        line = _read_line(proc, 20)
        assert line.startswith("endpoint=http://127.0.0.1:") and ";accesskey=" in line, line
        yield line
    finally:
        status = _stop(proc)
        log.close()
    log_text = (tmp_path / "service.log").read_text()
    assert status == 0, f"the service exited with {status} on SIGTERM: {log_text}"


class Children:
    """Child processes of one test; whatever is left is killed at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[str]] = []

    def agent(self, role: str, token: str, group: str, *args: str) -> subprocess.Popen[str]:
        name = f"{role}-{len(self.procs)}"
        proc = subprocess.Popen(
            [sys.executable, str(AGENT), role, "--group", group, "--name", name, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(self.tmp_path / f"{name}.log").open("w"),
            text=True,
            cwd=ROOT,
            env={**os.environ, "ENGINE_PLUGIN_TOKEN": token},
        )
        self.procs.append(proc)
        return proc

    def report(self, proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        """Close the child's stdin, wait for it, and parse its JSON report."""
        out, _ = proc.communicate(timeout=timeout)
        report = json.loads(out.strip().splitlines()[-1])
        assert proc.returncode == 0, (report, self.log(proc))
        return report

    def log(self, proc: subprocess.Popen[str]) -> str:
        index = self.procs.index(proc)
        return next(self.tmp_path.glob(f"*-{index}.log")).read_text()[-3000:]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    kids = Children(tmp_path)
    try:
        yield kids
    finally:
        kids.close()


@pytest.mark.timeout(30)
def test_the_command_lines_explain_themselves() -> None:
    service = subprocess.run(
        [sys.executable, "-m", "engine_plugin.service", "--help"],
        capture_output=True, text=True, timeout=20, cwd=ROOT,
    )  # fmt: skip
    assert service.returncode == 0, service.stderr
    for flag in ("--host", "--port", "--access-key", "--log-level"):
        assert flag in service.stdout
    agent = subprocess.run(
        [sys.executable, str(AGENT), "--help"], capture_output=True, text=True, timeout=20
    )
    assert agent.returncode == 0, agent.stderr
    for word in ("send", "receive", "idle", "--group", "--token", "--frames"):
        assert word in agent.stdout


@pytest.mark.timeout(90)
def test_two_processes_send_and_receive_through_a_standalone_service(
    standalone_service: str, children: Children
) -> None:
    identity = CommunicationIdentityClient.from_connection_string(standalone_service)
    tokens = [identity.create_user_and_token(["voip"])[1].token for _ in range(2)]
    group = str(uuid.uuid4())
    receiver = children.agent("receive", tokens[0], group, "--frames", "60", "--seed", "4")
    sender = children.agent("send", tokens[1], group, "--seed", "4", "--resolution", "P360")

    got = children.report(receiver, timeout=60)
    sent = children.report(sender, timeout=20)  # communicate() closes its stdin: it stops

    assert "error" not in got and "error" not in sent
    assert sent["errors"] == []
    assert sent["stream_states"] == [
        "AVAILABLE", "STARTED", "STOPPING", "STOPPED", "NOT_AVAILABLE",
    ]  # fmt: skip
    for report in (got, sent):
        assert report["connected"]
        assert report["call_states"] == ["CONNECTING", "CONNECTED", "DISCONNECTING", "DISCONNECTED"]
    assert list(got["incoming_states"].values()) == [
        ["AVAILABLE", "STARTED", "STOPPED", "NOT_AVAILABLE"]
    ]
    settled = [f for f in got["frames"] if f["t"] >= 1.0]
    assert len(settled) >= 60, f"{len(settled)} frames after the first second"
    numbers = [f["number"] for f in settled]
    assert None not in numbers
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), "frame order"
    assert min(f["psnr"] for f in settled) >= 30
    assert {(f["width"], f["height"]) for f in settled} == {(640, 360)}
    assert max(numbers) < sent["sent"]


def _join_with_a_child(
    make_agent: Any, identity: CommunicationIdentityClient, children: Children
) -> tuple[Any, CallWatcher, Any, subprocess.Popen[str]]:
    """Alice (here) and a child process in one call, connected to each other."""
    alice = make_agent("Alice")
    watcher = CallWatcher(alice)
    group = str(uuid.uuid4())
    call = alice.join(GroupCallLocator(group)).result(10)
    token = identity.create_user_and_token(["voip"])[1].token
    child = children.agent("idle", token, group)
    wait_until(
        lambda: [p.state for p in call.remote_participants] == [ParticipantState.CONNECTED],
        timeout=20,
        what="the child process in the call",
    )
    return alice, watcher, call, child


@pytest.mark.timeout(60)
def test_a_killed_process_leaves_the_others_rosters_at_once(
    service, no_thread_leak, make_agent, identity, children
) -> None:  # type: ignore[no-untyped-def]
    _alice, watcher, call, child = _join_with_a_child(make_agent, identity, children)
    (name,) = [p.display_name for p in call.remote_participants]
    child.kill()
    killed_at = time.monotonic()
    wait_until(lambda: not call.remote_participants, timeout=5, what="the child removed")
    assert time.monotonic() - killed_at < 3
    assert watcher.roster(call) == [("added", (name,)), ("removed", (name,))]
    assert watcher.participant(call, name).states[-1] is ParticipantState.DISCONNECTED
    assert call.state is CallState.CONNECTED
    call.hang_up().result(10)


@pytest.mark.timeout(60)
def test_a_frozen_process_is_dropped_by_the_heartbeat(no_thread_leak, children) -> None:  # type: ignore[no-untyped-def]
    # A fresh service with a short heartbeat: the frozen socket stays open, only
    # the missing pongs tell the service that the client is gone.
    with LocalCallingService(heartbeat_s=0.5, dead_after_s=2.0) as fast:
        identity = CommunicationIdentityClient.from_connection_string(fast.connection_string)
        token = identity.create_user_and_token(["voip"])[1].token
        alice = (
            CallClient()
            .create_call_agent(CommunicationTokenCredential(token), CallAgentOptions("Alice"))
            .result(10)
        )
        try:
            _alice, watcher, call, child = _join_with_a_child(
                lambda _name: alice, identity, children
            )
            (name,) = [p.display_name for p in call.remote_participants]
            os.kill(child.pid, signal.SIGSTOP)
            frozen_at = time.monotonic()
            wait_until(lambda: not call.remote_participants, timeout=8, what="the child dropped")
            elapsed = time.monotonic() - frozen_at
            assert 1.5 <= elapsed < 4.5, f"dropped after {elapsed:.1f} s (dead_after_s=2)"
            assert watcher.roster(call)[-1] == ("removed", (name,))
            assert call.state is CallState.CONNECTED
            child.kill()
            call.hang_up().result(10)
        finally:
            alice.dispose()
