"""The narrow interface between the SDK surface (layer 2) and a media transport (layer 3).

The SDK speaks of participants, their media and frames; a transport turns
that into signaling messages and peer connections. The mesh transport
(:mod:`engine_plugin.transport.mesh`) is the first implementation; an SFU
backend can implement the same two protocols without touching the SDK.

Every listener method is called on the SDK's event-loop thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import av

from .tracks import AudioSource, VideoSource

CAMERA = "camera"
SCREEN = "screen"
SLOTS = (CAMERA, SCREEN)


@dataclass(frozen=True)
class VideoSourceInfo:
    """One video source a participant sends: its slot, type and size."""

    slot: str
    type: str  # "video" or "screen_sharing"
    width: int
    height: int

    def to_wire(self) -> dict[str, object]:
        return {"slot": self.slot, "type": self.type, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class MediaInfo:
    """What a participant sends: audio or not, and its video sources."""

    audio: bool = False
    video: tuple[VideoSourceInfo, ...] = ()

    def to_wire(self) -> dict[str, object]:
        return {"audio": self.audio, "video": [v.to_wire() for v in self.video]}

    @classmethod
    def from_wire(cls, data: object) -> MediaInfo:
        if not isinstance(data, dict):
            return cls()
        video = []
        for item in data.get("video") or ():
            if isinstance(item, dict):
                video.append(
                    VideoSourceInfo(
                        slot=str(item.get("slot", CAMERA)),
                        type=str(item.get("type", "video")),
                        width=int(item.get("width", 0)),
                        height=int(item.get("height", 0)),
                    )
                )
        return cls(audio=bool(data.get("audio", False)), video=tuple(video))


@dataclass(frozen=True)
class ParticipantInfo:
    """A participant as the roster describes it."""

    participant_id: str
    user_id: str
    display_name: str
    media: MediaInfo = field(default_factory=MediaInfo)

    @classmethod
    def from_wire(cls, data: dict[str, object]) -> ParticipantInfo:
        return cls(
            participant_id=str(data["participant_id"]),
            user_id=str(data.get("user_id", "")),
            display_name=str(data.get("display_name", "")),
            media=MediaInfo.from_wire(data.get("media")),
        )


class SessionListener(Protocol):
    """What a call's transport session reports to the SDK (on the loop thread)."""

    def on_session(self, session: TransportSession) -> None: ...
    def on_ringing(self) -> None: ...
    def on_connected(self, participants: list[ParticipantInfo]) -> None: ...
    def on_participant_joined(self, info: ParticipantInfo) -> None: ...
    def on_participant_updated(self, info: ParticipantInfo) -> None: ...
    def on_participant_left(self, participant_id: str, reason: str) -> None: ...
    def on_peer_state(self, participant_id: str, state: str) -> None: ...
    def on_video_frame(self, participant_id: str, slot: str, frame: av.VideoFrame) -> None: ...
    def on_audio_frame(self, participant_id: str, frame: av.AudioFrame) -> None: ...
    def on_bandwidth_estimate(self, slot: str, bits_per_second: int) -> None: ...
    def on_ended(self, reason: str) -> None: ...


class AgentListener(Protocol):
    """What an agent's transport reports to the SDK (on the loop thread)."""

    def on_incoming_call(self, call_id: str, caller_user_id: str, caller_name: str) -> None: ...
    def on_incoming_call_ended(self, call_id: str, reason: str) -> None: ...
    def on_disconnected(self, reason: str) -> None: ...


class TransportSession(Protocol):
    """One call as the transport carries it. Coroutines run on the loop thread."""

    call_id: str
    participant_id: str

    def set_video_source(self, slot: str, source: VideoSource | None) -> None: ...
    def set_audio_source(self, source: AudioSource | None) -> None: ...
    async def update_media(self, media: MediaInfo) -> None: ...
    async def leave(self) -> None: ...


@dataclass
class OutgoingMedia:
    """What a participant sends from the moment it enters a call."""

    info: MediaInfo = field(default_factory=MediaInfo)
    video_sources: dict[str, VideoSource] = field(default_factory=dict)
    audio_source: AudioSource | None = None


class Transport(Protocol):
    """One agent's connection to a calling service. Coroutines run on the loop thread."""

    user_id: str

    async def join(
        self, group_id: str, display_name: str, media: OutgoingMedia, listener: SessionListener
    ) -> TransportSession: ...
    async def start_call(
        self, targets: list[str], display_name: str, media: OutgoingMedia, listener: SessionListener
    ) -> TransportSession: ...
    async def accept(
        self, call_id: str, display_name: str, media: OutgoingMedia, listener: SessionListener
    ) -> TransportSession: ...
    async def reject(self, call_id: str) -> None: ...
    async def close(self) -> None: ...
