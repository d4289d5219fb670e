"""Run the calling service standalone: ``python -m engine_plugin.service``.

Prints the connection string (one line on stdout) once listening, logs to
stderr (the demo page's URL among the first lines), and runs until SIGINT or
SIGTERM. ``--dev-tokens`` serves ``POST /dev/token`` for browser pages
(development only).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import logging
import signal
import sys
import threading
from types import FrameType

from engine_plugin.service.local import LocalCallingService

logger = logging.getLogger("engine_plugin.service")


def _access_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise argparse.ArgumentTypeError("expected base64 text") from None
    if len(key) < 16:
        raise argparse.ArgumentTypeError(f"expected at least 16 bytes, got {len(key)}")
    return key


def build_parser() -> argparse.ArgumentParser:
    """The command line.

    ``--host``, ``--port``, ``--access-key``, ``--dev-tokens``, ``--log-level``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m engine_plugin.service",
        description=(
            "Run the engine_plugin calling service (identity REST API and signaling "
            "WebSocket). Prints its connection string on stdout, then runs until "
            "SIGINT or SIGTERM."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: 0, a free port)"
    )
    parser.add_argument(
        "--access-key",
        type=_access_key,
        default=None,
        metavar="BASE64",
        help="the access key, base64 (default: 32 random bytes)",
    )
    parser.add_argument(
        "--dev-tokens",
        action="store_true",
        help=(
            "development only: serve POST /dev/token, which gives anyone who can reach "
            "the port a new identity and an access token (for the demo page at /)"
        ),
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level on stderr (default: INFO)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the service until SIGINT/SIGTERM; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    service = LocalCallingService(
        args.host, args.port, access_key=args.access_key, dev_tokens=args.dev_tokens
    )
    try:
        service.start()
        print(service.connection_string, flush=True)
        logger.info("browser page: %s", service.page_url)
        while not stop.wait(0.5):
            pass
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
