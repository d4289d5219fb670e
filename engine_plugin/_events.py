"""Events in the style of C# delegates: ``obj.some_event += handler`` and ``-= handler``.

A handler receives one argument, the event-args object. Handlers run on the
thread that fires the event (for this SDK: one of the SDK's own threads, see
``docs/threads.md``). A handler that raises is logged and does not stop the
other handlers nor the SDK.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

logger = logging.getLogger(__name__)

ArgsT = TypeVar("ArgsT")
Handler = Callable[[ArgsT], Any]


class Event(Generic[ArgsT]):
    """A list of handlers that is fired with one event-args object.

    Used as a descriptor on SDK classes, so that ``stream.state_changed += h``
    adds a handler to that stream's own event.
    """

    __slots__ = ("_handlers", "_lock", "name")

    def __init__(self, name: str = "event") -> None:
        self.name = name
        self._handlers: tuple[Handler[ArgsT], ...] = ()
        self._lock = threading.Lock()

    def __iadd__(self, handler: Handler[ArgsT]) -> Event[ArgsT]:
        if not callable(handler):
            raise TypeError(
                f"{self.name}: a handler must be callable, got {type(handler).__name__}"
            )
        with self._lock:
            self._handlers = (*self._handlers, handler)
        return self

    def __isub__(self, handler: Handler[ArgsT]) -> Event[ArgsT]:
        with self._lock:
            handlers = list(self._handlers)
            # Remove the last registration of this handler, as C# does.
            for i in range(len(handlers) - 1, -1, -1):
                if handlers[i] == handler:
                    del handlers[i]
                    break
            self._handlers = tuple(handlers)
        return self

    def __len__(self) -> int:
        return len(self._handlers)

    def __bool__(self) -> bool:
        return True

    def fire(self, args: ArgsT) -> None:
        """Call every handler with ``args``; a handler's exception is logged, not raised."""
        for handler in self._handlers:
            try:
                handler(args)
            except Exception:
                logger.exception("handler %r of %s raised", handler, self.name)


class EventSlot(Generic[ArgsT]):
    """Descriptor giving each instance its own :class:`Event`.

    ``stream.state_changed += handler`` reads the instance's event, adds to it
    and assigns it back; assignment of anything but that same event is refused.
    """

    def __init__(self) -> None:
        self._attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._public = name
        self._attr = f"_event_{name}"

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> EventSlot[ArgsT]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> Event[ArgsT]: ...
    def __get__(self, obj: object | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self._attr]
        except KeyError:
            event: Event[ArgsT] = Event(f"{type(obj).__name__}.{self._public}")
            return obj.__dict__.setdefault(self._attr, event)

    def __set__(self, obj: object, value: Event[ArgsT]) -> None:
        if value is not self.__get__(obj):
            raise AttributeError(
                f"{self._public} is an event: add handlers with += and remove them with -="
            )
