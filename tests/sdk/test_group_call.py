"""Three agents in a group call through the real service and real aiortc."""

from __future__ import annotations

import statistics
import uuid

import pytest

from engine_plugin import (
    CallState,
    GroupCallLocator,
    IncomingVideoOptions,
    JoinCallOptions,
    MediaStreamType,
    OutgoingVideoOptions,
    ParticipantsUpdatedEventArgs,
    RawOutgoingVideoStreamOptions,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.testing import PatternSender

from ..conftest import wait_until
from .media_helpers import FrameRecorder


def _video_stream() -> VirtualOutgoingVideoStream:
    fmt = VideoStreamFormat(
        resolution=VideoStreamResolution.P360,
        pixel_format=VideoStreamPixelFormat.RGBA,
        frames_per_second=30,
    )
    return VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))


def _watch(call, recorder: FrameRecorder) -> None:  # type: ignore[no-untyped-def]
    def on_participants(args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:

            def on_stream(a, recorder=recorder) -> None:  # type: ignore[no-untyped-def]
                if a.stream.state is VideoStreamState.AVAILABLE:
                    recorder.attach(a.stream)

            participant.video_stream_state_changed += on_stream
            for stream in participant.incoming_video_streams:
                recorder.attach(stream)

    call.remote_participants_updated += on_participants
    for participant in call.remote_participants:
        on_participants(ParticipantsUpdatedEventArgs([participant], []))


@pytest.mark.timeout(60)
def test_pattern_reaches_two_receivers_in_rgba_and_i420(make_agent) -> None:  # type: ignore[no-untyped-def]
    group = GroupCallLocator(str(uuid.uuid4()))
    alice, bob, carol = make_agent("Alice"), make_agent("Bob"), make_agent("Carol")

    rgba = FrameRecorder(VideoStreamPixelFormat.RGBA)
    i420 = FrameRecorder(VideoStreamPixelFormat.I420)
    bob_call = bob.join(
        group,
        JoinCallOptions(
            incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)
        ),
    ).result(10)
    _watch(bob_call, rgba)
    carol_call = carol.join(
        group,
        JoinCallOptions(
            incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.I420)
        ),
    ).result(10)
    _watch(carol_call, i420)

    stream = _video_stream()
    states: list[VideoStreamState] = []
    stream.state_changed += lambda a: states.append(a.stream.state)
    alice_call = alice.join(
        group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[stream]))
    ).result(10)
    sender = PatternSender(stream)
    try:
        wait_until(lambda: alice_call.state is CallState.CONNECTED, what="alice connected")
        wait_until(
            lambda: len(rgba.records) > 90 and len(i420.records) > 90,
            timeout=30,
            what="3 s of frames at both receivers",
        )
    finally:
        sender.stop()
    assert not sender.errors
    assert states == [VideoStreamState.AVAILABLE, VideoStreamState.STARTED]

    for recorder in (rgba, i420):
        first = recorder.records[0].received_at
        settled = [r for r in recorder.records if r.received_at - first >= 1.0]
        numbers = [r.number for r in settled]
        assert None not in numbers
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), "frame order"
        scores = [r.psnr for r in settled]
        assert min(scores) >= 30, (
            f"PSNR min {min(scores):.1f} median {statistics.median(scores):.1f}"
        )
        assert recorder.states[:2] == [VideoStreamState.AVAILABLE, VideoStreamState.STARTED]
        assert {(r.width, r.height) for r in settled} == {(640, 360)}

    # Each receiver sees one camera-like stream from Alice.
    alice_in_bob = next(p for p in bob_call.remote_participants if p.display_name == "Alice")
    assert [s.media_stream_type for s in alice_in_bob.incoming_video_streams] == [
        MediaStreamType.VIDEO
    ]
    for call in (alice_call, bob_call, carol_call):
        call.hang_up().result(10)
    assert stream.state is VideoStreamState.NOT_AVAILABLE
    assert states == [
        VideoStreamState.AVAILABLE,
        VideoStreamState.STARTED,
        VideoStreamState.STOPPING,
        VideoStreamState.STOPPED,
        VideoStreamState.NOT_AVAILABLE,
    ]
