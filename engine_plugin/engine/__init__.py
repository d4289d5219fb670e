"""The engine layer (Panda3D): the only layer that imports panda3d.

``setup()`` returns the live plugin; components (``VideoWall``, ...) are added
to it and driven by its Update task on the main thread.
"""

from .audio_playback import MixedAudioPlayer, PcmPlayout, PlayoutStats, PositionalVoices
from .audio_sources import (
    MicrophoneFeeder,
    NoMicrophoneError,
    ToneFeeder,
    WavFeeder,
    default_outgoing_feeder,
)
from .components import Component
from .frame_slot import LatestFrameSlot
from .frame_texture import FrameTexture
from .plugin import UPDATE_TASK, EnginePlugin, setup
from .scene_camera import SceneCamera
from .texture_delivery import RawVideoFrameTexture, TextureDelivery
from .video_wall import VideoWall
from .wall_layout import WallLayout
from .window_share import WindowShare, screen_share_size, window_share_formats

__all__ = [
    "UPDATE_TASK",
    "Component",
    "EnginePlugin",
    "FrameTexture",
    "LatestFrameSlot",
    "MicrophoneFeeder",
    "MixedAudioPlayer",
    "NoMicrophoneError",
    "PcmPlayout",
    "PlayoutStats",
    "PositionalVoices",
    "RawVideoFrameTexture",
    "SceneCamera",
    "TextureDelivery",
    "ToneFeeder",
    "VideoWall",
    "WallLayout",
    "WavFeeder",
    "WindowShare",
    "default_outgoing_feeder",
    "screen_share_size",
    "setup",
    "window_share_formats",
]
