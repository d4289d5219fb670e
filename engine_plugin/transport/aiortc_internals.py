"""The few aiortc internals this project reads, in one place (aiortc is pinned for them)."""

from __future__ import annotations

from typing import Any


def encoder_target_bitrate(sender: Any) -> int | None:
    """The sender's current encoder target bitrate (what the remote's REMB asked for).

    ``None`` until the sender has created its encoder (before the first frame).
    """
    encoder = getattr(sender, "_RTCRtpSender__encoder", None)
    if encoder is None:
        return None
    rate = getattr(encoder, "target_bitrate", None)
    return int(rate) if rate is not None else None
