"""A Panda3D texture that raw video frames are copied into, cheaply, on the main thread.

Panda3D keeps a texture's RAM image in BGR(A) order, bottom row first. So:

- frames are asked for in ``BGRX`` (the SDK converts on its delivery thread,
  off the main thread) and copied straight into the texture's own RAM image
  (``modifyRamImage`` + one numpy copy: 0.4-0.6 ms for a 720p frame that is
  not in cache, against 2 ms for ``setRamImage`` and 22-25 ms for
  ``setRamImageAs(.., "RGBA")`` here);
- three textures take turns: with a software renderer (llvmpipe), changing a
  texture the previous frame drew waits for that frame to finish, which made
  a frame that uploads take 8-14 ms; writing into the texture drawn two
  frames ago avoids the wait (2.8 ms measured; two textures were not enough);
- rows are not flipped: the quad's texture coordinates are (see
  :attr:`FrameTexture.uv_range`);
- a frame whose rows are padded (stride wider than the image) is copied whole
  and the padding is cut off by the texture coordinates;
- the textures are reused, and set up again only when the size changes.
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


RING = 3
"""Textures a FrameTexture rotates through (see the module notes)."""


def _new_texture(name: str) -> Texture:
    texture = Texture(name)
    texture.setMinfilter(SamplerState.FT_linear)
    texture.setMagfilter(SamplerState.FT_linear)
    texture.setWrapU(SamplerState.WM_clamp)
    texture.setWrapV(SamplerState.WM_clamp)
    return texture


class FrameTexture:
    """Textures fed with raw frames; :meth:`upload` on the main thread only.

    :attr:`texture` is the one holding the newest frame: show it after each
    upload (``node.setTexture(frame_texture.texture, 1)``, a cheap state change).
    """

    def __init__(self, name: str = "video") -> None:
        self._ring = [_new_texture(f"{name}-{i}") for i in range(RING)]
        self._ring_keys: list[tuple[int, int, int] | None] = [None] * RING
        self._current = 0
        self.width = 0
        self.height = 0
        self._key: tuple[int, int, int] | None = None
        self.uploads = 0
        self.reallocations = 0

    @property
    def texture(self) -> Texture:
        """The texture holding the newest frame."""
        return self._ring[self._current]

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
            self._key = key
            self.reallocations += 1
        index = (self._current + 1) % RING
        texture = self._ring[index]
        if self._ring_keys[index] != key:
            texture.setup2dTexture(stride_pixels, height, Texture.T_unsigned_byte, texture_format)
            self._ring_keys[index] = key
        self.width, self.height = fmt.width, height
        size = stride * height
        if plane.size < size:
            # The last row may come without its padding.
            padded = np.zeros(size, dtype=np.uint8)
            padded[: plane.size] = plane
            plane = padded
        if native is not None:
            ram = np.frombuffer(texture.modifyRamImage(), dtype=np.uint8)
            np.copyto(ram, plane[:size])
        else:
            # The naive path (Panda3D swizzles every pixel): kept for comparison.
            texture.setRamImageAs(plane[:size].tobytes(), "RGBA")
        self._current = index
        self.uploads += 1
        return changed
