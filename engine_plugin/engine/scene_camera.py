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
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from panda3d.core import (
    Camera,
    FrameBufferProperties,
    GraphicsOutput,
    GraphicsPipe,
    Lens,
    NodePath,
    PerspectiveLens,
    PTA_uchar,
    Texture,
    WindowProperties,
)

from ..media.frames import InvalidVideoFrameError, RawVideoFrameBuffer
from ..media.video_conversion import VideoConverter
from ..media.video_format import VideoStreamFormat, VideoStreamPixelFormat
from ..sdk.enums import VideoStreamState
from ..sdk.errors import InvalidStateError
from ..sdk.event_args import VideoStreamFormatChangedEventArgs, VideoStreamStateChangedEventArgs
from ..sdk.outgoing_video import RawOutgoingVideoStream
from .components import Component

logger = logging.getLogger(__name__)

BUFFER_SORT = -20
"""Sort of the offscreen buffer: rendered before the main window."""

COST_SAMPLES = 120
"""How many hand-off costs ``main_thread_ms`` is the median of (4 s at 30 fps)."""

WORKER_JOIN_TIMEOUT_S = 5.0


@dataclass
class _Readback:
    """One rendered frame on its way to the worker: the texture's former RAM image."""

    image: Any
    """A Panda3D ``CPTA_uchar``: ``tex_height`` rows of ``tex_width`` pixels, bottom first."""
    tex_width: int
    tex_height: int
    components: int
    """Bytes per pixel: 4 (BGRA) or 3 (BGR)."""
    width: int
    height: int
    timestamp_in_ticks: int


class _SendWorker:
    """The thread that turns readbacks into frames and sends them; a one-frame slot feeds it.

    ``put`` (main thread) never blocks beyond a short lock: a frame still
    pending when the next arrives is replaced and counted in ``dropped``.
    Images come back to a small pool once sent, to be given to the texture
    again, so no 3.7 MB image is allocated per 720p frame.
    """

    POOL_SIZE = 3

    def __init__(self, stream: RawOutgoingVideoStream, name: str) -> None:
        self._stream = stream
        self._cond = threading.Condition()
        self._pending: _Readback | None = None
        self._stopping = False
        self._pool: list[Any] = []
        self._converter = VideoConverter()
        self._flip: npt.NDArray[np.uint8] | None = None
        self.sent = 0
        self.dropped = 0
        self.send_failures = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        """The worker thread."""
        return self._thread

    def free_image(self, size: int) -> Any:
        """A RAM image of ``size`` bytes nobody reads (from the pool when one fits)."""
        with self._cond:
            while self._pool:
                candidate = self._pool.pop()
                if len(candidate) == size:
                    return candidate
        return PTA_uchar.emptyArray(size)

    def put(self, item: _Readback) -> None:
        """Hand ``item`` over (main thread); replaces a pending one."""
        with self._cond:
            if self._pending is not None:
                self.dropped += 1
                self._recycle_locked(self._pending.image)
            self._pending = item
            self._cond.notify()

    def stop(self, timeout: float = WORKER_JOIN_TIMEOUT_S) -> None:
        """Stop the thread (a frame being sent is finished) and join it."""
        with self._cond:
            self._stopping = True
            self._pending = None
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("scene camera worker %s did not stop in time", self._thread.name)

    def _recycle_locked(self, image: Any) -> None:
        if len(self._pool) < self.POOL_SIZE:
            self._pool.append(image)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item = self._pending
                self._pending = None
            assert item is not None
            try:
                self._send(item)
            except Exception:
                self.send_failures += 1
                logger.exception("scene camera: sending a frame failed")
            finally:
                with self._cond:
                    self._recycle_locked(item.image)

    def _drop(self) -> None:
        with self._cond:  # ``put`` counts on the main thread
            self.dropped += 1

    def _send(self, item: _Readback) -> None:
        stream = self._stream
        if stream.state is not VideoStreamState.STARTED:
            self._drop()
            return
        frame = self._frame(item, stream.format.pixel_format)
        try:
            stream.send_raw_video_frame(frame)
        except (InvalidStateError, InvalidVideoFrameError) as exc:
            # The stream stopped, or its format changed past the grace period:
            # the main thread follows at its next Update.
            self._drop()
            logger.debug("scene camera: frame not sent: %s", exc)
            return
        self.sent += 1

    def _frame(self, item: _Readback, pixel_format: VideoStreamPixelFormat) -> RawVideoFrameBuffer:
        """The readback as a top-row-first frame of ``pixel_format``."""
        w, h, c = item.width, item.height, item.components
        data = np.frombuffer(memoryview(item.image), dtype=np.uint8)
        image = data.reshape(item.tex_height, item.tex_width, c)[:h, :w]
        top_first = image[::-1]  # a view: Panda3D's rows run bottom to top
        if pixel_format is VideoStreamPixelFormat.BGRX and c == 4:
            # Panda3D's own layout: only flip, into a reused buffer
            # (send_raw_video_frame copies it before returning).
            flip = self._flip
            if flip is None or flip.shape != (h, w * 4):
                flip = self._flip = np.empty((h, w * 4), dtype=np.uint8)
            np.copyto(flip.reshape(h, w, 4), top_first)
            fmt = VideoStreamFormat(width=w, height=h, pixel_format=pixel_format)
            return RawVideoFrameBuffer([flip], fmt, item.timestamp_in_ticks)
        source = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(top_first), format="bgra" if c == 4 else "bgr24"
        )
        return self._converter.from_av_frame(source, pixel_format, item.timestamp_in_ticks)


