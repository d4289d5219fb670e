"""``Call``: one call this agent takes part in.

Threads: every event of a call fires on the SDK's event-loop thread. The
methods (``start_video``, ``hang_up``, ...) are safe from any thread and
return operations (``await op`` or ``op.result(timeout)``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import av

from .._events import EventSlot
from .._operation import Operation
from ..media.video_format import VideoStreamPixelFormat
from ..transport.base import (
    SLOTS,
    MediaInfo,
    OutgoingMedia,
    ParticipantInfo,
    TransportSession,
)
from .enums import CallEndReason, CallState, ParticipantState
from .errors import InvalidStateError
from .event_args import ParticipantsUpdatedEventArgs, PropertyChangedEventArgs
from .incoming_audio import RawIncomingAudioStream
from .options import IncomingVideoOptions, _CallOptions
from .outgoing_audio import RawOutgoingAudioStream
from .outgoing_video import RawOutgoingVideoStream
from .participant import RemoteParticipant

if TYPE_CHECKING:
    from .call_agent import CallAgent

logger = logging.getLogger(__name__)

_END_REASONS = {
    "left": CallEndReason.HUNG_UP,
    "declined": CallEndReason.DECLINED,
    "no_answer": CallEndReason.NO_ANSWER,
    "unavailable": CallEndReason.UNAVAILABLE,
    "disconnected": CallEndReason.DISCONNECTED,
}
_PEER_STATES = {
    "new": ParticipantState.CONNECTING,
    "connecting": ParticipantState.CONNECTING,
    "connected": ParticipantState.CONNECTED,
    "failed": ParticipantState.DISCONNECTED,
    "closed": ParticipantState.DISCONNECTED,
}


class Call:
    """A call: its state, its remote participants and the raw streams attached to it.

    Events (on the SDK's event-loop thread):
        state_changed: ``state`` changed (args carry nothing; read ``call.state``).
        remote_participants_updated: ``args.added_participants``,
            ``args.removed_participants`` (``RemoteParticipant`` lists).
    """

    state_changed = EventSlot[PropertyChangedEventArgs]()
    remote_participants_updated = EventSlot[ParticipantsUpdatedEventArgs]()

    def __init__(
        self, agent: CallAgent, options: _CallOptions | None, *, outgoing: bool, group: bool
    ) -> None:
        self._agent = agent
        self._loop = agent._loop
        self._options = options
        self.is_outgoing = outgoing
        self.is_group_call = group
        self._state = CallState.NONE
        self._end_reason = CallEndReason.NONE
        self._session: TransportSession | None = None
        self._call_id = ""
        self._participants: dict[str, RemoteParticipant] = {}
        self._video: dict[str, RawOutgoingVideoStream] = {}
        self._audio_out: RawOutgoingAudioStream | None = None
        self._audio_in: RawIncomingAudioStream | None = None
        incoming = (options.incoming_video_options if options else None) or IncomingVideoOptions()
        self._pixel_format: VideoStreamPixelFormat = incoming.pixel_format
        self._incoming_video_options = incoming
        # Set once the join (start, accept) has its session or has failed: a hang-up
        # made while it is still in flight waits for this, then leaves properly.
        self._settled = asyncio.Event()

    # -- public -----------------------------------------------------------------

    @property
    def id(self) -> str:
        """The call's id on the calling service ("" until the service assigned it)."""
        return self._call_id

    @property
    def state(self) -> CallState:
        """The call's state (see ``CallState``)."""
        return self._state

    @property
    def call_end_reason(self) -> CallEndReason:
        """Why the call ended (``NONE`` while it lasts)."""
        return self._end_reason

    @property
    def remote_participants(self) -> list[RemoteParticipant]:
        """Everyone else in the call now."""
        return list(self._participants.values())

    @property
    def outgoing_video_streams(self) -> list[RawOutgoingVideoStream]:
        """The raw video streams this call sends."""
        return list(self._video.values())

    @property
    def outgoing_audio_stream(self) -> RawOutgoingAudioStream | None:
        """The raw audio stream this call sends, if any."""
        return self._audio_out

    @property
    def incoming_audio_stream(self) -> RawIncomingAudioStream | None:
        """The raw audio stream this call receives into, if any."""
        return self._audio_in

    @property
    def incoming_video_options(self) -> IncomingVideoOptions:
        """How remote video arrives in this call."""
        return self._incoming_video_options

    def start_video(self, stream: RawOutgoingVideoStream) -> Operation[None]:
        """Start sending ``stream`` (virtual or screen share) to everyone in the call."""
        if not isinstance(stream, RawOutgoingVideoStream):
            raise TypeError(
                "start_video expects a VirtualOutgoingVideoStream or "
                f"ScreenShareOutgoingVideoStream, got {type(stream).__name__}"
            )
        return self._agent._loop.submit(self._start_video(stream), "start_video")

    def stop_video(self, stream: RawOutgoingVideoStream) -> Operation[None]:
        """Stop sending ``stream``; its state goes STOPPING, STOPPED, NOT_AVAILABLE."""
        return self._agent._loop.submit(self._stop_video(stream), "stop_video")

    def start_audio(
        self, stream: RawOutgoingAudioStream | RawIncomingAudioStream
    ) -> Operation[None]:
        """Attach a raw outgoing or incoming audio stream to the call."""
        if not isinstance(stream, RawOutgoingAudioStream | RawIncomingAudioStream):
            raise TypeError(
                "start_audio expects a RawOutgoingAudioStream or RawIncomingAudioStream, "
                f"got {type(stream).__name__}"
            )
        return self._agent._loop.submit(self._start_audio(stream), "start_audio")

    def stop_audio(
        self, stream: RawOutgoingAudioStream | RawIncomingAudioStream
    ) -> Operation[None]:
        """Detach a raw audio stream from the call."""
        return self._agent._loop.submit(self._stop_audio(stream), "stop_audio")

    def hang_up(self) -> Operation[None]:
        """Leave the call: DISCONNECTING, then DISCONNECTED; every stream stops."""
        return self._agent._loop.submit(self._hang_up(), "hang_up")

    # -- setting up (event-loop thread) -------------------------------------------

    def _initial_media(self) -> OutgoingMedia:
        """Attach the streams named in the call options; what to send from the start."""
        options = self._options
        media = OutgoingMedia()
        loop = self._loop.loop
        if options is not None and options.outgoing_video_options is not None:
            for stream in options.outgoing_video_options.streams:
                if not isinstance(stream, RawOutgoingVideoStream):
                    raise TypeError(
                        "OutgoingVideoOptions.streams takes VirtualOutgoingVideoStream or "
                        f"ScreenShareOutgoingVideoStream, got {type(stream).__name__}"
                    )
                slot = stream._slot
                if slot in self._video:
                    raise InvalidStateError(
                        f"two outgoing streams for the {slot} slot; a call sends at most one "
                        "virtual video and one screen share"
                    )
                media.video_sources[slot] = stream._attach(self, loop)
                self._video[slot] = stream
        if options is not None and options.outgoing_audio_options is not None:
            out = options.outgoing_audio_options.stream
            if out is not None:
                if not isinstance(out, RawOutgoingAudioStream):
                    raise TypeError(
                        f"OutgoingAudioOptions.stream takes a RawOutgoingAudioStream, "
                        f"got {type(out).__name__}"
                    )
                media.audio_source = out._attach(self, loop)
                self._audio_out = out
        if options is not None and options.incoming_audio_options is not None:
            inc = options.incoming_audio_options.stream
            if inc is not None:
                if not isinstance(inc, RawIncomingAudioStream):
                    raise TypeError(
                        f"IncomingAudioOptions.stream takes a RawIncomingAudioStream, "
                        f"got {type(inc).__name__}"
                    )
                inc._attach(self)
                self._audio_in = inc
        media.info = self._media_info()
        return media

    def _media_info(self) -> MediaInfo:
        return MediaInfo(
            audio=self._audio_out is not None,
            video=tuple(self._video[s]._source_info() for s in SLOTS if s in self._video),
        )

    def _bind(self, session: TransportSession) -> None:
        self._session = session
        self._call_id = session.call_id
        self._settled.set()

    def _set_state(self, state: CallState) -> None:
        if state is not self._state:
            logger.debug("call %s: %s -> %s", self._call_id, self._state.name, state.name)
            self._state = state
            if state is CallState.DISCONNECTED:
                self._settled.set()
            self.state_changed.fire(PropertyChangedEventArgs())

    def _release_streams(self) -> None:
        for stream in self._video.values():
            stream._detach()
        self._video.clear()
        if self._audio_out is not None:
            self._audio_out._detach()
            self._audio_out = None
        if self._audio_in is not None:
            self._audio_in._detach()
            self._audio_in = None

    async def _push_media(self) -> None:
        if self._session is not None and self._state is CallState.CONNECTED:
            await self._session.update_media(self._media_info())

    # -- operations (event-loop thread) ---------------------------------------------

    def _check_live(self, what: str) -> None:
        if self._state in (CallState.DISCONNECTING, CallState.DISCONNECTED):
            raise InvalidStateError(f"{what}: the call is {self._state.name}")

    async def _start_video(self, stream: RawOutgoingVideoStream) -> None:
        self._check_live("start_video")
        slot = stream._slot
        current = self._video.get(slot)
        if current is stream:
            return
        if current is not None:
            raise InvalidStateError(
                f"another {stream.kind.name} stream is already sent in this call; stop it first"
            )
        source = stream._attach(self, self._loop.loop)
        self._video[slot] = stream
        if self._session is not None:
            self._session.set_video_source(slot, source)
        if self._state is CallState.CONNECTED:
            stream._start()
            await self._push_media()

    async def _stop_video(self, stream: RawOutgoingVideoStream) -> None:
        slot = stream._slot
        if self._video.get(slot) is not stream:
            raise InvalidStateError("stop_video: this stream is not sent in this call")
        del self._video[slot]
        if self._session is not None:
            self._session.set_video_source(slot, None)
        stream._detach()
        await self._push_media()

    async def _start_audio(self, stream: RawOutgoingAudioStream | RawIncomingAudioStream) -> None:
        self._check_live("start_audio")
        if isinstance(stream, RawOutgoingAudioStream):
            if self._audio_out is stream:
                return
            if self._audio_out is not None:
                raise InvalidStateError("another outgoing audio stream is attached; stop it first")
            source = stream._attach(self, self._loop.loop)
            self._audio_out = stream
            if self._session is not None:
                self._session.set_audio_source(source)
            if self._state is CallState.CONNECTED:
                stream._start()
                await self._push_media()
        else:
            if self._audio_in is stream:
                return
            if self._audio_in is not None:
                raise InvalidStateError("another incoming audio stream is attached; stop it first")
            stream._attach(self)
            self._audio_in = stream
            if self._state is CallState.CONNECTED:
                stream._start()

    async def _stop_audio(self, stream: RawOutgoingAudioStream | RawIncomingAudioStream) -> None:
        if isinstance(stream, RawOutgoingAudioStream) and stream is self._audio_out:
            self._audio_out = None
            if self._session is not None:
                self._session.set_audio_source(None)
            stream._detach()
            await self._push_media()
        elif isinstance(stream, RawIncomingAudioStream) and stream is self._audio_in:
            self._audio_in = None
            stream._detach()
        else:
            raise InvalidStateError("stop_audio: this stream is not attached to this call")

    async def _hang_up(self) -> None:
        if self._state is CallState.DISCONNECTED:
            return
        self._set_state(CallState.DISCONNECTING)
        if self._session is None:
            await self._settled.wait()  # hung up while joining: leave once joined
            if self._state is CallState.DISCONNECTED:
                return
        if self._session is not None:
            await self._session.leave()
        else:
            self.on_ended("left")

    # -- SessionListener (event-loop thread) -------------------------------------

    def on_session(self, session: TransportSession) -> None:
        """The service accepted the call: it has an id from now on."""
        self._bind(session)

    def on_ringing(self) -> None:
        """The callee's agents are ringing."""
        if self._state is CallState.CONNECTING:
            self._set_state(CallState.RINGING)

    def on_connected(self, participants: list[ParticipantInfo]) -> None:
        """The call is established: start the streams, list who is there."""
        if self._state in (CallState.DISCONNECTING, CallState.DISCONNECTED):
            return  # hung up while joining: the hang-up leaves the call
        self._set_state(CallState.CONNECTED)
        for stream in self._video.values():
            stream._start()
        if self._audio_out is not None:
            self._audio_out._start()
        if self._audio_in is not None:
            self._audio_in._start()
        added = [self._add_participant(info) for info in participants]
        if added:
            self.remote_participants_updated.fire(ParticipantsUpdatedEventArgs(added, []))

    def _add_participant(self, info: ParticipantInfo) -> RemoteParticipant:
        participant = RemoteParticipant(
            info, self._pixel_format, self._incoming_video_options.frame_kind
        )
        self._participants[info.participant_id] = participant
        return participant

    def on_participant_joined(self, info: ParticipantInfo) -> None:
        """Someone joined."""
        if info.participant_id in self._participants:
            return
        participant = self._add_participant(info)
        self.remote_participants_updated.fire(ParticipantsUpdatedEventArgs([participant], []))

    def on_participant_updated(self, info: ParticipantInfo) -> None:
        """Someone's media (streams) or name changed."""
        participant = self._participants.get(info.participant_id)
        if participant is not None:
            participant._update_streams(info)

    def on_participant_left(self, participant_id: str, reason: str) -> None:
        """Someone left (or their connection dropped)."""
        participant = self._participants.pop(participant_id, None)
        if participant is None:
            return
        if self._audio_in is not None:
            self._audio_in._remove_participant(participant_id)
        participant._finish()
        self.remote_participants_updated.fire(ParticipantsUpdatedEventArgs([], [participant]))
        if not self.is_group_call and not self._participants and self._state is CallState.CONNECTED:
            # A 1:1 (or ad-hoc) call ends for us when the last other party is gone.
            asyncio.get_running_loop().create_task(self._hang_up())

    def on_peer_state(self, participant_id: str, state: str) -> None:
        """A peer connection changed state."""
        participant = self._participants.get(participant_id)
        mapped = _PEER_STATES.get(state)
        if participant is not None and mapped is not None:
            participant._set_state(mapped)

    def on_video_frame(self, participant_id: str, slot: str, frame: av.VideoFrame) -> None:
        """A decoded video frame arrived."""
        participant = self._participants.get(participant_id)
        if participant is not None:
            stream = participant._stream(slot)
            if stream is not None:
                stream._offer(frame)

    def on_audio_frame(self, participant_id: str, frame: av.AudioFrame) -> None:
        """A decoded audio frame arrived."""
        audio_in = self._audio_in
        if audio_in is not None:
            audio_in._offer(participant_id, frame)

    def on_bandwidth_estimate(self, slot: str, bits_per_second: int) -> None:
        """The network's estimate for a slot's video: maybe change the stream's format."""
        stream = self._video.get(slot)
        if stream is not None and stream._on_bandwidth(bits_per_second):
            asyncio.get_running_loop().create_task(self._push_media())

    def on_ended(self, reason: str) -> None:
        """The call is over for us."""
        if self._state is CallState.DISCONNECTED:
            return
        self._end_reason = _END_REASONS.get(reason, CallEndReason.DISCONNECTED)
        if self._state is not CallState.DISCONNECTING:
            self._set_state(CallState.DISCONNECTING)
        self._release_streams()
        removed = list(self._participants.values())
        self._participants.clear()
        for participant in removed:
            participant._finish()
        if removed:
            self.remote_participants_updated.fire(ParticipantsUpdatedEventArgs([], removed))
        self._set_state(CallState.DISCONNECTED)
        self._agent._forget_call(self)

    def __repr__(self) -> str:
        return f"<Call {self._call_id or '?'} {self._state.name} {len(self._participants)} remote>"
