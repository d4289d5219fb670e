"""``WindowShare``: the game's own window sent as a ``ScreenShareOutgoingVideoStream``.

    formats = window_share_formats(base.win, max_fps=30)   # window size, fitted to 1080p
    stream = ScreenShareOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=formats))
    share = plugin.add(WindowShare(stream))                 # default window: base.win
    call.start_video(stream)          # or JoinCallOptions(outgoing_video_options=...)

Picking formats: a screen share's formats take ``width=``/``height=`` (even,
at most 1920x1080). :func:`window_share_formats` gives the window's own size
scaled down to fit 1080p (aspect ratio kept, rounded down to even numbers)
plus a half-size fallback, which the SDK steps down to when bandwidth is
short. Any other screen-share formats work too: the worker scales whatever
the window shows to the *current* format's size, keeping the aspect ratio
(black bars) unless ``keep_aspect=False``. ``I420`` formats (the helper's
default) cost least: swscale scales into planar YUV fast and the encoder
needs YUV anyway; ``BGRX`` costs no more while no scaling is needed.

How a frame travels:

1. **Main thread, Update task** (sort 40, before the render at 50): the
   window carries a render texture in ``RTM_triggered_copy_ram`` mode, which
   costs nothing until triggered. When the stream is STARTED and a frame is
   due at the current format's ``frames_per_second``, the Update gives the
   texture a free RAM image from the worker's pool and calls
   ``window.triggerCopy()``: Panda3D copies the finished window (3D scene,
   2D overlays and all) to that image at the end of this frame's render.
2. **Main thread, next Update**: the image (BGRA, bottom row first) is handed
   to the worker by reference (newest wins; the main thread never waits).
3. **Worker thread** (``engine_plugin-window-share-…``): flips the rows,
   scales to the format's size and converts to its pixel format (swscale),
   and calls ``stream.send_raw_video_frame``.

The main thread's own cost is the hand-off and the trigger
(:attr:`WindowShare.main_thread_ms`); the read-back itself (``glReadPixels``)
happens inside Panda3D's render of the window and is not in that figure.

Window resizes: the Update notices a new window size, sets the render
texture up again, and carries on; the worker scales the new size to the
format. Format changes (``format_changed``, SDK thread) are recorded and
applied at the next Update (the new frame rate) and by the worker (the new
size, from the stream's current format).

Read-back works for the main window with p3headlessgl (an offscreen EGL
buffer), p3tinydisplay (offscreen and onscreen X11) and pandagl onscreen
(GLX): checked for the colours, orientation and resizes. Assumes Panda3D's
default single-threaded render pipeline.
"""

from __future__ import annotations

import logging
from typing import Any

from panda3d.core import GraphicsOutput, Texture

from ..media.video_format import (
    MAX_FRAMES_PER_SECOND,
    SCREEN_SHARE_MAX_HEIGHT,
    SCREEN_SHARE_MAX_WIDTH,
    VideoStreamFormat,
    VideoStreamPixelFormat,
)
from ..sdk.enums import VideoStreamState
from ..sdk.outgoing_video import RawOutgoingVideoStream
from .frame_sender import ReadbackHandOff
from .readback_source import ReadbackSource

__all__ = ["WindowShare", "screen_share_size", "window_share_formats"]

logger = logging.getLogger(__name__)


def _even_down(value: int) -> int:
    return max(2, value - value % 2)


def screen_share_size(
    width: int,
    height: int,
    max_width: int = SCREEN_SHARE_MAX_WIDTH,
    max_height: int = SCREEN_SHARE_MAX_HEIGHT,
) -> tuple[int, int]:
    """``width`` x ``height`` scaled down (never up) to fit the box, as even numbers.

    The aspect ratio is kept to within the rounding: ``(2560, 1440)`` gives
    ``(1920, 1080)``, ``(3440, 1440)`` gives ``(1920, 802)``, ``(1365, 767)``
    gives ``(1364, 766)``.
    """
    if width < 1 or height < 1:
        raise ValueError(f"a window of {width}x{height} pixels has nothing to share")
    scale = min(1.0, max_width / width, max_height / height)
    return (
        min(_even_down(max_width), _even_down(int(width * scale))),
        min(_even_down(max_height), _even_down(int(height * scale))),
    )


