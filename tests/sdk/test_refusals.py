"""Every bad input gets an error that says what was expected, and nothing else breaks."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from engine_plugin import (
    AcceptCallOptions,
    AudioStreamBufferDuration,
    AudioStreamChannelMode,
    AudioStreamSampleRate,
    AudioStreamState,
    AuthenticationError,
    CallAgentOptions,
    CallClient,
    CallEndReason,
    CallState,
    CommunicationTokenCredential,
    GroupCallLocator,
    IncomingAudioOptions,
    IncomingVideoOptions,
    InvalidAudioBufferError,
    InvalidAudioFormatError,
    InvalidStateError,
    InvalidVideoFormatError,
    InvalidVideoFrameError,
    JoinCallOptions,
    OutgoingAudioOptions,
    OutgoingVideoOptions,
    ParticipantsUpdatedEventArgs,
    RawAudioBuffer,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStream,
    RawOutgoingAudioStreamOptions,
    RawOutgoingAudioStreamProperties,
    RawOutgoingVideoStreamOptions,
    RawVideoFrameBuffer,
    RawVideoFrameReceivedEventArgs,
    ScreenShareOutgoingVideoStream,
    SdkThreadWaitError,
    StartCallOptions,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.media.test_patterns import ToneGenerator, pattern_frame, tone_level_db
from engine_plugin.testing import PatternSender
from engine_plugin.tokens import issue_token

from ..conftest import wait_until
from .call_helpers import CallWatcher, PatternRecorder
from .media_helpers import AudioRecorder

RES = VideoStreamResolution
PIX = VideoStreamPixelFormat
RGBA_IN = IncomingVideoOptions(pixel_format=PIX.RGBA)


def _group() -> GroupCallLocator:
    return GroupCallLocator(str(uuid.uuid4()))


def _assert_service_works(make_agent: Any) -> None:
    """Two new agents meet in a new group call."""
    group = _group()
    one, two = make_agent("Check 1"), make_agent("Check 2")
    calls = [one.join(group).result(10), two.join(group).result(10)]
    wait_until(
        lambda: all(len(c.remote_participants) == 1 for c in calls), what="the service works"
    )
    for call in calls:
        call.hang_up().result(10)


# --------------------------------------------------------------------------- tokens


@pytest.mark.timeout(60)
def test_bad_tokens_are_refused_with_the_reason_and_the_service_goes_on(
    service, identity, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    client = CallClient()
    user, token = identity.create_user_and_token(["voip"])
    header, payload, signature = token.token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    expired, _ = issue_token(
        service.access_key,
        user_id=user.raw_id,
        scopes=["voip"],
        endpoint=service.endpoint,
        generation=0,
        lifetime_s=600,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    other_key, _ = issue_token(
        b"not the service's access key!!!!",
        user_id=user.raw_id,
        scopes=["voip"],
        endpoint=service.endpoint,
        generation=0,
    )
    chat_only = identity.get_token(user, ["chat"]).token
    revoked_user, revoked = identity.create_user_and_token(["voip"])
    identity.revoke_tokens(revoked_user)
    deleted_user, deleted = identity.create_user_and_token(["voip"])
    identity.delete_user(deleted_user)

    cases = {
        "forged": (forged, "token refused: token signature does not match this service's key"),
        "expired": (expired, "the token has expired; ask for a new one"),
        "other key": (
            other_key,
            "token refused: token signature does not match this service's key",
        ),
        "chat only": (
            chat_only,
            "token refused: the token's scopes ['chat'] do not include 'voip'",
        ),
        "revoked": (revoked.token, "token refused: the token has been revoked; get a new one"),
        "deleted": (deleted.token, "token refused: the token's user does not exist (deleted?)"),
    }
    for name, (bad, message) in cases.items():
        with pytest.raises(AuthenticationError) as err:
            client.create_call_agent(CommunicationTokenCredential(bad)).result(10)
        assert str(err.value) == message, name
        _assert_service_works(make_agent)

    # Not tokens at all: refused at once, before any connection.
    for garbage, message in (
        ("garbage", "a token has three dot-separated parts, this one has 1"),
        ("a.b.c", "token header is not base64url text"),
        (token.token + ".x", "a token has three dot-separated parts, this one has 4"),
    ):
        with pytest.raises(AuthenticationError) as err:
            CommunicationTokenCredential(garbage)
        assert str(err.value) == f"the token is not a calling service token: {message}"
    for empty in ("", None):
        with pytest.raises(AuthenticationError) as err:
            CommunicationTokenCredential(empty)  # type: ignore[arg-type]
        assert str(err.value) == "CommunicationTokenCredential needs a non-empty token string"
    with pytest.raises(TypeError) as type_err:
        client.create_call_agent(token.token)  # type: ignore[arg-type]
    assert str(type_err.value) == (
        "create_call_agent expects a CommunicationTokenCredential, got str"
    )
    # The good token still works, and so does the service.
    agent = client.create_call_agent(CommunicationTokenCredential(token.token)).result(10)
    assert agent.identifier == user
    agent.dispose()
    _assert_service_works(make_agent)


@pytest.mark.timeout(60)
def test_revoking_a_connected_users_tokens_cuts_it_off(
    service, identity, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    group = _group()
    alice, dave = make_agent("Alice"), make_agent("Dave")
    watcher = CallWatcher(dave)
    a = alice.join(group).result(10)
    d = dave.join(group).result(10)
    wait_until(lambda: len(a.remote_participants) == 1, what="dave in alice's call")
    identity.revoke_tokens(dave.identifier)
    wait_until(lambda: d.state is CallState.DISCONNECTED, what="dave cut off")
    assert watcher.states(d) == [
        CallState.CONNECTING,
        CallState.CONNECTED,
        CallState.DISCONNECTING,
        CallState.DISCONNECTED,
    ]
    assert d.call_end_reason is CallEndReason.DISCONNECTED
    wait_until(lambda: not a.remote_participants, what="dave leaves alice's roster")
    assert a.state is CallState.CONNECTED
    with pytest.raises(InvalidStateError) as err:
        dave.join(group)
    assert str(err.value) == (
        "the calling service closed this agent's connection (unauthorized); "
        "create a new agent (with a fresh token if it was revoked)"
    )
    assert dave.calls == []
    # A new token works again, and Alice's call goes on.
    fresh = identity.get_token(dave.identifier, ["voip"])
    dave2 = (
        CallClient()
        .create_call_agent(
            CommunicationTokenCredential(fresh.token), CallAgentOptions("Dave again")
        )
        .result(10)
    )
    try:
        d2 = dave2.join(group).result(10)
        wait_until(lambda: len(a.remote_participants) == 1, what="dave back")
        d2.hang_up().result(10)
    finally:
        dave2.dispose()
    a.hang_up().result(10)


# --------------------------------------------------------------------------- formats


def _fmt(**kw: Any) -> VideoStreamFormat:
    return VideoStreamFormat(**{"pixel_format": PIX.RGBA, **kw})


@pytest.mark.parametrize(
    ("cls", "formats", "message"),
    [
        (
            VirtualOutgoingVideoStream,
            [],
            "at least one VideoStreamFormat expected in formats; got an empty list",
        ),
        (
            VirtualOutgoingVideoStream,
            [_fmt(resolution=RES.P180, frames_per_second=30)],
            "formats[0]: frames_per_second must be from 1 to 15 (at most 15 at P180); got 30",
        ),
        (
            VirtualOutgoingVideoStream,
            [_fmt(resolution=RES.P360), _fmt(resolution=RES.P720, frames_per_second=31)],
            "formats[1]: frames_per_second must be from 1 to 30 (at most 30 at P720); got 31",
        ),
        (
            VirtualOutgoingVideoStream,
            [_fmt(resolution=RES.P360, frames_per_second=0)],
            "formats[0]: frames_per_second must be from 1 to 30 (at most 30 at P360); got 0",
        ),
        (
            VirtualOutgoingVideoStream,
            [_fmt(resolution=RES.P360, width=600)],
            "formats[0]: width 600 does not match resolution P360 (640x360); "
            "leave width at 0 or set it to 640",
        ),
        (
            VirtualOutgoingVideoStream,
            [_fmt(resolution=RES.P180, frames_per_second=15, stride1=1000)],
            "formats[0]: stride1 is 1000 bytes but an RGBA row of 320 pixels needs at least "
            "1280 bytes",
        ),
        (
            VirtualOutgoingVideoStream,
            [_fmt(resolution=RES.P180, frames_per_second=15, pixel_format=PIX.I420, stride2=100)],
            "formats[0]: stride2 is 100 bytes but an I420 U row (frame 320 pixels wide) needs "
            "at least 160 bytes",
        ),
        (
            ScreenShareOutgoingVideoStream,
            [_fmt(width=1922, height=1080)],
            "formats[0]: a screen share's width must be an even number from 2 to 1920 "
            "(at most 1920x1080); got 1922",
        ),
        (
            ScreenShareOutgoingVideoStream,
            [_fmt(width=1920, height=1200)],
            "formats[0]: a screen share's height must be an even number from 2 to 1080 "
            "(at most 1920x1080); got 1200",
        ),
        (
            ScreenShareOutgoingVideoStream,
            [_fmt(width=1920, height=1080, frames_per_second=60)],
            "formats[0]: frames_per_second must be from 1 to 30 (at most 30 for a screen "
            "share); got 60",
        ),
    ],
    ids=lambda v: None,
)
def test_bad_outgoing_video_formats_are_refused(cls: Any, formats: Any, message: str) -> None:
    with pytest.raises(InvalidVideoFormatError) as err:
        cls(RawOutgoingVideoStreamOptions(formats=formats))
    assert str(err.value) == message


def test_other_bad_stream_constructions_are_refused() -> None:
    with pytest.raises(InvalidVideoFormatError) as err:
        VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[_fmt(width=640)]))
    assert str(err.value).startswith(
        "formats[0]: a virtual outgoing stream needs a resolution (one of P1080, P720"
    )
    assert str(err.value).endswith(
        "got UNKNOWN with width/height 640x0 (use a screen-share stream for custom sizes)"
    )
    with pytest.raises(InvalidVideoFormatError) as err:
        VirtualOutgoingVideoStream(
            RawOutgoingVideoStreamOptions(formats=_fmt(resolution=RES.P360))  # type: ignore[arg-type]
        )
    assert str(err.value) == (
        "formats must be a list of VideoStreamFormat; got a single VideoStreamFormat "
        "(wrap it in a list)"
    )
    with pytest.raises(TypeError) as type_err:
        VirtualOutgoingVideoStream([_fmt(resolution=RES.P360)])  # type: ignore[arg-type]
    assert str(type_err.value) == "expected RawOutgoingVideoStreamOptions, got list"
    with pytest.raises(InvalidAudioFormatError) as audio_err:
        RawOutgoingAudioStream(
            RawOutgoingAudioStreamOptions(
                properties=RawOutgoingAudioStreamProperties(
                    sample_rate=AudioStreamSampleRate.HZ_22050,
                    buffer_duration=AudioStreamBufferDuration.IN_MS10,
                )
            )
        )
    assert str(audio_err.value) == (
        "22050 Hz with 10 ms buffers would need 220.5 samples per buffer; use "
        "AudioStreamBufferDuration.IN_MS20 or another sample rate"
    )


# --------------------------------------------------------------------------- frames


class ManualVideo:
    """Sends numbered P180 frames from the test thread and checks they arrive."""

    def __init__(self, stream: VirtualOutgoingVideoStream, recorder: PatternRecorder) -> None:
        self.stream = stream
        self.recorder = recorder
        self.number = 0

    def frame(self, number: int | None = None, **fmt_changes: Any) -> RawVideoFrameBuffer:
        fmt = self.stream.format.with_(**fmt_changes) if fmt_changes else self.stream.format
        rgba = pattern_frame(320, 180, self.number if number is None else number, seed=9)
        return RawVideoFrameBuffer(
            buffers=[rgba], stream_format=fmt, timestamp_in_ticks=self.stream.timestamp_in_ticks
        )

    def send_and_see(self, count: int = 6, padded_stride: int = 0) -> None:
        """Send ``count`` valid frames at 15 fps; the first must reach the remote intact."""
        first = self.number
        for _ in range(count):
            frame = self.frame()
            if padded_stride:
                padded = np.zeros((180, padded_stride), dtype=np.uint8)
                padded[:, : 320 * 4] = np.asarray(frame.buffers[0]).reshape(180, -1)
                frame = RawVideoFrameBuffer(
                    buffers=[padded],
                    stream_format=self.stream.format.with_(stride1=padded_stride),
                    timestamp_in_ticks=self.stream.timestamp_in_ticks,
                )
            self.stream.send_raw_video_frame(frame).result(1)
            self.number += 1
            time.sleep(1 / 15)  # the sender's own pacing, not synchronisation
        wait_until(
            lambda: any((f.number or -1) >= first for f in self.recorder.frames()),
            timeout=5,
            what=f"frame {first} or later at the remote",
        )
        arrived = [f for f in self.recorder.frames() if (f.number or -1) >= first]
        assert arrived[0].width == 320 and arrived[0].height == 180
        assert min(f.psnr for f in arrived) >= 30, [f.psnr for f in arrived]


@pytest.mark.timeout(60)
def test_bad_frames_and_buffers_are_refused_and_the_streams_keep_working(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_agent("Alice"), make_agent("Bob")
    video = VirtualOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(formats=[_fmt(resolution=RES.P180, frames_per_second=15)])
    )
    audio = RawOutgoingAudioStream(
        RawOutgoingAudioStreamOptions(properties=RawOutgoingAudioStreamProperties())
    )
    assert audio.expected_buffer_size_in_bytes == 3840
    recorder = PatternRecorder(seed=9)
    CallWatcher(bob, lambda p, s: recorder.attach(s))
    listen = RawIncomingAudioStream(
        RawIncomingAudioStreamOptions(
            properties=RawIncomingAudioStreamProperties(
                sample_rate=AudioStreamSampleRate.HZ_16000,
                channel_mode=AudioStreamChannelMode.MONO,
            )
        )
    )
    heard = AudioRecorder(listen)
    manual = ManualVideo(video, recorder)
    tone = ToneGenerator(440.0, 48000, 2)

    def pcm(ms: int) -> bytes:
        return bytes(tone.next_chunk(48 * ms).tobytes())

    # Not attached to any call.
    with pytest.raises(InvalidStateError) as state_err:
        video.send_raw_video_frame(manual.frame())
    assert str(state_err.value) == (
        "send_raw_video_frame needs the stream in STARTED, but it is NOT_AVAILABLE; "
        "send after state_changed reports STARTED"
    )

    # Attached to a call that is still ringing: AVAILABLE / STOPPED, not yet sending.
    incoming: list[Any] = []
    bob.incoming_call_received += lambda a: incoming.append(a.incoming_call)
    call = alice.start_call(
        [bob.identifier],
        StartCallOptions(
            outgoing_video_options=OutgoingVideoOptions(streams=[video]),
            outgoing_audio_options=OutgoingAudioOptions(stream=audio),
        ),
    ).result(10)
    wait_until(lambda: call.state is CallState.RINGING, what="ringing")
    assert video.state is VideoStreamState.AVAILABLE
    with pytest.raises(InvalidStateError) as state_err:
        video.send_raw_video_frame(manual.frame())
    assert "needs the stream in STARTED, but it is AVAILABLE" in str(state_err.value)
    with pytest.raises(InvalidStateError) as state_err:
        audio.send_raw_audio_buffer(RawAudioBuffer(pcm(20)))
    assert str(state_err.value) == (
        "send_raw_audio_buffer needs the stream STARTED, but it is STOPPED; "
        "send after state_changed reports STARTED"
    )

    wait_until(lambda: incoming, what="bob rung")
    answered = (
        incoming[0]
        .accept(
            AcceptCallOptions(
                incoming_video_options=RGBA_IN,
                incoming_audio_options=IncomingAudioOptions(stream=listen),
            )
        )
        .result(10)
    )
    wait_until(
        lambda: video.state is VideoStreamState.STARTED and audio.state is AudioStreamState.STARTED,
        what="streams STARTED",
    )
    manual.send_and_see()

    size_hint = "send frames of the current format (see format_changed)"
    bad_frames: list[tuple[Any, type[Exception], str]] = [
        (
            manual.frame(resolution=RES.P360),
            InvalidVideoFrameError,
            f"frame is 640x360 RGBA but the stream's current format is 320x180 RGBA; {size_hint}",
        ),
        (
            manual.frame(pixel_format=PIX.BGRX),
            InvalidVideoFrameError,
            f"frame is 320x180 BGRX but the stream's current format is 320x180 RGBA; {size_hint}",
        ),
        (
            RawVideoFrameBuffer(
                buffers=[np.zeros(320 * 180), np.zeros(320 * 90)],
                stream_format=video.format,
            ),
            InvalidVideoFrameError,
            "an RGBA frame needs 1 buffer; got 2",
        ),
        (
            manual.frame(stride1=320 * 4 - 4),
            InvalidVideoFrameError,
            "frame.stream_format: stride1 is 1276 bytes but an RGBA row of 320 pixels needs "
            "at least 1280 bytes",
        ),
        (
            RawVideoFrameBuffer(buffers=[bytes(1000)], stream_format=video.format),
            InvalidVideoFrameError,
            "buffers[0] (RGBA) holds 1000 bytes but plane 1 of a 320x180 RGBA frame with "
            "stride1 1280 needs exactly 230400 bytes",
        ),
        (
            RawVideoFrameBuffer(buffers=[[0] * 10], stream_format=video.format),
            InvalidVideoFrameError,
            "buffers[0] (RGBA) is a list, which has no buffer protocol; use bytes, bytearray, "
            "memoryview or a numpy array",
        ),
        (
            RawVideoFrameBuffer(buffers=[bytes(230400)]),
            InvalidVideoFrameError,
            "frame.stream_format must be a VideoStreamFormat (e.g. stream_format=stream.format); "
            "got None",
        ),
        (bytes(230400), TypeError, "expected a RawVideoFrameBuffer, got bytes"),
    ]
    for frame, error, message in bad_frames:
        with pytest.raises(error) as err:
            video.send_raw_video_frame(frame)
        assert str(err.value) == message
        assert video.state is VideoStreamState.STARTED
        manual.send_and_see()
    # A larger stride (padded rows) is fine: the padding never shows.
    manual.send_and_see(padded_stride=320 * 4 + 64)
    assert answered.state is CallState.CONNECTED

    # Audio: one duration or a whole multiple up to 100 ms, nothing else.
    expected = (
        "expected 3840 bytes (48000 Hz stereo 16-bit, 20 ms) or a whole multiple of it "
        "up to 100 ms (19200 bytes); got {}"
    )
    for size in (1000, 3841, 110 * 192, 0):
        with pytest.raises(InvalidAudioBufferError) as audio_err:
            audio.send_raw_audio_buffer(RawAudioBuffer(bytes(size)))
        assert str(audio_err.value) == expected.format(size)
    assert audio.state is AudioStreamState.STARTED
    before = len(heard)
    for _ in range(12):  # 1.2 s of tone in 100 ms buffers, paced in real time
        audio.send_raw_audio_buffer(RawAudioBuffer(pcm(100))).result(1)
        time.sleep(0.1)
    wait_until(lambda: len(heard) >= before + 50, what="1 s of audio at bob")
    assert tone_level_db(heard.tail(25), 16000, 1, 440.0) > -30

    call.hang_up().result(10)
    with pytest.raises(InvalidStateError, match="but it is NOT_AVAILABLE"):
        video.send_raw_video_frame(manual.frame())
    with pytest.raises(InvalidStateError, match="but it is STOPPED"):
        audio.send_raw_audio_buffer(RawAudioBuffer(pcm(20)))
    answered.hang_up().result(10)


# --------------------------------------------------------------------------- threads


@pytest.mark.timeout(60)
def test_waiting_inside_a_handler_raises_instead_of_deadlocking(
    service, no_thread_leak, make_agent
) -> None:  # type: ignore[no-untyped-def]
    group = _group()
    alice, bob, carol = make_agent("Alice"), make_agent("Bob"), make_agent("Carol")
    alice_video = VirtualOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(formats=[_fmt(resolution=RES.P180, frames_per_second=15)])
    )
    carol_video = VirtualOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(formats=[_fmt(resolution=RES.P180, frames_per_second=15)])
    )
    lock = threading.Lock()
    caught: dict[str, list[Any]] = {"bob": [], "carol": [], "alice": []}
    done: list[BaseException | None] = []

    def bob_handler(call: Any, args: ParticipantsUpdatedEventArgs) -> None:
        if not args.added_participants or caught["bob"]:
            return
        started = time.monotonic()
        for attempt in (lambda: call.hang_up().result(1), bob.dispose):
            try:
                attempt()
            except Exception as exc:
                with lock:
                    caught["bob"].append((exc, time.monotonic() - started))

    def carol_handler(call: Any, args: ParticipantsUpdatedEventArgs) -> None:
        if not args.added_participants or caught["carol"]:
            return
        op = call.start_video(carol_video)
        try:
            op.result(1)
        except Exception as exc:
            with lock:
                caught["carol"].append(exc)
        op.add_done_callback(lambda o: done.append(o.exception()))

    def on_roster(agent: Any, handler: Any) -> None:
        def on_calls(args: Any) -> None:
            for call in args.added_calls:
                call.remote_participants_updated += lambda a, c=call: handler(c, a)

        agent.calls_updated += on_calls

    on_roster(bob, bob_handler)
    on_roster(carol, carol_handler)
    at_carol, at_alice = PatternRecorder(seed=1), PatternRecorder(seed=2)
    CallWatcher(carol, lambda p, s: at_carol.attach(s))
    alice_watch = CallWatcher(alice, lambda p, s: at_alice.attach(s))
    senders = [PatternSender(alice_video, 15, seed=1), PatternSender(carol_video, 15, seed=2)]
    try:
        a = alice.join(
            group,
            JoinCallOptions(
                outgoing_video_options=OutgoingVideoOptions(streams=[alice_video]),
                incoming_video_options=RGBA_IN,
            ),
        ).result(10)

        def alice_frame_handler(args: RawVideoFrameReceivedEventArgs) -> None:
            if caught["alice"]:
                return
            try:  # on a delivery thread; starting the stream already sent is a no-op
                a.start_video(alice_video).result(1)
            except Exception as exc:
                with lock:
                    caught["alice"].append(exc)

        def on_new_stream(_participant: Any, stream: Any) -> None:
            stream.raw_video_frame_received += alice_frame_handler
            at_alice.attach(stream)

        alice_watch.on_new_stream = on_new_stream
        # Bob's handler asks to hang up and to dispose, and waits: both refused.
        b = bob.join(group).result(10)
        wait_until(lambda: b.state is CallState.DISCONNECTED, what="bob's hang-up still runs")
        (wait_error, elapsed), (dispose_error, _) = caught["bob"]
        assert isinstance(wait_error, SdkThreadWaitError)
        assert str(wait_error) == (
            "hang_up.result() was called on the SDK's event loop thread (inside an event "
            "handler), where waiting would deadlock; await it from asyncio code, use "
            "add_done_callback(), or wait from an application thread"
        )
        assert elapsed < 0.5, "the handler was not held for the timeout"
        assert isinstance(dispose_error, InvalidStateError)
        assert str(dispose_error) == (
            "dispose() was called on an SDK thread (inside an event handler); call it from "
            "an application thread"
        )

        # Carol's handler starts her video and tries to wait: refused, but the
        # operation itself goes on and the call works both ways.
        c = carol.join(group, JoinCallOptions(incoming_video_options=RGBA_IN)).result(10)
        wait_until(
            lambda: len(at_carol.frames()) >= 25 and len(at_alice.frames()) >= 25,
            timeout=15,
            what="video both ways after the refused waits",
        )
        assert c.state is CallState.CONNECTED and a.state is CallState.CONNECTED
        # Bob's refused wait did not stop his hang-up from reaching the service.
        assert alice_watch.roster(a) == [
            ("added", ("Bob",)),
            ("removed", ("Bob",)),
            ("added", ("Carol",)),
        ]
    finally:
        for sender in senders:
            sender.stop()
    (carol_error,) = caught["carol"]
    assert isinstance(carol_error, SdkThreadWaitError)
    assert str(carol_error).startswith("start_video.result() was called on the SDK's event loop")
    assert done == [None], "the operation completed and add_done_callback saw it"
    assert carol_video.state is VideoStreamState.STARTED
    (alice_error,) = caught["alice"]
    assert isinstance(alice_error, SdkThreadWaitError)
    assert "on the SDK's delivery (engine_plugin-video-" in str(alice_error)
    for recorder in (at_carol, at_alice):
        settled = recorder.settled(after_s=0.5)
        assert settled and min(f.psnr for f in settled) >= 30
    for call in (a, c):
        call.hang_up().result(10)
