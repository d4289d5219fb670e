"""The plugin's one setup call, in the style of panda3d-simplepbr.

    plugin = engine_plugin.engine.setup()      # defaults: the ShowBase globals
    plugin.add(MyComponent())
    ...
    plugin.destroy()                           # removes every task and node it made

One Panda3D task (``UPDATE_TASK``) drives the components: the seed's Update
loop. Its sort defaults to 40 (after game logic at 0, before rendering at 50)
and can be set with the ``engine-plugin-task-sort`` PRC variable or the
``task_sort`` argument.
"""

from __future__ import annotations

import builtins
import logging
import weakref
from typing import Any, TypeVar

from direct.task import Task
from panda3d.core import ConfigVariableInt, NodePath

from .components import Component, ComponentList
from .texture_delivery import TextureDelivery

logger = logging.getLogger(__name__)

UPDATE_TASK = "engine_plugin-update"
"""The name of the plugin's Update task."""

TASK_SORT = ConfigVariableInt(
    "engine-plugin-task-sort", 40, "Sort of engine_plugin's Update task (render is at 50)."
)

C = TypeVar("C", bound=Component)

_live: weakref.WeakSet[EnginePlugin] = weakref.WeakSet()


def destroy_plugins_of(base: Any) -> int:
    """Destroy every live plugin set up on ``base`` (a teardown's safety net); how many."""
    plugins = [p for p in list(_live) if p.base is base and not p.destroyed]
    for plugin in plugins:
        plugin.destroy()
    return len(plugins)


class EnginePlugin:
    """The live plugin: its components, its Update task and the nodes it made.

    Everything here runs on the engine's main thread.
    """

    def __init__(self, base: Any, render: NodePath, task_sort: int) -> None:
        self.base = base
        self.render = render
        self.task_sort = task_sort
        self.components = ComponentList()
        self.frame_count = 0
        self._destroyed = False
        self._task = base.taskMgr.add(self._update, UPDATE_TASK, sort=task_sort)
        _live.add(self)
        # Streams asking for frame_kind=TEXTURE are served by the plugin itself.
        self.texture_delivery = self.add(TextureDelivery())
        logger.debug("engine plugin set up (task sort %d)", task_sort)

    def add(self, component: C) -> C:
        """Add ``component``: its ``start()`` runs at the next Update. Returns it."""
        self._check()
        component.plugin = self
        self.components.add(component)
        return component

    def remove(self, component: Component) -> None:
        """Remove ``component`` (its ``on_destroy()`` runs now)."""
        self.components.remove(component)

    def _update(self, task: Task.Task) -> int:
        dt = self.base.clock.getDt() if hasattr(self.base, "clock") else 0.0
        self.components.step(dt)
        self.frame_count += 1
        return Task.cont

    def _check(self) -> None:
        if self._destroyed:
            raise RuntimeError("this engine plugin was destroyed")

    @property
    def destroyed(self) -> bool:
        """True once :meth:`destroy` ran."""
        return self._destroyed

    def destroy(self) -> None:
        """Destroy every component (in reverse order) and remove the Update task."""
        if self._destroyed:
            return
        self._destroyed = True
        self.components.clear()
        self.base.taskMgr.remove(self._task)
        logger.debug("engine plugin destroyed")


def setup(
    base: Any = None,
    *,
    render: NodePath | None = None,
    task_sort: int | None = None,
) -> EnginePlugin:
    """Set the plugin up on ``base`` (default: the running ShowBase) and return it."""
    if base is None:
        base = getattr(builtins, "base", None)
        if base is None:
            raise RuntimeError("engine_plugin.engine.setup() needs a ShowBase: create one first")
    if render is None:
        render = base.render
    return EnginePlugin(base, render, TASK_SORT.getValue() if task_sort is None else task_sort)
