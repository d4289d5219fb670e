"""Enumerations of the SDK surface (streams, calls, participants)."""

from __future__ import annotations

import enum


class VideoStreamKind(enum.Enum):
    """What a video stream is."""

    REMOTE_INCOMING = "remote_incoming"
    RAW_INCOMING = "raw_incoming"
    LOCAL_OUTGOING = "local_outgoing"
    VIRTUAL_OUTGOING = "virtual_outgoing"
    SCREEN_SHARE_OUTGOING = "screen_share_outgoing"


class VideoStreamState(enum.Enum):
    """The life of a video stream: AVAILABLE -> STARTED -> STOPPING -> STOPPED -> NOT_AVAILABLE."""

    AVAILABLE = "available"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    NOT_AVAILABLE = "not_available"


class RawVideoFrameKind(enum.Enum):
    """How raw incoming frames are delivered: as buffers (bytes) or textures (engine layer)."""

    BUFFER = "buffer"
    TEXTURE = "texture"


class StreamDirection(enum.Enum):
    """Whether a stream comes in or goes out."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"


class MediaStreamType(enum.Enum):
    """What a remote video stream carries: a camera-like video or a screen share."""

    VIDEO = "video"
    SCREEN_SHARING = "screen_sharing"


class CallState(enum.Enum):
    """The life of a call."""

    NONE = "none"
    CONNECTING = "connecting"
    RINGING = "ringing"
    CONNECTED = "connected"
    LOCAL_HOLD = "local_hold"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


class ParticipantState(enum.Enum):
    """The state of a remote participant's media connection."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class CallEndReason(enum.Enum):
    """Why a call ended (``Call.call_end_reason``)."""

    NONE = "none"
    HUNG_UP = "hung_up"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    DISCONNECTED = "disconnected"
