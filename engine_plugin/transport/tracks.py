"""Bridges from the SDK's raw outgoing streams to aiortc tracks.

A *source* is fed by the SDK from any thread; a *slot track* is what an aiortc
sender reads, one per peer connection and slot. A slot track can be switched
between sources (or to none) at any time without renegotiation: with no
source it simply has nothing to send.

Video sources keep only the newest frame (a game wants the newest frame, not a
backlog): a frame replaced before any track took it is counted as dropped.
Audio sources fan each 20 ms chunk out to every track. A chunk that arrives in
real time is sent at once; a burst from the application is spread out at
twice real time, and a bounded backlog per track drops its oldest chunk.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import logging
import threading
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

logger = logging.getLogger(__name__)

AUDIO_RATE = 48000
AUDIO_CHANNELS = 2
AUDIO_PTIME = 0.020
AUDIO_SAMPLES = int(AUDIO_RATE * AUDIO_PTIME)
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)
AUDIO_BACKLOG_CHUNKS = 25  # 500 ms


def _to_yuv420p(frame: av.VideoFrame) -> av.VideoFrame:
    converted = frame.reformat(format="yuv420p")
    converted.pts = frame.pts
    converted.time_base = frame.time_base
    return converted


class VideoSource:
    """The newest outgoing video frame, pushed from any thread, read on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._frame: av.VideoFrame | None = None
        self._seq = 0
        self._taken_seq = 0
        self._tracks: set[SlotVideoTrack] = set()
        self._prepared_seq = 0
        self._prepared: asyncio.Future[av.VideoFrame] | None = None
        self.frames_pushed = 0
        self.frames_dropped = 0

    def push(self, frame: av.VideoFrame) -> None:
        """Offer ``frame`` (with pts and time_base set) to every attached track."""
        with self._lock:
            if self._frame is not None and self._taken_seq != self._seq:
                self.frames_dropped += 1
            self._frame = frame
            self._seq += 1
            self.frames_pushed += 1
        try:
            self._loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # loop closed: the call is over
            pass

    def latest(self, after_seq: int) -> tuple[av.VideoFrame | None, int]:
        """The newest frame if it is newer than ``after_seq``, and its sequence number."""
        with self._lock:
            if self._seq == after_seq or self._frame is None:
                return None, after_seq
            self._taken_seq = self._seq
            return self._frame, self._seq

    async def encodable(self, frame: av.VideoFrame, seq: int) -> av.VideoFrame:
        """``frame`` in yuv420p, converted once per frame in the thread pool.

        Several peer connections send the same frame; aiortc's encoders would
        each convert it, on their own threads, through the frame's one shared
        swscale context, which is neither cheap nor thread-safe. Converting
        once here means the encoders only read.
        """
        if frame.format.name == "yuv420p":
            return frame
        if self._prepared_seq != seq or self._prepared is None:
            self._prepared_seq = seq
            self._prepared = asyncio.ensure_future(
                self._loop.run_in_executor(None, _to_yuv420p, frame)
            )
        return await asyncio.shield(self._prepared)

    def attach(self, track: SlotVideoTrack) -> None:
        self._tracks.add(track)

    def detach(self, track: SlotVideoTrack) -> None:
        self._tracks.discard(track)

    def _wake(self) -> None:
        for track in self._tracks:
            track.wake()


class SlotVideoTrack(MediaStreamTrack):
    """The video track of one slot (camera or screen) on one peer connection."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._source: VideoSource | None = None
        self._seq = 0
        self._changed = asyncio.Event()

    @property
    def source(self) -> VideoSource | None:
        """The source this track sends, or ``None``."""
        return self._source

    def set_source(self, source: VideoSource | None) -> None:
        """Send ``source`` from now on (``None``: send nothing). Loop thread only."""
        if self._source is source:
            return
        if self._source is not None:
            self._source.detach(self)
        self._source = source
        self._seq = 0
        if source is not None:
            source.attach(self)
        self._changed.set()

    def wake(self) -> None:
        self._changed.set()

    async def recv(self) -> av.VideoFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            source = self._source
            if source is not None:
                frame, seq = source.latest(self._seq)
                if frame is not None:
                    self._seq = seq
                    return await source.encodable(frame, seq)
            self._changed.clear()
            await self._changed.wait()

    def stop(self) -> None:
        if self._source is not None:
            self._source.detach(self)
            self._source = None
        super().stop()
        self._changed.set()


class AudioSource:
    """Outgoing 48 kHz stereo 20 ms PCM chunks, pushed from any thread, fanned out to tracks."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._tracks: set[SlotAudioTrack] = set()
        self.chunks_pushed = 0

    def push(self, chunk: np.ndarray) -> None:
        """Queue one chunk (``AUDIO_SAMPLES * AUDIO_CHANNELS`` interleaved int16) on every track."""
        self.chunks_pushed += 1
        try:
            self._loop.call_soon_threadsafe(self._deliver, chunk)
        except RuntimeError:
            pass

    def _deliver(self, chunk: np.ndarray) -> None:
        for track in self._tracks:
            track.enqueue(chunk)

    def attach(self, track: SlotAudioTrack) -> None:
        self._tracks.add(track)

    def detach(self, track: SlotAudioTrack) -> None:
        self._tracks.discard(track)


class SlotAudioTrack(MediaStreamTrack):
    """The audio track of one peer connection: sends queued chunks, spreading bursts."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._source: AudioSource | None = None
        self._queue: collections.deque[np.ndarray] = collections.deque(maxlen=AUDIO_BACKLOG_CHUNKS)
        self._changed = asyncio.Event()
        self._pts = 0
        self._last_sent: float | None = None
        self.chunks_dropped = 0

    def set_source(self, source: AudioSource | None) -> None:
        """Send ``source`` from now on (``None``: send nothing). Loop thread only."""
        if self._source is source:
            return
        if self._source is not None:
            self._source.detach(self)
        self._source = source
        self._queue.clear()
        if source is not None:
            source.attach(self)
        self._changed.set()

    def enqueue(self, chunk: np.ndarray) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.chunks_dropped += 1
        self._queue.append(chunk)
        self._changed.set()

    async def recv(self) -> av.AudioFrame:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._changed.clear()
            await self._changed.wait()
        chunk = self._queue.popleft()
        # A chunk that arrives in real time leaves at once; a burst leaves at no
        # more than twice real time, so the receiver's jitter buffer is not
        # flooded and a backlog drains instead of lasting.
        if self._last_sent is not None:
            wait = self._last_sent + AUDIO_PTIME / 2 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_sent = time.monotonic()
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._pts
        frame.time_base = AUDIO_TIME_BASE
        self._pts += AUDIO_SAMPLES
        return frame

    def stop(self) -> None:
        if self._source is not None:
            self._source.detach(self)
            self._source = None
        super().stop()
        self._changed.set()
