"""The SDK's own threads: naming them and telling whether code runs on one."""

from __future__ import annotations

import threading

_local = threading.local()


def mark_sdk_thread(kind: str) -> None:
    """Mark the calling thread as one of the SDK's own threads (``kind`` is for messages)."""
    _local.sdk_kind = kind


def sdk_thread_kind() -> str | None:
    """The kind of SDK thread the caller runs on, or ``None`` for an application thread."""
    return getattr(_local, "sdk_kind", None)


def on_sdk_thread() -> bool:
    """True when the caller runs on one of the SDK's own threads (event handlers do)."""
    return sdk_thread_kind() is not None
