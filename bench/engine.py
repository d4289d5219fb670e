"""The engine benchmark: what the Panda3D plugin costs the main thread, with video in and out.

Each scenario runs in a fresh process (:func:`bench.measure.run_isolated`),
with a real Panda3D ShowBase rendering offscreen (Mesa EGL through
``p3headlessgl``, else ``p3tinydisplay``) at 1280x720, stepped from the
scenario's thread at a steady 60 Hz (or as fast as it can, if a frame takes
longer than 16.7 ms).

**Video walls** (:func:`walls_scenario`, :func:`real_call_scenario`): N
:class:`~engine_plugin.engine.VideoWall` components, each showing a 720p30
stream. The figure is the main-thread time of the plugin's Update task
(``EnginePlugin.components.step``, timed around every call) per rendered
frame: median, p95 and mean, and the same divided by N (the target: at most
1 ms per 720p stream per frame).

- Synthetic rows (1, 4 and 9 streams): one feeder thread per wall puts a
  pre-made 1280x720 ``RawVideoFrameBuffer`` in the wall's ``slot`` at 30 fps
  (the phases spread over the frame interval), as the SDK's delivery thread
  does after decoding. Decoding is left out: it runs on the SDK's threads,
  never on the main thread, and nine VP8 720p decodes do not fit this
  2-core machine. Each N runs twice: with ``BGRX`` frames (Panda3D's own
  layout, copied into the texture's RAM image) and with ``RGBA`` frames (the
  naive ``Texture.setRamImageAs(..., "RGBA")`` path).
- The real-call row: a :class:`~engine_plugin.testing.SyntheticParticipant`
  sends a 720p30 pattern whose barcode is the clock (VP8 over 127.0.0.1 to
  an in-process agent that asks for ``BGRX``); a
  :class:`~engine_plugin.engine.WallLayout` gives it a wall. Its latency is
  from the sender drawing the frame to the main thread uploading it.

Besides the Update task, each row reports the whole frame (``taskMgr.step``:
tasks, then the render, where Panda3D copies each changed texture to GL),
and the same frame with the walls showing their last images while nothing
new arrives (measured for 1 s after the window): the difference divided by N
is the main-thread cost per stream including the GL upload.

**Scene camera** (:func:`scene_camera_scenario`): a
:class:`~engine_plugin.engine.SceneCamera` sending 720p30 ``BGRX`` frames,
whose orthographic lens sees exactly one full-view card; the card's texture
is a pattern whose barcode is rewritten every frame with the clock
(:func:`~engine_plugin.testing.clock_stamp`), by a task of its own that runs
before the Update task and is timed apart from it. An in-process agent
receives the stream in ``RGBA`` and reads the stamp
(:func:`~engine_plugin.media.test_patterns.read_frame_number`, then
:func:`~engine_plugin.testing.stamp_age_ms`): render-to-remote latency.

Run ``python -m bench.engine --help``. Inside a loopback-only namespace::

    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m bench.engine'
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
from engine_plugin.media.test_patterns import pattern_frame, read_frame_number, stamp_frame_number
from engine_plugin.testing.latency import clock_stamp, stamp_age_ms

logger = logging.getLogger(__name__)

IMPLEMENTATION = "engine_plugin"
WIDTH, HEIGHT = 1280, 720
"""The main window's size and the streams' frame size (720p)."""
RENDER_HZ = 60
"""The rate the scenarios step Panda3D at."""
STREAM_FPS = 30
TARGET_MS_PER_STREAM = 1.0
"""At most this much main-thread time per 720p stream per rendered frame."""
TARGET_CAMERA_FPS = 29.0
"""The scene camera's frames received per second, at least."""
CONNECT_TIMEOUT = 20.0
STATIC_SECONDS = 1.0
"""How long the walls are rendered after the window with no new frames (the baseline)."""
MAX_AGE_MS = 10_000.0
"""Stamps older than this are misreads (a stamp is good for 4.6 hours)."""
PIXEL_FORMATS = {"bgrx": VideoStreamPixelFormat.BGRX, "rgba": VideoStreamPixelFormat.RGBA}
PATH_NAMES = {"bgrx": "BGRX copy", "rgba": "RGBA setRamImageAs (naive)"}

PRC = """
notify-level-display error
notify-level-glgsg error
print-pipe-types false
notify-level-device fatal
"""


# --------------------------------------------------------------------------- the frame loop


