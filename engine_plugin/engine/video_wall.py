"""``VideoWall``: a quad in the scene that shows one remote video stream.

    wall = plugin.add(VideoWall(stream, parent=render, pos=(0, 8, 1), height=2, label="Bob"))

The stream's frames arrive on the SDK's delivery thread; the wall's handler
only puts them in a :class:`LatestFrameSlot`. Its ``update`` (main thread)
takes the newest and copies it into the wall's texture: at most one upload per
rendered frame, never a backlog. Until the stream is STARTED and its first
frame is in, the wall shows a placeholder colour. The quad keeps the video's
aspect ratio: its height is fixed, its width follows the frames.
"""

from __future__ import annotations

import logging

from panda3d.core import CardMaker, NodePath, TextNode

from ..media.frames import RawVideoFrameBuffer
from ..sdk.enums import VideoStreamState
from ..sdk.event_args import RawVideoFrameReceivedEventArgs, VideoStreamStateChangedEventArgs
from ..sdk.incoming_video import RawIncomingVideoStream
from .components import Component
from .frame_slot import LatestFrameSlot
from .frame_texture import FrameTexture

logger = logging.getLogger(__name__)

PLACEHOLDER_COLOUR = (0.16, 0.17, 0.2, 1.0)


class VideoWall(Component):
    """A quad showing ``stream``'s frames (the stream is started if it is AVAILABLE).

    Args:
        stream: a ``RawIncomingVideoStream`` (from a call that asked for
            ``pixel_format=BGRX``, Panda3D's own layout; RGBA works, slowly),
            or ``None`` to show the placeholder until :meth:`set_stream`.
        parent: the node the wall hangs under (default: the plugin's render).
        pos, hpr: where the wall is, relative to ``parent``.
        height: the quad's height in scene units; its width follows the video.
        label: a name shown under the wall (``None``: no label).
    """

    def __init__(
        self,
        stream: RawIncomingVideoStream | None = None,
        *,
        parent: NodePath | None = None,
        pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
        hpr: tuple[float, float, float] = (0.0, 0.0, 0.0),
        height: float = 1.0,
        label: str | None = None,
    ) -> None:
        self._stream: RawIncomingVideoStream | None = None
        self._parent = parent
        self._pos = pos
        self._hpr = hpr
        self.height = height
        self.label_text = label
        self.slot: LatestFrameSlot[RawVideoFrameBuffer] = LatestFrameSlot()
        self.frame_texture = FrameTexture(f"wall-{id(self):x}")
        self.root: NodePath | None = None
        self._card: NodePath | None = None
        self._label: NodePath | None = None
        self._showing_video = False
        self._started_stream = False
        self._pending_stream = stream
        self._want_placeholder = False

    # -- public -------------------------------------------------------------------

    @property
    def stream(self) -> RawIncomingVideoStream | None:
        """The stream shown (or waited for)."""
        return self._stream

    @property
    def showing_video(self) -> bool:
        """True while the wall shows frames (False: the placeholder)."""
        return self._showing_video

    @property
    def frames_dropped(self) -> int:
        """Frames replaced before the main thread could upload them."""
        return self.slot.dropped

    def set_pos(self, pos: tuple[float, float, float]) -> None:
        """Move the wall (relative to its parent)."""
        self._pos = pos
        if self.root is not None:
            self.root.setPos(*pos)

    def set_stream(self, stream: RawIncomingVideoStream | None) -> None:
        """Show ``stream`` from now on (main thread)."""
        if self.root is None:  # not started yet: start() picks it up
            self._pending_stream = stream
            return
        self._detach_stream()
        self._stream = stream
        self.slot.clear()
        self._show_placeholder()
        if stream is None:
            return
        stream.raw_video_frame_received += self._on_frame
        stream.state_changed += self._on_state
        if stream.state is VideoStreamState.AVAILABLE:
            stream.start()
            self._started_stream = True

    # -- Component ----------------------------------------------------------------

    def start(self) -> None:
        assert self.plugin is not None
        parent = self._parent if self._parent is not None else self.plugin.render
        self.root = parent.attachNewNode("video-wall")
        self.root.setPos(*self._pos)
        self.root.setHpr(*self._hpr)
        self.root.setTwoSided(True)
        if self.label_text is not None:
            text = TextNode("video-wall-label")
            text.setText(self.label_text)
            text.setAlign(TextNode.ACenter)
            text.setTextColor(1, 1, 1, 1)
            self._label = self.root.attachNewNode(text)
            self._label.setScale(self.height * 0.08)
        self._build_card()
        stream, self._pending_stream = self._pending_stream, None
        self.set_stream(stream)

    def update(self, dt: float) -> None:
        if self._want_placeholder:
            self._want_placeholder = False
            self._show_placeholder()
        frame = self.slot.take()
        if frame is None:
            return
        if self.frame_texture.upload(frame):
            self._build_card()
        if self._card is not None:
            self._card.setTexture(self.frame_texture.texture, 1)
            if not self._showing_video:
                self._card.clearColor()
                self._showing_video = True

    def on_destroy(self) -> None:
        self._detach_stream()
        if self.root is not None:
            self.root.removeNode()
            self.root = None
        self._card = self._label = None

    # -- internals ----------------------------------------------------------------

    def _on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        # SDK delivery thread: hand over, nothing else.
        self.slot.put(args.frame)

    def _on_state(self, args: VideoStreamStateChangedEventArgs) -> None:
        # SDK thread: the main thread notices through the slot going quiet;
        # a stopped stream's wall goes back to the placeholder at the next update.
        if args.stream.state in (VideoStreamState.STOPPED, VideoStreamState.NOT_AVAILABLE):
            self.slot.clear()
            self._want_placeholder = True

    def _detach_stream(self) -> None:
        stream = self._stream
        if stream is None:
            return
        stream.raw_video_frame_received -= self._on_frame
        stream.state_changed -= self._on_state
        if self._started_stream and stream.state is VideoStreamState.STARTED:
            stream.stop()
        self._started_stream = False
        self._stream = None

    def _show_placeholder(self) -> None:
        self._showing_video = False
        if self._card is not None:
            self._card.clearTexture()
            self._card.setColor(*PLACEHOLDER_COLOUR)

    def _build_card(self) -> None:
        if self.root is None:
            return
        half_h = self.height / 2
        half_w = half_h * self.frame_texture.aspect
        maker = CardMaker("video-wall-card")
        maker.setFrame(-half_w, half_w, -half_h, half_h)
        lower_left, upper_right = self.frame_texture.uv_range
        maker.setUvRange(lower_left, upper_right)
        card = self.root.attachNewNode(maker.generate())
        if self._card is not None:
            card.setState(self._card.getState())
            self._card.removeNode()
        else:
            card.setColor(*PLACEHOLDER_COLOUR)
        self._card = card
        if self._label is not None:
            self._label.setPos(0, -0.01, -half_h - self.height * 0.1)