class SceneCamera(Component):
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
        self._stream = stream
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
        self._interval = 1 / 30
        self._format_lock = threading.Lock()
        self._new_format: VideoStreamFormat | None = None
        self._worker: _SendWorker | None = None
        self._sent_before = 0
        self._dropped_before = 0
        self._buffer_active = False
        self._subscribed = False
        self._awaiting = False
        self._handed_size = 0
        self._seen = self._texture.getImageModified()
        self._next_due = 0.0
        self._ticks = 0
        self._warned_layout = False
        self._costs: deque[float] = deque(maxlen=COST_SAMPLES)
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

    @property
    def frames_sent(self) -> int:
        """Frames the worker handed to ``send_raw_video_frame``."""
        return self._worker.sent if self._worker is not None else self._sent_before

    @property
    def frames_dropped(self) -> int:
        """Frames rendered but not sent: replaced while pending, or refused by the stream."""
        return self._worker.dropped if self._worker is not None else self._dropped_before

    @property
    def main_thread_ms(self) -> float:
        """Median main-thread cost of the Updates that did work (last 120), in ms.

        Those are the Updates that handed a rendered frame over or set a
        render up (both, when the game runs at the stream's frame rate).

        The render itself happens in Panda3D's render task, not here.
        """
        return statistics.median(self._costs) if self._costs else 0.0

    @property
    def main_thread_p95_ms(self) -> float:
        """The 95th percentile of the same samples, in ms."""
        if not self._costs:
            return 0.0
        ordered = sorted(self._costs)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    @property
    def worker_thread(self) -> threading.Thread | None:
        """The sending thread (``None`` before ``start()`` and after destroy)."""
        return self._worker.thread if self._worker is not None else None

    # -- Component ----------------------------------------------------------------

    def start(self) -> None:
        assert self.plugin is not None
        parent = self._parent if self._parent is not None else self.plugin.render
        scene = self._scene if self._scene is not None else self.plugin.render
        self._camera.reparentTo(parent)
        self._camera_node.setScene(scene)
        self._worker = _SendWorker(self._stream, f"engine_plugin-scene-camera-{id(self):x}")
        self._stream.format_changed += self._on_format_changed
        self._stream.state_changed += self._on_state_changed
        self._subscribed = True
        self._apply_format(self._stream.format)

    def update(self, dt: float) -> None:
        began = time.perf_counter()
        with self._format_lock:
            new_format, self._new_format = self._new_format, None
        if new_format is not None:
            self._apply_format(new_format)
        buffer = self._buffer
        worker = self._worker
        if buffer is None or worker is None:
            return
        handed = False
        if self._awaiting:
            seq = self._texture.getImageModified()
            if seq != self._seen:
                self._seen = seq
                self._awaiting = False
                self.frames_rendered += 1
                handed = self._hand_off(worker)
        now = time.monotonic()
        due = False
        if self._stream.state is VideoStreamState.STARTED:
            tolerance = min(dt, self._interval) / 2
            if now + tolerance >= self._next_due:
                due = True
                self._next_due = max(self._next_due + self._interval, now)
                self._ticks = self._stream.timestamp_in_ticks
                self._awaiting = True
                if self._handed_size:
                    self._swap_image(worker)
        if due != self._buffer_active:
            buffer.setActive(due)
            self._buffer_active = due
        if handed or due:
            self._costs.append((time.perf_counter() - began) * 1000)

    def on_destroy(self) -> None:
        if self._subscribed:
            self._stream.format_changed -= self._on_format_changed
            self._stream.state_changed -= self._on_state_changed
            self._subscribed = False
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
            self._sent_before, self._dropped_before = worker.sent, worker.dropped
        self._remove_buffer()
        if not self._camera.isEmpty():
            self._camera.removeNode()
        self._awaiting = False

    # -- SDK thread ---------------------------------------------------------------

    def _on_format_changed(self, args: VideoStreamFormatChangedEventArgs) -> None:
        # SDK loop thread: record only; the main thread resizes at its next Update.
        with self._format_lock:
            self._new_format = args.format

    def _on_state_changed(self, args: VideoStreamStateChangedEventArgs) -> None:
        # SDK loop thread: the main thread reads ``stream.state`` each Update.
        logger.debug("scene camera: stream %s", args.stream.state.name)

    # -- main thread internals ------------------------------------------------------

    def _hand_off(self, worker: _SendWorker) -> bool:
        """Give the texture's RAM image to the worker (the texture keeps showing it)."""
        texture = self._texture
        ram = texture.getRamImage()
        tex_w, tex_h = texture.getXSize(), texture.getYSize()
        components = texture.getNumComponents()
        width, height = self._size
        if (
            texture.getComponentWidth() != 1
            or components not in (3, 4)
            or tex_w < width
            or tex_h < height
            or len(ram) != tex_w * tex_h * components
        ):
            if not self._warned_layout:
                self._warned_layout = True
                logger.warning(
                    "scene camera: unexpected RAM image (%dx%d, %d components of %d bytes, "
                    "%d bytes) for a %dx%d buffer; frames are not sent",
                    tex_w,
                    tex_h,
                    components,
                    texture.getComponentWidth(),
                    len(ram),
                    width,
                    height,
                )
            return False
        worker.put(_Readback(ram, tex_w, tex_h, components, width, height, self._ticks))
        self._handed_size = len(ram)
        return True

    def _swap_image(self, worker: _SendWorker) -> None:
        """Before a render: give the texture a free RAM image to read it back into.

        The image handed to the worker may still be read there; Panda3D would
        otherwise overwrite it in place.
        """
        self._texture.setRamImage(worker.free_image(self._handed_size))
        self._handed_size = 0
        self._seen = self._texture.getImageModified()

    def _apply_format(self, fmt: VideoStreamFormat) -> None:
        fps = fmt.frames_per_second or 30
        self._interval = 1 / fps
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
        self._awaiting = False
        if self._handed_size:
            # The worker may still read the last image: let the first readback
            # at the new size allocate its own.
            self._texture.clearRamImage()
            self._handed_size = 0
        self._seen = self._texture.getImageModified()
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