@dataclass
class FrameTimes:
    """Per rendered frame: how long the Update task and the whole frame took, in ms."""

    update_ms: list[float] = field(default_factory=list)
    frame_ms: list[float] = field(default_factory=list)
    flags: list[bool] = field(default_factory=list)
    """Whatever the loop's ``flag`` callable said after each frame (e.g. "the camera rendered")."""
    recording: bool = False

    def clear(self) -> None:
        """Forget what was recorded."""
        self.update_ms.clear()
        self.frame_ms.clear()
        self.flags.clear()


class FrameLoop:
    """Steps a ShowBase at :data:`RENDER_HZ` and times the plugin's Update task in each frame.

    The plugin's ``components.step`` is wrapped (on the instance) with a timer,
    so the figure is exactly the Update task's work: every component's
    ``update``, nothing of the render.
    """

    def __init__(self, base: Any, plugin: Any, flag: Callable[[], bool] | None = None) -> None:
        self.base = base
        self.times = FrameTimes()
        self._flag = flag
        self._last_update_ms = 0.0
        step = plugin.components.step

        def timed_step(dt: float) -> None:
            began = time.perf_counter()
            step(dt)
            self._last_update_ms = (time.perf_counter() - began) * 1000.0

        plugin.components.step = timed_step
        self._next = time.monotonic()

    def step(self) -> None:
        """Render one frame, then wait for the next frame's time."""
        self._last_update_ms = 0.0
        began = time.perf_counter()
        self.base.taskMgr.step()
        frame_ms = (time.perf_counter() - began) * 1000.0
        if self.times.recording:
            self.times.update_ms.append(self._last_update_ms)
            self.times.frame_ms.append(frame_ms)
            self.times.flags.append(self._flag() if self._flag is not None else False)
        period = 1.0 / RENDER_HZ
        now = time.monotonic()
        self._next = max(self._next + period, now - period)
        if self._next > now:
            time.sleep(self._next - now)

    def run_for(self, seconds: float) -> int:
        """Step for ``seconds``; returns the number of frames rendered."""
        end = time.monotonic() + seconds
        frames = 0
        while time.monotonic() < end:
            self.step()
            frames += 1
        return frames

    def run_until(self, predicate: Callable[[], object], timeout: float, what: str) -> None:
        """Step until ``predicate()`` is true; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            self.step()


@contextmanager
def _showbase() -> Iterator[Any]:
    """An offscreen ShowBase at 1280x720 with a fixed camera (no mouse control)."""
    from engine_plugin.testing.offscreen import offscreen_showbase

    with offscreen_showbase(WIDTH, HEIGHT, prc=PRC) as base:
        base.disableMouse()
        base.camLens.setFov(60)
        pipe = base.pipe.getType().getName()
        logger.info("rendering with %s (%s)", pipe, base.win.getGsg().getDriverRenderer())
        if "Tiny" in pipe:
            logger.warning(
                "%s: Panda3D's own rasteriser takes only power-of-two textures, so the walls "
                "cannot show 1280x720 frames; these figures do not describe a GL renderer",
                pipe,
            )
        yield base


def _median(values: Sequence[float]) -> float:
    """The median (NaN when empty)."""
    return statistics.median(values) if values else math.nan


def _stats(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, p95 and mean (NaN when empty)."""
    if not values:
        return math.nan, math.nan, math.nan
    return statistics.median(values), percentile(values, 95), statistics.fmean(values)


# --------------------------------------------------------------------------- video walls


def _grid(count: int) -> list[tuple[float, float, float]]:
    """Positions for ``count`` walls in a grid that a 60-degree camera at the origin sees whole."""
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    height = _wall_height(count)
    width = height * 16 / 9
    spots = []
    for index in range(count):
        row, col = divmod(index, cols)
        x = (col - (cols - 1) / 2) * width * 1.08
        z = ((rows - 1) / 2 - row) * height * 1.12
        spots.append((x, 10.0, z))
    return spots


def _wall_height(count: int) -> float:
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    # At 10 units, a 60-degree (horizontal) 16:9 view is 11.5 x 6.5 units.
    return 0.9 * min(6.0 / rows, 10.5 / cols / (16 / 9))


class Feeder:
    """Puts pre-made frames in a wall's slot at ``fps``, as the SDK's delivery thread would.

    The frames alternate between two pattern images, so the texture changes
    every time; no memory is allocated per frame.
    """

    def __init__(
        self, slot: Any, frames: Sequence[RawVideoFrameBuffer], fps: float, phase: float, name: str
    ) -> None:
        self._slot = slot
        self._frames = list(frames)
        self._period = 1.0 / fps
        self._phase = phase
        self.put = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def _run(self) -> None:
        epoch = time.monotonic() + self._phase
        number = 0
        while not self._stop.is_set():
            delay = epoch + number * self._period - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if delay < -self._period:  # fell behind (a stalled machine): skip, do not burst
                epoch = time.monotonic() - number * self._period
            self._slot.put(self._frames[number % len(self._frames)])
            self.put += 1
            number += 1

    def stop(self) -> None:
        """Stop the thread and join it."""
        self._stop.set()
        self._thread.join(5)


