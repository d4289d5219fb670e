"""``RemoteParticipant``: another participant of a call, with their incoming video streams.

The SDK keeps every participant alive for the call's lifetime, so no event is
lost because the application did not hold a reference.
"""

from __future__ import annotations

import logging

from .._events import EventSlot
from ..identity import CommunicationUserIdentifier
from ..media.video_format import VideoStreamPixelFormat
from ..transport.base import ParticipantInfo
from .enums import MediaStreamType, ParticipantState, RawVideoFrameKind
from .event_args import PropertyChangedEventArgs, VideoStreamStateChangedEventArgs
from .incoming_video import RawIncomingVideoStream

logger = logging.getLogger(__name__)


class RemoteParticipant:
    """A remote participant.

    Events (on the SDK's event-loop thread):
        video_stream_state_changed: ``args.stream`` (a ``RawIncomingVideoStream``
            that became AVAILABLE, or changed state later).
        state_changed: the participant's ``state`` changed.
        display_name_changed: the participant's ``display_name`` changed.
    """

    video_stream_state_changed = EventSlot[VideoStreamStateChangedEventArgs]()
    state_changed = EventSlot[PropertyChangedEventArgs]()
    display_name_changed = EventSlot[PropertyChangedEventArgs]()

    def __init__(
        self,
        info: ParticipantInfo,
        pixel_format: VideoStreamPixelFormat,
        frame_kind: RawVideoFrameKind = RawVideoFrameKind.BUFFER,
    ) -> None:
        self.participant_id = info.participant_id
        self._identifier = CommunicationUserIdentifier(info.user_id)
        self._display_name = info.display_name
        self._state = ParticipantState.CONNECTING
        self._pixel_format = pixel_format
        self._frame_kind = frame_kind
        self._streams: dict[str, RawIncomingVideoStream] = {}
        self._info = info
        self._update_streams(info)

    @property
    def identifier(self) -> CommunicationUserIdentifier:
        """Who this participant is."""
        return self._identifier

    @property
    def display_name(self) -> str:
        """The name the participant joined with."""
        return self._display_name

    @property
    def state(self) -> ParticipantState:
        """The participant's media connection state."""
        return self._state

    @property
    def incoming_video_streams(self) -> list[RawIncomingVideoStream]:
        """The participant's video streams that exist now (camera-like and screen share)."""
        return list(self._streams.values())

    @property
    def is_speaking(self) -> bool:
        """Not measured by this SDK (always False)."""
        return False

    # -- internals (event-loop thread) ------------------------------------------

    def _stream(self, slot: str) -> RawIncomingVideoStream | None:
        return self._streams.get(slot)

    def _update_streams(self, info: ParticipantInfo) -> None:
        self._info = info
        if info.display_name != self._display_name:
            self._display_name = info.display_name
            self.display_name_changed.fire(PropertyChangedEventArgs())
        wanted = {v.slot: v for v in info.media.video}
        for slot in list(self._streams):
            if slot not in wanted:
                self._end_stream(slot)
        for slot, source in wanted.items():
            if slot in self._streams:
                continue
            media_type = (
                MediaStreamType.SCREEN_SHARING
                if source.type == "screen_sharing"
                else MediaStreamType.VIDEO
            )
            stream = RawIncomingVideoStream(
                self,
                slot,
                media_type,
                self._pixel_format,
                source.width,
                source.height,
                self._frame_kind,
            )
            stream.state_changed += self._forward_stream_state
            self._streams[slot] = stream
            self.video_stream_state_changed.fire(VideoStreamStateChangedEventArgs(stream))

    def _forward_stream_state(self, args: VideoStreamStateChangedEventArgs) -> None:
        self.video_stream_state_changed.fire(args)

    def _end_stream(self, slot: str) -> None:
        stream = self._streams.pop(slot, None)
        if stream is not None:
            stream._finish()

    def _set_state(self, state: ParticipantState) -> None:
        if state is not self._state:
            self._state = state
            self.state_changed.fire(PropertyChangedEventArgs())

    def _finish(self) -> None:
        for slot in list(self._streams):
            self._end_stream(slot)
        self._set_state(ParticipantState.DISCONNECTED)

    def __repr__(self) -> str:
        name, raw_id = self._display_name, self._identifier.raw_id
        return f"<RemoteParticipant {name!r} {raw_id} {self._state.name}>"
