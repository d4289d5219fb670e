"""The baseline: bare aiortc, two peer connections in one process on loopback.

What the SDK's figures are compared with. One peer sends, the other receives:

- video: :class:`PatternVideoTrack` hands RGBA ``av.VideoFrame``\\ s (the
  :func:`~engine_plugin.media.test_patterns.pattern_frame` pattern, each
  stamped with its frame number, drawn incrementally so that drawing costs
  next to nothing) to aiortc at exactly ``fps``, paced on the event loop's
  clock. The receiver awaits ``track.recv()``, converts to
  RGBA (what the project's users receive) and reads the frame number back;
  latency is the time after that conversion minus the time the frame was
  returned from the sending track's ``recv()``.
- audio: :class:`ClickAudioTrack` sends 20 ms frames of 48 kHz stereo
  silence with a 5 ms tone burst (a click) at the start of every 25th frame;
  the receiver finds each click's onset, and latency is the time the frame
  holding it came out of ``recv()`` minus the time the click's frame was
  handed to aiortc.

ICE uses host candidates on 127.0.0.1 only and no STUN server
(:mod:`engine_plugin.transport.ice`); the offer and answer are checked to hold
nothing else. The first ``warmup`` seconds after the first frame arrives are
not measured. Scenario functions for :func:`bench.measure.run_isolated`:
``bench.bare_aiortc:video_scenario`` and ``bench.bare_aiortc:audio_scenario``
(:data:`DEFAULT_SCENARIOS` lists the standard set).

Run ``python -m bench.bare_aiortc --help``; inside a loopback-only network
namespace: ``unshare -n sh -c 'ip link set lo up && .venv/bin/python -m bench.bare_aiortc'``.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from bench.measure import (
    MeasuredWindow,
    ScenarioResult,
    markdown_table,
    results_to_json,
    run_isolated,
)
from bench.recording import ClickLog, VideoLog
from engine_plugin.media.test_patterns import (
    PatternFrames,
    pattern_frame,
    tone,
)
from engine_plugin.transport.ice import LOOPBACK, host_addresses, rtc_configuration

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SCENARIOS",
    "IMPLEMENTATION",
    "RESOLUTIONS",
    "ClickAudioTrack",
    "LoopbackPair",
    "PatternVideoTrack",
    "audio_scenario",
    "open_loopback_pair",
    "run_audio",
    "run_video",
    "video_scenario",
]

IMPLEMENTATION = "bare aiortc"
"""The ``implementation`` these scenarios report (the baseline in tables)."""

RESOLUTIONS: dict[str, tuple[int, int]] = {
    "360p": (640, 360),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
}
"""Resolution names the scenarios accept, as (width, height)."""

DEFAULT_SCENARIOS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bench.bare_aiortc:video_scenario", {"resolution": "720p"}),
    ("bench.bare_aiortc:video_scenario", {"resolution": "1080p"}),
    ("bench.bare_aiortc:audio_scenario", {}),
)
"""The standard baseline set as ``(target, kwargs)`` for :func:`bench.measure.run_isolated`
(add ``seconds=...`` to the kwargs to change the length)."""

VIDEO_CLOCK_RATE = 90_000
AUDIO_RATE = 48_000
AUDIO_CHANNELS = 2
AUDIO_PTIME = 0.020
CONNECT_TIMEOUT = 20.0
LATE_FRAME_GRACE = 1.0
"""Seconds the receiver keeps reading after the window, so that late frames are not 'dropped'."""


# --------------------------------------------------------------------------- tracks


class PatternVideoTrack(VideoStreamTrack):
    """RGBA pattern frames at ``fps``, paced on the loop clock, each stamped with its number.

    Frames come from a :class:`~engine_plugin.media.test_patterns.PatternFrames`,
    which redraws only the moving square and the barcode (about 0.2 ms at
    1080p), so that neither drawing time nor a ring of precomputed frames
    (250 MB at 1080p) pollutes the CPU and memory figures. Handing a frame to
    aiortc costs what it costs an application: ``VideoFrame.from_ndarray``
    copies the RGBA image. ``handed`` maps each frame number to the loop time
    it was returned to aiortc.
    """

    def __init__(self, width: int, height: int, *, fps: int = 30, seed: int = 0) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self.fps = fps
        self.seed = seed
        self.handed: dict[int, float] = {}
        self._frames = PatternFrames(width, height, seed=seed)
        self._next = 0
        self._epoch: float | None = None
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)

    def reference(self, number: int) -> np.ndarray:
        """The RGBA image that was sent as frame ``number`` (a new array)."""
        return pattern_frame(self.width, self.height, number, seed=self.seed)

    async def recv(self) -> av.VideoFrame:
        """The next frame, at its slot on a fixed ``1 / fps`` schedule."""
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        number = self._next
        self._next += 1
        if self._epoch is None:
            self._epoch = loop.time()
        delay = self._epoch + number / self.fps - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame.from_ndarray(self._frames.render(number), format="rgba")
        frame.pts = number * (VIDEO_CLOCK_RATE // self.fps)
        frame.time_base = self._time_base
        self.handed[number] = loop.time()
        return frame


class ClickAudioTrack(AudioStreamTrack):
    """48 kHz stereo s16 silence in 20 ms frames, with a click starting every ``click_every``th.

    The click is a 5 ms burst of a 1 kHz tone at half of full scale, starting
    at the frame's first sample. ``handed`` maps each frame's index to the
    loop time it was returned to aiortc; frame ``k`` holds a click when
    ``k % click_every == 0``.
    """

    def __init__(self, *, click_every: int = 25) -> None:
        super().__init__()
        self.click_every = click_every
        self.handed: dict[int, float] = {}
        samples = round(AUDIO_RATE * AUDIO_PTIME)
        self.samples_per_frame = samples
        self._silence = np.zeros((1, samples * AUDIO_CHANNELS), dtype=np.int16)
        self._click = self._silence.copy()
        burst = tone(1000.0, 0.005, AUDIO_RATE, AUDIO_CHANNELS, amplitude=0.5)
        self._click[0, : burst.size] = burst
        self._next = 0
        self._epoch: float | None = None
        self._time_base = fractions.Fraction(1, AUDIO_RATE)

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms frame, at its slot on a fixed schedule."""
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        index = self._next
        self._next += 1
        if self._epoch is None:
            self._epoch = loop.time()
        delay = self._epoch + index * AUDIO_PTIME - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self._click if index % self.click_every == 0 else self._silence
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * self.samples_per_frame
        frame.time_base = self._time_base
        self.handed[index] = loop.time()
        return frame