def _premade_frames(pixel_format: VideoStreamPixelFormat, seed: int) -> list[RawVideoFrameBuffer]:
    """Two 720p pattern frames in ``pixel_format`` (BGRX or RGBA), as the SDK delivers them."""
    fmt = VideoStreamFormat(width=WIDTH, height=HEIGHT, pixel_format=pixel_format)
    frames = []
    for number in (0, 60):
        rgba = pattern_frame(WIDTH, HEIGHT, number, seed=seed)
        image = rgba[..., [2, 1, 0, 3]] if pixel_format is VideoStreamPixelFormat.BGRX else rgba
        plane = np.ascontiguousarray(image).reshape(HEIGHT, WIDTH * 4)
        frames.append(RawVideoFrameBuffer([plane], fmt.copy()))
    return frames


def _walls_result(
    *,
    name: str,
    implementation: str,
    streams: int,
    window: MeasuredWindow,
    times: FrameTimes,
    frames: int,
    uploads: int,
    fed: int,
    dropped: int,
    static: FrameTimes,
    latencies: Sequence[float] = (),
) -> ScenarioResult:
    update_median, update_p95, update_mean = _stats(times.update_ms)
    frame_median, frame_p95, frame_mean = _stats(times.frame_ms)
    static_median, _static_p95, static_mean = _stats(static.frame_ms)
    seconds = window.wall_seconds
    return ScenarioResult(
        name=name,
        implementation=implementation,
        seconds=seconds,
        received_fps=uploads / seconds / streams,
        latency_median_ms=statistics.median(latencies) if latencies else math.nan,
        latency_p95_ms=percentile(latencies, 95),
        cpu_percent=window.cpu_percent,
        peak_rss_mb=peak_rss_mb(),
        frames_sent=fed,
        frames_received=uploads,
        frames_dropped=dropped,
        extra={
            "streams": float(streams),
            "render_fps": frames / seconds,
            "update_median_ms": update_median,
            "update_p95_ms": update_p95,
            "update_mean_ms": update_mean,
            "update_median_ms_per_stream": update_median / streams,
            "update_p95_ms_per_stream": update_p95 / streams,
            "update_ms_per_upload": sum(times.update_ms) / uploads if uploads else math.nan,
            "frame_median_ms": frame_median,
            "frame_p95_ms": frame_p95,
            "frame_mean_ms": frame_mean,
            "static_frame_median_ms": static_median,
            "static_frame_mean_ms": static_mean,
            "main_thread_mean_ms_per_stream": (frame_mean - static_mean) / streams,
        },
    )


def walls_scenario(
    streams: int = 1, pixel_format: str = "bgrx", seconds: float = 10.0, warmup: float = 2.0
) -> ScenarioResult:
    """``streams`` walls fed 720p30 frames by threads (no decoding); the Update task's cost."""
    from engine_plugin.engine import VideoWall, setup

    fmt = PIXEL_FORMATS[pixel_format]
    with _showbase() as base:
        plugin = setup(base)
        height = _wall_height(streams)
        walls = [plugin.add(VideoWall(pos=pos, height=height)) for pos in _grid(streams)]
        loop = FrameLoop(base, plugin)
        feeders = [
            Feeder(
                wall.slot,
                _premade_frames(fmt, seed=index),
                STREAM_FPS,
                phase=index / (streams * STREAM_FPS),
                name=f"bench-feeder-{index}",
            )
            for index, wall in enumerate(walls)
        ]
        for feeder in feeders:
            feeder.start()
        try:
            loop.run_until(lambda: all(w.showing_video for w in walls), 10, "every wall's video")
            loop.run_for(warmup)
            uploads_before = sum(w.frame_texture.uploads for w in walls)
            fed_before = sum(f.put for f in feeders)
            dropped_before = sum(w.frames_dropped for w in walls)
            window = MeasuredWindow()
            loop.times.recording = True
            window.start()
            frames = loop.run_for(seconds)
            window.stop()
            loop.times.recording = False
            uploads = sum(w.frame_texture.uploads for w in walls) - uploads_before
            fed = sum(f.put for f in feeders) - fed_before
            dropped = sum(w.frames_dropped for w in walls) - dropped_before
        finally:
            for feeder in feeders:
                feeder.stop()
        times = FrameTimes(list(loop.times.update_ms), list(loop.times.frame_ms))
        static = _static_baseline(loop)
        plugin.destroy()
    return _walls_result(
        name=f"{streams} x 720p30 walls, synthetic feed",
        implementation=PATH_NAMES[pixel_format],
        streams=streams,
        window=window,
        times=times,
        frames=frames,
        uploads=uploads,
        fed=fed,
        dropped=dropped,
        static=static,
    )


