"""One-way latency across processes on one machine, read off the frames themselves.

A sender that stamps each frame's barcode with the system's monotonic clock
in milliseconds (``clock_stamp()``) lets any receiver on the same machine
(``CLOCK_MONOTONIC`` is shared by every process) compute how old a frame is
when it arrives (``stamp_age_ms``), with no side channel.
"""

from __future__ import annotations

import time

from ..media.test_patterns import FRAME_NUMBER_MODULUS


def clock_stamp(now: float | None = None) -> int:
    """The monotonic clock in milliseconds, folded into the barcode's 24 bits."""
    seconds = time.monotonic() if now is None else now
    return int(seconds * 1000) % FRAME_NUMBER_MODULUS


def stamp_age_ms(stamp: int, now: float | None = None) -> float:
    """Milliseconds since ``stamp`` was taken (valid for ages under 4.6 hours)."""
    return float((clock_stamp(now) - stamp) % FRAME_NUMBER_MODULUS)
