"""Incoming raw video: ``RawIncomingVideoStream``.

Threads: ``state_changed`` fires on the SDK's event-loop thread;
``raw_video_frame_received`` fires on the stream's own delivery thread, so a
slow handler delays only its own stream and never the network. Delivery keeps
the newest frame: a handler slower than the sender sees fewer, fresher frames
(``frames_dropped`` counts the others), never a growing backlog.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import av

from .._events import EventSlot
from ..media.frames import TICKS_PER_SECOND, RawVideoFrameBuffer
from ..media.video_conversion import from_av_frame
from ..media.video_format import VideoStreamFormat, VideoStreamPixelFormat
from .delivery import LatestItemWorker
from .enums import (
    MediaStreamType,
    RawVideoFrameKind,
    StreamDirection,
    VideoStreamKind,
    VideoStreamState,
)
from .errors import InvalidStateError
from .event_args import RawVideoFrameReceivedEventArgs, VideoStreamStateChangedEventArgs

logger = logging.getLogger(__name__)


class FrameSink(Protocol):
    """Where a ``frame_kind=TEXTURE`` stream's frames go instead of its event (the engine)."""

    def put(self, frame: RawVideoFrameBuffer) -> None:
        """Take one converted frame (SDK delivery thread)."""

    def close(self) -> None:
        """The stream stopped: no more frames."""


_texture_sinks: Callable[[RawIncomingVideoStream], FrameSink] | None = None


def register_texture_delivery(
    make_sink: Callable[[RawIncomingVideoStream], FrameSink] | None,
) -> None:
    """Install (or, with ``None``, remove) what turns frames into textures.

    The engine layer calls this (``engine_plugin.engine.setup()``): the SDK does
    not know any engine. Streams of calls joined with
    ``IncomingVideoOptions(frame_kind=TEXTURE)`` hand their frames (in BGRX) to
    a sink made by ``make_sink(stream)`` when they start; the engine uploads them
    and fires ``raw_video_frame_received`` on its main thread with textures.
    """
    global _texture_sinks
    _texture_sinks = make_sink


