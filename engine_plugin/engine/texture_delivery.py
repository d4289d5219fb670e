"""``IncomingVideoOptions(frame_kind=TEXTURE)``: frames delivered as Panda3D textures.

``setup()`` adds a :class:`TextureDelivery` to the plugin, which registers
itself with the SDK. A stream of a call joined with ``frame_kind=TEXTURE``
then hands its frames (converted to BGRX on the SDK's delivery thread) to a
sink here instead of firing its event. Each Update (main thread) uploads the
newest frame of every started stream into that stream's textures and fires the
stream's ``raw_video_frame_received`` with a :class:`RawVideoFrameTexture`, on
the main thread, where Panda3D objects may be used.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from panda3d.core import Texture

from ..media.frames import RawVideoFrameBuffer
from ..media.video_format import VideoStreamFormat
from ..sdk import incoming_video
from ..sdk.event_args import RawVideoFrameReceivedEventArgs
from ..sdk.incoming_video import RawIncomingVideoStream
from .components import Component
from .frame_slot import LatestFrameSlot
from .frame_texture import FrameTexture

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawVideoFrameTexture:
    """A received frame already in a Panda3D texture (``frame_kind=TEXTURE``).

    ``texture`` holds the image bottom row first, as Panda3D does, with any
    row padding on the right: map it with ``uv_range`` (lower-left and
    upper-right texture coordinates). The texture is one of a few the stream
    takes turns with: use it for this frame, and take the next frame's own.
    """

    texture: Texture
    stream_format: VideoStreamFormat
    timestamp_in_ticks: int
    uv_range: tuple[tuple[float, float], tuple[float, float]]


class _TextureSink:
    """One started stream's hand-over: the delivery thread puts, the main thread uploads."""

    def __init__(self, stream: RawIncomingVideoStream) -> None:
        self.stream = stream
        self.slot: LatestFrameSlot[RawVideoFrameBuffer] = LatestFrameSlot()
        self.frame_texture = FrameTexture(f"stream-{stream.id}")
        self.closed = False

    def put(self, frame: RawVideoFrameBuffer) -> None:
        if not self.closed:
            self.slot.put(frame)

    def close(self) -> None:
        self.closed = True
        self.slot.clear()


class TextureDelivery(Component):
    """Uploads ``frame_kind=TEXTURE`` streams' frames and fires their events on the main thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sinks: list[_TextureSink] = []
        self.frames_delivered = 0
        # At once, not at start(): a stream may start before the next Update.
        incoming_video.register_texture_delivery(self.make_sink)

    def make_sink(self, stream: RawIncomingVideoStream) -> _TextureSink:
        """Called by the SDK when a TEXTURE stream starts (any thread)."""
        sink = _TextureSink(stream)
        with self._lock:
            self._sinks.append(sink)
        return sink

    def update(self, dt: float) -> None:
        with self._lock:
            self._sinks = [s for s in self._sinks if not s.closed]
            sinks = list(self._sinks)
        for sink in sinks:
            frame = sink.slot.take()
            if frame is None or frame.stream_format is None:
                continue
            sink.frame_texture.upload(frame)
            delivered = RawVideoFrameTexture(
                texture=sink.frame_texture.texture,
                stream_format=frame.stream_format,
                timestamp_in_ticks=frame.timestamp_in_ticks,
                uv_range=sink.frame_texture.uv_range,
            )
            self.frames_delivered += 1
            sink.stream.raw_video_frame_received.fire(
                RawVideoFrameReceivedEventArgs(delivered, sink.stream)  # type: ignore[arg-type]
            )

    def on_destroy(self) -> None:
        incoming_video.register_texture_delivery(None)
        with self._lock:
            for sink in self._sinks:
                sink.close()
            self._sinks.clear()
