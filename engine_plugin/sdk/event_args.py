"""Event-argument objects: each event's handler receives exactly one of these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..media.audio_format import RawIncomingAudioStreamProperties
    from ..media.frames import RawAudioBuffer, RawVideoFrameBuffer
    from ..media.video_format import VideoStreamFormat


@dataclass(frozen=True)
class VideoStreamFormatChangedEventArgs:
    """``format_changed``: ``format`` is the outgoing stream's new format."""

    format: VideoStreamFormat


@dataclass(frozen=True)
class VideoStreamStateChangedEventArgs:
    """``state_changed`` / ``video_stream_state_changed``: ``stream`` (its ``state`` is new)."""

    stream: Any


@dataclass(frozen=True)
class RawVideoFrameReceivedEventArgs:
    """``raw_video_frame_received``: ``frame`` (a RawVideoFrameBuffer) and its ``stream``."""

    frame: RawVideoFrameBuffer
    stream: Any


@dataclass(frozen=True)
class AudioStreamStateChangedEventArgs:
    """``state_changed`` of an audio stream: ``stream`` (its ``state`` is new)."""

    stream: Any


@dataclass(frozen=True)
class IncomingMixedAudioEventArgs:
    """``mixed_audio_buffer_received``: the mix of every remote participant."""

    audio_buffer: RawAudioBuffer
    stream_properties: RawIncomingAudioStreamProperties


@dataclass(frozen=True)
class IncomingUnmixedAudioEventArgs:
    """``unmixed_audio_buffer_received``: one buffer per remote participant, same order as ids."""

    audio_buffers: list[RawAudioBuffer]
    remote_participant_ids: list[str]
    stream_properties: RawIncomingAudioStreamProperties


@dataclass(frozen=True)
class PropertyChangedEventArgs:
    """A property changed (``Call.state_changed``); read the new value from the object."""


@dataclass(frozen=True)
class ParticipantsUpdatedEventArgs:
    """``remote_participants_updated``: who joined and who left."""

    added_participants: list[Any] = field(default_factory=list)
    removed_participants: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class IncomingCallReceivedEventArgs:
    """``incoming_call_received``: ``incoming_call`` to ``accept()`` or ``reject()``."""

    incoming_call: Any


@dataclass(frozen=True)
class CallsUpdatedEventArgs:
    """``calls_updated``: calls added to and removed from ``CallAgent.calls``."""

    added_calls: list[Any] = field(default_factory=list)
    removed_calls: list[Any] = field(default_factory=list)
