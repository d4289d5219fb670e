"""A Panda3D texture that raw video frames are copied into, cheaply, on the main thread.

Panda3D keeps a texture's RAM image in BGR(A) order, bottom row first. So:

- frames are asked for in ``BGRX`` (the SDK converts on its delivery thread,
  off the main thread) and copied straight into the texture's own RAM image
  (``modifyRamImage`` + one numpy copy: about 0.1 ms at 720p here, against
  1.6-2 ms for ``setRamImage`` and 12-17 ms for ``setRamImageAs(.., "RGBA")``);
- rows are not flipped: the quad's texture coordinates are (see
  :attr:`FrameTexture.uv_range`);
- a frame whose rows are padded (stride wider than the image) is copied whole
  and the padding is cut off by the texture coordinates;
- the texture is reused, and set up again only when the size changes.
"""

from __future__ import annotations

import logging

import numpy as np
from panda3d.core import SamplerState, Texture

from ..media.frames import RawVideoFrameBuffer
from ..media.video_format import VideoStreamPixelFormat

logger = logging.getLogger(__name__)

NATIVE_FORMATS = {
    VideoStreamPixelFormat.BGRX: (4, Texture.F_rgba8),
    VideoStreamPixelFormat.BGR24: (3, Texture.F_rgb8),
}
"""Pixel formats whose bytes are Panda3D's own RAM layout: (bytes per pixel, texture format)."""


class FrameTexture:
    """One texture fed with raw frames; :meth:`upload` on the main thread only."""

    def __init__(self, name: str = "video") -> None:
        self.texture = Texture(name)
        self.texture.setMinfilter(SamplerState.FT_linear)
        self.texture.setMagfilter(SamplerState.FT_linear)
        self.texture.setWrapU(SamplerState.WM_clamp)
        self.texture.setWrapV(SamplerState.WM_clamp)
        self.width = 0
        self.height = 0
        self._key: tuple[int, int, int] | None = None
        self.uploads = 0
        self.reallocations = 0

    @property
    def uv_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Texture coordinates for a quad's lower-left and upper-right corners.

        They flip the image the right way up (frames are top row first) and
        leave out row padding.
        """
        if not self._key:
            return (0.0, 1.0), (1.0, 0.0)
        stride_pixels = self._key[0]
        return (0.0, 1.0), (self.width / stride_pixels, 0.0)

    @property
    def aspect(self) -> float:
        """Width / height of the last frame (16:9 before the first)."""
        return self.width / self.height if self.height else 16 / 9

    def upload(self, frame: RawVideoFrameBuffer) -> bool:
        """Copy ``frame`` into the texture; True when its size or padding changed.

        Takes ``BGRX`` and ``BGR24`` frames (Panda3D's own layout) at native
        speed; ``RGBA`` and ``RGBX`` are swizzled by Panda3D (slow: ask the
        SDK for ``BGRX``). Planar formats are refused.
        """
        fmt = frame.stream_format
        if fmt is None:
            raise ValueError("the frame has no stream_format")
        height = fmt.height
        stride = fmt.strides[0]
        plane = np.asarray(frame.buffers[0], dtype=np.uint8).reshape(-1)
        native = NATIVE_FORMATS.get(fmt.pixel_format)
        if native is not None:
            bpp, texture_format = native
        elif fmt.pixel_format in (VideoStreamPixelFormat.RGBA, VideoStreamPixelFormat.RGBX):
            bpp, texture_format = 4, Texture.F_rgba8
        else:
            raise ValueError(
                f"FrameTexture takes BGRX, BGR24, RGBA or RGBX frames, not "
                f"{fmt.pixel_format.name}; ask for IncomingVideoOptions(pixel_format=BGRX)"
            )
        if stride % bpp:
            raise ValueError(f"stride {stride} is not a whole number of {bpp}-byte pixels")
        stride_pixels = stride // bpp
        key = (stride_pixels, height, texture_format)
        changed = key != self._key
        if changed:
            self.texture.setup2dTexture(
                stride_pixels, height, Texture.T_unsigned_byte, texture_format
            )
            self._key = key
            self.reallocations += 1
        self.width, self.height = fmt.width, height
        size = stride * height
        if plane.size < size:
            # The last row may come without its padding.
            padded = np.zeros(size, dtype=np.uint8)
            padded[: plane.size] = plane
            plane = padded
        if native is not None:
            ram = np.frombuffer(self.texture.modifyRamImage(), dtype=np.uint8)
            np.copyto(ram, plane[:size])
        else:
            # The naive path (Panda3D swizzles every pixel): kept for comparison.
            self.texture.setRamImageAs(plane[:size].tobytes(), "RGBA")
        self.uploads += 1
        return changed
