"""The engine layer (Panda3D): the only layer that imports panda3d.

``setup()`` returns the live plugin; components (``VideoWall``, ...) are added
to it and driven by its Update task on the main thread.
"""

from .components import Component
from .frame_slot import LatestFrameSlot
from .frame_texture import FrameTexture
from .plugin import UPDATE_TASK, EnginePlugin, setup
from .video_wall import VideoWall
from .wall_layout import WallLayout

__all__ = [
    "UPDATE_TASK",
    "Component",
    "EnginePlugin",
    "FrameTexture",
    "LatestFrameSlot",
    "VideoWall",
    "WallLayout",
    "setup",
]