def _static_baseline(loop: FrameLoop) -> FrameTimes:
    """Frame times while the walls show their last image and nothing new arrives."""
    loop.run_for(0.2)  # frames already pending are uploaded
    loop.times.clear()
    loop.times.recording = True
    loop.run_for(STATIC_SECONDS)
    loop.times.recording = False
    static = FrameTimes(list(loop.times.update_ms), list(loop.times.frame_ms))
    loop.times.clear()
    return static


class _StampProbe:
    """Reads the clock stamp of each frame of a stream (SDK thread) and its age at upload.

    The frame object the SDK hands to every handler is the one the wall
    uploads, so the stamp read on arrival is looked up again at upload time
    (a dictionary lookup on the main thread, nothing more).
    """

    def __init__(self, channel_order: str) -> None:
        self.channel_order = channel_order
        self._stamps: dict[int, int] = {}
        self._lock = threading.Lock()
        self.upload_ages: list[float] = []
        self.recording = False

    def on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        """SDK delivery thread: read the barcode."""
        fmt = args.frame.stream_format
        if fmt is None:
            return
        plane = np.asarray(args.frame.buffers[0]).reshape(fmt.height, -1)
        image = plane[:, : fmt.width * 4].reshape(fmt.height, fmt.width, 4)
        stamp = read_frame_number(image, channel_order=self.channel_order)
        if stamp is not None:
            with self._lock:
                self._stamps[id(args.frame)] = stamp
                if len(self._stamps) > 64:
                    self._stamps.pop(next(iter(self._stamps)))

    def wrap_upload(self, frame_texture: Any) -> None:
        """Time-stamp ``frame_texture``'s uploads (on the instance)."""
        upload = frame_texture.upload

        def timed_upload(frame: RawVideoFrameBuffer) -> bool:
            changed: bool = upload(frame)
            with self._lock:
                stamp = self._stamps.pop(id(frame), None)
            if stamp is not None and self.recording:
                age = stamp_age_ms(stamp)
                if age < MAX_AGE_MS:
                    self.upload_ages.append(age)
            return changed

        frame_texture.upload = timed_upload


def real_call_scenario(
    pixel_format: str = "bgrx", seconds: float = 10.0, warmup: float = 2.0
) -> ScenarioResult:
    """One wall showing a real VP8 720p30 call (a synthetic participant); the Update task's cost."""
    from engine_plugin.engine import WallLayout, setup
    from engine_plugin.testing import SyntheticParticipant

    fmt = PIXEL_FORMATS[pixel_format]
    services = BenchService(connect_timeout=CONNECT_TIMEOUT)
    bot: SyntheticParticipant | None = None
    call = None
    try:
        with _showbase() as base:
            plugin = setup(base)
            options = JoinCallOptions(incoming_video_options=IncomingVideoOptions(pixel_format=fmt))
            call = (
                services.agent()
                .join(GroupCallLocator(services.group), options)
                .result(CONNECT_TIMEOUT)
            )
            layout = plugin.add(
                WallLayout(call, center=(0.0, 10.0, 0.0), wall_height=_wall_height(1))
            )
            loop = FrameLoop(base, plugin)
            bot = SyntheticParticipant(
                services.service.connection_string,
                "Bot",
                resolution=VideoStreamResolution.P720,
                fps=STREAM_FPS,
                tone_hz=None,
                stamp_clock=True,
            )
            bot.join(services.group)
            loop.run_until(
                lambda: bool(layout.walls) and layout.walls[0].stream is not None,
                CONNECT_TIMEOUT,
                "the bot's wall",
            )
            wall = layout.walls[0]
            stream = wall.stream
            assert stream is not None
            probe = _StampProbe(pixel_format)
            stream.raw_video_frame_received += probe.on_frame
            probe.wrap_upload(wall.frame_texture)
            loop.run_until(lambda: wall.showing_video, CONNECT_TIMEOUT, "the bot's video")
            loop.run_for(warmup)
            uploads_before = wall.frame_texture.uploads
            put_before = wall.slot.put_count
            dropped_before = wall.frames_dropped
            window = MeasuredWindow()
            loop.times.recording = probe.recording = True
            window.start()
            frames = loop.run_for(seconds)
            window.stop()
            loop.times.recording = probe.recording = False
            uploads = wall.frame_texture.uploads - uploads_before
            fed = wall.slot.put_count - put_before
            dropped = wall.frames_dropped - dropped_before
            size = (wall.frame_texture.width, wall.frame_texture.height)
            times = FrameTimes(list(loop.times.update_ms), list(loop.times.frame_ms))
            assert bot.pattern is not None
            bot.pattern.stop()  # the wall keeps its last image: the static baseline
            static = _static_baseline(loop)
            stream.raw_video_frame_received -= probe.on_frame
            plugin.destroy()
    finally:
        if bot is not None:
            bot.close()
        if call is not None:
            call.hang_up().result(10)
        services.close()
    if size != (WIDTH, HEIGHT):
        logger.warning("the wall showed %dx%d frames, not %dx%d", *size, WIDTH, HEIGHT)
    result = _walls_result(
        name="1 x 720p30 wall, real call (VP8)",
        implementation=PATH_NAMES[pixel_format],
        streams=1,
        window=window,
        times=times,
        frames=frames,
        uploads=uploads,
        fed=fed,
        dropped=dropped,
        static=static,
        latencies=probe.upload_ages,
    )
    result.extra["frame_width"] = float(size[0])
    result.extra["frame_height"] = float(size[1])
    return result


