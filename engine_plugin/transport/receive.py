"""The receive path: pulling decoded frames out of aiortc's remote tracks.

Every remote track is drained as soon as aiortc yields a frame, whether or not
the application listens, because aiortc queues decoded frames without bound.
This is the one place that touches aiortc's receive side, so that a faster
path (aiortc's jitter buffer waits for the next frame's first packet) can
replace it later without touching anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

logger = logging.getLogger(__name__)


async def pump_video(track: MediaStreamTrack, deliver: Callable[[av.VideoFrame], None]) -> None:
    """Hand every decoded video frame of ``track`` to ``deliver`` until the track ends."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        deliver(frame)  # type: ignore[arg-type]


async def pump_audio(track: MediaStreamTrack, deliver: Callable[[av.AudioFrame], None]) -> None:
    """Hand every decoded audio frame of ``track`` to ``deliver`` until the track ends."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        deliver(frame)  # type: ignore[arg-type]
