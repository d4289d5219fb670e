"""ICE settings: which host addresses aiortc offers as candidates, and no public STUN.

aioice leaves 127.0.0.1 out of its host candidates, so on a machine whose only
interface is loopback (a test's private network namespace) aiortc would gather
nothing and never connect. This module installs, once, a wrapper around
``aioice.ice.get_host_addresses`` that consults a context variable: code that
creates peer connections inside :func:`host_addresses` gets exactly the
addresses it asked for, and everything else keeps aioice's own behaviour.

aiortc also defaults to a public STUN server when ``iceServers`` is ``None``;
:func:`rtc_configuration` always passes an explicit list (empty by default), so
no traffic leaves the machine unless the application asks for a server.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import aioice.ice
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

logger = logging.getLogger(__name__)

LOOPBACK: tuple[str, ...] = ("127.0.0.1",)
"""The default: host candidates on loopback only (one machine, tests, the local service)."""

ALL_INTERFACES: None = None
"""Use every interface's address, as aioice does by itself (a real LAN)."""

_addresses: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "engine_plugin_ice_host_addresses", default=None
)
_install_lock = threading.Lock()
_original: Any = None


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _addresses.get()
    if chosen is None:
        return list(_original(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
    return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def _install() -> None:
    global _original
    with _install_lock:
        if _original is None:
            _original = aioice.ice.get_host_addresses
            aioice.ice.get_host_addresses = _host_addresses


@contextlib.contextmanager
def host_addresses(addresses: Sequence[str] | None) -> Iterator[None]:
    """Within this block (and tasks created in it), gather host candidates on ``addresses``.

    ``None`` means every interface (aioice's own choice). Candidate gathering
    happens in ``setLocalDescription``: call it inside the block, or create the
    tasks that call it inside the block (tasks copy the context).
    """
    _install()
    token = _addresses.set(None if addresses is None else tuple(addresses))
    try:
        yield
    finally:
        _addresses.reset(token)


def rtc_configuration(ice_servers: Sequence[str] = ()) -> RTCConfiguration:
    """An ``RTCConfiguration`` with an explicit (by default empty) list of ICE servers.

    ``max-bundle``: every transceiver shares the first one's transport from the
    start. With aiortc's default (``balanced``) the second video transceiver (the
    screen slot) is given the first video transceiver's own transport, which
    BUNDLE negotiation then stops, so the screen slot never sent anything.
    """
    return RTCConfiguration(
        iceServers=[RTCIceServer(url) for url in ice_servers],
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )
