"""Outgoing raw video: ``VirtualOutgoingVideoStream`` and ``ScreenShareOutgoingVideoStream``.

Threads: ``send_raw_video_frame`` may be called from any thread (a generator
or render worker); ``state_changed`` and ``format_changed`` fire on the SDK's
event-loop thread.
"""

from __future__ import annotations

import fractions
import logging
import threading
import time
from typing import TYPE_CHECKING

from .._events import EventSlot
from .._operation import Operation
from ..media.frames import TICKS_PER_SECOND, RawVideoFrameBuffer
from ..media.video_conversion import to_av_frame
from ..media.video_format import VideoStreamFormat, validate_formats
from ..transport.base import CAMERA, SCREEN, VideoSourceInfo
from ..transport.tracks import VideoSource
from .enums import StreamDirection, VideoStreamKind, VideoStreamState
from .errors import InvalidStateError
from .event_args import VideoStreamFormatChangedEventArgs, VideoStreamStateChangedEventArgs
from .format_selection import FormatSelector
from .options import RawOutgoingVideoStreamOptions

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
FORMAT_GRACE_S = 1.0
"""After a format change, frames of the previous format are still accepted this long."""


class RawOutgoingVideoStream:
    """Video frames the application makes and the SDK sends to everyone in the call.

    Events (fired on the SDK's event-loop thread):
        state_changed: ``args.stream`` (this stream; read ``state``).
        format_changed: ``args.format`` (the format to send from now on).
    """

    state_changed = EventSlot[VideoStreamStateChangedEventArgs]()
    format_changed = EventSlot[VideoStreamFormatChangedEventArgs]()

    _kind = VideoStreamKind.VIRTUAL_OUTGOING
    _format_kind = "virtual"
    _slot = CAMERA
    _media_type = "video"

    _ids = 0
    _ids_lock = threading.Lock()

    def __init__(self, options: RawOutgoingVideoStreamOptions) -> None:
        if not isinstance(options, RawOutgoingVideoStreamOptions):
            raise TypeError(f"expected RawOutgoingVideoStreamOptions, got {type(options).__name__}")
        self._formats = validate_formats(options.formats, self._format_kind)
        self.options = options
        with RawOutgoingVideoStream._ids_lock:
            RawOutgoingVideoStream._ids += 1
            self.id = RawOutgoingVideoStream._ids
        self._lock = threading.Lock()
        self._state = VideoStreamState.NOT_AVAILABLE
        self._selector = FormatSelector(self._formats)
        self._format: VideoStreamFormat = self._selector.current
        self._previous_format: VideoStreamFormat | None = None
        self._format_changed_at = 0.0
        self._source: VideoSource | None = None
        self._call: object | None = None
        self._epoch_ns = time.monotonic_ns()
        self._last_pts = -1
        self.frames_sent = 0
        self._dropped_before = 0

    # -- public ---------------------------------------------------------------

    @property
    def kind(self) -> VideoStreamKind:
        """``VIRTUAL_OUTGOING`` or ``SCREEN_SHARE_OUTGOING``."""
        return self._kind

    @property
    def direction(self) -> StreamDirection:
        """Always ``OUTGOING``."""
        return StreamDirection.OUTGOING

    @property
    def state(self) -> VideoStreamState:
        """The stream's state; frames are accepted only in ``STARTED``."""
        return self._state

    @property
    def format(self) -> VideoStreamFormat:
        """The format frames must have now (see ``format_changed``)."""
        return self._format

    @property
    def formats(self) -> list[VideoStreamFormat]:
        """The formats the application offered."""
        return list(self._formats)

    @property
    def timestamp_in_ticks(self) -> int:
        """Now, in 100-ns ticks on the stream's clock: stamp frames with it."""
        return (time.monotonic_ns() - self._epoch_ns) // 100

    @property
    def frames_dropped(self) -> int:
        """Frames replaced by a newer one before the network took them."""
        source = self._source
        return self._dropped_before + (source.frames_dropped if source is not None else 0)

    def send_raw_video_frame(self, frame: RawVideoFrameBuffer) -> Operation[None]:
        """Send one frame; the newest frame wins if the network is behind.

        Raises ``InvalidStateError`` outside ``STARTED`` and
        ``InvalidVideoFrameError`` when the frame does not match the current
        format (size, pixel format, planes, strides). The frame's planes are
        copied before this returns, so the application may reuse them.
        """
        if not isinstance(frame, RawVideoFrameBuffer):
            raise TypeError(f"expected a RawVideoFrameBuffer, got {type(frame).__name__}")
        state = self._state
        source = self._source
        if state is not VideoStreamState.STARTED or source is None:
            raise InvalidStateError(
                f"send_raw_video_frame needs the stream in STARTED, but it is {state.name}; "
                "send after state_changed reports STARTED"
            )
        expected = self._format
        previous = self._previous_format
        fmt = frame.stream_format
        if (
            previous is not None
            and fmt is not None
            and (fmt.width, fmt.height, fmt.pixel_format)
            == (previous.width, previous.height, previous.pixel_format)
            and time.monotonic() - self._format_changed_at < FORMAT_GRACE_S
        ):
            expected = previous
        frame.validate(expected)
        av_frame = to_av_frame(frame)
        av_frame.pts = self._pts_for(frame.timestamp_in_ticks)
        av_frame.time_base = VIDEO_TIME_BASE
        source.push(av_frame)
        self.frames_sent += 1
        return Operation.completed(None, "send_raw_video_frame")

    # -- internals, called by Call on the loop thread ------------------------------

    def _pts_for(self, ticks: int) -> int:
        pts = ticks * VIDEO_CLOCK // TICKS_PER_SECOND
        with self._lock:
            if pts <= self._last_pts:
                # Missing or repeated timestamps: use the stream's clock instead.
                pts = max(
                    self._last_pts + 1, self.timestamp_in_ticks * VIDEO_CLOCK // TICKS_PER_SECOND
                )
            self._last_pts = pts
        return pts

    def _source_info(self) -> VideoSourceInfo:
        return VideoSourceInfo(
            slot=self._slot,
            type=self._media_type,
            width=self._format.width,
            height=self._format.height,
        )

    def _set_state(self, state: VideoStreamState) -> None:
        if state is self._state:
            return
        self._state = state
        self.state_changed.fire(VideoStreamStateChangedEventArgs(self))

    def _attach(self, call: object, loop: asyncio.AbstractEventLoop) -> VideoSource:
        if self._call is not None and self._call is not call:
            raise InvalidStateError("this stream is already attached to another call")
        self._call = call
        if self._source is None:
            self._source = VideoSource(loop)
        self._set_state(VideoStreamState.AVAILABLE)
        return self._source

    def _start(self) -> None:
        if self._state is VideoStreamState.AVAILABLE:
            self.format_changed.fire(VideoStreamFormatChangedEventArgs(self._format))
            self._set_state(VideoStreamState.STARTED)

    def _detach(self) -> None:
        if self._state is VideoStreamState.STARTED:
            self._set_state(VideoStreamState.STOPPING)
        if self._source is not None:
            self._dropped_before += self._source.frames_dropped
        self._source = None
        if self._state in (VideoStreamState.STOPPING, VideoStreamState.AVAILABLE):
            self._set_state(VideoStreamState.STOPPED)
        self._call = None
        self._selector = FormatSelector(self._formats)
        self._set_state(VideoStreamState.NOT_AVAILABLE)

    def _on_bandwidth(self, estimate_bps: int) -> bool:
        """Feed an estimate; True when the format changed (``format_changed`` fired)."""
        choice = self._selector.update(estimate_bps)
        if choice is None:
            return False
        logger.info(
            "stream %d: %d kbit/s -> format %dx%d@%d",
            self.id,
            estimate_bps // 1000,
            choice.width,
            choice.height,
            choice.frames_per_second,
        )
        self._previous_format = self._format
        self._format_changed_at = time.monotonic()
        self._format = choice
        self.format_changed.fire(VideoStreamFormatChangedEventArgs(choice))
        return True

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.id} {self._state.name} "
            f"{self._format.width}x{self._format.height} {self._format.pixel_format.name}>"
        )


class VirtualOutgoingVideoStream(RawOutgoingVideoStream):
    """Generated or rendered video (an in-scene camera), sent as the participant's video.

    Formats use ``resolution=`` (a ``VideoStreamResolution``); see ``RawOutgoingVideoStream``.
    """

    _kind = VideoStreamKind.VIRTUAL_OUTGOING
    _format_kind = "virtual"
    _slot = CAMERA
    _media_type = "video"


class ScreenShareOutgoingVideoStream(RawOutgoingVideoStream):
    """A screen share (the game's own window): formats use ``width=``/``height=`` up to 1080p.

    It travels as its own track and reaches others as a separate incoming
    stream whose ``media_stream_type`` is ``SCREEN_SHARING``.
    """

    _kind = VideoStreamKind.SCREEN_SHARE_OUTGOING
    _format_kind = "screen_share"
    _slot = SCREEN
    _media_type = "screen_sharing"
