"""``SyntheticParticipant``: a real agent that joins a call and sends a known pattern and tone."""

from __future__ import annotations

import logging
import queue
from types import TracebackType

from ..identity import CommunicationIdentityClient, CommunicationUserIdentifier
from ..media.audio_format import (
    AudioStreamChannelMode,
    AudioStreamSampleRate,
    RawOutgoingAudioStreamProperties,
)
from ..media.video_format import VideoStreamFormat, VideoStreamPixelFormat, VideoStreamResolution
from ..sdk.call import Call
from ..sdk.call_agent import CallAgent, IncomingCall
from ..sdk.call_client import CallClient, CommunicationTokenCredential
from ..sdk.incoming_audio import RawIncomingAudioStream
from ..sdk.options import (
    AcceptCallOptions,
    CallAgentOptions,
    GroupCallLocator,
    IncomingAudioOptions,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingAudioOptions,
    OutgoingVideoOptions,
    RawOutgoingAudioStreamOptions,
    RawOutgoingVideoStreamOptions,
    StartCallOptions,
)
from ..sdk.outgoing_audio import RawOutgoingAudioStream
from ..sdk.outgoing_video import VirtualOutgoingVideoStream
from .senders import PatternSender, ToneSender

logger = logging.getLogger(__name__)


class SyntheticParticipant:
    """Someone else in the call, for tests: sends ``pattern_frame`` video and a sine tone.

        with SyntheticParticipant(service.connection_string, "Bot") as bot:
            bot.join("room")

    Its frames carry their number (read it back with ``find_pattern``) and its
    tone is found with ``find_tone``. ``leave()`` hangs up; closing disposes
    the agent.
    """

    def __init__(
        self,
        connection_string: str,
        display_name: str = "Synthetic participant",
        *,
        resolution: VideoStreamResolution = VideoStreamResolution.P360,
        fps: int = 30,
        tone_hz: float | None = 440.0,
        seed: int = 0,
        stamp_clock: bool = False,
    ) -> None:
        identity = CommunicationIdentityClient.from_connection_string(connection_string)
        user, token = identity.create_user_and_token(["voip"])
        self.user_id = user.raw_id
        """This participant's user id (``8:acs:...``): whom to call."""
        self.agent: CallAgent = (
            CallClient()
            .create_call_agent(
                CommunicationTokenCredential(token.token),
                CallAgentOptions(display_name=display_name),
            )
            .result(10)
        )
        fmt = VideoStreamFormat(
            resolution=resolution,
            pixel_format=VideoStreamPixelFormat.RGBA,
            frames_per_second=min(fps, resolution.max_frames_per_second),
        )
        self.video = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
        self.audio: RawOutgoingAudioStream | None = None
        if tone_hz is not None:
            self.audio = RawOutgoingAudioStream(
                RawOutgoingAudioStreamOptions(
                    properties=RawOutgoingAudioStreamProperties(
                        sample_rate=AudioStreamSampleRate.HZ_48000,
                        channel_mode=AudioStreamChannelMode.MONO,
                    )
                )
            )
        self.tone_hz = tone_hz
        self.seed = seed
        self.stamp_clock = stamp_clock
        self.call: Call | None = None
        self._incoming: queue.Queue[IncomingCall] = queue.Queue()
        self.agent.incoming_call_received += lambda args: self._incoming.put(args.incoming_call)
        self.pattern: PatternSender | None = None
        self.tone: ToneSender | None = None

    def join(
        self,
        group_id: str,
        *,
        incoming_audio: RawIncomingAudioStream | None = None,
        incoming_video: IncomingVideoOptions | None = None,
    ) -> Call:
        """Join the group call ``group_id`` and start sending.

        ``incoming_audio`` (optional) receives the others' audio;
        ``incoming_video`` (optional) says how their video arrives.
        """
        options = JoinCallOptions()
        self._fill(options, incoming_audio, incoming_video)
        self.call = self.agent.join(GroupCallLocator(group_id), options).result(10)
        self._start_sending()
        return self.call

    def answer(
        self,
        timeout: float = 10.0,
        *,
        incoming_audio: RawIncomingAudioStream | None = None,
        incoming_video: IncomingVideoOptions | None = None,
    ) -> Call:
        """Accept the next call that rings this participant and start sending.

        Raises ``TimeoutError`` when nothing rings within ``timeout`` seconds.
        """
        try:
            incoming = self._incoming.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no call rang {self.agent} within {timeout} s") from None
        options = AcceptCallOptions()
        self._fill(options, incoming_audio, incoming_video)
        self.call = incoming.accept(options).result(10)
        self._start_sending()
        return self.call

    def start_call(
        self,
        user_id: str,
        *,
        incoming_audio: RawIncomingAudioStream | None = None,
        incoming_video: IncomingVideoOptions | None = None,
    ) -> Call:
        """Ring ``user_id`` (``8:acs:...``) and start sending once the call is made."""
        options = StartCallOptions()
        self._fill(options, incoming_audio, incoming_video)
        target = CommunicationUserIdentifier(user_id)
        self.call = self.agent.start_call([target], options).result(10)
        self._start_sending()
        return self.call

    def _fill(
        self,
        options: JoinCallOptions | AcceptCallOptions | StartCallOptions,
        incoming_audio: RawIncomingAudioStream | None,
        incoming_video: IncomingVideoOptions | None,
    ) -> None:
        options.outgoing_video_options = OutgoingVideoOptions(streams=[self.video])
        if self.audio is not None:
            options.outgoing_audio_options = OutgoingAudioOptions(stream=self.audio)
        if incoming_audio is not None:
            options.incoming_audio_options = IncomingAudioOptions(stream=incoming_audio)
        options.incoming_video_options = incoming_video

    def _start_sending(self) -> None:
        fps = round(self.video.format.frames_per_second)
        self.pattern = PatternSender(self.video, fps, seed=self.seed, stamp_clock=self.stamp_clock)
        if self.audio is not None and self.tone_hz is not None:
            self.tone = ToneSender(self.audio, self.tone_hz)

    def leave(self) -> None:
        """Stop sending and hang up."""
        for sender in (self.pattern, self.tone):
            if sender is not None:
                sender.stop()
        self.pattern = self.tone = None
        if self.call is not None:
            self.call.hang_up().result(10)
            self.call = None

    def close(self) -> None:
        """Leave and dispose of the agent."""
        self.leave()
        self.agent.dispose()

    def __enter__(self) -> SyntheticParticipant:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
