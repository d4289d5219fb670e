"""Sending what Panda3D read back to RAM, without the main thread touching a pixel.

Shared by :class:`~engine_plugin.engine.scene_camera.SceneCamera` (an
offscreen buffer) and :class:`~engine_plugin.engine.window_share.WindowShare`
(the game's own window). Both have Panda3D copy a render into a texture's RAM
image; from there:

- :class:`ReadbackHandOff` (main thread) notices the new image, hands it to
  the sender **by reference**, and before the next read-back gives the
  texture a free image from the sender's small pool. Panda3D reads back into
  the texture's current RAM image in place, so without the swap the sender
  could read a half-overwritten frame; ``clearRamImage`` instead would make
  Panda3D allocate and zero a fresh image per read-back (+2 ms at 720p).
- :class:`FrameSender` (its own thread) flips the rows (Panda3D's images are
  bottom row first), converts, and optionally scales, with swscale, and calls
  ``send_raw_video_frame``. A one-frame slot feeds it: newest wins, the main
  thread never waits.
- :class:`CostSamples` keeps the main thread's cost per Update that did work.

Scaling (``FrameSender(scale_to_format=True)``): frames are sent at the size
of the stream's *current* format, whatever size was read back. swscale scales
packed RGB slowly (30 ms for 1440p to 1080p on this machine) but scales into
planar YUV 4:2:0 fast (5-8 ms), so the image is scaled into ``yuv420p`` and,
for a packed format, converted back (2-3 ms more at 1080p). The encoder works
in 4:2:0 anyway, so this costs no visible quality; ``I420`` formats skip the
second pass. With ``keep_aspect`` (the default) an image of another aspect
ratio is fitted inside the format's size, centred on black. At the
read-back's own size the image is copied once (flipped) into a reused frame
and converted in one swscale pass (``BGRX``: only flipped). Worker time per
frame, measured: 720p to 720p ``I420`` 3.1 ms, ``BGRX`` 0.6 ms; 1440p to 1080p
``I420`` 12 ms, ``BGRX`` 16 ms.

Without scaling (the scene camera) frames keep the read-back's size: the
buffer is made at the format's size.
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation, VideoReformatter
from panda3d.core import PTA_uchar, Texture

from ..media.frames import InvalidVideoFrameError, RawVideoFrameBuffer
from ..media.video_conversion import VideoConverter
from ..media.video_format import VideoStreamFormat, VideoStreamPixelFormat
from ..sdk.enums import VideoStreamState
from ..sdk.errors import InvalidStateError
from ..sdk.outgoing_video import RawOutgoingVideoStream

logger = logging.getLogger(__name__)

COST_SAMPLES = 120
"""How many Update costs ``CostSamples`` keeps (4 s at 30 fps)."""

WORKER_JOIN_TIMEOUT_S = 5.0

ASPECT_SLACK_PX = 2
"""A fitted image at most this many pixels short of the format's size is stretched to it.

Rounding a window's size to even numbers changes its aspect ratio a little:
that should not leave a one-pixel black line."""

_YUV_BLACK = (16, 128, 128)
"""Black in limited-range YUV (what swscale writes for RGB black)."""


@dataclass
class Readback:
    """One read-back on its way to the sender: the texture's former RAM image."""

    image: Any
    """A Panda3D ``CPTA_uchar``: ``tex_height`` rows of ``tex_width`` pixels, bottom first."""
    tex_width: int
    tex_height: int
    components: int
    """Bytes per pixel: 4 (BGRA) or 3 (BGR)."""
    width: int
    height: int
    timestamp_in_ticks: int


