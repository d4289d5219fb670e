"""The game's window reaches a remote agent as a screen share: real Panda3D offscreen, real calls.

The window shows four flat cards on ``render2d`` that fill it: red top-left,
green top-right, blue bottom-left, white bottom-right. A receiver that finds
them where they belong proves the colours (red and blue not swapped), the
mirroring and the orientation of the whole path: the window's BGRA bottom-up
read-back, the worker's flip, scaling and conversion, VP8, the receiver's RGBA.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from engine_plugin import (
    CallAgent,
    MediaStreamType,
    RawIncomingVideoStream,
    RawOutgoingVideoStreamOptions,
    RawVideoFrameReceivedEventArgs,
    ScreenShareOutgoingVideoStream,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamState,
)
from engine_plugin.engine import UPDATE_TASK, setup
from engine_plugin.engine.frame_sender import FrameSender, Readback
from engine_plugin.engine.window_share import (
    WindowShare,
    screen_share_size,
    window_share_formats,
)
from engine_plugin.media.video_conversion import to_av_frame
from engine_plugin.sdk.format_selection import DOWN_AFTER
from engine_plugin.testing import IncomingStreams

from .engine_helpers import close, join_pair, run

PRC = """
window-type offscreen
audio-library-name null
load-display p3headlessgl
aux-display p3tinydisplay
sync-video false
framebuffer-multisample 0
print-pipe-types false
notify-level-device fatal
notify-level-display error
"""

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
BLACK = (0, 0, 0)
QUADRANTS = {"top-left": RED, "top-right": GREEN, "bottom-left": BLUE, "bottom-right": WHITE}


@pytest.fixture
def panda_base(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An offscreen 640x360 ShowBase; ``indirect`` parameters pick the display module and size.

    Panda3D picks its default display once per process, so p3tinydisplay's
    pipe is made explicitly (the main window opened on it).
    """
    from direct.showbase.ShowBase import ShowBase
    from panda3d.core import GraphicsPipeSelection, loadPrcFileData, unloadPrcFile

    display, size = getattr(request, "param", ("p3headlessgl", (640, 360)))
    if getattr(builtins, "base", None) is not None:
        pytest.fail("a ShowBase exists already in this process")
    page = loadPrcFileData("test_window_share", PRC + f"win-size {size[0]} {size[1]}\n")
    if display == "p3headlessgl":
        base = ShowBase()
    else:
        base = ShowBase(windowType="none")
        base.pipe = GraphicsPipeSelection.getGlobalPtr().makeModulePipe(display)
        base.openMainWindow(type="offscreen")
    try:
        if display == "p3tinydisplay":
            assert base.pipe.getType().getName().startswith("Tiny"), base.pipe.getType()
        yield base
    finally:
        base.destroy()
        unloadPrcFile(page)


def _cards(parent: Any) -> Any:
    """Four cards filling the window (``render2d`` spans -1..1 both ways)."""
    from panda3d.core import CardMaker

    root = parent.attachNewNode("test-cards")
    for name, frame, colour in (
        ("top-left", (-1, 0, 0, 1), RED),
        ("top-right", (0, 1, 0, 1), GREEN),
        ("bottom-left", (-1, 0, -1, 0), BLUE),
        ("bottom-right", (0, 1, -1, 0), WHITE),
    ):
        maker = CardMaker(name)
        maker.setFrame(*frame)
        card = root.attachNewNode(maker.generate())
        card.setColor(*(c / 255 for c in colour), 1)
    return root


def _stream(*sizes: tuple[int, int], pixel_format: Any, fps: int = 30) -> Any:
    return ScreenShareOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(
            formats=[
                VideoStreamFormat(
                    width=w, height=h, pixel_format=pixel_format, frames_per_second=fps
                )
                for w, h in sizes
            ]
        )
    )


