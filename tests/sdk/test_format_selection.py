"""Format choice follows the bandwidth estimate: down after a sustained drop, up with margin."""

from __future__ import annotations

from engine_plugin import VideoStreamFormat, VideoStreamResolution
from engine_plugin.sdk.format_selection import (
    DOWN_AFTER,
    UP_MARGIN,
    FormatSelector,
    required_bitrate,
)


def _formats() -> list[VideoStreamFormat]:
    return [
        VideoStreamFormat(resolution=VideoStreamResolution.P360, frames_per_second=30),
        VideoStreamFormat(resolution=VideoStreamResolution.P1080, frames_per_second=30),
        VideoStreamFormat(resolution=VideoStreamResolution.P720, frames_per_second=30),
    ]


def test_1080p30_is_reachable_under_aiortcs_vp8_cap() -> None:
    assert required_bitrate(_formats()[1]) * UP_MARGIN < 1_500_000


def test_starts_with_the_richest_format_whatever_the_list_order() -> None:
    assert FormatSelector(_formats()).current.height == 1080


def test_steps_down_only_after_a_sustained_low_estimate_and_back_up_with_margin() -> None:
    selector = FormatSelector(_formats())
    need_720 = required_bitrate(_formats()[2])
    need_1080 = required_bitrate(_formats()[1])
    low = need_720 * 1.1  # enough for 720p, not for 1080p
    changes = [selector.update(low) for _ in range(DOWN_AFTER)]
    assert changes[:-1] == [None] * (DOWN_AFTER - 1)
    assert changes[-1] is not None and changes[-1].height == 720
    # A brief spike just above 1080p's need is not enough to go back up ...
    assert selector.update(need_1080 * 1.05) is None
    # ... an estimate with margin is.
    up = selector.update(need_1080 * 1.15)
    assert up is not None and up.height == 1080
    # Far too little for anything: the smallest format.
    changes = [selector.update(1000) for _ in range(DOWN_AFTER)]
    assert changes[-1] is not None and changes[-1].height == 360
