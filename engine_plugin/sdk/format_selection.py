"""Which of an outgoing stream's formats to send, given the bandwidth estimate."""

from __future__ import annotations

from collections.abc import Sequence

from ..media.video_format import VideoStreamFormat

BITS_PER_PIXEL = 0.015
"""Bits per pixel per frame a format needs to look good with VP8.

720p30 needs 415 kbit/s (aiortc starts VP8 at 500), 1080p30 933 (its cap is 1500)."""

DOWN_AFTER = 3
"""Consecutive estimates (one a second) below a format's need before stepping down."""

UP_MARGIN = 1.1
"""A larger format is chosen once the estimate exceeds its need by this factor.

aiortc caps VP8 at 1.5 Mbit/s: 1080p30 must stay reachable under that cap."""


def pixel_rate(fmt: VideoStreamFormat) -> float:
    """Pixels per second of ``fmt``."""
    return fmt.width * fmt.height * fmt.frames_per_second


def required_bitrate(fmt: VideoStreamFormat) -> float:
    """The bits per second ``fmt`` needs."""
    return pixel_rate(fmt) * BITS_PER_PIXEL


def best_format(formats: Sequence[VideoStreamFormat]) -> VideoStreamFormat:
    """The richest format (the choice before any estimate exists)."""
    return max(formats, key=pixel_rate)


class FormatSelector:
    """Follows the bandwidth estimate with hysteresis (down slowly, up with margin)."""

    def __init__(self, formats: Sequence[VideoStreamFormat]) -> None:
        self.formats = sorted(formats, key=pixel_rate)
        self.current = self.formats[-1]
        self._below = 0

    def update(self, estimate_bps: float) -> VideoStreamFormat | None:
        """Feed one estimate; returns the new format when it changes, else ``None``."""
        if estimate_bps < required_bitrate(self.current):
            self._below += 1
            if self._below < DOWN_AFTER:
                return None
            fitting = [f for f in self.formats if required_bitrate(f) <= estimate_bps]
            choice = fitting[-1] if fitting else self.formats[0]
        else:
            self._below = 0
            larger = [
                f
                for f in self.formats
                if pixel_rate(f) > pixel_rate(self.current)
                and required_bitrate(f) * UP_MARGIN <= estimate_bps
            ]
            if not larger:
                return None
            choice = larger[-1]
        self._below = 0
        if choice is self.current:
            return None
        self.current = choice
        return choice