class RawIncomingVideoStream:
    """One remote participant's video (camera-like or screen share), as raw frames.

    Life: AVAILABLE (subscribe to ``raw_video_frame_received``, then ``start()``)
    -> STARTED (frames flow) -> STOPPED -> NOT_AVAILABLE (finished).

    Events:
        state_changed: ``args.stream`` (this stream), on the event-loop thread.
        raw_video_frame_received: ``args.frame`` (a ``RawVideoFrameBuffer`` in
            ``pixel_format``, buffers as 2-D numpy arrays of ``stride`` bytes per
            row) and ``args.stream``, on this stream's delivery thread.
    """

    state_changed = EventSlot[VideoStreamStateChangedEventArgs]()
    raw_video_frame_received = EventSlot[RawVideoFrameReceivedEventArgs]()

    _ids = 1000
    _ids_lock = threading.Lock()

    def __init__(
        self,
        participant: object,
        slot: str,
        media_stream_type: MediaStreamType,
        pixel_format: VideoStreamPixelFormat,
        width: int = 0,
        height: int = 0,
        frame_kind: RawVideoFrameKind = RawVideoFrameKind.BUFFER,
    ) -> None:
        with RawIncomingVideoStream._ids_lock:
            RawIncomingVideoStream._ids += 1
            self.id = RawIncomingVideoStream._ids
        self.participant = participant
        self.slot = slot
        self._media_stream_type = media_stream_type
        self.frame_kind = frame_kind
        # Textures are filled from Panda3D's own layout: no per-pixel work on the main thread.
        self.pixel_format = (
            VideoStreamPixelFormat.BGRX if frame_kind is RawVideoFrameKind.TEXTURE else pixel_format
        )
        self._sink: FrameSink | None = None
        self._state = VideoStreamState.AVAILABLE
        self._lock = threading.Lock()
        self._worker: LatestItemWorker[av.VideoFrame] | None = None
        self._format: VideoStreamFormat | None = (
            VideoStreamFormat(width=width, height=height, pixel_format=pixel_format)
            if width > 0 and height > 0
            else None
        )
        self._first_pts: int | None = None
        self._first_ticks = 0
        self.frames_received = 0
        self._dropped_before = 0

    @property
    def kind(self) -> VideoStreamKind:
        """Always ``RAW_INCOMING``."""
        return VideoStreamKind.RAW_INCOMING

    @property
    def direction(self) -> StreamDirection:
        """Always ``INCOMING``."""
        return StreamDirection.INCOMING

    @property
    def media_stream_type(self) -> MediaStreamType:
        """``VIDEO`` for a camera-like stream, ``SCREEN_SHARING`` for a screen share."""
        return self._media_stream_type

    @property
    def state(self) -> VideoStreamState:
        """The stream's state."""
        return self._state

    @property
    def format(self) -> VideoStreamFormat | None:
        """The format of the last frame delivered; before the first, the size the sender announced.

        (``None`` when nothing is known yet.) A video wall can size itself from it.
        """
        return self._format

    @property
    def frames_dropped(self) -> int:
        """Frames skipped because the handler was still busy with an earlier one."""
        worker = self._worker
        return self._dropped_before + (worker.dropped if worker is not None else 0)

    def start(self) -> None:
        """Start delivering frames (``state`` becomes ``STARTED``). Safe from any thread."""
        with self._lock:
            if self._state is VideoStreamState.STARTED:
                return
            if (
                self._state is not VideoStreamState.AVAILABLE
                and self._state is not VideoStreamState.STOPPED
            ):
                raise InvalidStateError(
                    f"start() needs the stream AVAILABLE or STOPPED, but it is {self._state.name}"
                )
            if self.frame_kind is RawVideoFrameKind.TEXTURE:
                if _texture_sinks is None:
                    raise InvalidStateError(
                        "frame_kind=TEXTURE needs the engine plugin: call "
                        "engine_plugin.engine.setup() before starting the stream"
                    )
                self._sink = _texture_sinks(self)
            self._worker = LatestItemWorker(f"engine_plugin-video-{self.id}", self._deliver)
            self._state = VideoStreamState.STARTED
        self.state_changed.fire(VideoStreamStateChangedEventArgs(self))

    def stop(self) -> None:
        """Stop delivering frames (``state`` becomes ``STOPPED``). Safe from any thread."""
        self._stop(wait=True)

    def _stop(self, wait: bool) -> None:
        with self._lock:
            if self._state is not VideoStreamState.STARTED:
                return
            worker, self._worker = self._worker, None
            self._state = VideoStreamState.STOPPED
        if worker is not None:
            self._dropped_before += worker.dropped
            worker.stop(wait=wait)
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.close()
        self.state_changed.fire(VideoStreamStateChangedEventArgs(self))

    # -- internals -----------------------------------------------------------------

    def _offer(self, frame: av.VideoFrame) -> None:
        """A decoded frame arrived (event-loop thread)."""
        self.frames_received += 1
        worker = self._worker
        if worker is not None:
            worker.offer(frame)

    def _ticks(self, frame: av.VideoFrame) -> int:
        pts = frame.pts
        if pts is None or frame.time_base is None:
            return time.monotonic_ns() // 100
        ticks = int(pts * frame.time_base * TICKS_PER_SECOND)
        if self._first_pts is None:
            self._first_pts = ticks
            self._first_ticks = time.monotonic_ns() // 100
        return self._first_ticks + ticks - self._first_pts

    def _deliver(self, frame: av.VideoFrame) -> None:
        raw = from_av_frame(frame, self.pixel_format, self._ticks(frame))
        self._format = raw.stream_format
        sink = self._sink
        if sink is not None:
            sink.put(raw)
        else:
            self.raw_video_frame_received.fire(RawVideoFrameReceivedEventArgs(raw, self))

    def _finish(self) -> None:
        """The remote stopped sending or left: STOPPED (if started), then NOT_AVAILABLE."""
        self._stop(wait=False)
        with self._lock:
            if self._state is VideoStreamState.NOT_AVAILABLE:
                return
            self._state = VideoStreamState.NOT_AVAILABLE
        self.state_changed.fire(VideoStreamStateChangedEventArgs(self))

    def __repr__(self) -> str:
        return (
            f"<RawIncomingVideoStream {self.id} {self._media_stream_type.name} {self._state.name}>"
        )
