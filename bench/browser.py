"""The browser benchmark: 720p30 video between a game (a Python agent) and a browser, both ways.

A real Chromium (Debian's ``/usr/bin/chromium``, headless, driven by
Playwright) joins the call through the browser SDK (``/sdk/calling.js``), and
a Python agent of this package is the game. Each row runs in a fresh process
(:func:`bench.measure.run_isolated`) holding the calling service, the Python
agent and Playwright (Chromium is its child); the Python-to-Python rows of
:mod:`bench.calls` (bare aiortc, then the SDK) run in the same invocation, so
that every row shares the machine's conditions.

Every frame carries the wall clock in its barcode (milliseconds modulo
2**24, the layout of :mod:`engine_plugin.media.test_patterns`): on one
machine Python's ``time.time()`` and the browser's ``Date.now()`` read the
same clock, so the receiver alone tells each frame's age. The page half is
``bench/browser.js`` (a barcode writer and reader that match
``pattern_frame`` and ``read_frame_number`` bit for bit, checked at the
start of every row).

- game -> browser: the agent sends the 1280x720 pattern (:class:`PatternFrames`,
  RGBA) at 30 fps through ``send_raw_video_frame``, stamping it just before
  the call. The page shows the remote camera stream in a ``<video>``; for every
  frame shown (``requestVideoFrameCallback``) it takes ``Date.now()``, then
  reads the barcode from ``new VideoFrame(video)``, copying only the band's
  Y plane (0.4 ms; drawing the frame on a canvas to read it took 11 ms of
  the page's main thread and made it miss frames).
- browser -> game: the page draws the same pattern on a 1280x720 canvas 30
  times a second (the background once, then the moving square and the barcode
  of ``Date.now()``) and sends ``new LocalVideoStream(canvas.captureStream())``,
  a frame for every drawing (``captureStream(30)`` captures on a 30 Hz timer
  of its own, which beats against the page's drawing and loses frames:
  ``--capture-fps 30``). The track has no ``contentHint``, as a camera's;
  ``--content-hint detail`` asks Chrome to keep the resolution, but it then
  also encodes at a fraction of the bitrate (Chromium to Chromium here:
  290-370 kbps against 2.0-2.3 Mbps without). The agent asks for RGBA and reads the barcode in
  ``raw_video_frame_received``.
- browser -> browser: two pages (contexts of one Chromium), the same sender
  and receiver: what Chromium's own pipeline costs, for reference.

Latency is the receiver's clock when it has the frame minus the sender's
clock when it stamped it; fps counts frames received in the measured window.
CPU is the Python process's (as in :mod:`bench.calls`) and, apart, every
Chromium process's (``/proc``). Chrome's WebRTC statistics give the codec,
the resolution it sent or decoded, encode/decode time and the jitter buffer.

Run ``python -m bench.browser --help``. Inside a loopback-only namespace::

    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m bench.browser'
"""

from __future__ import annotations

import argparse
import base64
import logging
import math
import os
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiohttp import web

from bench import bare_aiortc
from bench.calls import Pacer
from bench.measure import (
    MeasuredWindow,
    ScenarioError,
    ScenarioResult,
    peak_rss_mb,
    percentile,
    results_to_json,
    run_isolated,
)
from bench.service import BenchService
from engine_plugin import (
    GroupCallLocator,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingVideoOptions,
    ParticipantsUpdatedEventArgs,
    RawIncomingVideoStream,
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
    FRAME_NUMBER_MODULUS,
    PatternFrames,
    pattern_frame,
    read_frame_number,
    stamp_frame_number,
)
from engine_plugin.testing.browser import (
    HARNESS_PATH,
    add_harness,
    chromium_available,
    launch_chromium,
)

