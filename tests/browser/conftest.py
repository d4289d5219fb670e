"""Headless Debian Chromium, driven by Playwright, for the browser tests.

Chromium joins loopback-only calls: ``--allow-loopback-in-peer-connection``
lets WebRTC use 127.0.0.1, and pages load from ``http://localhost:PORT`` (a
secure context). Never a downloaded browser: ``/usr/bin/chromium`` from
Debian's package (``.ci/run`` installs it). Tests skip where it is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium browser; skipped without Chromium or Playwright.

    Function-scoped on purpose: Playwright's sync API keeps an asyncio loop
    running on this thread while it is open, which would break every
    asyncio test that runs after it.
    """
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own browser context."""
    context = chromium.new_context()
    page = context.new_page()
    yield page
    context.close()
