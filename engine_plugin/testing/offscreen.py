"""Panda3D without a display or a sound device: for tests and headless runs."""

from __future__ import annotations

import builtins
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

OFFSCREEN_PRC = """
window-type offscreen
load-display p3headlessgl
aux-display p3tinydisplay
audio-library-name null
framebuffer-multisample 0
sync-video false
"""
"""PRC settings for headless rendering: Mesa EGL (software), else Panda3D's own rasteriser."""


@contextlib.contextmanager
def offscreen_showbase(width: int = 640, height: int = 360, prc: str = "") -> Iterator[Any]:
    """A ShowBase rendering offscreen at ``width`` x ``height``; destroyed on exit.

    ShowBase is one per process: this refuses to nest, and on exit it destroys
    the ShowBase and removes the globals it set, so the next one starts clean.
    """
    from direct.showbase.ShowBase import ShowBase
    from panda3d.core import loadPrcFileData

    if getattr(builtins, "base", None) is not None:
        raise RuntimeError("a ShowBase exists already in this process")
    pages = [
        loadPrcFileData("engine_plugin offscreen", OFFSCREEN_PRC + f"win-size {width} {height}\n")
    ]
    if prc:
        # A later page wins over an earlier one: the caller's settings override the defaults.
        pages.append(loadPrcFileData("engine_plugin offscreen (caller)", prc))
    base = ShowBase()
    logger.info(
        "offscreen ShowBase: %s (%s)",
        base.pipe.getType().getName(),
        base.win.getGsg().getDriverRenderer(),
    )
    try:
        yield base
    finally:
        # A test that failed half-way may not have destroyed its plugin: do it here,
        # so that its task and its SDK registrations do not outlive this ShowBase.
        from ..engine.plugin import destroy_plugins_of

        if destroy_plugins_of(base):
            logger.warning("an engine plugin was left set up; destroyed it with its ShowBase")
        base.destroy()
        from panda3d.core import unloadPrcFile

        for page in pages:
            unloadPrcFile(page)


def render_frames(base: Any, count: int = 1) -> None:
    """Run ``count`` frames of the task loop (tasks, then rendering)."""
    for _ in range(count):
        base.taskMgr.step()


def screenshot_rgb(base: Any) -> np.ndarray:
    """The main window's last rendered frame as an H x W x 3 RGB array, top row first."""
    texture = base.win.getScreenshot()
    if texture is None:
        raise RuntimeError("the window has no rendered frame yet")
    data = np.frombuffer(texture.getRamImageAs("RGB"), dtype=np.uint8)
    image = data.reshape(texture.getYSize(), texture.getXSize(), 3)
    return image[::-1]


def run_until(
    base: Any, predicate: Callable[[], object], timeout: float = 15.0, what: str = ""
) -> None:
    """Run frames until ``predicate()`` is true; ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or predicate}")
        base.taskMgr.step()
        time.sleep(0.002)
