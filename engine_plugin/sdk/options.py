"""Option objects of the SDK surface, keyword-constructible as in the commercial SDK."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..media.video_format import VideoStreamPixelFormat
from ..transport import ice
from .enums import RawVideoFrameKind, VideoStreamKind

if TYPE_CHECKING:
    from ..media.audio_format import (
        RawIncomingAudioStreamProperties,
        RawOutgoingAudioStreamProperties,
    )
    from ..media.video_format import VideoStreamFormat

LOOPBACK_ONLY: tuple[str, ...] = ice.LOOPBACK
"""ICE host candidates on loopback only: the default (one machine, tests, the local service)."""

ALL_INTERFACES = ice.ALL_INTERFACES
"""ICE host candidates on every interface (a real LAN)."""


@dataclass
class CallClientOptions:
    """How a ``CallClient``'s agents reach their peers.

    ice_host_addresses: the host addresses offered as ICE candidates;
        ``LOOPBACK_ONLY`` (default) or ``ALL_INTERFACES`` (``None``) or an explicit list.
    ice_servers: STUN/TURN URLs; empty by default, so no traffic leaves the machine.
    """

    ice_host_addresses: Sequence[str] | None = LOOPBACK_ONLY
    ice_servers: Sequence[str] = ()


@dataclass
class CallAgentOptions:
    """Options of ``CallClient.create_call_agent``: ``display_name`` shown to others."""

    display_name: str = ""


@dataclass
class GroupCallLocator:
    """A group call, found by its id (any string of 1-128 letters, digits, ``-_.:``)."""

    group_id: str


@dataclass
class RawOutgoingVideoStreamOptions:
    """The formats an outgoing raw video stream can produce; the SDK picks one."""

    formats: list[VideoStreamFormat] = field(default_factory=list)


@dataclass
class RawOutgoingAudioStreamOptions:
    """``properties``: the PCM layout the application will send."""

    properties: RawOutgoingAudioStreamProperties | None = None


@dataclass
class RawIncomingAudioStreamOptions:
    """``properties``: the PCM layout to receive; ``receive_unmixed_audio``: per participant too."""

    properties: RawIncomingAudioStreamProperties | None = None
    receive_unmixed_audio: bool = False


@dataclass
class OutgoingVideoOptions:
    """Outgoing video streams to start with the call (virtual and/or screen share)."""

    streams: list[Any] = field(default_factory=list)


@dataclass
class IncomingVideoOptions:
    """How remote video arrives.

    stream_kind: ``VideoStreamKind.RAW_INCOMING`` for raw frames.
    frame_kind: ``RawVideoFrameKind.BUFFER`` (frames as bytes, on the SDK's delivery
        thread) or ``TEXTURE`` (frames as Panda3D textures already uploaded,
        on the engine's main thread: needs ``engine_plugin.engine.setup()``).
    pixel_format: what frames arrive in (this project's addition; default I420, the
        decoder's own layout, costs nothing; RGBA, RGBX, BGRX, BGR24 and NV12 on request).
    """

    stream_kind: VideoStreamKind = VideoStreamKind.RAW_INCOMING
    frame_kind: RawVideoFrameKind = RawVideoFrameKind.BUFFER
    pixel_format: VideoStreamPixelFormat = VideoStreamPixelFormat.I420


@dataclass
class OutgoingAudioOptions:
    """``stream``: a ``RawOutgoingAudioStream`` started when the call connects."""

    stream: Any = None
    muted: bool = False


@dataclass
class IncomingAudioOptions:
    """``stream``: a ``RawIncomingAudioStream`` that receives the call's audio."""

    stream: Any = None


@dataclass
class _CallOptions:
    outgoing_video_options: OutgoingVideoOptions | None = None
    incoming_video_options: IncomingVideoOptions | None = None
    outgoing_audio_options: OutgoingAudioOptions | None = None
    incoming_audio_options: IncomingAudioOptions | None = None


@dataclass
class JoinCallOptions(_CallOptions):
    """Options of ``CallAgent.join``."""


@dataclass
class StartCallOptions(_CallOptions):
    """Options of ``CallAgent.start_call``."""


@dataclass
class AcceptCallOptions(_CallOptions):
    """Options of ``IncomingCall.accept``."""
