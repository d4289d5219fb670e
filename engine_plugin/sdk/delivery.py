"""Per-stream delivery threads: the newest item wins, a slow handler stalls only its stream."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from .._threads import mark_sdk_thread

logger = logging.getLogger(__name__)

T = TypeVar("T")

_retired: list[threading.Thread] = []
_retired_lock = threading.Lock()


def retire_thread(thread: threading.Thread) -> None:
    """Hand over a stopping thread that the caller must not wait for; ``join_retired`` joins it."""
    with _retired_lock:
        _retired.append(thread)


def join_retired(timeout: float = 5.0) -> None:
    """Join delivery threads stopped without waiting (from the event loop), up to ``timeout``."""
    with _retired_lock:
        threads = list(_retired)
        _retired.clear()
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join(timeout)


class LatestItemWorker(Generic[T]):
    """A thread that hands the newest offered item to ``handle``.

    ``offer()`` never blocks: an item replaced before the thread took it is
    dropped and counted in ``dropped``. So a consumer slower than the producer
    sees fresh items at its own pace, with bounded memory and latency.
    """

    def __init__(self, name: str, handle: Callable[[T], None]) -> None:
        self.name = name
        self._handle = handle
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has_item = False
        self._stopping = False
        self.offered = 0
        self.delivered = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def offer(self, item: T) -> None:
        """Make ``item`` the next one delivered (replacing one not yet taken)."""
        with self._cond:
            if self._stopping:
                return
            if self._has_item:
                self.dropped += 1
            self._item = item
            self._has_item = True
            self.offered += 1
            self._cond.notify()

    def _run(self) -> None:
        mark_sdk_thread(f"delivery ({self.name})")
        while True:
            with self._cond:
                while not self._has_item and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item = self._item
                self._item = None
                self._has_item = False
            try:
                self._handle(item)  # type: ignore[arg-type]
            except Exception:
                logger.exception("delivery on %s failed", self.name)
            self.delivered += 1

    def stop(self, timeout: float = 5.0, *, wait: bool = True) -> None:
        """Stop after the item being handled (if any); pending items are discarded.

        With ``wait=False`` (used on the event loop, which must not block) the
        thread is left to finish its handler and joined later by ``join_retired``.
        """
        with self._cond:
            self._stopping = True
            self._item = None
            self._has_item = False
            self._cond.notify()
        if not wait:
            retire_thread(self._thread)
            return
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning(
                    "delivery thread %s is still in a handler after %.1f s", self.name, timeout
                )