def _means(rgb: np.ndarray) -> dict[str, tuple[int, int, int]]:
    """Mean RGB in the middle of each quadrant of ``rgb`` (H x W x 3+, top row first)."""
    h, w = rgb.shape[:2]

    def mean(rows: slice, cols: slice) -> tuple[int, int, int]:
        m = rgb[rows, cols, :3].reshape(-1, 3).mean(axis=0)
        return int(m[0]), int(m[1]), int(m[2])

    top, bottom = slice(h // 10, 4 * h // 10), slice(6 * h // 10, 9 * h // 10)
    left, right = slice(w // 10, 4 * w // 10), slice(6 * w // 10, 9 * w // 10)
    return {
        "top-left": mean(top, left),
        "top-right": mean(top, right),
        "bottom-left": mean(bottom, left),
        "bottom-right": mean(bottom, right),
    }


def _shows(means: dict[str, tuple[int, int, int]], expected: dict[str, Any] = QUADRANTS) -> bool:
    return all(close(means[name], colour) for name, colour in expected.items())


@dataclass
class Received:
    width: int
    height: int
    stream_type: MediaStreamType
    means: dict[str, tuple[int, int, int]]
    """Of the picture: the frame less ``bars`` columns on each side."""
    bars: tuple[tuple[int, int, int], tuple[int, int, int]] | None
    """Mean RGB of the outer ``bars`` columns, left and right."""


@dataclass
class Receiver:
    """Starts every incoming video stream of a call and keeps what its frames show.

    ``bars``: how many columns on each side are letterbox bars (set by the test
    when it expects them), not the picture.
    """

    frames: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    bars: int = 0

    def watch(self, call: Any) -> None:
        IncomingStreams(call, on_available=self.attach)

    def attach(self, stream: RawIncomingVideoStream) -> None:
        if stream.state is VideoStreamState.AVAILABLE:
            stream.raw_video_frame_received += self.on_frame
            stream.start()

    def on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        fmt = args.frame.stream_format
        assert fmt is not None
        rgba = args.frame.to_ndarray()
        bars = self.bars
        picture = rgba[:, bars : rgba.shape[1] - bars] if bars else rgba
        outer = None
        if bars:
            margin = bars // 4  # clear of the edge the encoder blurs
            width = rgba.shape[1]
            left = rgba[:, : bars - margin, :3].reshape(-1, 3).mean(axis=0)
            right = rgba[:, width - bars + margin :, :3].reshape(-1, 3).mean(axis=0)
            outer = (
                (int(left[0]), int(left[1]), int(left[2])),
                (int(right[0]), int(right[1]), int(right[2])),
            )
        received = Received(
            fmt.width, fmt.height, args.stream.media_stream_type, _means(picture), outer
        )
        with self.lock:
            self.frames.append(received)

    def count(self, predicate: Callable[[Received], bool] = lambda r: True, since: int = 0) -> int:
        with self.lock:
            return sum(1 for r in self.frames[since:] if predicate(r))

    def __len__(self) -> int:
        with self.lock:
            return len(self.frames)


def _fixed_format(stream: Any) -> Callable[[int], bool]:
    """Leave the network's estimates out: the test drives the format. Returns the real chooser."""
    choose = stream._on_bandwidth
    stream._on_bandwidth = lambda _bps: False
    return choose  # type: ignore[no-any-return]


def _leftovers(base: Any) -> tuple[int, int, int, list[str]]:
    tasks = sorted(t.name for t in base.taskMgr.getAllTasks())
    return (
        base.graphicsEngine.getNumWindows(),
        base.win.countTextures(),
        base.render2d.getNumChildren(),
        tasks,
    )


# -- formats -------------------------------------------------------------------------


def test_window_share_formats_fit_the_window_into_1080p() -> None:
    assert screen_share_size(1280, 720) == (1280, 720)
    assert screen_share_size(2560, 1440) == (1920, 1080)
    assert screen_share_size(3840, 2160) == (1920, 1080)
    assert screen_share_size(3440, 1440) == (1920, 802)  # wider than 16:9: width-bound
    assert screen_share_size(1440, 2560) == (606, 1080)  # portrait: height-bound
    assert screen_share_size(1365, 767) == (1364, 766)  # odd sizes: even, never larger
    assert screen_share_size(1, 1) == (2, 2)
    with pytest.raises(ValueError, match="nothing to share"):
        screen_share_size(0, 720)

    formats = window_share_formats((2560, 1440), max_fps=24)
    assert [(f.width, f.height, f.frames_per_second) for f in formats] == [
        (1920, 1080, 24),
        (960, 540, 24),
    ]
    assert all(f.pixel_format is VideoStreamPixelFormat.I420 for f in formats)
    assert [(f.width, f.height) for f in window_share_formats((1366, 768))] == [
        (1366, 768),
        (682, 384),
    ]
    only = window_share_formats(
        (800, 600), fallback=False, pixel_format=VideoStreamPixelFormat.BGRX
    )
    assert [(f.width, f.height, f.pixel_format) for f in only] == [
        (800, 600, VideoStreamPixelFormat.BGRX)
    ]
    assert len(window_share_formats((2, 2))) == 1, "no fallback smaller than 2x2"
    with pytest.raises(ValueError, match="max_fps"):
        window_share_formats((640, 360), max_fps=60)
    for size in ((2560, 1440), (3440, 1440), (1365, 767), (1440, 2560), (3, 3)):
        # A screen-share stream accepts every format the helper makes.
        stream = ScreenShareOutgoingVideoStream(
            RawOutgoingVideoStreamOptions(formats=window_share_formats(size))
        )
        assert stream.format.width <= 1920 and stream.format.height <= 1080


@pytest.mark.parametrize("panda_base", [("p3headlessgl", (2560, 1440))], indirect=True)
def test_a_window_larger_than_1080p_is_shared_at_1080p(panda_base: Any) -> None:
    base = panda_base
    assert (base.win.getFbXSize(), base.win.getFbYSize()) == (2560, 1440)
    formats = window_share_formats(base.win)
    assert [(f.width, f.height) for f in formats] == [(1920, 1080), (960, 540)]


# -- the worker, without a window or a call ---------------------------------------------


def _readback(rgb_top_first: np.ndarray, pad_to: int | None = None) -> Readback:
    """A Panda3D-like read-back (BGRA, bottom row first) of an RGB picture."""
    h, w = rgb_top_first.shape[:2]
    tex_w = pad_to or w
    bgra = np.zeros((h, tex_w, 4), dtype=np.uint8)
    bgra[:, :w, :3] = rgb_top_first[::-1, :, ::-1]
    bgra[:, :, 3] = 0  # the window's alpha is not the picture's
    return Readback(bgra.tobytes(), tex_w, h, 4, w, h, 1234)


def _rgb(frame: Any) -> np.ndarray:
    """Any frame as H x W x 3 RGB, top row first (FFmpeg's conversion)."""
    rgb: np.ndarray = to_av_frame(frame).to_ndarray(format="rgb24")
    return rgb


def _quadrant_picture(w: int, h: int) -> np.ndarray:
    rgb = np.zeros((h, w, 3), dtype=np.uint8)
    rgb[: h // 2, : w // 2] = RED
    rgb[: h // 2, w // 2 :] = GREEN
    rgb[h // 2 :, : w // 2] = BLUE
    rgb[h // 2 :, w // 2 :] = WHITE
    return rgb


@pytest.mark.parametrize(
    "pixel_format",
    [
        VideoStreamPixelFormat.I420,
        VideoStreamPixelFormat.BGRX,
        VideoStreamPixelFormat.RGBA,
        VideoStreamPixelFormat.NV12,
    ],
    ids=lambda p: p.name.lower(),
)
def test_the_worker_scales_flips_and_letterboxes(pixel_format: Any) -> None:
    stream = _stream((640, 360), pixel_format=pixel_format)  # never started: nothing is sent
    sender = FrameSender(stream, "engine_plugin-test-sender", label="test", scale_to_format=True)
    try:
        item = _readback(_quadrant_picture(1280, 720), pad_to=1300)
        # Same aspect ratio: scaled to the size asked for, the right way up.
        frame = sender.frame(item, pixel_format, (640, 360))
        assert frame.stream_format is not None
        assert (frame.stream_format.width, frame.stream_format.height) == (640, 360)
        assert frame.stream_format.pixel_format is pixel_format
        assert frame.timestamp_in_ticks == 1234
        frame.validate()
        assert _shows(_means(_rgb(frame))), _means(_rgb(frame))

        # The size asked for: converted only (BGRX: flipped only).
        same = sender.frame(_readback(_quadrant_picture(640, 360)), pixel_format, (640, 360))
        same.validate()
        assert same.stream_format is not None and same.stream_format.width == 640
        assert _shows(_means(_rgb(same))), _means(_rgb(same))

        # 4:3 into 16:9: fitted (480x360) and centred, black bars left and right.
        square = _readback(_quadrant_picture(800, 600))
        for _ in range(2):  # the second time reuses the canvas
            rgb = _rgb(sender.frame(square, pixel_format, (640, 360)))
            assert rgb.shape[:2] == (360, 640)
            assert rgb[:, :76, :3].max() <= 20 and rgb[:, 564:, :3].max() <= 20, "black bars"
            assert _shows(_means(rgb[:, 80:560])), _means(rgb[:, 80:560])

        # keep_aspect=False stretches instead.
        stretcher = FrameSender(
            stream, "engine_plugin-test-stretch", scale_to_format=True, keep_aspect=False
        )
        try:
            rgb = _rgb(stretcher.frame(square, pixel_format, (640, 360)))
            assert _shows(_means(rgb)), _means(rgb)
        finally:
            stretcher.stop()

        # A 2-pixel difference in aspect ratio (even rounding) is stretched, not barred.
        rgb = sender.frame(_readback(_quadrant_picture(1365, 767)), pixel_format, (1364, 766))
        edges = _rgb(rgb)[:, [0, 1, -2, -1]].max(axis=2)  # the brightest channel per pixel
        assert edges.min() >= 100, "no black column at the sides"
    finally:
        sender.stop()
    assert not sender.thread.is_alive()


# -- real windows, real calls -----------------------------------------------------------


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("panda_base", "pixel_format"),
    [
        (("p3tinydisplay", (640, 360)), VideoStreamPixelFormat.I420),
        (("p3headlessgl", (640, 360)), VideoStreamPixelFormat.I420),
        (("p3headlessgl", (640, 360)), VideoStreamPixelFormat.BGRX),
    ],
    ids=["tinydisplay-i420", "headlessgl-i420", "headlessgl-bgrx"],
    indirect=["panda_base"],
)
def test_the_window_reaches_a_remote_agent_as_a_screen_share(
    panda_base: Any, make_agent: Callable[[str], CallAgent], pixel_format: Any
) -> None:
    base = panda_base
    before = _leftovers(base)
    plugin = setup(base)
    cards = _cards(base.render2d)
    formats = window_share_formats(base.win, pixel_format=pixel_format)
    assert [(f.width, f.height) for f in formats] == [(640, 360), (320, 180)]
    stream = ScreenShareOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=formats))
    _fixed_format(stream)
    share = plugin.add(WindowShare(stream))
    for _ in range(3):
        base.taskMgr.step()
    assert share.window is base.win and share.window_size == (640, 360)
    assert base.win.countTextures() == before[1] + 1
    assert share.frames_read_back == 0, "nothing is read back while the stream is not STARTED"

    receiver = Receiver()
    join_pair(make_agent, stream, receiver, "Game")

    def shown(r: Received) -> bool:
        return (r.width, r.height) == (640, 360) and _shows(r.means)

    run(base, lambda: receiver.count(shown) >= 20, 30, "20 frames of the window", receiver)
    last = receiver.frames[-1]
    assert last.stream_type is MediaStreamType.SCREEN_SHARING
    assert (last.width, last.height) == (640, 360)

    # Read-back follows the format's 30 fps, not the 60 Hz of the loop.
    read, started = share.frames_read_back, time.monotonic()
    run(base, lambda: time.monotonic() - started >= 1.0, 5, "one second")
    rate = (share.frames_read_back - read) / (time.monotonic() - started)
    assert 10 <= rate <= 33, f"{rate:.1f} frames read back per second"
    assert share.frames_sent > 0
    assert share.frames_sent + share.frames_dropped <= share.frames_read_back
    assert 0 < share.main_thread_ms < 5, share.main_thread_ms
    assert share.main_thread_ms <= share.main_thread_p95_ms

    # What is sent follows what the window shows.
    cards.find("top-left").setColor(1, 1, 0, 1)
    since = len(receiver)
    yellow = {**QUADRANTS, "top-left": (255, 255, 0)}
    run(
        base,
        lambda: receiver.count(lambda r: _shows(r.means, yellow), since) >= 5,
        10,
        "the top-left card turned yellow",
        receiver,
    )

    # Destroy: no task, node, render texture, thread or handler left.
    worker = share.worker_thread
    assert worker is not None and worker.is_alive()
    cards.removeNode()
    plugin.destroy()
    assert share.destroyed and not worker.is_alive()
    assert share.worker_thread is None
    assert len(stream.format_changed) == 0 and len(stream.state_changed) == 0
    assert not share.texture.hasRamImage()
    assert UPDATE_TASK not in _leftovers(base)[3]
    assert _leftovers(base) == before


@pytest.mark.timeout(90)
def test_the_share_follows_format_changes_and_window_resizes(
    panda_base: Any, make_agent: Callable[[str], CallAgent]
) -> None:
    base = panda_base
    if not base.win.getType().getName().startswith("egl"):
        pytest.skip("only p3headlessgl's offscreen buffers can be resized")
    plugin = setup(base)
    _cards(base.render2d)
    stream = _stream((640, 360), (320, 180), pixel_format=VideoStreamPixelFormat.BGRX)
    choose_format = _fixed_format(stream)
    share = plugin.add(WindowShare(stream))
    receiver = Receiver()
    sender, _call = join_pair(make_agent, stream, receiver, "Game")

    def seen_at(width: int, height: int, since: int) -> Callable[[], bool]:
        def seen() -> bool:
            def ok(r: Received) -> bool:
                bars_black = r.bars is None or all(close(b, BLACK) for b in r.bars)
                return (r.width, r.height) == (width, height) and _shows(r.means) and bars_black

            return receiver.count(ok, since) >= 10

        return seen

    def estimate(bps: int, times: int) -> None:  # on the SDK loop thread, as the network does
        for _ in range(times):
            choose_format(bps)

    run(base, seen_at(640, 360, 0), 30, "the window at 640x360", receiver)
    assert share.resizes == 1

    # Less bandwidth: the worker scales the 640x360 window down to 320x180.
    sender._loop.call_soon(estimate, 1_000, DOWN_AFTER)
    run(base, seen_at(320, 180, len(receiver)), 20, "the window at 320x180", receiver)
    assert stream.format.width == 320 and share.window_size == (640, 360)

    # The window becomes 4:3: the render texture is set up again, and the
    # picture is fitted into the 16:9 format (240x180) between black bars.
    base.win.setSize(480, 360)
    receiver.bars = 40
    run(base, seen_at(320, 180, len(receiver)), 20, "the 4:3 window at 320x180", receiver)
    assert share.window_size == (480, 360) and share.resizes == 2

    # More bandwidth again: 640x360, the 480x360 picture between 80-pixel bars.
    receiver.bars = 80
    sender._loop.call_soon(estimate, 100_000_000, 1)
    run(base, seen_at(640, 360, len(receiver)), 20, "the 4:3 window at 640x360", receiver)
    plugin.destroy()
    assert base.win.countTextures() == 0


def test_destroy_without_a_call_keeps_the_games_own_render_textures(
    panda_base: Any, no_thread_leak: None
) -> None:
    from panda3d.core import GraphicsOutput, Texture

    base = panda_base
    games = Texture("the game's own")
    base.win.addRenderTexture(games, GraphicsOutput.RTM_triggered_copy_texture)
    before = _leftovers(base)
    plugin = setup(base)
    stream = _stream((640, 360), pixel_format=VideoStreamPixelFormat.I420)
    share = plugin.add(WindowShare(stream, window=base.win))
    for _ in range(5):
        base.taskMgr.step()
    assert base.win.countTextures() == 2
    assert share.frames_read_back == 0 and share.main_thread_ms == 0
    worker = share.worker_thread
    assert worker is not None and worker.is_alive()

    plugin.remove(share)
    assert share.destroyed and not worker.is_alive()
    assert len(stream.format_changed) == 0 and len(stream.state_changed) == 0
    assert base.win.countTextures() == 1
    assert base.win.getTexture(0) == games
    assert base.win.getRtmMode(0) == GraphicsOutput.RTM_triggered_copy_texture
    plugin.destroy()
    assert _leftovers(base) == before
    base.win.clearRenderTextures()
