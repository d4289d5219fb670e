"""The mesh transport: one aiortc peer connection per pair of participants.

The newcomer offers to everyone already in the call; the others answer. Every
peer connection carries three transceivers in a fixed order (audio, camera
video, screen video), all ``sendrecv``, each fed by a slot track whose source
can change at any time, so starting and stopping media never renegotiates.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from . import receive
from .aiortc_internals import encoder_target_bitrate
from .base import (
    CAMERA,
    SCREEN,
    SLOTS,
    AgentListener,
    MediaInfo,
    OutgoingMedia,
    ParticipantInfo,
    SessionListener,
)
from .ice import host_addresses, rtc_configuration
from .signaling import SignalingClient, SignalingError
from .tracks import AudioSource, SlotAudioTrack, SlotVideoTrack, VideoSource

logger = logging.getLogger(__name__)

TRANSCEIVER_KINDS = ("audio", "video", "video")
BANDWIDTH_INTERVAL_S = 1.0


class PeerLink:
    """The peer connection between us and one remote participant."""

    def __init__(
        self,
        session: MeshSession,
        remote_id: str,
        *,
        offerer: bool,
    ) -> None:
        self.session = session
        self.remote_id = remote_id
        self.offerer = offerer
        self.pc = RTCPeerConnection(configuration=rtc_configuration(session.ice_servers))
        self.audio_track = SlotAudioTrack()
        self.video_tracks = {slot: SlotVideoTrack() for slot in SLOTS}
        self._pumps: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._pending_candidates: list[dict[str, Any]] = []
        self.closed = False

        @self.pc.on("connectionstatechange")
        def _on_state() -> None:
            state = self.pc.connectionState
            logger.debug("peer %s: %s", remote_id, state)
            session.listener.on_peer_state(remote_id, state)

        self.apply_sources()

    def apply_sources(self) -> None:
        """Point this link's slot tracks at the session's current sources."""
        self.audio_track.set_source(self.session.audio_source)
        for slot, track in self.video_tracks.items():
            source = self.session.video_sources.get(slot)
            had = track.source
            track.set_source(source)
            if source is not None and had is not source:
                sender = self._sender(1 + SLOTS.index(slot))
                if sender is not None:
                    sender._send_keyframe()

    def _sender(self, index: int) -> Any:
        transceivers = self.pc.getTransceivers()
        return transceivers[index].sender if index < len(transceivers) else None

    def _tracks_in_order(self) -> list[Any]:
        return [self.audio_track, self.video_tracks[CAMERA], self.video_tracks[SCREEN]]

    async def offer(self) -> None:
        async with self._lock:
            for kind, track in zip(TRANSCEIVER_KINDS, self._tracks_in_order(), strict=True):
                transceiver = self.pc.addTransceiver(kind, direction="sendrecv")
                transceiver.sender.replaceTrack(track)
            with host_addresses(self.session.ice_host_addresses):
                await self.pc.setLocalDescription(await self.pc.createOffer())
            await self._send_sdp()

    async def on_signal(self, data: dict[str, Any]) -> None:
        async with self._lock:
            if self.closed:
                return
            sdp = data.get("sdp")
            if isinstance(sdp, dict):
                description = RTCSessionDescription(sdp=str(sdp["sdp"]), type=str(sdp["type"]))
                await self.pc.setRemoteDescription(description)
                if description.type == "offer":
                    transceivers = self.pc.getTransceivers()
                    for transceiver, track in zip(
                        transceivers, self._tracks_in_order(), strict=False
                    ):
                        transceiver.direction = "sendrecv"
                        transceiver.sender.replaceTrack(track)
                    with host_addresses(self.session.ice_host_addresses):
                        await self.pc.setLocalDescription(await self.pc.createAnswer())
                    await self._send_sdp()
                self._start_pumps()
                for pending in self._pending_candidates:
                    await self._add_candidate(pending)
                self._pending_candidates.clear()
            candidate = data.get("candidate")
            if isinstance(candidate, dict):
                if self.pc.remoteDescription is None:
                    self._pending_candidates.append(candidate)
                else:
                    await self._add_candidate(candidate)

    async def _add_candidate(self, data: dict[str, Any]) -> None:
        text = str(data.get("candidate") or "")
        if not text:
            return  # end of candidates
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        try:
            candidate = candidate_from_sdp(text)
        except (ValueError, IndexError):
            logger.warning("peer %s: ignoring a malformed ICE candidate", self.remote_id)
            return
        candidate.sdpMid = data.get("sdpMid")
        candidate.sdpMLineIndex = data.get("sdpMLineIndex")
        await self.pc.addIceCandidate(candidate)

    async def _send_sdp(self) -> None:
        description = self.pc.localDescription
        await self.session.send_signal(
            self.remote_id, {"sdp": {"type": description.type, "sdp": description.sdp}}
        )

    def _start_pumps(self) -> None:
        if self._pumps:
            return
        listener = self.session.listener
        remote = self.remote_id
        transceivers: list[RTCRtpTransceiver] = self.pc.getTransceivers()
        loop = asyncio.get_running_loop()
        for index, transceiver in enumerate(transceivers[: len(TRANSCEIVER_KINDS)]):
            track = transceiver.receiver.track
            if track is None:
                continue
            if index == 0:
                coro = receive.pump_audio(track, functools.partial(listener.on_audio_frame, remote))
            else:
                deliver = functools.partial(listener.on_video_frame, remote, SLOTS[index - 1])
                coro = receive.pump_video(track, deliver)
            self._pumps.append(loop.create_task(coro, name=f"pump {remote} {index}"))

    def bandwidth(self, slot: str) -> int | None:
        sender = self._sender(1 + SLOTS.index(slot))
        return None if sender is None else encoder_target_bitrate(sender)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for pump in self._pumps:
            pump.cancel()
        for pump in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        self.audio_track.stop()
        for track in self.video_tracks.values():
            track.stop()
        # An offer or answer in flight is gathering candidates (opening sockets):
        # close once it is done, so that nothing it opens outlives the link.
        async with self._lock:
            await self.pc.close()


class MeshSession:
    """One call carried as a mesh of peer connections."""

    def __init__(
        self,
        transport: MeshTransport,
        call_id: str,
        participant_id: str,
        listener: SessionListener,
    ) -> None:
        self.transport = transport
        self.call_id = call_id
        self.participant_id = participant_id
        self.listener = listener
        self.ice_host_addresses = transport.ice_host_addresses
        self.ice_servers = transport.ice_servers
        self.links: dict[str, PeerLink] = {}
        self.video_sources: dict[str, VideoSource | None] = {slot: None for slot in SLOTS}
        self.audio_source: AudioSource | None = None
        self.connected = False
        self.ended = False
        self._bandwidth_task: asyncio.Task[None] | None = None

    # -- media --------------------------------------------------------------

    def set_video_source(self, slot: str, source: VideoSource | None) -> None:
        self.video_sources[slot] = source
        for link in self.links.values():
            link.apply_sources()

    def set_audio_source(self, source: AudioSource | None) -> None:
        self.audio_source = source
        for link in self.links.values():
            link.apply_sources()

    async def update_media(self, media: MediaInfo) -> None:
        self.transport.media[self.call_id] = media
        if self.connected and not self.ended:
            await self.transport.signaling.send(
                {"type": "update", "call_id": self.call_id, "media": media.to_wire()}
            )

    async def send_signal(self, to: str, data: dict[str, Any]) -> None:
        await self.transport.signaling.send(
            {"type": "signal", "call_id": self.call_id, "to": to, "data": data}
        )

    # -- roster ---------------------------------------------------------------

    async def on_joined(self, participants: Sequence[dict[str, Any]]) -> None:
        if self.ended:
            return  # left before the roster was handled: open no peer connection
        self.connected = True
        infos = [ParticipantInfo.from_wire(p) for p in participants]
        infos = [i for i in infos if i.participant_id != self.participant_id]
        self.listener.on_connected(infos)
        self._bandwidth_task = asyncio.get_running_loop().create_task(self._watch_bandwidth())
        media = self.transport.media.get(self.call_id)
        if media is not None and (media.audio or media.video):
            await self.update_media(media)
        await asyncio.gather(*(self._offer_to(info.participant_id) for info in infos))

    async def _offer_to(self, remote_id: str) -> None:
        link = PeerLink(self, remote_id, offerer=True)
        self.links[remote_id] = link
        try:
            await link.offer()
        except Exception:
            logger.exception("offer to %s failed", remote_id)
        if self.ended or self.links.get(remote_id) is not link:
            await link.close()  # the call ended (or the peer left) while offering

    async def handle(self, message: dict[str, Any]) -> None:
        if self.ended:
            return
        kind = message["type"]
        if kind == "_joined":
            await self.on_joined(message["participants"])
        elif kind == "participant_joined":
            info = ParticipantInfo.from_wire(message["participant"])
            if info.participant_id == self.participant_id:
                return
            if info.participant_id not in self.links:
                self.links[info.participant_id] = PeerLink(self, info.participant_id, offerer=False)
            if not self.connected:
                # An outgoing 1:1 call: the first callee to accept connects it.
                await self.on_joined([])
            self.listener.on_participant_joined(info)
        elif kind == "participant_updated":
            info = ParticipantInfo.from_wire(message["participant"])
            if info.participant_id != self.participant_id:
                self.listener.on_participant_updated(info)
        elif kind == "participant_left":
            remote_id = str(message["participant_id"])
            link = self.links.pop(remote_id, None)
            if link is not None:
                await link.close()
            self.listener.on_participant_left(remote_id, str(message.get("reason", "left")))
        elif kind == "signal":
            remote_id = str(message["from"])
            link = self.links.get(remote_id)
            if link is None:
                link = self.links[remote_id] = PeerLink(self, remote_id, offerer=False)
            data = message.get("data")
            if isinstance(data, dict):
                try:
                    await link.on_signal(data)
                except Exception:
                    logger.exception("signal from %s failed", remote_id)
        elif kind == "ringing":
            self.listener.on_ringing()
        elif kind == "call_ended":
            await self._end(str(message.get("reason", "ended")))

    async def _watch_bandwidth(self) -> None:
        while True:
            await asyncio.sleep(BANDWIDTH_INTERVAL_S)
            for slot in SLOTS:
                if self.video_sources.get(slot) is None:
                    continue
                rates = [link.bandwidth(slot) for link in self.links.values()]
                known = [r for r in rates if r is not None]
                if known:
                    self.listener.on_bandwidth_estimate(slot, min(known))

    async def _close_links(self) -> None:
        if self._bandwidth_task is not None:
            self._bandwidth_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bandwidth_task
            self._bandwidth_task = None
        links = list(self.links.values())
        self.links.clear()
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)

    async def _end(self, reason: str) -> None:
        if self.ended:
            return
        self.ended = True
        await self._close_links()
        self.transport.forget(self.call_id)
        self.listener.on_ended(reason)

    async def leave(self) -> None:
        if self.ended:
            return
        try:
            await self.transport.signaling.request({"type": "leave", "call_id": self.call_id})
        except SignalingError as exc:
            logger.info("leave %s: %s", self.call_id, exc)
        await self._end("left")


class MeshTransport:
    """One agent's signaling connection plus its mesh sessions (one per call)."""

    def __init__(
        self,
        endpoint: str,
        token: str,
        listener: AgentListener,
        *,
        ice_host_addresses: Sequence[str] | None,
        ice_servers: Sequence[str] = (),
    ) -> None:
        self.listener = listener
        self.ice_host_addresses = ice_host_addresses
        self.ice_servers = tuple(ice_servers)
        self.signaling = SignalingClient(endpoint, token, self._on_event)
        self.sessions: dict[str, MeshSession] = {}
        self.media: dict[str, MediaInfo] = {}
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self.user_id = ""
        self.closed_reason = ""
        """Why the service closed the connection ("" while it is open)."""

    async def connect(self) -> None:
        """Open and authenticate the signaling connection."""
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
        self.signaling.on_closed = self._on_closed
        await self.signaling.connect()
        self.user_id = self.signaling.user_id

    def _on_event(self, message: dict[str, Any]) -> None:
        # Events are handled one after another, in order, by the dispatcher task.
        self._queue.put_nowait(message)

    def _on_closed(self, reason: str) -> None:
        self._queue.put_nowait({"type": "_closed", "reason": reason})

    async def _dispatch(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._handle(message)
            except Exception:
                logger.exception("handling %s failed", message.get("type"))

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "incoming_call":
            caller = message.get("caller") or {}
            self.listener.on_incoming_call(
                str(message["call_id"]),
                str(caller.get("user_id", "")),
                str(caller.get("display_name", "")),
            )
        elif kind == "incoming_call_ended":
            self.listener.on_incoming_call_ended(
                str(message["call_id"]), str(message.get("reason", ""))
            )
        elif kind == "_closed":
            self.closed_reason = str(message["reason"])
            for session in list(self.sessions.values()):
                await session._end("disconnected")
            if self.user_id:  # a connection refused at auth was never "lost"
                self.listener.on_disconnected(self.closed_reason)
        else:
            call_id = message.get("call_id")
            target = self.sessions.get(str(call_id)) if call_id is not None else None
            if target is not None:
                await target.handle(message)
            else:
                logger.debug("ignoring %s for unknown call %s", kind, call_id)

    async def _open(
        self,
        request: dict[str, Any],
        media: OutgoingMedia,
        listener: SessionListener,
    ) -> MeshSession:
        opened: list[MeshSession] = []

        def on_reply(reply: dict[str, Any]) -> None:
            # Runs in the reader, in order: events after the reply find the session.
            call_id = str(reply["call_id"])
            session = MeshSession(self, call_id, str(reply["participant_id"]), listener)
            listener.on_session(session)
            self.sessions[call_id] = session
            self.media[call_id] = media.info
            session.video_sources.update(media.video_sources)
            session.audio_source = media.audio_source
            opened.append(session)
            if reply["type"] == "joined":
                self._queue.put_nowait(
                    {"type": "_joined", "call_id": call_id, "participants": reply["participants"]}
                )

        await self.signaling.request(request, on_reply=on_reply)
        return opened[0]

    async def join(
        self, group_id: str, display_name: str, media: OutgoingMedia, listener: SessionListener
    ) -> MeshSession:
        return await self._open(
            {"type": "join", "group_id": group_id, "display_name": display_name}, media, listener
        )

    async def start_call(
        self, targets: list[str], display_name: str, media: OutgoingMedia, listener: SessionListener
    ) -> MeshSession:
        return await self._open(
            {"type": "start_call", "targets": targets, "display_name": display_name},
            media,
            listener,
        )

    async def accept(
        self, call_id: str, display_name: str, media: OutgoingMedia, listener: SessionListener
    ) -> MeshSession:
        return await self._open(
            {"type": "accept", "call_id": call_id, "display_name": display_name}, media, listener
        )

    async def reject(self, call_id: str) -> None:
        await self.signaling.request({"type": "reject", "call_id": call_id})

    def forget(self, call_id: str) -> None:
        self.sessions.pop(call_id, None)
        self.media.pop(call_id, None)

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            await session.leave()
        await self.signaling.close()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
