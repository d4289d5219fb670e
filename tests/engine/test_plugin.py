"""setup() and the component model: whole lifecycle sequences, and nothing left behind."""

from __future__ import annotations

from typing import Any

import pytest

from engine_plugin.engine import UPDATE_TASK, Component, setup
from engine_plugin.engine.plugin import TASK_SORT
from engine_plugin.testing import render_frames


class Recorder(Component):
    """Appends what happens to it to a shared log."""

    def __init__(self, name: str, log: list[str], fail_in: str = "") -> None:
        self.name = name
        self.log = log
        self.fail_in = fail_in

    def _note(self, what: str) -> None:
        self.log.append(f"{self.name}.{what}")
        if what.startswith(self.fail_in) and self.fail_in:
            raise RuntimeError(f"{self.name} fails in {what}")

    def start(self) -> None:
        self._note("start")

    def update(self, dt: float) -> None:
        assert dt >= 0
        self._note("update")

    def on_destroy(self) -> None:
        self._note("destroy")


def test_components_start_update_and_are_destroyed_in_order(offscreen_base: Any) -> None:
    base = offscreen_base
    nodes_before = base.render.getNumChildren()
    plugin = setup()  # defaults to the running ShowBase
    assert plugin.base is base and plugin.render is base.render
    task = base.taskMgr.getTasksNamed(UPDATE_TASK)
    assert len(task) == 1 and task[0].getSort() == TASK_SORT.getValue() == 40
    log: list[str] = []
    a = plugin.add(Recorder("a", log))
    b = plugin.add(Recorder("b", log))
    render_frames(base, 2)
    c = plugin.add(Recorder("c", log))
    render_frames(base)
    plugin.remove(a)
    render_frames(base)
    plugin.destroy()
    assert log == [
        "a.start", "a.update", "b.start", "b.update",  # frame 1
        "a.update", "b.update",  # frame 2
        "a.update", "b.update", "c.start", "c.update",  # frame 3: c starts where it was added
        "a.destroy",  # removed
        "b.update", "c.update",  # frame 4
        "c.destroy", "b.destroy",  # destroy(): in reverse order
    ]  # fmt: skip
    assert a.destroyed and b.destroyed and c.destroyed
    assert base.taskMgr.getTasksNamed(UPDATE_TASK) == []
    assert base.render.getNumChildren() == nodes_before
    plugin.destroy()  # twice is harmless
    with pytest.raises(RuntimeError, match="destroyed"):
        plugin.add(Recorder("d", log))


def test_a_failing_component_is_logged_and_the_others_go_on(offscreen_base: Any) -> None:
    plugin = setup(offscreen_base, task_sort=10)
    assert offscreen_base.taskMgr.getTasksNamed(UPDATE_TASK)[0].getSort() == 10
    log: list[str] = []
    plugin.add(Recorder("bad", log, fail_in="update"))
    plugin.add(Recorder("good", log, fail_in="destroy"))
    render_frames(offscreen_base, 2)
    plugin.destroy()
    assert log == [
        "bad.start", "bad.update", "good.start", "good.update",
        "bad.update", "good.update",
        "good.destroy", "bad.destroy",
    ]  # fmt: skip


def test_setup_needs_a_showbase() -> None:
    with pytest.raises(RuntimeError, match="needs a ShowBase"):
        setup()
