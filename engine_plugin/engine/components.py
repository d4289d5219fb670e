"""A MonoBehaviour-like component model, driven by the plugin's Update task.

A component's ``start()`` runs once, on the first Update after it was added;
``update(dt)`` runs every rendered frame after that, in the order components
were added; ``on_destroy()`` runs once when it is removed or the plugin is
destroyed. All three run on the engine's main thread.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .plugin import EnginePlugin

logger = logging.getLogger(__name__)


class Component:
    """Base class for per-frame engine behaviour (the seed's ``MonoBehaviour``).

    Subclasses override any of :meth:`start`, :meth:`update` and
    :meth:`on_destroy`. ``plugin`` is set when the component is added.
    """

    plugin: EnginePlugin | None = None
    _started = False
    _destroyed = False

    def start(self) -> None:
        """Called once, before the first ``update``."""

    def update(self, dt: float) -> None:
        """Called every rendered frame with the seconds since the previous one."""

    def on_destroy(self) -> None:
        """Called once, when the component is removed (release what it made here)."""

    @property
    def destroyed(self) -> bool:
        """True once ``on_destroy`` has run."""
        return self._destroyed


class ComponentList:
    """The components of one plugin, stepped in order; a failing one is logged, not fatal."""

    def __init__(self) -> None:
        self._items: list[Component] = []

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def add(self, component: Component) -> None:
        if component in self._items:
            raise ValueError(f"{component!r} was added already")
        if component._destroyed:
            raise ValueError(f"{component!r} was destroyed; make a new one")
        self._items.append(component)

    def remove(self, component: Component) -> None:
        if component in self._items:
            self._items.remove(component)
            self._destroy(component)

    def step(self, dt: float) -> None:
        for component in list(self._items):
            try:
                if not component._started:
                    component._started = True
                    component.start()
                component.update(dt)
            except Exception:
                logger.exception("component %r failed", component)

    def clear(self) -> None:
        for component in reversed(list(self._items)):
            self._items.remove(component)
            self._destroy(component)

    @staticmethod
    def _destroy(component: Component) -> None:
        if component._destroyed:
            return
        component._destroyed = True
        try:
            component.on_destroy()
        except Exception:
            logger.exception("on_destroy of %r failed", component)
        component.plugin = None
