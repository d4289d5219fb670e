"""Operations that wait on the network: awaitable from asyncio, ``.result(timeout)`` elsewhere."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Generator
from typing import Any, Generic, TypeVar

from ._threads import sdk_thread_kind

T = TypeVar("T")


class SdkThreadWaitError(RuntimeError):
    """Raised when ``Operation.result()`` is called on one of the SDK's own threads.

    Event handlers run on the SDK's threads; blocking one of them on an
    operation that needs that very thread would deadlock. Await the operation
    from asyncio code, add a done-callback, or wait from an application thread.
    """


class Operation(Generic[T]):
    """The pending result of an SDK operation.

    ``await op`` from any asyncio loop, or ``op.result(timeout)`` from plain
    synchronous code (a game loop). ``op.done()`` polls without waiting, and
    ``op.add_done_callback(fn)`` calls ``fn(op)`` when it completes.
    """

    __slots__ = ("_future", "_name")

    def __init__(self, future: concurrent.futures.Future[T], name: str = "operation") -> None:
        self._future = future
        self._name = name

    @classmethod
    def completed(cls, value: T, name: str = "operation") -> Operation[T]:
        """An operation that has already succeeded with ``value``."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_result(value)
        return cls(future, name)

    @classmethod
    def failed(cls, error: BaseException, name: str = "operation") -> Operation[T]:
        """An operation that has already failed with ``error``."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_exception(error)
        return cls(future, name)

    def result(self, timeout: float | None = None) -> T:
        """Wait up to ``timeout`` seconds and return the result (or raise its error).

        Raises :class:`SdkThreadWaitError` when called, unfinished, on an SDK thread
        (inside an event handler), and :class:`TimeoutError` when time runs out.
        """
        if not self._future.done():
            kind = sdk_thread_kind()
            if kind is not None:
                raise SdkThreadWaitError(
                    f"{self._name}.result() was called on the SDK's {kind} thread (inside an "
                    "event handler), where waiting would deadlock; await it from asyncio code, "
                    "use add_done_callback(), or wait from an application thread"
                )
        try:
            return self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"{self._name} did not complete within {timeout} s") from None

    def done(self) -> bool:
        """True once the operation has succeeded or failed."""
        return self._future.done()

    def exception(self) -> BaseException | None:
        """The operation's error once done (``None`` if it succeeded); raises if not done."""
        if not self._future.done():
            raise RuntimeError(f"{self._name} is not done yet")
        return self._future.exception()

    def add_done_callback(self, fn: Any) -> None:
        """Call ``fn(self)`` when the operation completes (at once if it has)."""
        self._future.add_done_callback(lambda _f: fn(self))

    def __await__(self) -> Generator[Any, None, T]:
        return asyncio.wrap_future(self._future).__await__()

    def __repr__(self) -> str:
        state = "done" if self._future.done() else "pending"
        return f"<Operation {self._name} {state}>"
