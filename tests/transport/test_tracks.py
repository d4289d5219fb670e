"""The bridges between raw streams and aiortc: newest-wins video, paced audio."""

from __future__ import annotations

import asyncio
import fractions
import itertools
import time

import av
import numpy as np

from engine_plugin.transport.tracks import (
    AUDIO_CHANNELS,
    AUDIO_SAMPLES,
    AudioSource,
    SlotAudioTrack,
    SlotVideoTrack,
    VideoSource,
)


def _frame(n: int) -> av.VideoFrame:
    rgba = np.full((36, 64, 4), n, dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(rgba, format="rgba")
    frame.pts = n
    frame.time_base = fractions.Fraction(1, 90000)
    return frame


async def test_video_newest_frame_wins_and_drops_are_counted() -> None:
    loop = asyncio.get_running_loop()
    source = VideoSource(loop)
    first, second = SlotVideoTrack(), SlotVideoTrack()
    first.set_source(source)
    second.set_source(source)
    for n in range(5):
        source.push(_frame(n))
    got = await asyncio.wait_for(first.recv(), 2)
    # Both tracks get the newest frame, converted once for the encoders.
    assert got.format.name == "yuv420p" and got.pts == 4
    assert (await asyncio.wait_for(second.recv(), 2)) is got
    assert (source.frames_pushed, source.frames_dropped) == (5, 4)
    # Nothing new: recv waits; a new frame wakes it.
    pending = asyncio.ensure_future(first.recv())
    await asyncio.sleep(0.05)
    assert not pending.done()
    source.push(_frame(9))
    assert (await asyncio.wait_for(pending, 2)).pts == 9
    # Switching the source off: recv waits until a source returns.
    first.set_source(None)
    pending = asyncio.ensure_future(first.recv())
    source.push(_frame(10))
    await asyncio.sleep(0.05)
    assert not pending.done()
    first.set_source(source)
    assert (await asyncio.wait_for(pending, 2)).pts == 10
    first.stop()
    second.stop()


async def test_audio_burst_is_spread_out_and_timestamps_stay_continuous() -> None:
    loop = asyncio.get_running_loop()
    source = AudioSource(loop)
    track = SlotAudioTrack()
    track.set_source(source)
    chunk = np.zeros(AUDIO_SAMPLES * AUDIO_CHANNELS, dtype=np.int16)
    # 400 ms arrive at once (a burst from the application) ...
    for _ in range(20):
        source.push(chunk)
    await asyncio.sleep(0)
    start = time.monotonic()
    stamps = []
    pts = []
    for _ in range(20):
        frame = await asyncio.wait_for(track.recv(), 2)
        stamps.append(time.monotonic() - start)
        pts.append(frame.pts)
    # ... and leave 10 ms apart (twice real time, so the backlog drains), with
    # continuous timestamps.
    assert pts == [i * AUDIO_SAMPLES for i in range(20)]
    assert abs(stamps[-1] - 19 * 0.010) < 0.030
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) > 0.008
    # A chunk that arrives on its own, in real time, leaves at once.
    await asyncio.sleep(0.05)
    source.push(chunk)
    sent_at = time.monotonic()
    frame = await asyncio.wait_for(track.recv(), 2)
    assert time.monotonic() - sent_at < 0.005 and frame.pts == 20 * AUDIO_SAMPLES
    track.stop()


async def test_audio_backlog_is_bounded() -> None:
    loop = asyncio.get_running_loop()
    source = AudioSource(loop)
    track = SlotAudioTrack()
    track.set_source(source)
    chunk = np.zeros(AUDIO_SAMPLES * AUDIO_CHANNELS, dtype=np.int16)
    for _ in range(100):
        source.push(chunk)
    await asyncio.sleep(0.01)
    assert track.chunks_dropped == 75  # 500 ms kept, the oldest dropped
    track.stop()