def window_share_formats(
    window: GraphicsOutput | tuple[int, int],
    *,
    max_fps: float = 30,
    pixel_format: VideoStreamPixelFormat = VideoStreamPixelFormat.I420,
    fallback: bool = True,
) -> list[VideoStreamFormat]:
    """Screen-share formats for ``window`` (a ``GraphicsOutput``, or its width and height).

    Returns the window's size scaled down to fit 1920x1080 (see
    :func:`screen_share_size`) at ``max_fps`` and, with ``fallback``, the
    same at half the width and height: the SDK sends the largest one the
    bandwidth allows. ``I420`` is the cheapest pixel format when scaling
    (see the module notes).
    """
    if isinstance(window, tuple):
        width, height = window
    else:
        width, height = window.getFbXSize(), window.getFbYSize()
    if not 1 <= max_fps <= MAX_FRAMES_PER_SECOND:
        raise ValueError(f"max_fps must be from 1 to {MAX_FRAMES_PER_SECOND}; got {max_fps}")
    full = screen_share_size(width, height)
    sizes = [full]
    half = (_even_down(full[0] // 2), _even_down(full[1] // 2))
    if fallback and half != full:
        sizes.append(half)
    return [
        VideoStreamFormat(width=w, height=h, pixel_format=pixel_format, frames_per_second=max_fps)
        for w, h in sizes
    ]


class WindowShare(ReadbackSource):
    """Sends what a window shows (default: the game's main window) as ``stream``'s video.

    Args:
        stream: a ``ScreenShareOutgoingVideoStream`` (any raw outgoing
            stream works); frames follow its current ``format``: size, pixel
            format and frame rate.
        window: the ``GraphicsOutput`` to share (default: the plugin's
            ``base.win``).
        keep_aspect: fit the window inside the format's size with black bars
            when their aspect ratios differ (default), rather than stretch.

    Counters: :attr:`frames_read_back`, :attr:`frames_sent`,
    :attr:`frames_dropped`, :attr:`main_thread_ms`, :attr:`main_thread_p95_ms`,
    :attr:`resizes`.
    """

    _logger = logger

    def __init__(
        self,
        stream: RawOutgoingVideoStream,
        *,
        window: GraphicsOutput | None = None,
        keep_aspect: bool = True,
    ) -> None:
        super().__init__(stream, "window share")
        self._window: GraphicsOutput | None = window
        self._keep_aspect = keep_aspect
        self._texture = Texture(f"window-share-{id(self):x}")
        self._attached = False
        self._window_size = (0, 0)
        self.frames_read_back = 0
        """Window images read back for the stream."""
        self.resizes = 0
        """How many times the render texture was set up (the first time included)."""

    # -- public -------------------------------------------------------------------

    @property
    def stream(self) -> RawOutgoingVideoStream:
        """The stream the window is sent through."""
        return self._stream

    @property
    def window(self) -> GraphicsOutput | None:
        """The shared window (``None`` before ``start()`` when none was given)."""
        return self._window

    @property
    def texture(self) -> Texture:
        """The render texture the window is copied to (its RAM image: the last read-back)."""
        return self._texture

    @property
    def window_size(self) -> tuple[int, int]:
        """The window's size in pixels when last seen by an Update."""
        return self._window_size

    # -- Component ----------------------------------------------------------------

    def start(self) -> None:
        assert self.plugin is not None
        if self._window is None:
            self._window = getattr(self.plugin.base, "win", None)
            if self._window is None:
                raise RuntimeError("WindowShare needs a window: the ShowBase has no base.win")
        self._start_sending(self._texture, scale_to_format=True, keep_aspect=self._keep_aspect)
        self._attach(self._window)

    def on_destroy(self) -> None:
        super().on_destroy()
        if self._window is not None:
            self._detach(self._window)
        self._texture.clearRamImage()

    # -- main thread internals ------------------------------------------------------

    def _update_readback(self, dt: float, handoff: ReadbackHandOff) -> bool:
        window = self._window
        if window is None:
            return False
        size = (window.getFbXSize(), window.getFbYSize())
        if size != self._window_size:
            self._attach(window)
        handed = False
        collected = handoff.collect()
        if collected is not None:
            self.frames_read_back += 1
            handed = collected
        due = (
            self._stream.state is VideoStreamState.STARTED
            and window.isValid()
            and self._frame_due(dt, handoff)
        )
        if due:
            window.triggerCopy()
        return handed or due

    def _apply_format(self, fmt: VideoStreamFormat) -> None:
        # The size is the worker's business (it scales to the current format).
        super()._apply_format(fmt)
        self._next_due = 0.0
        logger.debug(
            "window share: sending %dx%d %s at %s fps",
            fmt.width,
            fmt.height,
            fmt.pixel_format.name,
            fmt.frames_per_second,
        )

    def _attach(self, window: GraphicsOutput) -> None:
        """(Re)set the render texture up on ``window`` at its current size."""
        self._detach(window)
        window.addRenderTexture(
            self._texture, GraphicsOutput.RTM_triggered_copy_ram, GraphicsOutput.RTP_color
        )
        self._attached = True
        self._window_size = (window.getFbXSize(), window.getFbYSize())
        if self._handoff is not None:
            # The worker may still read the last image: the next read-back
            # allocates its own.
            self._handoff.reset()
        self.resizes += 1
        logger.info(
            "window share: reading back %s (%s) at %dx%d",
            window.getName(),
            window.getType().getName(),
            *self._window_size,
        )

    def _detach(self, window: GraphicsOutput) -> None:
        """Take the render texture off ``window``, keeping any others it has.

        Panda3D removes render textures only all at once: the others are put
        back with their modes and planes.
        """
        if not self._attached:
            return
        self._attached = False
        others: list[tuple[Any, Any, Any]] = []
        for index in range(window.countTextures()):
            texture = window.getTexture(index)
            if texture != self._texture:
                others.append((texture, window.getRtmMode(index), window.getTexturePlane(index)))
        window.clearRenderTextures()
        for texture, mode, plane in others:
            window.addRenderTexture(texture, mode, plane)
