"""Headless Debian Chromium for tests and benchmarks that put a browser in a call.

Chromium joins loopback-only calls: ``--allow-loopback-in-peer-connection``
lets WebRTC use 127.0.0.1, pages load from ``http://localhost:PORT`` (a
secure context), fake devices stand in for camera and microphone, and audio
plays without a user gesture. Never a downloaded browser: ``/usr/bin/chromium``
from Debian's package, driven by Playwright (``executable_path``).

:func:`add_harness` adds a blank page at :data:`HARNESS_PATH` to a service
(``LocalCallingService(configure_app=add_harness)``): scripts running there
import the browser SDK from ``/sdk/calling.js`` of the same origin.
"""

from __future__ import annotations

import shutil
from typing import Any, Final

from aiohttp import web

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "HARNESS_PATH",
    "add_harness",
    "chromium_available",
    "launch_chromium",
]

CHROMIUM: Final = "/usr/bin/chromium"
"""Debian's Chromium (``apt-get install chromium``)."""

CHROMIUM_ARGS: Final = (
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
"""Flags for a headless Chromium in loopback-only calls."""

HARNESS_PATH: Final = "/test/harness.html"
"""Where :func:`add_harness` serves its blank page."""

_HARNESS_HTML: Final = """<!doctype html>
<html><head><meta charset="utf-8"><title>engine_plugin test harness</title>
<link rel="icon" href="data:,"></head><body></body></html>
"""


def chromium_available() -> bool:
    """True when Debian's Chromium is installed."""
    return shutil.which(CHROMIUM) is not None


def launch_chromium(playwright: Any, *extra_args: str, fake_ui: bool = True) -> Any:
    """Launch headless Chromium with :data:`CHROMIUM_ARGS` (plus ``extra_args``).

    ``fake_ui=False`` leaves out ``--use-fake-ui-for-media-stream``, whose
    screen picker always shares a flat grey fake screen; with
    ``--auto-accept-this-tab-capture`` a page may then share its own tab.
    """
    args = [a for a in CHROMIUM_ARGS if fake_ui or a != "--use-fake-ui-for-media-stream"]
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*args, *extra_args]
    )


async def _harness(request: web.Request) -> web.Response:
    return web.Response(text=_HARNESS_HTML, content_type="text/html")


def add_harness(app: web.Application) -> None:
    """Serve a blank page at :data:`HARNESS_PATH` (a ``configure_app`` hook)."""
    app.router.add_get(HARNESS_PATH, _harness)
