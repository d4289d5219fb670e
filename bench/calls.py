"""The calling benchmark: two SDK agents in a call, next to bare aiortc doing the same work.

Each row runs in a fresh process (:func:`bench.measure.run_isolated`), so CPU
time and peak memory are the scenario's own. The SDK rows run the embedded
calling service and two agents (sender and receiver) in one process, as the
baseline runs its two peer connections in one process:

- video: the sender's thread hands RGBA pattern frames (each stamped with its
  frame number) to ``send_raw_video_frame`` at 30 fps; the receiver asks for
  RGBA and reads the number in ``raw_video_frame_received``. Latency is the
  time from ``send_raw_video_frame`` to that handler.
- audio: 20 ms buffers of 48 kHz stereo silence with a click every 0.5 s go to
  ``send_raw_audio_buffer``; the receiver's ``mixed_audio_buffer_received``
  finds each click. Latency is from sending the click's buffer to the mixed
  buffer that holds its onset.

Run ``python -m bench.calls --help``. Inside a loopback-only namespace:
``unshare -n sh -c 'ip link set lo up && .venv/bin/python -m bench.calls'``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench import bare_aiortc
from bench.measure import (
    MeasuredWindow,
    ScenarioError,
    ScenarioResult,
    markdown_table,
    results_to_json,
    run_isolated,
)
from bench.recording import ClickLog, VideoLog
from engine_plugin import (
    AudioStreamState,
    CallAgent,
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
    ParticipantsUpdatedEventArgs,
    RawAudioBuffer,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawOutgoingAudioStream,
    RawOutgoingAudioStreamOptions,
    RawOutgoingVideoStreamOptions,
    RawVideoFrameBuffer,
    RawVideoFrameReceivedEventArgs,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VideoStreamStateChangedEventArgs,
    VirtualOutgoingVideoStream,
)
from engine_plugin.media.test_patterns import (
    PatternFrames,
    pattern_frame,
    tone,
)

logger = logging.getLogger(__name__)

IMPLEMENTATION = "engine_plugin"
RESOLUTIONS = {
    "360p": VideoStreamResolution.P360,
    "720p": VideoStreamResolution.P720,
    "1080p": VideoStreamResolution.P1080,
}
CONNECT_TIMEOUT = 20.0
LATE_FRAME_GRACE = 1.0
CLICK_EVERY = 25
AUDIO_RATE = 48_000
AUDIO_CHANNELS = 2
AUDIO_SAMPLES = 960


class _Call:
    """The embedded service, a sender agent and a receiver agent, in one group call."""

    def __init__(self) -> None:
        self.service = LocalCallingService()
        self.service.start()
        identity = CommunicationIdentityClient.from_connection_string(
            self.service.connection_string
        )
        client = CallClient()
        self.agents: list[CallAgent] = []
        for _ in range(2):
            _user, token = identity.create_user_and_token(["voip"])
            credential = CommunicationTokenCredential(token.token)
            self.agents.append(client.create_call_agent(credential).result(CONNECT_TIMEOUT))
        self.group = GroupCallLocator(str(uuid.uuid4()))

    def close(self) -> None:
        for agent in self.agents:
            agent.dispose()
        self.service.stop()


class Pacer:
    """Calls ``send(n)`` for n = 0, 1, ... every ``period`` on a thread, while it returns True.

    While ``send`` returns False (the stream is not STARTED yet) the schedule
    waits, so that the first frame sent starts it.
    """

    def __init__(self, send: Callable[[int], bool], period: float, name: str) -> None:
        self._send = send
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name)

    def _run(self) -> None:
        number = 0
        epoch = time.monotonic()
        while not self._stop.is_set():
            delay = epoch + number * self._period - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            if self._send(number):
                number += 1
            else:
                epoch = time.monotonic() - number * self._period
                self._stop.wait(0.01)

    def __enter__(self) -> Pacer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _measure(
    ready: Callable[[], bool], warmup: float, seconds: float, log: VideoLog | None = None
) -> tuple[MeasuredWindow, float, float]:
    """Wait for ``ready()``, warm up, measure ``seconds``, then let late media arrive."""
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("no media arrived")
        time.sleep(0.01)
    time.sleep(warmup)
    window = MeasuredWindow()
    if log is not None:
        log.sampling = True
    start = time.monotonic()
    window.start()
    time.sleep(seconds)
    window.stop()
    end = time.monotonic()
    if log is not None:
        log.sampling = False
    time.sleep(LATE_FRAME_GRACE)
    return window, start, end


def video_scenario(
    resolution: str = "720p", seconds: float = 20.0, warmup: float = 2.0, fps: int = 30
) -> ScenarioResult:
    """Pattern video between two agents for ``warmup + seconds``; the last ``seconds`` count."""
    res = RESOLUTIONS[resolution]
    width, height = res.width, res.height
    call = _Call()
    sender_agent, receiver_agent = call.agents
    log = VideoLog()
    incoming: list[Any] = []

    def on_frame(args: RawVideoFrameReceivedEventArgs) -> None:
        now = time.monotonic()
        plane = np.asarray(args.frame.buffers[0])
        log.record(plane.reshape(height, -1)[:, : width * 4].reshape(height, width, 4), now)

    def on_stream(args: VideoStreamStateChangedEventArgs) -> None:
        if args.stream.state is VideoStreamState.AVAILABLE:
            incoming.append(args.stream)
            args.stream.raw_video_frame_received += on_frame
            args.stream.start()

    def on_participants(args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:
            participant.video_stream_state_changed += on_stream

    options = JoinCallOptions(
        incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)
    )
    receiver_call = receiver_agent.join(call.group, options).result(CONNECT_TIMEOUT)
    receiver_call.remote_participants_updated += on_participants
    fmt = VideoStreamFormat(
        resolution=res, pixel_format=VideoStreamPixelFormat.RGBA, frames_per_second=fps
    )
    stream = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
    sender_call = sender_agent.join(
        call.group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[stream]))
    ).result(CONNECT_TIMEOUT)
    frames = PatternFrames(width, height)

    def send(number: int) -> bool:
        if stream.state is not VideoStreamState.STARTED:
            return False
        frame = RawVideoFrameBuffer(
            buffers=[frames.render(number)],
            stream_format=stream.format,
            timestamp_in_ticks=stream.timestamp_in_ticks,
        )
        log.handed[number] = time.monotonic()
        stream.send_raw_video_frame(frame)
        return True

    try:
        with Pacer(send, 1 / fps, "bench-sender"):
            window, start, end = _measure(lambda: bool(log.arrivals), warmup, seconds, log)
    finally:
        sender_call.hang_up().result(10)
        receiver_call.hang_up().result(10)
        call.close()

    return log.result(
        name=f"video vp8 {resolution}{fps}",
        implementation=IMPLEMENTATION,
        window=window,
        start=start,
        end=end,
        reference=lambda n: pattern_frame(width, height, n),
        extra={
            "sender_dropped": float(stream.frames_dropped),
            "handler_dropped": float(sum(s.frames_dropped for s in incoming)),
        },
    )


def audio_scenario(seconds: float = 20.0, warmup: float = 2.0) -> ScenarioResult:
    """Clicks in 20 ms buffers from one agent to another; click latency in the last ``seconds``."""
    call = _Call()
    sender_agent, receiver_agent = call.agents
    log = ClickLog(click_every=CLICK_EVERY)

    def on_mixed(args: IncomingMixedAudioEventArgs) -> None:
        log.record(args.audio_buffer.as_int16(), time.monotonic())

    audio_in = RawIncomingAudioStream(RawIncomingAudioStreamOptions())
    audio_in.mixed_audio_buffer_received += on_mixed
    receiver_call = receiver_agent.join(
        call.group, JoinCallOptions(incoming_audio_options=IncomingAudioOptions(stream=audio_in))
    ).result(CONNECT_TIMEOUT)
    audio_out = RawOutgoingAudioStream(RawOutgoingAudioStreamOptions())
    sender_call = sender_agent.join(
        call.group, JoinCallOptions(outgoing_audio_options=OutgoingAudioOptions(stream=audio_out))
    ).result(CONNECT_TIMEOUT)

    silence = np.zeros(AUDIO_SAMPLES * AUDIO_CHANNELS, dtype=np.int16)
    click = silence.copy()
    burst = tone(1000.0, 0.005, AUDIO_RATE, AUDIO_CHANNELS, amplitude=0.5)
    click[: burst.size] = burst

    def send(index: int) -> bool:
        if audio_out.state is not AudioStreamState.STARTED:
            return False
        log.handed[index] = time.monotonic()
        audio_out.send_raw_audio_buffer(
            RawAudioBuffer(click if index % CLICK_EVERY == 0 else silence)
        )
        return True

    try:
        with Pacer(send, 0.020, "bench-audio-sender"):
            window, start, end = _measure(lambda: bool(log.onsets), warmup, seconds)
    finally:
        sender_call.hang_up().result(10)
        receiver_call.hang_up().result(10)
        call.close()

    return log.result(
        name="audio opus 20ms",
        implementation=IMPLEMENTATION,
        window=window,
        start=start,
        end=end,
    )


def scenarios(which: str, resolutions: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """``(target, kwargs)`` pairs, each SDK row right after its bare-aiortc baseline."""
    pairs: list[tuple[str, dict[str, Any]]] = []
    if which in ("video", "all"):
        for resolution in resolutions:
            pairs.append(("bench.bare_aiortc:video_scenario", {"resolution": resolution}))
            pairs.append(("bench.calls:video_scenario", {"resolution": resolution}))
    if which in ("audio", "all"):
        pairs.append(("bench.bare_aiortc:audio_scenario", {}))
        pairs.append(("bench.calls:audio_scenario", {}))
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run the scenarios, each in a fresh process, and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.calls",
        description=(
            "Calling benchmark: two engine_plugin agents in a call (RGBA video at 30 fps, "
            "or 20 ms audio clicks) next to bare aiortc peer connections doing the same "
            "work, each scenario in a fresh process. Prints a Markdown table with ratios."
        ),
    )
    parser.add_argument("--scenario", choices=["video", "audio", "all"], default="all")
    parser.add_argument(
        "--resolution",
        action="append",
        choices=sorted(RESOLUTIONS),
        help="video resolution (repeatable; default 720p and 1080p)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per row")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    results: list[ScenarioResult] = []
    for target, kwargs in scenarios(args.scenario, args.resolution or ["720p", "1080p"]):
        kwargs = {**kwargs, "seconds": args.seconds}
        print(f"running {target} {kwargs} ...", file=sys.stderr, flush=True)
        try:
            results.extend(run_isolated(target, timeout=args.seconds + 90, **kwargs))
        except ScenarioError as exc:
            print(f"  failed: {exc}", file=sys.stderr)
    if args.json:
        print(results_to_json(results))
    else:
        print(markdown_table(results, baseline=bare_aiortc.IMPLEMENTATION))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