def fit_inside(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest size of ``width``:``height``'s aspect ratio inside the box (at least 1x1)."""
    scale = min(box_width / width, box_height / height)
    return (
        max(1, min(box_width, round(width * scale))),
        max(1, min(box_height, round(height * scale))),
    )


def _plane_rows(plane: Any, rows: int) -> npt.NDArray[np.uint8]:
    """A ``(rows, line_size)`` uint8 view of an ``av`` video plane's memory."""
    line = plane.line_size
    return np.frombuffer(memoryview(plane), dtype=np.uint8)[: rows * line].reshape(rows, line)


def _frame_of(
    av_frame: av.VideoFrame,
    pixel_format: VideoStreamPixelFormat,
    ticks: int,
    width: int | None = None,
) -> RawVideoFrameBuffer:
    """A frame whose planes are views of ``av_frame``'s (its own memory: no copy).

    ``width``: fewer columns than ``av_frame`` has (the rest becomes stride).
    """
    height = av_frame.height
    if width is None:
        width = av_frame.width
    heights = pixel_format.plane_heights(height)
    buffers = [_plane_rows(p, rows) for p, rows in zip(av_frame.planes, heights, strict=True)]
    strides = [p.line_size for p in av_frame.planes] + [0, 0]
    fmt = VideoStreamFormat(
        width=width,
        height=height,
        pixel_format=pixel_format,
        stride1=strides[0],
        stride2=strides[1],
        stride3=strides[2],
    )
    return RawVideoFrameBuffer(buffers, fmt, ticks)


class FrameSender:
    """The thread that turns read-backs into frames and sends them; a one-frame slot feeds it.

    ``put`` (main thread) never blocks beyond a short lock: a frame still
    pending when the next arrives is replaced and counted in ``dropped``.
    Images come back to a small pool once sent, to be given to the texture
    again, so no 3.7 MB image is allocated per 720p frame.

    Args:
        stream: where frames go; they follow its current ``format``'s pixel
            format (and size, with ``scale_to_format``).
        name: the thread's name.
        label: names the owner in log messages (``"scene camera"``).
        scale_to_format: send at the current format's width and height,
            scaling the read-back (see the module notes); otherwise frames
            have the read-back's size.
        keep_aspect: when scaling, fit the image inside the format's size
            (black bars) rather than stretch it.
    """

    POOL_SIZE = 3

    def __init__(
        self,
        stream: RawOutgoingVideoStream,
        name: str,
        *,
        label: str = "scene camera",
        scale_to_format: bool = False,
        keep_aspect: bool = True,
    ) -> None:
        self._stream = stream
        self._label = label
        self._scale = scale_to_format
        self._keep_aspect = keep_aspect
        self._cond = threading.Condition()
        self._pending: Readback | None = None
        self._stopping = False
        self._pool: list[Any] = []
        self._converter = VideoConverter()
        self._scaler = VideoReformatter()
        self._packer = VideoReformatter()
        self._flip: npt.NDArray[np.uint8] | None = None
        self._source: av.VideoFrame | None = None
        self._canvas: av.VideoFrame | None = None
        self._canvas_layout: tuple[int, int, int, int, int, int] | None = None
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

    def put(self, item: Readback) -> None:
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
                logger.warning("%s worker %s did not stop in time", self._label, self._thread.name)

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
                logger.exception("%s: sending a frame failed", self._label)
            finally:
                with self._cond:
                    self._recycle_locked(item.image)

    def _drop(self) -> None:
        with self._cond:  # ``put`` counts on the main thread
            self.dropped += 1

    def _send(self, item: Readback) -> None:
        stream = self._stream
        if stream.state is not VideoStreamState.STARTED:
            self._drop()
            return
        fmt = stream.format  # one read: the SDK replaces the object on a change
        size = (fmt.width, fmt.height) if self._scale else None
        frame = self.frame(item, fmt.pixel_format, size)
        try:
            stream.send_raw_video_frame(frame)
        except (InvalidStateError, InvalidVideoFrameError) as exc:
            # The stream stopped, or its format changed past the grace period:
            # the main thread follows at its next Update.
            self._drop()
            logger.debug("%s: frame not sent: %s", self._label, exc)
            return
        self.sent += 1

    def frame(
        self,
        item: Readback,
        pixel_format: VideoStreamPixelFormat,
        size: tuple[int, int] | None = None,
    ) -> RawVideoFrameBuffer:
        """The read-back as a top-row-first frame of ``pixel_format`` (worker thread).

        ``size``: the frame's width and height (default: the read-back's).
        """
        w, h, c = item.width, item.height, item.components
        data = np.frombuffer(memoryview(item.image), dtype=np.uint8)
        image = data.reshape(item.tex_height, item.tex_width, c)[:h, :w]
        top_first = image[::-1]  # a view: Panda3D's rows run bottom to top
        if size is not None and size != (w, h):
            return self._scaled(top_first, pixel_format, size, item.timestamp_in_ticks)
        if pixel_format is VideoStreamPixelFormat.BGRX and c == 4:
            # Panda3D's own layout: only flip, into a reused buffer
            # (send_raw_video_frame copies it before returning).
            flip = self._flip
            if flip is None or flip.shape != (h, w * 4):
                flip = self._flip = np.empty((h, w * 4), dtype=np.uint8)
            np.copyto(flip.reshape(h, w, 4), top_first)
            fmt = VideoStreamFormat(width=w, height=h, pixel_format=pixel_format)
            return RawVideoFrameBuffer([flip], fmt, item.timestamp_in_ticks)
        if self._scale:
            # One copy (with the flip) into a reused frame, one swscale pass.
            source = self._source_frame(top_first)
            out = self._packer.reformat(source, format=pixel_format.av_format, threads=1)
            return _frame_of(out, pixel_format, item.timestamp_in_ticks)
        source = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(top_first), format="bgra" if c == 4 else "bgr24"
        )
        return self._converter.from_av_frame(source, pixel_format, item.timestamp_in_ticks)

    def _source_frame(self, top_first: npt.NDArray[np.uint8]) -> av.VideoFrame:
        """The image in a reused ``av`` frame, flipped on the way (one copy).

        4-byte pixels go in as ``bgr0``: the window's alpha is not the picture's.
        """
        h, w, c = top_first.shape
        layout = "bgr0" if c == 4 else "bgr24"
        source = self._source
        if source is None or (source.width, source.height, source.format.name) != (w, h, layout):
            source = self._source = av.VideoFrame(w, h, layout)
        np.copyto(_plane_rows(source.planes[0], h)[:, : w * c].reshape(h, w, c), top_first)
        return source

    def _scaled(
        self,
        top_first: npt.NDArray[np.uint8],
        pixel_format: VideoStreamPixelFormat,
        size: tuple[int, int],
        ticks: int,
    ) -> RawVideoFrameBuffer:
        """The image scaled (and fitted, with ``keep_aspect``) to ``size`` in ``pixel_format``."""
        out_w, out_h = size
        h, w = top_first.shape[:2]
        fit_w, fit_h = out_w, out_h
        if self._keep_aspect:
            fit_w, fit_h = fit_inside(w, h, out_w, out_h)
            if out_w - fit_w <= ASPECT_SLACK_PX and out_h - fit_h <= ASPECT_SLACK_PX:
                fit_w, fit_h = out_w, out_h
            else:
                # Even sizes and offsets keep the chroma planes aligned.
                fit_w, fit_h = max(2, fit_w - fit_w % 2), max(2, fit_h - fit_h % 2)
        source = self._source_frame(top_first)
        yuv = self._scaler.reformat(
            source,
            width=fit_w,
            height=fit_h,
            format="yuv420p",
            interpolation=Interpolation.AREA,
            threads=1,
        )
        planar = pixel_format is VideoStreamPixelFormat.I420
        # swscale's SIMD YUV-to-RGB converts whole groups of 8 pixels and leaves
        # the last few columns unwritten when the row is not long enough for
        # a whole group (a 1364-pixel row loses 4): convert a row of a whole
        # number of groups and send it with the width asked for (the rest is
        # stride).
        canvas_w = out_w if planar else (out_w + 7) & ~7
        if (fit_w, fit_h) != (canvas_w, out_h):
            yuv = self._compose(yuv, out_w, out_h, canvas_w)
        if planar:
            return _frame_of(yuv, pixel_format, ticks)
        packed = self._packer.reformat(yuv, format=pixel_format.av_format, threads=1)
        return _frame_of(packed, pixel_format, ticks, width=out_w)

    def _compose(self, yuv: av.VideoFrame, out_w: int, out_h: int, canvas_w: int) -> av.VideoFrame:
        """``yuv`` centred in the first ``out_w`` columns of a black ``canvas_w`` x ``out_h``.

        The canvas is reused while its layout holds (only the picture changes).
        """
        fit_w, fit_h = yuv.width, yuv.height
        x = ((out_w - fit_w) // 2) & ~1
        y = ((out_h - fit_h) // 2) & ~1
        layout = (canvas_w, out_h, fit_w, fit_h, x, y)
        canvas = self._canvas
        if canvas is None or self._canvas_layout != layout:
            canvas = self._canvas = av.VideoFrame(canvas_w, out_h, "yuv420p")
            self._canvas_layout = layout
            for plane, rows, value in zip(
                canvas.planes, (out_h, (out_h + 1) // 2, (out_h + 1) // 2), _YUV_BLACK, strict=True
            ):
                _plane_rows(plane, rows)[:] = value
        for index, (src, dst) in enumerate(zip(yuv.planes, canvas.planes, strict=True)):
            shift = 1 if index else 0
            rows, cols = (fit_h + shift) >> shift, (fit_w + shift) >> shift
            top, left = y >> shift, x >> shift
            _plane_rows(dst, (out_h + shift) >> shift)[top : top + rows, left : left + cols] = (
                _plane_rows(src, rows)[:, :cols]
            )
        return canvas


class ReadbackHandOff:
    """The main thread's side: hands a texture's read-back RAM image to a ``FrameSender``.

    Call :meth:`expect` in the Update where a read-back is set up (before
    Panda3D renders), and :meth:`collect` in every Update after that: it
    hands the new image over by reference once Panda3D has written it.

    Args:
        texture: the texture Panda3D copies the render to (``RTM_copy_ram``
            or ``RTM_triggered_copy_ram``).
        sender: the ``FrameSender`` to hand images to.
        label: names the owner in log messages.
    """

    def __init__(self, texture: Texture, sender: FrameSender, label: str) -> None:
        self._texture = texture
        self._sender = sender
        self._label = label
        self._awaiting = False
        self._handed_size = 0
        self._ticks = 0
        self._warned_layout = False
        self._seen = texture.getImageModified()

    @property
    def awaiting(self) -> bool:
        """True between :meth:`expect` and the read-back's arrival."""
        return self._awaiting

    def expect(self, timestamp_in_ticks: int) -> None:
        """A read-back is set up for this frame: stamp it, and give the texture a free image.

        The image handed over last may still be read by the sender; Panda3D
        would otherwise overwrite it in place.
        """
        self._ticks = timestamp_in_ticks
        self._awaiting = True
        if self._handed_size:
            self._texture.setRamImage(self._sender.free_image(self._handed_size))
            self._handed_size = 0
        # Only a read-back after this counts (not one somebody else triggered before).
        self._seen = self._texture.getImageModified()

    def collect(self, width: int | None = None, height: int | None = None) -> bool | None:
        """Hand a new read-back over: ``None`` if none arrived, else whether it was handed.

        ``width`` x ``height`` is the part of the image that holds the
        picture (the read-back's size); by default the texture's size less
        its padding. An image of an unexpected layout is not handed over
        (logged once).
        """
        if not self._awaiting:
            return None
        texture = self._texture
        seq = texture.getImageModified()
        if seq == self._seen:
            return None
        self._seen = seq
        self._awaiting = False
        ram = texture.getRamImage()
        tex_w, tex_h = texture.getXSize(), texture.getYSize()
        if width is None or height is None:
            width = tex_w - texture.getPadXSize()
            height = tex_h - texture.getPadYSize()
        components = texture.getNumComponents()
        if (
            texture.getComponentWidth() != 1
            or components not in (3, 4)
            or not 0 < width <= tex_w
            or not 0 < height <= tex_h
            or len(ram) != tex_w * tex_h * components
        ):
            if not self._warned_layout:
                self._warned_layout = True
                logger.warning(
                    "%s: unexpected RAM image (%dx%d, %d components of %d bytes, "
                    "%d bytes) for a %dx%d buffer; frames are not sent",
                    self._label,
                    tex_w,
                    tex_h,
                    components,
                    texture.getComponentWidth(),
                    len(ram),
                    width,
                    height,
                )
            return False
        self._sender.put(Readback(ram, tex_w, tex_h, components, width, height, self._ticks))
        self._handed_size = len(ram)
        return True

    def cancel(self) -> None:
        """Stop waiting for a read-back that was set up."""
        self._awaiting = False

    def reset(self) -> None:
        """After the texture's source was (re)made: forget what is in flight.

        If an image was handed over, the texture lets go of it (the sender may
        still read it), so the next read-back allocates its own.
        """
        self._awaiting = False
        if self._handed_size:
            self._texture.clearRamImage()
            self._handed_size = 0
        self._seen = self._texture.getImageModified()


class CostSamples:
    """The last ``COST_SAMPLES`` main-thread costs, in ms: median and 95th percentile."""

    def __init__(self, size: int = COST_SAMPLES) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, ms: float) -> None:
        """Record one cost."""
        self._samples.append(ms)

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def median(self) -> float:
        """The median (0 without samples)."""
        return statistics.median(self._samples) if self._samples else 0.0

    @property
    def p95(self) -> float:
        """The 95th percentile (0 without samples)."""
        if not self._samples:
            return 0.0
        ordered = sorted(self._samples)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