# --------------------------------------------------------------------------- scene camera


class ClockCard:
    """A full-view card whose texture is a 720p pattern with the clock in its barcode.

    Its own task (sort 30, before the plugin's Update) rewrites only the
    barcode band, in place in the texture's RAM image (BGRA, bottom row
    first), and times itself. While ``paused`` the texture is left alone (so
    Panda3D has nothing to upload to GL).
    """

    TASK = "bench-clock-card"

    def __init__(self, base: Any, parent: Any, distance: float, film: tuple[float, float]) -> None:
        from panda3d.core import CardMaker, SamplerState, Texture

        self.base = base
        self.texture = Texture("clock-card")
        self.texture.setup2dTexture(WIDTH, HEIGHT, Texture.T_unsigned_byte, Texture.F_rgba8)
        self.texture.setMinfilter(SamplerState.FT_linear)
        self.texture.setMagfilter(SamplerState.FT_linear)
        bgra_bottom_first = pattern_frame(WIDTH, HEIGHT, 0)[::-1, :, [2, 1, 0, 3]]
        self.texture.setRamImage(np.ascontiguousarray(bgra_bottom_first).tobytes())
        maker = CardMaker("clock-card")
        maker.setFrame(-film[0] / 2, film[0] / 2, -film[1] / 2, film[1] / 2)
        self.node = parent.attachNewNode(maker.generate())
        self.node.setPos(0, distance, 0)
        self.node.setTexture(self.texture)
        self.cost_ms: list[float] = []
        self.recording = False
        self.paused = False
        self._task = base.taskMgr.add(self._update, self.TASK, sort=30)

    def _update(self, task: Any) -> int:
        from direct.task import Task

        if self.paused:
            return int(Task.cont)
        began = time.perf_counter()
        ram = np.frombuffer(self.texture.modifyRamImage(), dtype=np.uint8)
        top_first = ram.reshape(HEIGHT, WIDTH, 4)[::-1]
        stamp_frame_number(top_first, clock_stamp(), channel_order="bgra")
        if self.recording:
            self.cost_ms.append((time.perf_counter() - began) * 1000.0)
        return int(Task.cont)

    def destroy(self) -> None:
        """Remove the task and the card."""
        self.base.taskMgr.remove(self._task)
        self.node.removeNode()


