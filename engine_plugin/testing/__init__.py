"""A testing kit for games in calls: offscreen rendering, synthetic participants, detection.

The pytest fixtures (``calling_service``, ``offscreen_base``, ``call_agent``,
``synthetic_participant``) are registered automatically as a pytest plugin.
"""

from .detection import PatternMatch, find_pattern, find_tone
from .latency import clock_stamp, stamp_age_ms
from .offscreen import offscreen_showbase, render_frames, run_until, screenshot_rgb
from .participant import SyntheticParticipant
from .senders import PatternSender, ToneSender
from .streams import IncomingStreams

__all__ = [
    "IncomingStreams",
    "PatternMatch",
    "PatternSender",
    "SyntheticParticipant",
    "ToneSender",
    "clock_stamp",
    "find_pattern",
    "find_tone",
    "offscreen_showbase",
    "render_frames",
    "run_until",
    "screenshot_rgb",
    "stamp_age_ms",
]
