"""Finding known media in what a test got: a sent pattern in an image, a tone in audio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media.test_patterns import (
    pattern_frame,
    psnr,
    quadrant_colours_ok,
    read_frame_number,
    tone_level_db,
)


@dataclass(frozen=True)
class PatternMatch:
    """A pattern frame found in an image: its number, how close it is, and its orientation."""

    frame_number: int
    psnr_db: float
    colours_and_orientation_ok: bool


def find_pattern(
    image: np.ndarray, *, seed: int = 0, channel_order: str = "rgb24"
) -> PatternMatch | None:
    """Find a ``pattern_frame`` filling ``image`` (H x W x 3 or 4), or ``None``.

    The frame number is read from the pattern's barcode, and the image is
    compared with the frame of that number (PSNR, and the corner colours,
    which catch a frame upside down, mirrored or with red and blue swapped).
    """
    number = read_frame_number(image, channel_order=channel_order)
    if number is None:
        return None
    height, width = image.shape[:2]
    sent = pattern_frame(width, height, number, seed=seed)
    channels = [0, 1, 2] if channel_order.startswith("rgb") else [2, 1, 0]
    score = psnr(np.ascontiguousarray(image[..., channels]), sent[..., :3])
    return PatternMatch(number, score, quadrant_colours_ok(image, channel_order=channel_order))


def find_tone(
    pcm: np.ndarray, rate: int, channels: int, frequency_hz: float, *, threshold_db: float = -30.0
) -> bool:
    """True when ``frequency_hz`` is above ``threshold_db`` in ``pcm`` (interleaved int16)."""
    return tone_level_db(pcm, rate, channels, frequency_hz) > threshold_db