logger = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 1280, 720, 30
CONNECT_TIMEOUT = 30.0
LATE_FRAME_GRACE = 1.0
PAGE_SCRIPT = Path(__file__).with_name("browser.js")
SCRIPT_URL = "/bench/browser.js"
BACKGROUND_URL = "/bench/background.rgba"
EXTRA_CHROMIUM_ARGS = (
    # Two pages of one browser are both "in front": no timer or renderer throttling.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
)
GAME, BROWSER = "game", "browser"
IMPLEMENTATIONS = {
    (GAME, BROWSER): "engine_plugin -> Chromium",
    (BROWSER, GAME): "Chromium -> engine_plugin",
    (BROWSER, BROWSER): "Chromium -> Chromium",
}
PYTHON_ROWS = (
    ("bench.bare_aiortc:video_scenario", {"resolution": "720p"}),
    ("bench.calls:video_scenario", {"resolution": "720p"}),
)
BROWSER_ROWS = {
    "game-to-browser": (GAME, BROWSER),
    "browser-to-game": (BROWSER, GAME),
    "browser-to-browser": (BROWSER, BROWSER),
}


# --------------------------------------------------------------------------- clock


def wall_ms(now: float | None = None) -> float:
    """The wall clock in milliseconds (what ``Date.now()`` reads in a browser here)."""
    return (time.time() if now is None else now) * 1000.0


def wall_stamp(ms: float) -> int:
    """``ms`` folded into the barcode's 24 bits (``Date.now() % 2**24`` in the page)."""
    return int(ms) % FRAME_NUMBER_MODULUS


# --------------------------------------------------------------------------- the page


