"""A real WebRTC group call on this machine, with raw video and audio, no engine.

The script starts the embedded calling service, puts two agents in one group
call, sends a moving test pattern and a tone from one to the other, and
reports what arrives: frames per second, resolution, latency, and the loudest
frequency heard.

    python examples/raw_media_call.py --duration 10
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
import uuid

import numpy as np

from engine_plugin import (
    AudioStreamChannelMode,
    AudioStreamSampleRate,
    AudioStreamState,
    CallAgentOptions,
    CallClient,
    CommunicationIdentityClient,
    CommunicationTokenCredential,
    GroupCallLocator,
    IncomingAudioOptions,
    IncomingMixedAudioEventArgs,
    IncomingVideoOptions,
    JoinCallOptions,
    LocalCallingService,
    OutgoingAudioOptions,
    OutgoingVideoOptions,
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
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.media.test_patterns import (
    ToneGenerator,
    dominant_frequencies,
    pattern_frame,
    read_frame_number,
)

log = logging.getLogger("demo")

RESOLUTIONS = {
    r.name.lower(): r for r in VideoStreamResolution if r is not VideoStreamResolution.UNKNOWN
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The demo's command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to run (default 10)")
    parser.add_argument(
        "--resolution",
        choices=sorted(RESOLUTIONS),
        default="p720",
        help="the sent video's resolution (default p720)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the SDK does")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo call and print what arrived."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
    )
    resolution = RESOLUTIONS[args.resolution]
    with LocalCallingService() as service:
        log.info("calling service at %s", service.endpoint)
        identity = CommunicationIdentityClient.from_connection_string(service.connection_string)
        client = CallClient()
        agents = []
        for name in ("Game", "Viewer"):
            _user, token = identity.create_user_and_token(["voip"])
            agents.append(
                client.create_call_agent(
                    CommunicationTokenCredential(token.token), CallAgentOptions(display_name=name)
                ).result(10)
            )
        game, viewer = agents
        group = GroupCallLocator(str(uuid.uuid4()))

        received: list[float] = []
        latencies: list[float] = []
        sent_at: dict[int, float] = {}
        heard: list[np.ndarray] = []
        sizes: set[tuple[int, int]] = set()

        def on_frame(event: RawVideoFrameReceivedEventArgs) -> None:
            fmt = event.frame.stream_format
            assert fmt is not None
            sizes.add((fmt.width, fmt.height))
            now = time.monotonic()
            received.append(now)
            plane = event.frame.buffers[0]
            rgba = np.asarray(plane)[:, : fmt.width * 4].reshape(fmt.height, fmt.width, 4)
            number = read_frame_number(rgba)
            sent = sent_at.pop(number, None) if number is not None else None
            if sent is not None:
                latencies.append(now - sent)

        def on_stream(e):  # type: ignore[no-untyped-def]
            if e.stream.state is VideoStreamState.AVAILABLE:
                e.stream.raw_video_frame_received += on_frame
                e.stream.start()

        def on_participants(e):  # type: ignore[no-untyped-def]
            for participant in e.added_participants:
                participant.video_stream_state_changed += on_stream

        def on_audio(e: IncomingMixedAudioEventArgs) -> None:
            heard.append(np.frombuffer(e.audio_buffer.data, dtype=np.int16).copy())

        audio_in = RawIncomingAudioStream(
            RawIncomingAudioStreamOptions(properties=RawIncomingAudioStreamProperties())
        )
        audio_in.mixed_audio_buffer_received += on_audio
        viewer_call = viewer.join(
            group,
            JoinCallOptions(
                incoming_video_options=IncomingVideoOptions(
                    pixel_format=VideoStreamPixelFormat.RGBA
                ),
                incoming_audio_options=IncomingAudioOptions(stream=audio_in),
            ),
        ).result(10)
        viewer_call.remote_participants_updated += on_participants

        video = VirtualOutgoingVideoStream(
            RawOutgoingVideoStreamOptions(
                formats=[
                    VideoStreamFormat(
                        resolution=resolution,
                        pixel_format=VideoStreamPixelFormat.RGBA,
                        frames_per_second=resolution.max_frames_per_second,
                    )
                ]
            )
        )
        props = RawOutgoingAudioStreamProperties(
            sample_rate=AudioStreamSampleRate.HZ_48000, channel_mode=AudioStreamChannelMode.MONO
        )
        audio_out = RawOutgoingAudioStream(RawOutgoingAudioStreamOptions(properties=props))
        game_call = game.join(
            group,
            JoinCallOptions(
                outgoing_video_options=OutgoingVideoOptions(streams=[video]),
                outgoing_audio_options=OutgoingAudioOptions(stream=audio_out),
            ),
        ).result(10)
        log.info(
            "both agents joined group %s; sending %s for %.0f s",
            group.group_id,
            resolution.name,
            args.duration,
        )

        stop = threading.Event()

        def send_media() -> None:
            tone = ToneGenerator(440.0, 48000, 1)
            fps = video.format.frames_per_second
            n = 0
            sent_audio = 0
            start = time.monotonic()
            while not stop.is_set():
                if video.state is VideoStreamState.STARTED:
                    fmt = video.format
                    frame = RawVideoFrameBuffer(
                        buffers=[pattern_frame(fmt.width, fmt.height, n)],
                        stream_format=fmt,
                        timestamp_in_ticks=video.timestamp_in_ticks,
                    )
                    sent_at[n] = time.monotonic()
                    video.send_raw_video_frame(frame)
                    n += 1
                if audio_out.state is AudioStreamState.STARTED:
                    # One 20 ms buffer per 20 ms of video time.
                    due = int((n / fps) / 0.02)
                    while sent_audio < due:
                        chunk = tone.next_chunk(960).tobytes()
                        audio_out.send_raw_audio_buffer(RawAudioBuffer(chunk))
                        sent_audio += 1
                stop.wait(max(0.0, start + n / fps - time.monotonic()))

        worker = threading.Thread(target=send_media, name="demo-sender")
        worker.start()
        time.sleep(args.duration)
        stop.set()
        worker.join()
        game_call.hang_up().result(10)
        viewer_call.hang_up().result(10)
        for agent in agents:
            agent.dispose()

    window = [t for t in received if t >= received[0] + 1.0] if received else []
    fps = (len(window) - 1) / (window[-1] - window[0]) if len(window) > 1 else 0.0
    print(f"video: {len(received)} frames received, {fps:.1f} fps, sizes {sorted(sizes)}")
    if latencies:
        print(f"video latency: median {statistics.median(latencies) * 1000:.0f} ms")
    if heard:
        pcm = np.concatenate(heard[len(heard) // 4 :])
        loudest = dominant_frequencies(pcm, 48000, 2, 1)[0]
        print(f"audio: {len(heard)} buffers, loudest frequency {loudest:.0f} Hz")
    return 0 if received else 1


if __name__ == "__main__":
    sys.exit(main())
