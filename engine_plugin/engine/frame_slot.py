"""The pending-frame hand-over between an SDK thread and the engine's main thread."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestFrameSlot(Generic[T]):
    """Holds the newest item put by any thread until the main thread takes it.

    ``put`` never blocks and never queues: an item replaced before it was
    taken is dropped and counted. So the main thread uploads at most one
    frame per stream per rendered frame, and memory and latency stay bounded
    whatever the two rates are.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self.put_count = 0
        self.taken = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        """Offer ``item`` (any thread)."""
        with self._lock:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.put_count += 1

    def take(self) -> T | None:
        """The newest item not taken yet, or ``None`` (main thread)."""
        with self._lock:
            item, self._item = self._item, None
        if item is not None:
            self.taken += 1
        return item

    def clear(self) -> None:
        """Forget a pending item."""
        with self._lock:
            self._item = None
