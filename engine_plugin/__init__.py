"""engine_plugin: real WebRTC calls with raw media access, for games (Panda3D) and tests.

Mirrors the raw media API of a commercial calling SDK (see the README) and
brings its own calling service (``LocalCallingService``). Everything public is
importable from here.
"""

from ._events import Event
from ._operation import Operation, SdkThreadWaitError
from .identity import AccessToken, CommunicationIdentityClient, CommunicationUserIdentifier
from .media.audio_format import (
    AudioStreamBufferDuration,
    AudioStreamChannelMode,
    AudioStreamFormat,
    AudioStreamSampleRate,
    AudioStreamState,
    InvalidAudioBufferError,
    InvalidAudioFormatError,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStreamProperties,
)
from .media.frames import InvalidVideoFrameError, RawAudioBuffer, RawVideoFrameBuffer
from .media.video_format import (
    InvalidVideoFormatError,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
)
from .sdk.call import Call
from .sdk.call_agent import CallAgent, CallerInfo, IncomingCall
from .sdk.call_client import CallClient, CommunicationTokenCredential
from .sdk.enums import (
    CallEndReason,
    CallState,
    MediaStreamType,
    ParticipantState,
    RawVideoFrameKind,
    StreamDirection,
    VideoStreamKind,
    VideoStreamState,
)
from .sdk.errors import AuthenticationError, CallingError, InvalidStateError
from .sdk.event_args import (
    AudioStreamStateChangedEventArgs,
    CallsUpdatedEventArgs,
    IncomingCallReceivedEventArgs,
    IncomingMixedAudioEventArgs,
    IncomingUnmixedAudioEventArgs,
    ParticipantsUpdatedEventArgs,
    PropertyChangedEventArgs,
    RawVideoFrameReceivedEventArgs,
    VideoStreamFormatChangedEventArgs,
    VideoStreamStateChangedEventArgs,
)
from .sdk.incoming_audio import RawIncomingAudioStream
from .sdk.incoming_video import RawIncomingVideoStream
from .sdk.options import (
    ALL_INTERFACES,
    LOOPBACK_ONLY,
    AcceptCallOptions,
    CallAgentOptions,
    CallClientOptions,
    GroupCallLocator,
    IncomingAudioOptions,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingAudioOptions,
    OutgoingVideoOptions,
    RawIncomingAudioStreamOptions,
    RawOutgoingAudioStreamOptions,
    RawOutgoingVideoStreamOptions,
    StartCallOptions,
)
from .sdk.outgoing_audio import RawOutgoingAudioStream
from .sdk.outgoing_video import (
    RawOutgoingVideoStream,
    ScreenShareOutgoingVideoStream,
    VirtualOutgoingVideoStream,
)
from .sdk.participant import RemoteParticipant
from .service import LocalCallingService

__all__ = [
    "ALL_INTERFACES",
    "LOOPBACK_ONLY",
    "AcceptCallOptions",
    "AccessToken",
    "AudioStreamBufferDuration",
    "AudioStreamChannelMode",
    "AudioStreamFormat",
    "AudioStreamSampleRate",
    "AudioStreamState",
    "AudioStreamStateChangedEventArgs",
    "AuthenticationError",
    "Call",
    "CallAgent",
    "CallAgentOptions",
    "CallClient",
    "CallClientOptions",
    "CallEndReason",
    "CallState",
    "CallerInfo",
    "CallingError",
    "CallsUpdatedEventArgs",
    "CommunicationIdentityClient",
    "CommunicationTokenCredential",
    "CommunicationUserIdentifier",
    "Event",
    "GroupCallLocator",
    "IncomingAudioOptions",
    "IncomingCall",
    "IncomingCallReceivedEventArgs",
    "IncomingMixedAudioEventArgs",
    "IncomingUnmixedAudioEventArgs",
    "IncomingVideoOptions",
    "InvalidAudioBufferError",
    "InvalidAudioFormatError",
    "InvalidStateError",
    "InvalidVideoFormatError",
    "InvalidVideoFrameError",
    "JoinCallOptions",
    "LocalCallingService",
    "MediaStreamType",
    "Operation",
    "OutgoingAudioOptions",
    "OutgoingVideoOptions",
    "ParticipantState",
    "ParticipantsUpdatedEventArgs",
    "PropertyChangedEventArgs",
    "RawAudioBuffer",
    "RawIncomingAudioStream",
    "RawIncomingAudioStreamOptions",
    "RawIncomingAudioStreamProperties",
    "RawIncomingVideoStream",
    "RawOutgoingAudioStream",
    "RawOutgoingAudioStreamOptions",
    "RawOutgoingAudioStreamProperties",
    "RawOutgoingVideoStream",
    "RawOutgoingVideoStreamOptions",
    "RawVideoFrameBuffer",
    "RawVideoFrameKind",
    "RawVideoFrameReceivedEventArgs",
    "RemoteParticipant",
    "ScreenShareOutgoingVideoStream",
    "SdkThreadWaitError",
    "StartCallOptions",
    "StreamDirection",
    "VideoStreamFormat",
    "VideoStreamFormatChangedEventArgs",
    "VideoStreamKind",
    "VideoStreamPixelFormat",
    "VideoStreamResolution",
    "VideoStreamState",
    "VideoStreamStateChangedEventArgs",
    "VirtualOutgoingVideoStream",
]
