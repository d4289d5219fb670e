"""One call agent in its own OS process, for the multi-process tests.

Joins a group call on the service named in its token and plays one role:

- ``send``: sends numbered pattern frames until its stdin closes (or ``--seconds``).
- ``receive``: records the frames it receives (RGBA) until it has ``--frames``
  frames received at least one second after the first, or ``--seconds`` pass.
- ``idle``: sits in the call until its stdin closes (or ``--seconds``); for tests
  that kill or freeze the process.

Then it hangs up, disposes the agent and prints one JSON object on stdout
(logs go to stderr). The token comes from ``--token`` or the environment
variable ``ENGINE_PLUGIN_TOKEN``. Exit status: 0 on success, 1 on failure.

    python tests/sdk/process_agent.py receive --group G --frames 60
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine_plugin import (
    CallAgentOptions,
    CallClient,
    CallState,
    CommunicationTokenCredential,
    GroupCallLocator,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingVideoOptions,
    RawOutgoingVideoStreamOptions,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VirtualOutgoingVideoStream,
)
from engine_plugin.testing import PatternSender
from tests.sdk.call_helpers import CallWatcher, PatternRecorder

TOKEN_ENV = "ENGINE_PLUGIN_TOKEN"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="process_agent.py",
        description="Join a group call as one agent in this process, send or receive a "
        "test pattern, and print a JSON report on stdout.",
    )
    parser.add_argument("role", choices=["send", "receive", "idle"], help="what to do in the call")
    parser.add_argument("--group", required=True, help="the group id to join")
    parser.add_argument("--token", default=None, help=f"access token (default: ${TOKEN_ENV})")
    parser.add_argument("--name", default="", help="display name")
    parser.add_argument(
        "--resolution",
        default="P360",
        choices=[r.name for r in VideoStreamResolution if r.width],
        help="send: the resolution (default P360)",
    )
    parser.add_argument("--fps", type=int, default=30, help="send: frames per second (30)")
    parser.add_argument("--seed", type=int, default=0, help="the pattern's seed (0)")
    parser.add_argument(
        "--frames", type=int, default=60, help="receive: frames wanted after the first second"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="give up after this long")
    return parser


def _stdin_closed() -> threading.Event:
    closed = threading.Event()

    def read() -> None:
        try:
            while sys.stdin.readline():
                pass
        finally:
            closed.set()

    threading.Thread(target=read, name="stdin-watch", daemon=True).start()
    return closed


def run(args: argparse.Namespace) -> dict[str, Any]:
    token = args.token or os.environ.get(TOKEN_ENV, "")
    agent = (
        CallClient()
        .create_call_agent(CommunicationTokenCredential(token), CallAgentOptions(args.name))
        .result(15)
    )
    report: dict[str, Any] = {"role": args.role, "user_id": agent.identifier.raw_id}
    recorder = PatternRecorder(seed=args.seed)
    watcher = CallWatcher(agent, lambda p, s: recorder.attach(s))
    sender = None
    stream = None
    stream_states: list[str] = []
    try:
        options = JoinCallOptions(
            incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)
        )
        if args.role == "send":
            fmt = VideoStreamFormat(
                resolution=VideoStreamResolution[args.resolution],
                pixel_format=VideoStreamPixelFormat.RGBA,
                frames_per_second=args.fps,
            )
            stream = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
            stream.state_changed += lambda a: stream_states.append(a.stream.state.name)
            options.outgoing_video_options = OutgoingVideoOptions(streams=[stream])
            sender = PatternSender(stream, args.fps, seed=args.seed)
        call = agent.join(GroupCallLocator(args.group), options).result(15)
        deadline = time.monotonic() + args.seconds
        if args.role == "receive":
            while time.monotonic() < deadline and len(recorder.settled()) < args.frames:
                time.sleep(0.05)
        else:
            _stdin_closed().wait(max(0.0, deadline - time.monotonic()))
        if sender is not None:
            sender.stop()
            report["sent"] = sender.sent
            report["errors"] = [repr(e) for e in sender.errors]
        report["connected"] = call.state is CallState.CONNECTED
        call.hang_up().result(15)
        report["call_states"] = [s.name for s in watcher.states(call)]
        report["stream_states"] = stream_states
        report["incoming_states"] = {
            str(k): [s.name for s in v] for k, v in recorder.states.items()
        }
        frames = recorder.frames()
        first = frames[0].at if frames else 0.0
        report["frames"] = [
            {
                "number": f.number,
                "psnr": round(f.psnr, 2),
                "width": f.width,
                "height": f.height,
                "t": round(f.at - first, 4),
            }
            for f in frames
        ]
    finally:
        if sender is not None:
            sender.stop()
        agent.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        report = run(args)
    except Exception as exc:
        logging.exception("process agent failed")
        print(json.dumps({"role": args.role, "error": repr(exc)}), flush=True)
        return 1
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
