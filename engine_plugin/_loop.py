"""The SDK's event-loop thread: one asyncio loop per ``CallAgent``, on a thread of its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ._operation import Operation
from ._threads import mark_sdk_thread

logger = logging.getLogger(__name__)

T = TypeVar("T")


class SdkLoop:
    """An asyncio loop running on a daemon thread named ``name``.

    ``submit(coro)`` schedules a coroutine from any thread and returns an
    :class:`Operation`; ``call_soon(fn, *args)`` runs a plain function on the
    loop. ``close()`` cancels every task still running, shuts the default
    executor down and joins the thread, so nothing outlives it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        mark_sdk_thread("event loop")
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            try:
                self._cancel_all()
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.run_until_complete(self.loop.shutdown_default_executor())
            finally:
                self.loop.close()

    def _cancel_all(self) -> None:
        tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    @property
    def thread(self) -> threading.Thread:
        """The loop's thread."""
        return self._thread

    def in_loop_thread(self) -> bool:
        """True when the caller runs on this loop's thread."""
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T], name: str = "operation") -> Operation[T]:
        """Run ``coro`` on the loop; returns an :class:`Operation` for its result."""
        if self._closed:
            coro.close()
            return Operation.failed(RuntimeError(f"{name}: the SDK loop is closed"), name)
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return Operation(future, name)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(*args)`` on the loop thread (safe from any thread)."""
        if not self._closed:
            self.loop.call_soon_threadsafe(fn, *args)

    def stop_soon(self) -> None:
        """From the loop itself: stop once the current task yields; the thread then ends."""
        self._closed = True
        self.loop.call_soon(self.loop.stop)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop after cancelling its tasks, and join its thread."""
        if self._closed:
            return
        self._closed = True
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("SDK loop thread %s did not stop within %.1f s", self.name, timeout)
