"""Headless Debian Chromium, driven by Playwright, for the browser tests.

Chromium joins loopback-only calls: ``--allow-loopback-in-peer-connection``
lets WebRTC use 127.0.0.1, and pages load from ``http://localhost:PORT`` (a
secure context). Never a downloaded browser: ``/usr/bin/chromium`` from
Debian's package (``.ci/run`` installs it). Tests skip where it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from engine_plugin.testing.browser import chromium_available, launch_chromium


@contextmanager
def _chromium(*extra_args: str, fake_ui: bool = True) -> Iterator[Any]:
    """Launch Chromium for one test; skip where Chromium or Playwright is missing."""
    if not chromium_available():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright, *extra_args, fake_ui=fake_ui)
        yield browser
        browser.close()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium browser; skipped without Chromium or Playwright.

    Function-scoped on purpose: Playwright's sync API keeps an asyncio loop
    running on this thread while it is open, which would break every
    asyncio test that runs after it.
    """
    with _chromium() as browser:
        yield browser


@pytest.fixture
def tab_sharing_page() -> Iterator[Any]:
    """A page that may share its own tab: ``getDisplayMedia({preferCurrentTab: true})``.

    Chromium's fake screen picker (``--use-fake-ui-for-media-stream``) shares a
    flat grey fake screen; this browser accepts sharing the current tab
    instead (``--auto-accept-this-tab-capture``). Headless Chromium offers no
    other real source: the tab-by-title flags never answer a plain
    ``getDisplayMedia()``.
    """
    with _chromium("--auto-accept-this-tab-capture", fake_ui=False) as browser:
        # Granted media permissions also let Chromium offer its 127.0.0.1 candidates
        # (without them it hides local addresses and gathers nothing on loopback).
        context = browser.new_context(permissions=["camera", "microphone"])
        yield context.new_page()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own browser context."""
    context = chromium.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def web_service() -> Iterator[Any]:
    """A calling service that also serves the test harness and ``tests/browser/pages``."""
    from engine_plugin import LocalCallingService

    from .browser_helpers import serve_test_pages

    with LocalCallingService(configure_app=serve_test_pages) as service:
        yield service