@dataclass
class _Arrivals:
    """Frames of the scene camera's stream at the remote agent: when, and how old."""

    times: list[float] = field(default_factory=list)
    ages: list[tuple[float, float]] = field(default_factory=list)
    sizes: set[tuple[int, int]] = field(default_factory=set)
    unreadable: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        """SDK delivery thread: an RGBA frame arrived."""
        now = time.monotonic()
        fmt = args.frame.stream_format
        if fmt is None:
            return
        plane = np.asarray(args.frame.buffers[0]).reshape(fmt.height, -1)
        image = plane[:, : fmt.width * 4].reshape(fmt.height, fmt.width, 4)
        stamp = read_frame_number(image)
        with self.lock:
            self.times.append(now)
            self.sizes.add((fmt.width, fmt.height))
            if stamp is None:
                self.unreadable += 1
                return
            age = stamp_age_ms(stamp, now)
            if age < MAX_AGE_MS:
                self.ages.append((now, age))

    def watch(self, call: Any) -> None:
        """Start every incoming video stream of ``call`` and listen to its frames."""

        def attach(stream: RawIncomingVideoStream) -> None:
            if stream.state is VideoStreamState.AVAILABLE:
                stream.raw_video_frame_received += self.on_frame
                stream.start()

        def on_stream(args: VideoStreamStateChangedEventArgs) -> None:
            attach(args.stream)

        def on_participants(args: ParticipantsUpdatedEventArgs) -> None:
            for participant in args.added_participants:
                participant.video_stream_state_changed += on_stream
                for stream in participant.incoming_video_streams:
                    attach(stream)

        call.remote_participants_updated += on_participants
        on_participants(ParticipantsUpdatedEventArgs(list(call.remote_participants), []))

    def count(self) -> int:
        """Frames received so far."""
        with self.lock:
            return len(self.times)


def scene_camera_scenario(seconds: float = 10.0, warmup: float = 2.0) -> ScenarioResult:
    """A 720p30 BGRX scene camera filming a clock card, received by a second agent in RGBA."""
    from panda3d.core import NodePath, OrthographicLens

    from engine_plugin.engine import SceneCamera, setup

    services = BenchService(connect_timeout=CONNECT_TIMEOUT)
    calls: list[Any] = []
    try:
        with _showbase() as base:
            plugin = setup(base)
            film = (16.0, 9.0)
            # The card is in a scene of its own, which only the scene camera films:
            # the main window's render (an empty scene) stays out of the figures.
            studio = NodePath("bench-studio")
            card = ClockCard(base, studio, distance=10.0, film=film)
            lens = OrthographicLens()
            lens.setFilmSize(*film)
            lens.setNearFar(1.0, 100.0)
            stream = VirtualOutgoingVideoStream(
                RawOutgoingVideoStreamOptions(
                    formats=[
                        VideoStreamFormat(
                            resolution=VideoStreamResolution.P720,
                            pixel_format=VideoStreamPixelFormat.BGRX,
                            frames_per_second=STREAM_FPS,
                        )
                    ]
                )
            )
            camera = plugin.add(SceneCamera(stream, lens=lens, scene=studio))

            def camera_rendered() -> bool:
                buffer = camera.buffer
                return buffer is not None and bool(buffer.isActive())

            loop = FrameLoop(base, plugin, flag=camera_rendered)
            arrivals = _Arrivals()
            group = GroupCallLocator(services.group)
            rgba_in = IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)
            viewer = services.agent().join(group, JoinCallOptions(incoming_video_options=rgba_in))
            calls.append(viewer.result(CONNECT_TIMEOUT))
            arrivals.watch(calls[-1])
            sender = services.agent().join(
                group,
                JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[stream])),
            )
            calls.append(sender.result(CONNECT_TIMEOUT))
            loop.run_until(lambda: arrivals.count() > 0, CONNECT_TIMEOUT, "the camera's frames")
            loop.run_for(warmup)
            sent_before, rendered_before = camera.frames_sent, camera.frames_rendered
            dropped_before = camera.frames_dropped
            window = MeasuredWindow()
            loop.times.recording = card.recording = True
            start = time.monotonic()
            window.start()
            frames = loop.run_for(seconds)
            window.stop()
            end = time.monotonic()
            loop.times.recording = card.recording = False
            times = FrameTimes(
                list(loop.times.update_ms), list(loop.times.frame_ms), list(loop.times.flags)
            )
            sent = camera.frames_sent - sent_before
            rendered = camera.frames_rendered - rendered_before
            camera_dropped = camera.frames_dropped - dropped_before
            counter_median, counter_p95 = camera.main_thread_ms, camera.main_thread_p95_ms
            loop.run_for(1.0)  # frames rendered in the window arrive
            # The camera's render and readback alone: the card no longer changes.
            card.paused = True
            loop.run_for(0.2)
            loop.times.clear()
            loop.times.recording = True
            loop.run_for(STATIC_SECONDS)
            loop.times.recording = False
            static = FrameTimes(
                list(loop.times.update_ms), list(loop.times.frame_ms), list(loop.times.flags)
            )
            for call in calls:
                call.hang_up().result(10)
            calls.clear()
            card.destroy()
            plugin.destroy()
            studio.removeNode()
    finally:
        for call in calls:
            call.hang_up().result(10)
        services.close()

    with arrivals.lock:
        received = sum(1 for t in arrivals.times if start <= t < end)
        ages = [age for t, age in arrivals.ages if start <= t < end]
        unreadable = arrivals.unreadable
        sizes = sorted(arrivals.sizes)
    if sizes != [(WIDTH, HEIGHT)]:
        logger.warning("the remote agent received frames of sizes %s", sizes)
    update_median, update_p95, update_mean = _stats(times.update_ms)
    frame_median, frame_p95, _frame_mean = _stats(times.frame_ms)
    with_render = [
        ms for ms, rendered_now in zip(times.frame_ms, times.flags, strict=True) if rendered_now
    ]
    without = [
        ms for ms, rendered_now in zip(times.frame_ms, times.flags, strict=True) if not rendered_now
    ]
    static_with = [
        ms for ms, rendered_now in zip(static.frame_ms, static.flags, strict=True) if rendered_now
    ]
    static_without = [
        ms
        for ms, rendered_now in zip(static.frame_ms, static.flags, strict=True)
        if not rendered_now
    ]
    card_median, card_p95, _card_mean = _stats(card.cost_ms)
    seconds_measured = window.wall_seconds
    return ScenarioResult(
        name="scene camera 720p30 BGRX -> remote RGBA",
        implementation=IMPLEMENTATION,
        seconds=seconds_measured,
        received_fps=received / seconds_measured,
        latency_median_ms=statistics.median(ages) if ages else math.nan,
        latency_p95_ms=percentile(ages, 95),
        cpu_percent=window.cpu_percent,
        peak_rss_mb=peak_rss_mb(),
        frames_sent=sent,
        frames_received=received,
        frames_dropped=max(0, sent - received),
        extra={
            "render_fps": frames / seconds_measured,
            "camera_renders_per_s": rendered / seconds_measured,
            "camera_dropped": float(camera_dropped),
            "update_median_ms": update_median,
            "update_p95_ms": update_p95,
            "update_mean_ms": update_mean,
            "camera_counter_median_ms": counter_median,
            "camera_counter_p95_ms": counter_p95,
            "clock_card_median_ms": card_median,
            "clock_card_p95_ms": card_p95,
            "frame_median_ms": frame_median,
            "frame_p95_ms": frame_p95,
            "frame_with_camera_median_ms": _median(with_render),
            "frame_without_camera_median_ms": _median(without),
            "static_card_frame_with_camera_median_ms": _median(static_with),
            "static_card_frame_without_camera_median_ms": _median(static_without),
            "unreadable_stamps": float(unreadable),
        },
    )


