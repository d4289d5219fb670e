"""``SceneCamera``: an in-scene camera whose view is sent as a ``VirtualOutgoingVideoStream``.

    stream = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[
        VideoStreamFormat(resolution=VideoStreamResolution.P720,
                          pixel_format=VideoStreamPixelFormat.BGRX, frames_per_second=30)]))
    cam = plugin.add(SceneCamera(stream, pos=(0, -10, 2)))
    cam.camera.lookAt(0, 0, 1)            # a NodePath: move it like any other node

How a frame travels:

1. **Main thread, Update task** (sort 40, before the render at 50): when the
   stream is STARTED and a frame is due at the stream format's
   ``frames_per_second``, the offscreen buffer is switched active for this
   frame; otherwise it stays inactive and costs nothing. Panda3D renders it
   with the rest of the frame and copies it to the texture's RAM image
   (``RTM_copy_ram``).
2. **Main thread, next Update**: the RAM image (BGRA, bottom row first) is
   taken by reference and put in the worker's one-frame slot (newest wins, the
   main thread never waits). When the next frame is due, the texture is first
   given a free image from a small pool to read that render back into. No
   pixel is copied on the main thread (measured at 720p30 with a call
   running: 0.07-0.1 ms median, 0.11 ms p95 per frame). Panda3D reads back
   into the texture's current RAM image in place, so without the swap the
   worker could read a half-overwritten frame; with ``clearRamImage``
   instead, Panda3D would allocate and zero a fresh image per render (+2 ms
   of render time at 720p). The swap happens just before the buffer renders
   (it renders before the main window), so :attr:`SceneCamera.texture` always
   shows the newest frame, e.g. on an in-scene monitor.
3. **Worker thread** (``engine_plugin-scene-camera-…``): flips the rows (numpy),
   builds a ``RawVideoFrameBuffer`` in the stream's current pixel format and
   calls ``stream.send_raw_video_frame``.

Steps 2 and 3 are :mod:`engine_plugin.engine.frame_sender`'s
``ReadbackHandOff`` and ``FrameSender``, shared with ``WindowShare``, as are
the format handling, frame schedule and counters
(:class:`~engine_plugin.engine.readback_source.ReadbackSource`).

Pixel formats: ``BGRX`` is Panda3D's own layout (the alpha byte is the
ignored X byte), so with a ``BGRX`` format the worker only flips the rows.
Any other format of the stream (``RGBA``, ``RGBX``, ``BGR24``, ``NV12``,
``I420``) works too: the worker converts with swscale (about 1-2 ms of the
worker's time at 720p, none of the main thread's). Give the stream's formats
``pixel_format=BGRX`` for the cheapest path.

Format changes: ``format_changed`` (SDK thread) only records the new format;
the next Update recreates the buffer at the new size and follows the new
frame rate. Frames of the previous size still in flight are accepted by the
SDK for a grace period, or counted as dropped.

Assumes Panda3D's default single-threaded render pipeline (the RAM image is
ready when ``renderFrame`` returns).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from panda3d.core import (
    Camera,
    FrameBufferProperties,
    GraphicsOutput,
    GraphicsPipe,
    Lens,
    NodePath,
    PerspectiveLens,
    Texture,
    WindowProperties,
)

from ..media.video_format import VideoStreamFormat
from ..sdk.enums import VideoStreamState
from ..sdk.outgoing_video import RawOutgoingVideoStream
from .frame_sender import ReadbackHandOff
from .readback_source import ReadbackSource

logger = logging.getLogger(__name__)

BUFFER_SORT = -20
"""Sort of the offscreen buffer: rendered before the main window."""


class SceneCamera(ReadbackSource):
    """A camera in the scene whose view is sent as ``stream``'s video.

    Args:
        stream: the ``VirtualOutgoingVideoStream`` (or a screen-share stream)
            to send through; frames follow its current ``format``. ``BGRX``
            formats cost least (see the module notes).
        parent: the node the camera hangs under (default: the plugin's render).
        pos, hpr: the camera's place relative to ``parent``.
        fov: the horizontal field of view in degrees of the default lens.
        lens: a Panda3D ``Lens`` to use instead of the default
            ``PerspectiveLens`` (its aspect ratio is left to you).
        scene: what the camera films (default: the plugin's render).
        background: the buffer's clear colour (RGBA, 0-1).

    The camera node exists from construction (:attr:`camera`) and is
    attached to ``parent`` at ``start()``; move it as you like. Counters:
    :attr:`frames_rendered`, :attr:`frames_sent`, :attr:`frames_dropped`,
    :attr:`main_thread_ms`.
    """

    _logger = logger

    def __init__(
        self,
        stream: RawOutgoingVideoStream,
        *,
        parent: NodePath | None = None,
        pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
        hpr: tuple[float, float, float] = (0.0, 0.0, 0.0),
        fov: float = 60.0,
        lens: Lens | None = None,
        scene: NodePath | None = None,
        background: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0),
    ) -> None:
        super().__init__(stream, "scene camera")
        self._parent = parent
        self._scene = scene
        self._fov = fov
        self._own_lens = lens is None
        self._lens: Lens = lens if lens is not None else PerspectiveLens()
        self._background = background
        self._camera_node = Camera(f"scene-camera-{id(self):x}", self._lens)
        self._camera = NodePath(self._camera_node)
        self._camera.setPos(*pos)
        self._camera.setHpr(*hpr)
        self._texture = Texture(f"scene-camera-{id(self):x}")
        self._buffer: GraphicsOutput | None = None
        self._size = (0, 0)
        self._buffer_active = False
        self.frames_rendered = 0
        """Frames rendered and read back for the stream."""
        self.resizes = 0
        """How many times the buffer was made (the first time included)."""

    # -- public -------------------------------------------------------------------

    @property
    def stream(self) -> RawOutgoingVideoStream:
        """The stream the camera's view is sent through."""
        return self._stream

    @property
    def camera(self) -> NodePath:
        """The camera's NodePath (a ``Camera`` node): move, rotate or reparent it freely."""
        return self._camera

    @property
    def lens(self) -> Lens:
        """The camera's lens."""
        return self._lens

    @property
    def texture(self) -> Texture:
        """The texture the view is rendered into (kept across resizes)."""
        return self._texture

    @property
    def buffer(self) -> GraphicsOutput | None:
        """The offscreen buffer (``None`` before ``start()`` and after destroy)."""
        return self._buffer

    @property
    def size(self) -> tuple[int, int]:
        """The buffer's width and height (the stream format's size)."""
        return self._size

    # -- Component ----------------------------------------------------------------

    def start(self) -> None:
        assert self.plugin is not None
        parent = self._parent if self._parent is not None else self.plugin.render
        scene = self._scene if self._scene is not None else self.plugin.render
        self._camera.reparentTo(parent)
        self._camera_node.setScene(scene)
        self._start_sending(self._texture)

    def on_destroy(self) -> None:
        super().on_destroy()
        self._remove_buffer()
        if not self._camera.isEmpty():
            self._camera.removeNode()

    # -- main thread internals ------------------------------------------------------

    def _update_readback(self, dt: float, handoff: ReadbackHandOff) -> bool:
        buffer = self._buffer
        if buffer is None:
            return False
        handed = False
        collected = handoff.collect(*self._size)
        if collected is not None:
            self.frames_rendered += 1
            handed = collected
        due = self._stream.state is VideoStreamState.STARTED and self._frame_due(dt, handoff)
        if due != self._buffer_active:
            buffer.setActive(due)
            self._buffer_active = due
        return handed or due

    def _apply_format(self, fmt: VideoStreamFormat) -> None:
        # A new size makes a new buffer (the worker sends at the read-back's size).
        super()._apply_format(fmt)
        size = (fmt.width, fmt.height)
        if size != self._size or self._buffer is None:
            self._make_buffer(*size)

    def _base(self) -> Any:
        assert self.plugin is not None
        return self.plugin.base

    def _make_buffer(self, width: int, height: int) -> None:
        """(Re)create the offscreen buffer at ``width`` x ``height``, bound to the camera."""
        began = time.perf_counter()
        self._remove_buffer()
        base = self._base()
        engine = base.graphicsEngine
        props = FrameBufferProperties()
        props.setRgbColor(True)
        props.setRgbaBits(8, 8, 8, 8)
        props.setDepthBits(24)
        window_props = WindowProperties.size(width, height)
        flags = GraphicsPipe.BF_refuse_window
        host = getattr(base, "win", None)
        name = f"scene-camera-{id(self):x}"
        if host is not None:
            buffer = engine.makeOutput(
                base.pipe, name, BUFFER_SORT, props, window_props, flags, host.getGsg(), host
            )
        else:
            buffer = engine.makeOutput(base.pipe, name, BUFFER_SORT, props, window_props, flags)
        if buffer is None:
            raise RuntimeError(f"Panda3D could not make a {width}x{height} offscreen buffer")
        buffer.addRenderTexture(
            self._texture, GraphicsOutput.RTM_copy_ram, GraphicsOutput.RTP_color
        )
        buffer.setClearColorActive(True)
        buffer.setClearColor(self._background)
        region = buffer.makeDisplayRegion()
        region.setCamera(self._camera)
        buffer.setActive(False)
        self._buffer_active = False
        if self._own_lens:
            self._lens.setAspectRatio(width / height)
            self._lens.setFov(self._fov)
        self._buffer = buffer
        self._size = (width, height)
        if self._handoff is not None:
            # The worker may still read the last image: let the first readback
            # at the new size allocate its own.
            self._handoff.reset()
        self._next_due = 0.0
        self.resizes += 1
        logger.info(
            "scene camera: %dx%d buffer (%s) in %.1f ms",
            width,
            height,
            buffer.getType().getName(),
            (time.perf_counter() - began) * 1000,
        )

    def _remove_buffer(self) -> None:
        buffer, self._buffer = self._buffer, None
        if buffer is None:
            return
        buffer.clearRenderTextures()
        self._base().graphicsEngine.removeWindow(buffer)
