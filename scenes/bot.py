"""The demo's bot: another participant, in its own process.

It joins the group call, sends a moving test pattern (stamped with the clock,
so the game can show each frame's latency) and a 440 Hz tone, and reports
once a second what it receives: every remote stream's frame rate and size,
and how loud the call's audio is.

    python -m scenes.bot --connection-string "endpoint=...;accesskey=..." --group GROUP
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Any

import numpy as np

from engine_plugin import (
    IncomingMixedAudioEventArgs,
    ParticipantsUpdatedEventArgs,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawVideoFrameReceivedEventArgs,
    VideoStreamState,
    VideoStreamStateChangedEventArgs,
)
from engine_plugin.testing import SyntheticParticipant

log = logging.getLogger("bot")


class Receiver:
    """Counts what arrives: frames per remote stream, and the audio level."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: dict[int, int] = {}
        self.sizes: dict[int, tuple[int, int]] = {}
        self.peak = 0

    def on_participants(self, args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:
            log.info("%s joined", participant.display_name)
            participant.video_stream_state_changed += self.on_stream
            for stream in participant.incoming_video_streams:
                self.watch(stream)
        for participant in args.removed_participants:
            log.info("%s left", participant.display_name)

    def on_stream(self, args: VideoStreamStateChangedEventArgs) -> None:
        if args.stream.state is VideoStreamState.AVAILABLE:
            self.watch(args.stream)

    def watch(self, stream: Any) -> None:
        stream.raw_video_frame_received += self.on_frame
        if stream.state is VideoStreamState.AVAILABLE:
            stream.start()

    def on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        fmt = args.frame.stream_format
        with self.lock:
            self.frames[args.stream.id] = self.frames.get(args.stream.id, 0) + 1
            if fmt is not None:
                self.sizes[args.stream.id] = (fmt.width, fmt.height)

    def on_audio(self, args: IncomingMixedAudioEventArgs) -> None:
        level = int(np.abs(args.audio_buffer.as_int16()).max())
        with self.lock:
            self.peak = max(self.peak, level)

    def report(self, previous: dict[int, int], seconds: float) -> dict[int, int]:
        with self.lock:
            frames, sizes, peak = dict(self.frames), dict(self.sizes), self.peak
            self.peak = 0
        parts = [
            f"stream {sid}: {sizes.get(sid, (0, 0))[0]}x{sizes.get(sid, (0, 0))[1]} "
            f"{(count - previous.get(sid, 0)) / seconds:.1f} fps"
            for sid, count in frames.items()
        ]
        log.info("receiving %s; audio peak %d", "; ".join(parts) or "no video", peak)
        return frames


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The bot's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m scenes.bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--connection-string", required=True, help="the calling service's")
    parser.add_argument("--group", required=True, help="the group call to join")
    parser.add_argument("--name", default="Bot", help="display name (default Bot)")
    parser.add_argument(
        "--duration", type=float, default=0, help="seconds to stay (0: until stopped)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Join, send, report, and leave on SIGTERM, SIGINT or after ``--duration``."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s bot: %(message)s", stream=sys.stdout
    )
    logging.getLogger("engine_plugin").setLevel(logging.WARNING)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    receiver = Receiver()
    with SyntheticParticipant(args.connection_string, args.name, stamp_clock=True) as bot:
        call = bot.join(args.group)
        call.remote_participants_updated += receiver.on_participants
        audio = RawIncomingAudioStream(RawIncomingAudioStreamOptions())
        audio.mixed_audio_buffer_received += receiver.on_audio
        call.start_audio(audio).result(10)
        log.info("joined %s as %s; sending a pattern and a 440 Hz tone", args.group, args.name)
        print("ready", flush=True)
        deadline = time.monotonic() + args.duration if args.duration > 0 else None
        previous: dict[int, int] = {}
        while not stop.wait(1.0):
            previous = receiver.report(previous, 1.0)
            if deadline is not None and time.monotonic() > deadline:
                break
        log.info("leaving")
    return 0


if __name__ == "__main__":
    sys.exit(main())
