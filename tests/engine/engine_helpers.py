"""Helpers shared by the scene-camera and window-share tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from engine_plugin import (
    CallAgent,
    GroupCallLocator,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingVideoOptions,
    VideoStreamPixelFormat,
)

STEP_HZ = 60


def close(actual: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    """Each channel within 60 of the expected colour."""
    return all(abs(a - e) <= 60 for a, e in zip(actual, expected, strict=True))


def run(
    base: Any,
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    receiver: Any = None,
) -> None:
    """Step Panda3D at about 60 Hz from this thread until ``predicate()``; fail on timeout.

    ``receiver`` (with ``lock`` and ``frames``) is described in the failure message.
    """
    deadline = time.monotonic() + timeout
    period = 1 / STEP_HZ
    next_step = time.monotonic()
    while not predicate():
        if time.monotonic() > deadline:
            seen = ""
            if receiver is not None:
                with receiver.lock:
                    last = receiver.frames[-1] if receiver.frames else None
                    count = len(receiver.frames)
                seen = f"; {count} frames received, the last: {last}"
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{seen}")
        base.taskMgr.step()
        next_step = max(next_step + period, time.monotonic() - period)
        time.sleep(max(0.0, next_step - time.monotonic()))


def join_pair(
    make_agent: Callable[[str], CallAgent], stream: Any, receiver: Any, sender_name: str
) -> tuple[CallAgent, Any]:
    """A viewer (receiving RGBA, watched by ``receiver``) and a sender of ``stream`` in one call."""
    group = GroupCallLocator(str(uuid.uuid4()))
    viewer = make_agent("Viewer")
    rgba_in = IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)
    viewer_call = viewer.join(group, JoinCallOptions(incoming_video_options=rgba_in)).result(10)
    receiver.watch(viewer_call)
    sender = make_agent(sender_name)
    sender_call = sender.join(
        group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[stream]))
    ).result(10)
    return sender, sender_call
