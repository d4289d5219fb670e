"""engine_plugin demo: a 3D room whose walls show the other participants of a real call.

Starts the embedded calling service (unless --connection-string names one)
and prints the URL of a browser page that joins the same call, a bot
participant in its own process (a moving test pattern and a tone), and the
scene: the bot and everyone else on video walls, a moving in-scene camera
whose view is what the others receive from us, and an overlay with each
stream's rate, size and latency. ESC quits. With no display (or --headless)
the same scene renders offscreen, for --duration seconds.

    python main.py                          # windowed where a display exists
    python main.py --headless --duration 10 --screenshot demo.png
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from engine_plugin import VideoStreamResolution

RESOLUTIONS = sorted(
    r.name.lower()
    for r in VideoStreamResolution
    if r is not VideoStreamResolution.UNKNOWN and r.width * 9 == r.height * 16
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The demo's command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--headless", action="store_true", help="render offscreen, no window")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds to run (default: until ESC; 20 when headless)",
    )
    parser.add_argument("--screenshot", metavar="PATH", help="save the main view as PNG at the end")
    parser.add_argument(
        "--connection-string",
        help="join a call on an existing calling service (default: start one here)",
    )
    parser.add_argument(
        "--endpoint",
        help="join through this calling service with --token (no identity created, no bot)",
    )
    parser.add_argument("--token", help="an access token for --endpoint's service")
    parser.add_argument("--group", help="the group call to join (default: a new one)")
    parser.add_argument("--no-bot", action="store_true", help="do not start the bot participant")
    parser.add_argument(
        "--resolution",
        choices=RESOLUTIONS,
        default="p720",
        help="the scene camera's resolution (default p720)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the SDK does")
    args = parser.parse_args(argv)
    if args.token and args.connection_string:
        parser.error("give --connection-string or --token, not both")
    if args.endpoint and not args.token:
        parser.error("--endpoint needs --token (a token issued by that service)")
    if args.token:
        args.no_bot = True  # the bot needs a connection string to make its own identity
    return args


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds the demo's clean-up: the bot stops, the call is left,
    # the service closes (the default SIGTERM would leave the bot running).
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the demo."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("aioice").setLevel(logging.WARNING)
        logging.getLogger("engine_plugin.service").setLevel(logging.WARNING)
    from scenes.demo import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