# --------------------------------------------------------------------------- tables


def _n(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(headers: Sequence[str]) -> list[str]:
    return [_row(headers), "|" + "---|" * len(headers)]


def walls_table(results: Sequence[ScenarioResult]) -> str:
    """The video-wall rows as a Markdown table.

    The target column checks the p95 of the Update task per stream; the
    whole-frame columns include Panda3D's render (the GL texture uploads).
    """
    lines = _header(
        [
            "scenario",
            "upload path",
            "Update ms median / p95 / mean",
            "per stream ms median / p95",
            f"<= {TARGET_MS_PER_STREAM:g} ms per stream",
            "Update ms per upload",
            "whole frame ms median / p95",
            "whole frame over idle walls, ms per stream",
            "uploads/s per stream",
            "render fps",
            "dropped / fed",
            "latency to upload ms median / p95",
            "CPU %",
        ]
    )
    for r in results:
        e = r.extra
        per_p95 = e.get("update_p95_ms_per_stream", math.nan)
        verdict = (
            "-" if math.isnan(per_p95) else ("yes" if per_p95 <= TARGET_MS_PER_STREAM else "no")
        )
        cells = [
            r.name,
            r.implementation,
            f"{_n(e.get('update_median_ms'))} / {_n(e.get('update_p95_ms'))} / "
            f"{_n(e.get('update_mean_ms'))}",
            f"{_n(e.get('update_median_ms_per_stream'))} / {_n(per_p95)}",
            verdict,
            _n(e.get("update_ms_per_upload")),
            f"{_n(e.get('frame_median_ms'), 1)} / {_n(e.get('frame_p95_ms'), 1)}",
            _n(e.get("main_thread_mean_ms_per_stream"), 1),
            _n(r.received_fps, 1),
            _n(e.get("render_fps"), 1),
            f"{r.frames_dropped} / {r.frames_sent}",
            f"{_n(r.latency_median_ms, 0)} / {_n(r.latency_p95_ms, 0)}",
            _n(r.cpu_percent, 0),
        ]
        lines.append(_row(cells))
    return "\n".join(lines)


def camera_table(results: Sequence[ScenarioResult]) -> str:
    """The scene-camera rows as a Markdown table."""
    lines = _header(
        [
            "scenario",
            "Update ms median / p95 (every frame)",
            "SceneCamera.main_thread_ms median / p95",
            "clock card ms median / p95 (not included)",
            "whole frame ms median, camera rendered / not",
            "same, card not changing",
            "received fps",
            f">= {TARGET_CAMERA_FPS:g} fps",
            "render-to-remote ms median / p95",
            "sent / received",
            "render fps",
            "CPU %",
        ]
    )
    for r in results:
        e = r.extra
        cells = [
            r.name,
            f"{_n(e.get('update_median_ms'))} / {_n(e.get('update_p95_ms'))}",
            f"{_n(e.get('camera_counter_median_ms'))} / {_n(e.get('camera_counter_p95_ms'))}",
            f"{_n(e.get('clock_card_median_ms'))} / {_n(e.get('clock_card_p95_ms'))}",
            f"{_n(e.get('frame_with_camera_median_ms'), 1)} / "
            f"{_n(e.get('frame_without_camera_median_ms'), 1)}",
            f"{_n(e.get('static_card_frame_with_camera_median_ms'), 1)} / "
            f"{_n(e.get('static_card_frame_without_camera_median_ms'), 1)}",
            _n(r.received_fps, 1),
            "yes" if r.received_fps >= TARGET_CAMERA_FPS else "no",
            f"{_n(r.latency_median_ms, 0)} / {_n(r.latency_p95_ms, 0)}",
            f"{r.frames_sent} / {r.frames_received}",
            _n(e.get("render_fps"), 1),
            _n(r.cpu_percent, 0),
        ]
        lines.append(_row(cells))
    return "\n".join(lines)


def markdown_tables(results: Sequence[ScenarioResult]) -> str:
    """Both tables: video walls, then the scene camera (a table is left out when it has no rows)."""
    walls = [r for r in results if "streams" in r.extra]
    cameras = [r for r in results if "streams" not in r.extra]
    parts = []
    if walls:
        parts.append(walls_table(walls))
    if cameras:
        parts.append(camera_table(cameras))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- command line


def scenarios(which: str, streams: Sequence[int]) -> list[tuple[str, dict[str, Any]]]:
    """``(target, kwargs)`` pairs: the real call, then per N the BGRX and RGBA rows, the camera."""
    pairs: list[tuple[str, dict[str, Any]]] = []
    if which in ("walls", "all"):
        pairs.append(("bench.engine:real_call_scenario", {"pixel_format": "bgrx"}))
        for count in streams:
            for pixel_format in ("bgrx", "rgba"):
                pairs.append(
                    (
                        "bench.engine:walls_scenario",
                        {"streams": count, "pixel_format": pixel_format},
                    )
                )
    if which in ("camera", "all"):
        pairs.append(("bench.engine:scene_camera_scenario", {}))
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run each scenario in a fresh process and print the tables."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine",
        description=(
            "Engine benchmark: main-thread cost of the Panda3D plugin's Update task with "
            "1, 4 and 9 video walls of 720p30 (synthetic feed, BGRX copy next to the naive "
            "RGBA setRamImageAs path, and one real VP8 call), and the 720p30 scene camera "
            "received by a second agent (fps, render-to-remote latency). Renders offscreen "
            "at 1280x720, 60 Hz. Each scenario runs in a fresh process; prints Markdown tables."
        ),
    )
    parser.add_argument(
        "--scenario",
        choices=["walls", "camera", "all"],
        default="all",
        help="video walls (real call and synthetic feeds), the scene camera, or both (default)",
    )
    parser.add_argument(
        "--streams",
        type=int,
        action="append",
        help="number of synthetic walls (repeatable; default 1, 4 and 9)",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="measured seconds per scenario (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    results: list[ScenarioResult] = []
    for target, kwargs in scenarios(args.scenario, args.streams or [1, 4, 9]):
        kwargs = {**kwargs, "seconds": args.seconds}
        print(f"running {target} {kwargs} ...", file=sys.stderr, flush=True)
        try:
            results.extend(run_isolated(target, timeout=args.seconds + 90, **kwargs))
        except ScenarioError as exc:
            print(f"  failed: {exc}", file=sys.stderr)
    if args.json:
        print(results_to_json(results))
    else:
        print(markdown_tables(results))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