def pattern_background(width: int, height: int) -> np.ndarray:
    """``pattern_frame``'s static part (gradients and markers, no moving square), RGBA.

    Frame 0 has the square at the left edge and frame 60 at the right edge, so
    the left-hand pixels that differ between them are frame 60's background.
    """
    first = pattern_frame(width, height, 0)
    other = pattern_frame(width, height, 60)
    moved = np.any(first != other, axis=2)
    moved[:, width // 2 :] = False
    first[moved] = other[moved]
    return first


def configure_app(app: web.Application) -> None:
    """Routes the benchmark adds to the calling service: the harness page and the page script."""
    add_harness(app)

    async def script(_request: web.Request) -> web.Response:
        return web.Response(
            text=PAGE_SCRIPT.read_text(),
            content_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    async def background(request: web.Request) -> web.Response:
        width = int(request.query.get("width", WIDTH))
        height = int(request.query.get("height", HEIGHT))
        if not (80 <= width <= 4096 and 48 <= height <= 4096):
            raise web.HTTPBadRequest(text="width 80-4096, height 48-4096")
        body = pattern_background(width, height).tobytes()
        return web.Response(body=body, content_type="application/octet-stream")

    app.router.add_get(SCRIPT_URL, script)
    app.router.add_get(BACKGROUND_URL, background)


def _js(page: Any, body: str, arg: Any = None) -> Any:
    """Run ``body`` in the page with ``bench`` (bench/browser.js) and ``arg`` in scope."""
    source = f"async (arg) => {{ const bench = await import('{SCRIPT_URL}'); {body} }}"
    return page.evaluate(source, arg)


def check_barcode(page: Any) -> None:
    """Raise unless the page's barcode writer and readers (RGBA, I420) agree with test_patterns."""
    band_rows = 60  # 720 // 12
    for number in (0x5A5A5A, FRAME_NUMBER_MODULUS - 1, wall_stamp(wall_ms())):
        rgba = pattern_frame(WIDTH, HEIGHT, number)
        i420 = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")
        y_band = i420.to_ndarray()[:band_rows]  # the Y plane's first rows
        reads = _js(
            page,
            "const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));"
            "const {width, height} = arg;"
            "const rgba = bench.readBarcode(bytes(arg.band), width, height);"
            "const planes = new Uint8Array(width * height * 3 / 2).fill(128);"
            "planes.set(bytes(arg.yBand));"
            "const frame = new VideoFrame(planes, "
            "{format: 'I420', codedWidth: width, codedHeight: height, timestamp: 0});"
            "const i420 = await bench.readVideoFrame(frame); frame.close();"
            "const canvas = document.createElement('canvas');"
            "canvas.width = width; canvas.height = height;"
            "const ctx = canvas.getContext('2d', {alpha: false});"
            "ctx.fillStyle = 'rgb(30,90,200)'; ctx.fillRect(0, 0, width, height);"
            "bench.stampBarcode(ctx, width, height, arg.number);"
            "const data = ctx.getImageData(0, 0, width, arg.bandRows).data;"
            "let text = ''; for (let i = 0; i < data.length; i += 8192) "
            "text += String.fromCharCode(...data.subarray(i, i + 8192));"
            "return {rgba, i420, drawn: btoa(text)};",
            {
                "band": base64.b64encode(rgba[:band_rows].tobytes()).decode(),
                "yBand": base64.b64encode(y_band.tobytes()).decode(),
                "width": WIDTH,
                "height": HEIGHT,
                "number": number,
                "bandRows": band_rows,
            },
        )
        if reads["rgba"] != number or reads["i420"] != number:
            raise ScenarioError(f"bench/browser.js read {reads} from pattern_frame's {number}")
        image = np.zeros((HEIGHT, WIDTH, 4), dtype=np.uint8)
        drawn = np.frombuffer(base64.b64decode(reads["drawn"]), dtype=np.uint8)
        image[:band_rows] = drawn.reshape(band_rows, WIDTH, 4)
        expected = image.copy()
        stamp_frame_number(expected, number)
        if read_frame_number(image) != number or not np.array_equal(expected, image):
            raise ScenarioError(f"bench/browser.js's barcode of {number} is not test_patterns'")


# --------------------------------------------------------------------------- Chromium's CPU


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendant_pids() -> dict[int, str]:
    """This process's descendants (Playwright's driver, Chromium): pid -> command name."""
    children = _children_by_parent()
    found: dict[int, str] = {}
    todo = [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                found[child] = Path(f"/proc/{child}/comm").read_text().strip()
            except OSError:
                continue
    return found


def _cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return out


def _pss_mb(pids: Sequence[int]) -> float:
    total_kib = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024.0


class BrowserCpu:
    """CPU time of Chromium, and of everything else, between :meth:`start` and :meth:`stop`.

    ``cpu_seconds``: every Chromium process (those started inside the window
    count whole). ``others_seconds``: the machine's busy time minus this
    process and all its descendants (Chromium, Playwright's driver): what
    other work on the machine took meanwhile.
    """

    def __init__(self) -> None:
        self._before: dict[int, float] = {}
        self._busy = 0.0
        self._own = 0.0
        self.cpu_seconds = math.nan
        self.others_seconds = math.nan
        self.pss_mb = math.nan

    def start(self) -> None:
        """Open the window."""
        self._before = _cpu_seconds(list(descendant_pids()))
        self._own = time.process_time()
        self._busy = machine_busy_seconds()

    def stop(self) -> None:
        """Close it, and take Chromium's memory (PSS) now."""
        busy = machine_busy_seconds() - self._busy
        own = time.process_time() - self._own
        pids = descendant_pids()
        after = _cpu_seconds(list(pids))
        spent = {pid: t - self._before.get(pid, 0.0) for pid, t in after.items()}
        chromium = [pid for pid, name in pids.items() if name.startswith("chrom")]
        self.cpu_seconds = sum(spent[pid] for pid in chromium if pid in spent)
        self.others_seconds = max(0.0, busy - own - sum(spent.values()))
        self.pss_mb = _pss_mb(chromium)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot, all cores (``/proc/stat``)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class MachineLoad:
    """How busy everything but a row's own subprocess kept the machine.

    Made before the subprocess starts; :meth:`others_percent` after it has
    ended: the machine's busy CPU time minus the reaped subprocess's, in % of
    one core, over the whole subprocess run. Right for the Python-only rows;
    Chromium's processes are not reaped through that chain, so the browser
    rows measure the same over their window themselves (``others_cpu_percent``).
    """

    def __init__(self) -> None:
        self._busy = machine_busy_seconds()
        self._children = self._children_cpu()
        self._wall = time.monotonic()

    @staticmethod
    def _children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def others_percent(self) -> float:
        """CPU % of one core used by other processes since this object was made."""
        wall = time.monotonic() - self._wall
        busy = machine_busy_seconds() - self._busy
        ours = self._children_cpu() - self._children
        return max(0.0, 100.0 * (busy - ours) / wall) if wall > 0 else math.nan


# --------------------------------------------------------------------------- the game side


@dataclass
class _Log:
    """Frames sent (wall ms, stamp) and frames received (wall ms, stamp or -1, width, height)."""

    sent: list[tuple[float, int]] = field(default_factory=list)
    received: list[tuple[float, int, int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class GameSender:
    """A Python agent sending the 720p30 pattern, stamped with the wall clock, in ``group``."""

    def __init__(self, service: BenchService, log: _Log) -> None:
        self.log = log
        fmt = VideoStreamFormat(
            resolution=VideoStreamResolution.P720,
            pixel_format=VideoStreamPixelFormat.RGBA,
            frames_per_second=FPS,
        )
        self.stream = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
        outgoing = OutgoingVideoOptions(streams=[self.stream])
        options = JoinCallOptions(outgoing_video_options=outgoing)
        agent = service.agent("Game sender")
        self.call = agent.join(GroupCallLocator(service.group), options).result(CONNECT_TIMEOUT)
        self.frames = PatternFrames(WIDTH, HEIGHT)
        self.pacer = Pacer(self._send, 1 / FPS, "bench-browser-sender")
        """Sends while entered (frames wait until the stream is STARTED)."""

    def _send(self, number: int) -> bool:
        if self.stream.state is not VideoStreamState.STARTED:
            return False
        image = self.frames.render(number)
        now = wall_ms()
        stamp = wall_stamp(now)
        stamp_frame_number(image, stamp)
        frame = RawVideoFrameBuffer(
            buffers=[image],
            stream_format=self.stream.format,
            timestamp_in_ticks=self.stream.timestamp_in_ticks,
        )
        with self.log.lock:
            self.log.sent.append((now, stamp))
        self.stream.send_raw_video_frame(frame)
        return True

    def close(self) -> None:
        self.call.hang_up().result(10)


class GameReceiver:
    """A Python agent in ``group`` that asks for RGBA and reads every frame's stamp."""

    def __init__(self, service: BenchService, log: _Log) -> None:
        self.log = log
        self._started: list[RawIncomingVideoStream] = []
        options = JoinCallOptions(
            incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)
        )
        agent = service.agent("Game receiver")
        self.call = agent.join(GroupCallLocator(service.group), options).result(CONNECT_TIMEOUT)
        self.call.remote_participants_updated += self._on_participants

    def _on_participants(self, args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:
            participant.video_stream_state_changed += self._on_stream
            # A browser announces its video when it joins: the stream is there already.
            for stream in participant.incoming_video_streams:
                self._start(stream)

    def _on_stream(self, args: VideoStreamStateChangedEventArgs) -> None:
        self._start(args.stream)

    def _start(self, stream: RawIncomingVideoStream) -> None:
        with self.log.lock:
            if stream.state is not VideoStreamState.AVAILABLE or stream in self._started:
                return
            self._started.append(stream)
        stream.raw_video_frame_received += self._on_frame
        stream.start()

    def _on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        now = wall_ms()
        fmt = args.frame.stream_format
        assert fmt is not None
        width, height = fmt.width, fmt.height
        plane = np.asarray(args.frame.buffers[0]).reshape(height, -1)[:, : width * 4]
        stamp = read_frame_number(plane.reshape(height, width, 4))
        with self.log.lock:
            self.log.received.append((now, -1 if stamp is None else stamp, width, height))

    def close(self) -> None:
        self.call.hang_up().result(10)


# --------------------------------------------------------------------------- the browser side


class BrowserPeer:
    """A page of its own (one browser context) that joins as sender or receiver."""

    def __init__(self, browser: Any, service: BenchService) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: logger.warning("page error: %s", error))
        self.page.goto(service.service.page_url.rstrip("/") + HARNESS_PATH)
        _js(self.page, "bench.watchPeerConnections();")
        check_barcode(self.page)
        self.stats_before: dict[str, Any] = {}
        self.stats_after: dict[str, Any] = {}
        self.inside_ms: list[float] = []
        """Per frame shown: Chrome's presentationTime - receiveTime (requestVideoFrameCallback)."""
        self.shown: list[tuple[float, int, float]] = []
        """Per frame shown: Date.now(), presentedFrames, ms spent reading the barcode."""

    @staticmethod
    def _console(message: Any) -> None:
        if message.type in ("error", "warning"):
            logger.warning("page console %s: %s", message.type, message.text)

    def start_receiver(self, service: BenchService) -> None:
        _js(
            self.page,
            "return bench.startReceiver(arg);",
            {"token": service.token(), "groupId": service.group},
        )

    def start_sender(self, service: BenchService, content_hint: str, capture_fps: int) -> None:
        _js(
            self.page,
            "return bench.startSender(arg);",
            {
                "token": service.token(),
                "groupId": service.group,
                "width": WIDTH,
                "height": HEIGHT,
                "fps": FPS,
                "contentHint": content_hint,
                "captureFps": capture_fps,
                "backgroundUrl": BACKGROUND_URL,
            },
        )

    def take(self, log: _Log) -> None:
        """Move what the page recorded into ``log``."""
        data = _js(self.page, "return bench.take();")
        for error in data["errors"]:
            logger.warning("page: %s", error)
        with log.lock:
            log.sent.extend((float(t), int(s)) for t, s in data["sent"])
            log.received.extend(
                (float(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in data["received"]
            )
        self.inside_ms.extend(float(r[4]) for r in data["received"] if r[4] >= 0)
        self.shown.extend((float(r[0]), int(r[5]), float(r[6])) for r in data["received"])

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = _js(self.page, "return bench.videoStats();")
        return result

    def close(self) -> None:
        try:
            _js(self.page, "return bench.stop();")
        finally:
            self.context.close()


@contextmanager
def _chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, *EXTRA_CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------- a scenario


def _delta(after: dict[str, Any] | None, before: dict[str, Any] | None, key: str) -> float:
    if not after:
        return math.nan
    return float(after.get(key, 0.0)) - float((before or {}).get(key, 0.0))


def _per(numerator: float, denominator: float, scale: float = 1.0) -> float:
    if math.isnan(numerator) or math.isnan(denominator) or denominator <= 0:
        return math.nan
    return scale * numerator / denominator


def _browser_extra(
    sender: BrowserPeer | None, receiver: BrowserPeer | None, start: float, end: float
) -> tuple[dict[str, float], str]:
    """Figures from Chrome's WebRTC statistics over the window, and the codec's name."""
    extra: dict[str, float] = {}
    codec = ""
    seconds = (end - start) / 1000.0
    if sender is not None:
        before, after = sender.stats_before.get("outbound"), sender.stats_after.get("outbound")
        if after:
            codec = str(after.get("codec", ""))
            frames = _delta(after, before, "framesEncoded")
            extra["chrome_encode_ms"] = _per(_delta(after, before, "totalEncodeTime"), frames, 1e3)
            extra["chrome_sent_width"] = float(after.get("frameWidth", 0))
            extra["chrome_sent_height"] = float(after.get("frameHeight", 0))
            extra["chrome_encoded_fps"] = _per(frames, seconds)
            source_before = sender.stats_before.get("source")
            source_after = sender.stats_after.get("source")
            extra["chrome_captured_fps"] = _per(
                _delta(source_after, source_before, "frames"), seconds
            )
            extra["send_kbps"] = _per(_delta(after, before, "bytes"), seconds, 8 / 1000)
            extra["chrome_target_kbps"] = float(after.get("targetBitrate", 0)) / 1000
            limits_after = after.get("qualityLimitationDurations") or {}
            limits_before = (before or {}).get("qualityLimitationDurations") or {}
            for reason in ("cpu", "bandwidth"):
                extra[f"chrome_limited_{reason}_s"] = float(limits_after.get(reason, 0)) - float(
                    limits_before.get(reason, 0)
                )
    if receiver is not None:
        before, after = receiver.stats_before.get("inbound"), receiver.stats_after.get("inbound")
        if after:
            codec = codec or str(after.get("codec", ""))
            frames = _delta(after, before, "framesDecoded")
            extra["chrome_decode_ms"] = _per(_delta(after, before, "totalDecodeTime"), frames, 1e3)
            extra["chrome_jitter_buffer_ms"] = _per(
                _delta(after, before, "jitterBufferDelay"),
                _delta(after, before, "jitterBufferEmittedCount"),
                1e3,
            )
            extra["chrome_decoded_fps"] = _per(frames, seconds)
            extra["chrome_frames_dropped"] = _delta(after, before, "framesDropped")
            if sender is None:
                extra["recv_kbps"] = _per(_delta(after, before, "bytes"), seconds, 8 / 1000)
        if receiver.inside_ms:
            extra["chrome_receive_to_shown_ms"] = statistics.median(receiver.inside_ms)
        shown = [r for r in receiver.shown if start <= r[0] < end]
        if len(shown) > 1:
            extra["chrome_presented_fps"] = (shown[-1][1] - shown[0][1]) / seconds
            extra["barcode_read_ms"] = statistics.median(r[2] for r in shown)
    return extra, codec.split("/")[-1].lower()


def path_scenario(
    sender: str = GAME,
    receiver: str = BROWSER,
    seconds: float = 20.0,
    warmup: float = 2.0,
    content_hint: str = "",
    capture_fps: int = 0,
) -> ScenarioResult:
    """720p30 pattern video from ``sender`` to ``receiver`` (``"game"`` or ``"browser"``)."""
    if (sender, receiver) not in IMPLEMENTATIONS:
        raise ValueError(f"no scenario from {sender} to {receiver}")
    logging.getLogger("bench").setLevel(logging.INFO)
    implementation = IMPLEMENTATIONS[(sender, receiver)]
    log = _Log()
    service = BenchService(configure_app, connect_timeout=CONNECT_TIMEOUT)
    window = MeasuredWindow()
    chromium_cpu = BrowserCpu()
    sender_dropped = math.nan
    send_page: BrowserPeer | None = None
    receive_page: BrowserPeer | None = None
    with ExitStack() as stack:
        stack.callback(service.close)
        browser = stack.enter_context(_chromium())
        logger.info("%s: Chromium and the service are up", implementation)
        # The receiver joins first, as in bench.calls; the sender is the newcomer and offers.
        if receiver == BROWSER:
            receive_page = BrowserPeer(browser, service)
            stack.callback(receive_page.close)
            receive_page.start_receiver(service)
        else:
            game_receiver = GameReceiver(service, log)
            stack.callback(game_receiver.close)
        if sender == BROWSER:
            send_page = BrowserPeer(browser, service)
            stack.callback(send_page.close)
            send_page.start_sender(service, content_hint, capture_fps)
        else:
            game_sender = GameSender(service, log)
            stack.callback(game_sender.close)
            stack.enter_context(game_sender.pacer)
        either = receive_page or send_page
        assert either is not None
        wait_page = either.page
        logger.info("%s: in the call, waiting for the first stamped frame", implementation)

        def stamped_frames() -> int:
            for page in (receive_page, send_page):
                if page is not None:
                    page.take(log)
            with log.lock:
                return sum(1 for r in log.received if r[1] >= 0)

        deadline = time.monotonic() + CONNECT_TIMEOUT
        while stamped_frames() == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{implementation}: no stamped frame arrived")
            wait_page.wait_for_timeout(100)
        wait_page.wait_for_timeout(warmup * 1000)
        logger.info("%s: measuring %.0f s", implementation, seconds)
        for page in (receive_page, send_page):
            if page is not None:
                page.take(log)
                page.stats_before = page.stats()
        dropped_before = game_sender.stream.frames_dropped if sender == GAME else 0
        start = wall_ms()
        window.start()
        chromium_cpu.start()
        wait_page.wait_for_timeout(seconds * 1000)
        chromium_cpu.stop()
        window.stop()
        end = wall_ms()
        for page in (receive_page, send_page):
            if page is not None:
                page.stats_after = page.stats()
        wait_page.wait_for_timeout(LATE_FRAME_GRACE * 1000)
        for page in (receive_page, send_page):
            if page is not None:
                page.take(log)
        if sender == GAME:
            sender_dropped = float(game_sender.stream.frames_dropped - dropped_before)
        logger.info("%s: done, closing", implementation)
    return _result(
        implementation,
        log,
        window,
        chromium_cpu,
        start,
        end,
        sender_dropped,
        _browser_extra(send_page, receive_page, start, end),
    )


def _result(
    implementation: str,
    log: _Log,
    window: MeasuredWindow,
    chromium_cpu: BrowserCpu,
    start: float,
    end: float,
    sender_dropped: float,
    browser: tuple[dict[str, float], str],
) -> ScenarioResult:
    seconds = window.wall_seconds
    sent = {stamp: t for t, stamp in log.sent if start <= t < end}
    first_arrival: dict[int, float] = {}
    for t, stamp, _w, _h in log.received:
        if stamp >= 0:
            first_arrival.setdefault(stamp, t)
    latencies = [first_arrival[s] - t for s, t in sent.items() if s in first_arrival]
    in_window = [r for r in log.received if start <= r[0] < end]
    sizes = Counter((w, h) for _t, _s, w, h in in_window)
    (width, height), _count = sizes.most_common(1)[0] if sizes else ((0, 0), 0)
    extra, codec = browser
    full = sizes.get((WIDTH, HEIGHT), 0) / len(in_window) if in_window else math.nan
    return ScenarioResult(
        name=f"video {codec or '?'} 720p30",
        implementation=implementation,
        seconds=seconds,
        received_fps=len(in_window) / seconds,
        latency_median_ms=statistics.median(latencies) if latencies else math.nan,
        latency_p95_ms=percentile(latencies, 95),
        cpu_percent=window.cpu_percent,
        peak_rss_mb=peak_rss_mb(),
        frames_sent=len(sent),
        frames_received=len(in_window),
        frames_dropped=sum(1 for s in sent if s not in first_arrival),
        extra={
            "browser_cpu_percent": _per(chromium_cpu.cpu_seconds, seconds, 100.0),
            "others_cpu_percent": _per(chromium_cpu.others_seconds, seconds, 100.0),
            "browser_pss_mb": chromium_cpu.pss_mb,
            "width": float(width),
            "height": float(height),
            "full_size_fraction": full,
            "sent_fps": len(sent) / seconds,
            "unreadable": float(sum(1 for r in in_window if r[1] < 0)),
            **({"sender_dropped": sender_dropped} if not math.isnan(sender_dropped) else {}),
            **extra,
        },
    )


# --------------------------------------------------------------------------- the table


def _n(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


PATHS = {
    bare_aiortc.IMPLEMENTATION: "Python -> Python",
    "engine_plugin": "game -> game",
    IMPLEMENTATIONS[(GAME, BROWSER)]: "game -> browser",
    IMPLEMENTATIONS[(BROWSER, GAME)]: "browser -> game",
    IMPLEMENTATIONS[(BROWSER, BROWSER)]: "browser -> browser",
}
SHOWN = (
    "browser_cpu_percent",
    "browser_pss_mb",
    "others_cpu_percent",
    "width",
    "height",
    "full_size_fraction",
    "sent_fps",
)


def _pair(first: float | None, second: float | None, digits: int = 0) -> str:
    return f"{_n(first, digits)} / {_n(second, digits)}"


def markdown_table(results: Sequence[ScenarioResult]) -> str:
    """One row per result; latency against the bare-aiortc row when there is one.

    CPU is in % of one core and memory in MB, each as Python / Chromium: the
    row's Python process (peak RSS) and every Chromium process (PSS summed at
    the end of the window). "other load" is what the rest of the machine used
    meanwhile (see :class:`MachineLoad`).
    """
    base = next((r for r in results if r.implementation == bare_aiortc.IMPLEMENTATION), None)
    headers = [
        "path",
        "implementation",
        "codec",
        "fps received",
        "latency median / p95 ms",
        "vs bare aiortc (median)",
        "size received",
        "CPU % Python / Chromium",
        "memory MB Python / Chromium",
        "sent / received / dropped",
        "other load, % of a core",
        "details",
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in results:
        extra = row.extra
        width, height = extra.get("width", WIDTH), extra.get("height", HEIGHT)
        size = f"{width:.0f}x{height:.0f}"
        full = extra.get("full_size_fraction")
        if full is not None and not math.isnan(full) and full < 1.0:
            size += f" ({100 * full:.0f} % at {WIDTH}x{HEIGHT})"
        ratio = "-"
        if base is not None and row is not base and base.latency_median_ms > 0:
            diff = row.latency_median_ms - base.latency_median_ms
            ratio = f"{row.latency_median_ms / base.latency_median_ms:.2f}x ({diff:+.1f} ms)"
        details = ", ".join(f"{k} {_n(v)}" for k, v in extra.items() if k not in SHOWN)
        cells = [
            PATHS.get(row.implementation, "?"),
            row.implementation,
            row.name.split()[1],
            _n(row.received_fps),
            _pair(row.latency_median_ms, row.latency_p95_ms, 1),
            ratio,
            size,
            _pair(row.cpu_percent, extra.get("browser_cpu_percent")),
            _pair(row.peak_rss_mb, extra.get("browser_pss_mb")),
            f"{row.frames_sent} / {row.frames_received} / {row.frames_dropped}",
            _n(extra.get("others_cpu_percent"), 0),
            details or "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run every row in a fresh process and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.browser",
        description=(
            "Browser benchmark: 720p30 video from a game (an engine_plugin agent) to a "
            "headless Chromium in the same call and back, next to the Python-to-Python "
            "rows (bare aiortc, engine_plugin) measured in the same run. Frames carry the "
            "wall clock in their barcode; latency is the receiver's clock minus the "
            "stamp. Each row runs in a fresh process; prints a Markdown table."
        ),
    )
    parser.add_argument(
        "--duration", type=float, default=20.0, help="measured seconds per row (20)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds not measured after the first frame (2)"
    )
    parser.add_argument(
        "--rows",
        action="append",
        choices=["python", *BROWSER_ROWS],
        help="rows to run (repeatable; default all: python = bare aiortc and engine_plugin "
        "Python-to-Python, then game-to-browser, browser-to-game, browser-to-browser)",
    )
    parser.add_argument(
        "--content-hint",
        choices=["detail", "motion", "none"],
        default="none",
        help="the browser sender's track.contentHint (default none, as a camera's; detail: "
        "Chrome keeps the resolution but lowers the bitrate)",
    )
    parser.add_argument(
        "--capture-fps",
        type=int,
        default=0,
        help="the browser sender's canvas.captureStream(N); 0 (default): captureStream(), "
        "a frame for every drawing",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("-v", "--verbose", action="store_true", help="log everything at INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    logging.getLogger("bench").setLevel(logging.INFO)
    rows = args.rows or ["python", *BROWSER_ROWS]
    plan: list[tuple[str, dict[str, Any]]] = []
    if "python" in rows:
        plan += [(target, dict(kwargs)) for target, kwargs in PYTHON_ROWS]
    browser_rows = [name for name in BROWSER_ROWS if name in rows]
    if browser_rows and not chromium_available():
        logger.error("Debian's chromium is not installed: no browser rows")
        browser_rows = []
    for name in browser_rows:
        sender, receiver = BROWSER_ROWS[name]
        hint = "" if args.content_hint == "none" else args.content_hint
        kwargs = {
            "sender": sender,
            "receiver": receiver,
            "content_hint": hint,
            "capture_fps": args.capture_fps,
        }
        plan.append(("bench.browser:path_scenario", kwargs))
    logger.info(
        "%d rows of %.0f s each (%d CPU cores here)", len(plan), args.duration, os.cpu_count() or 0
    )
    results: list[ScenarioResult] = []
    for target, kwargs in plan:
        kwargs = {**kwargs, "seconds": args.duration, "warmup": args.warmup}
        logger.info("running %s %s", target, kwargs)
        load = MachineLoad()
        try:
            rows = run_isolated(target, timeout=args.duration + 120, **kwargs)
        except ScenarioError as exc:
            logger.error("%s failed: %s", target, exc)
            continue
        others = load.others_percent()
        for row in rows:
            row.extra.setdefault("others_cpu_percent", others)
        results.extend(rows)
    if args.json:
        print(results_to_json(results))
    else:
        print(markdown_table(results))
    return 0 if len(results) == len(plan) else 1


if __name__ == "__main__":
    sys.exit(main())