# --------------------------------------------------------------------------- connection


@dataclass
class LoopbackPair:
    """Two connected peer connections: ``offerer`` sends ``sender``'s track to ``answerer``."""

    offerer: RTCPeerConnection
    answerer: RTCPeerConnection
    sender: RTCRtpSender
    remote_track: MediaStreamTrack

    async def aclose(self) -> None:
        """Close both peer connections."""
        await self.offerer.close()
        await self.answerer.close()


def _codec_preferences(kind: str, codec: str) -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    wanted = [c for c in capabilities if c.mimeType.lower() == f"{kind}/{codec}".lower()]
    if not wanted:
        names = sorted({c.mimeType for c in capabilities})
        raise ValueError(f"aiortc has no {kind} codec {codec!r} (it has {names})")
    rtx = [c for c in capabilities if c.mimeType.lower() == f"{kind}/rtx"]
    return wanted + rtx


def _check_loopback_only(sdp: str) -> None:
    """Raise unless every ICE candidate in ``sdp`` is on an address in :data:`LOOPBACK`."""
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            address = line.split()[4]
            if address not in LOOPBACK:
                raise RuntimeError(f"ICE candidate off loopback: {line!r}")


async def _wait_connected(pc: RTCPeerConnection, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or loop.time() > deadline:
            raise RuntimeError(f"peer connection {pc.connectionState} (not connected)")
        await asyncio.sleep(0.01)


async def open_loopback_pair(
    track: MediaStreamTrack, *, codec: str | None = None, timeout: float = CONNECT_TIMEOUT
) -> LoopbackPair:
    """Connect two peer connections over 127.0.0.1 and send ``track`` from one to the other.

    ``codec`` (``"vp8"``, ``"h264"``, ``"opus"``...) restricts the offer to
    that codec (plus RTX); ``None`` keeps aiortc's order. No STUN server is
    used and only loopback host candidates are gathered.
    """
    loop = asyncio.get_running_loop()
    offerer = RTCPeerConnection(configuration=rtc_configuration())
    answerer = RTCPeerConnection(configuration=rtc_configuration())
    remote: asyncio.Future[MediaStreamTrack] = loop.create_future()

    @answerer.on("track")
    def on_track(incoming: MediaStreamTrack) -> None:
        if not remote.done():
            remote.set_result(incoming)

    transceiver = offerer.addTransceiver(track, direction="sendonly")
    if codec is not None:
        transceiver.setCodecPreferences(_codec_preferences(track.kind, codec))
    try:
        with host_addresses(LOOPBACK):
            await offerer.setLocalDescription(await offerer.createOffer())
            _check_loopback_only(offerer.localDescription.sdp)
            await answerer.setRemoteDescription(offerer.localDescription)
            await answerer.setLocalDescription(await answerer.createAnswer())
            _check_loopback_only(answerer.localDescription.sdp)
            await offerer.setRemoteDescription(answerer.localDescription)
        remote_track = await asyncio.wait_for(remote, timeout)
        await _wait_connected(offerer, timeout)
        await _wait_connected(answerer, timeout)
    except BaseException:
        await offerer.close()
        await answerer.close()
        raise
    return LoopbackPair(offerer, answerer, transceiver.sender, remote_track)


async def _bytes_sent(sender: RTCRtpSender) -> int:
    report = await sender.getStats()
    return sum(getattr(s, "bytesSent", 0) for s in report.values() if s.type == "outbound-rtp")


def _encoder_target_kbps(sender: RTCRtpSender) -> float:
    """aiortc's current encoder target (private state; NaN when not reachable)."""
    encoder = getattr(sender, "_RTCRtpSender__encoder", None)
    target = getattr(encoder, "target_bitrate", None)
    return target / 1000.0 if isinstance(target, int) else math.nan


# --------------------------------------------------------------------------- video


async def run_video(
    resolution: str = "720p",
    seconds: float = 20.0,
    *,
    codec: str = "vp8",
    warmup: float = 2.0,
    fps: int = 30,
    psnr_every: int = 30,
) -> ScenarioResult:
    """Send pattern video for ``warmup + seconds`` and measure the last ``seconds``.

    ``extra`` holds ``psnr_db`` (median RGB PSNR of every ``psnr_every``th
    received frame against what was sent, on every other row and column),
    ``send_kbps`` (RTP bytes sent in the window), ``target_kbps`` (aiortc's
    encoder target at the end), ``sent_fps`` and ``unreadable`` (frames whose
    barcode did not read).
    """
    width, height = RESOLUTIONS[resolution]
    loop = asyncio.get_running_loop()
    track = PatternVideoTrack(width, height, fps=fps)
    pair = await open_loopback_pair(track, codec=codec)
    log = VideoLog(psnr_every=psnr_every, handed=track.handed)
    first: asyncio.Future[float] = loop.create_future()

    async def receive() -> None:
        while True:
            frame = await pair.remote_track.recv()
            assert isinstance(frame, av.VideoFrame)
            log.record(frame.to_ndarray(format="rgba"), loop.time())
            if not first.done():
                first.set_result(loop.time())

    receiver = asyncio.create_task(receive())
    try:
        await asyncio.wait_for(asyncio.shield(first), CONNECT_TIMEOUT)
        await asyncio.sleep(warmup)
        window = MeasuredWindow()
        bytes_before = await _bytes_sent(pair.sender)
        log.sampling = True
        start = loop.time()
        window.start()
        await asyncio.sleep(seconds)
        window.stop()
        end = loop.time()
        log.sampling = False
        bytes_after = await _bytes_sent(pair.sender)
        target_kbps = _encoder_target_kbps(pair.sender)
        await asyncio.sleep(LATE_FRAME_GRACE)
    finally:
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
        track.stop()
        await pair.aclose()

    return log.result(
        name=f"video {codec} {resolution}{fps}",
        implementation=IMPLEMENTATION,
        window=window,
        start=start,
        end=end,
        reference=track.reference,
        extra={
            "send_kbps": 8.0 * (bytes_after - bytes_before) / window.wall_seconds / 1000.0,
            "target_kbps": target_kbps,
        },
    )


def video_scenario(
    resolution: str = "720p",
    seconds: float = 20.0,
    codec: str = "vp8",
    warmup: float = 2.0,
    fps: int = 30,
) -> ScenarioResult:
    """:func:`run_video` in a new event loop (the target for :func:`bench.measure.run_isolated`)."""
    return asyncio.run(run_video(resolution, seconds, codec=codec, warmup=warmup, fps=fps))


# --------------------------------------------------------------------------- audio


async def run_audio(
    seconds: float = 20.0, *, warmup: float = 2.0, click_every: int = 25
) -> ScenarioResult:
    """Send clicks in Opus for ``warmup + seconds``; measure click latency in the last ``seconds``.

    ``received_fps`` counts 20 ms audio frames (50 expected). ``extra`` holds
    ``clicks_sent`` and ``clicks_heard`` in the window.
    """
    loop = asyncio.get_running_loop()
    track = ClickAudioTrack(click_every=click_every)
    pair = await open_loopback_pair(track, codec="opus")
    log = ClickLog(click_every=click_every, handed=track.handed)
    first: asyncio.Future[float] = loop.create_future()

    async def receive() -> None:
        while True:
            frame = await pair.remote_track.recv()
            assert isinstance(frame, av.AudioFrame)
            log.record(frame.to_ndarray(), loop.time())
            if not first.done():
                first.set_result(loop.time())

    receiver = asyncio.create_task(receive())
    try:
        await asyncio.wait_for(asyncio.shield(first), CONNECT_TIMEOUT)
        await asyncio.sleep(warmup)
        window = MeasuredWindow()
        start = loop.time()
        window.start()
        await asyncio.sleep(seconds)
        window.stop()
        end = loop.time()
        await asyncio.sleep(LATE_FRAME_GRACE)
    finally:
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
        track.stop()
        await pair.aclose()

    return log.result(
        name=f"audio opus {round(AUDIO_PTIME * 1000)}ms",
        implementation=IMPLEMENTATION,
        window=window,
        start=start,
        end=end,
    )


def audio_scenario(seconds: float = 20.0, warmup: float = 2.0) -> ScenarioResult:
    """:func:`run_audio` in a new event loop (the target for :func:`bench.measure.run_isolated`)."""
    return asyncio.run(run_audio(seconds, warmup=warmup))


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run the baseline scenarios and print a table or JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bare_aiortc",
        description=(
            "Baseline benchmark: bare aiortc, two peer connections in one process over "
            "127.0.0.1. Video sends RGBA pattern frames at 30 fps and measures frame "
            "handed to aiortc -> decoded RGBA; audio sends 20 ms Opus frames with clicks "
            "and measures click onset latency. Prints a Markdown table, or JSON with --json."
        ),
    )
    parser.add_argument(
        "--scenario",
        choices=["video", "audio", "all"],
        default="video",
        help="video (default), audio, or all: 720p and 1080p video and audio, "
        "each in a fresh subprocess",
    )
    parser.add_argument(
        "--resolution", choices=sorted(RESOLUTIONS), default="720p", help="video size (720p)"
    )
    parser.add_argument("--codec", choices=["vp8", "h264"], default="vp8", help="video codec (vp8)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds (20)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds not measured after the first frame (2)"
    )
    parser.add_argument("--json", action="store_true", help="print results as one JSON line")
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="run a single scenario in a fresh subprocess too (always so with --scenario all)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )

    video = {"seconds": args.seconds, "warmup": args.warmup, "codec": args.codec}
    plan: list[tuple[str, dict[str, Any]]]
    if args.scenario == "all":
        plan = [
            ("bench.bare_aiortc:video_scenario", {**video, "resolution": "720p"}),
            ("bench.bare_aiortc:video_scenario", {**video, "resolution": "1080p"}),
            ("bench.bare_aiortc:audio_scenario", {"seconds": args.seconds, "warmup": args.warmup}),
        ]
    elif args.scenario == "video":
        plan = [("bench.bare_aiortc:video_scenario", {**video, "resolution": args.resolution})]
    else:
        plan = [
            ("bench.bare_aiortc:audio_scenario", {"seconds": args.seconds, "warmup": args.warmup})
        ]

    results: list[ScenarioResult] = []
    if args.scenario == "all" or args.isolate:
        for target, kwargs in plan:
            results += run_isolated(target, **kwargs)
    elif args.scenario == "video":
        results.append(video_scenario(args.resolution, **video))
    else:
        results.append(audio_scenario(args.seconds, args.warmup))

    if args.json:
        sys.stdout.write(results_to_json(results) + "\n")
    else:
        sys.stdout.write(markdown_table(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
