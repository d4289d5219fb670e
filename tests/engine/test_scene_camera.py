"""The scene camera's view reaches a remote agent: real Panda3D offscreen, real calls.

The scene is three flat cards that fill the camera's view: red top-left, green
top-right, blue along the bottom. A receiver that finds them where they belong
proves the colours (red and blue not swapped), the mirroring (red left of
green) and the orientation (blue at the bottom) of the whole path: Panda3D's
BGRA bottom-up RAM image, the worker's flip, VP8, the receiver's RGBA.
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
    RawIncomingVideoStream,
    RawOutgoingVideoStreamOptions,
    RawVideoFrameReceivedEventArgs,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.engine import UPDATE_TASK, setup
from engine_plugin.engine.scene_camera import SceneCamera
from engine_plugin.sdk.format_selection import DOWN_AFTER
from engine_plugin.testing import IncomingStreams

from .engine_helpers import STEP_HZ, close, join_pair, run

PRC = """
window-type offscreen
audio-library-name null
load-display p3headlessgl
aux-display p3tinydisplay
win-size 320 240
sync-video false
print-pipe-types false
notify-level-device fatal
"""

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


@pytest.fixture
def panda_base() -> Iterator[Any]:
    """An offscreen ShowBase (Mesa EGL, else Panda3D's own rasteriser); destroyed after the test."""
    from direct.showbase.ShowBase import ShowBase
    from panda3d.core import loadPrcFileData, unloadPrcFile

    if getattr(builtins, "base", None) is not None:
        pytest.fail("a ShowBase exists already in this process")
    page = loadPrcFileData("test_scene_camera", PRC)
    base = ShowBase()
    try:
        yield base
    finally:
        base.destroy()
        unloadPrcFile(page)
    assert getattr(builtins, "base", None) is None, "ShowBase.destroy() removed builtins.base"


def _scene(parent: Any, distance: float = 2.0) -> Any:
    """Cards filling the view of a camera at the origin looking along +Y."""
    from panda3d.core import CardMaker

    root = parent.attachNewNode("test-scene")
    for name, frame, colour in (
        ("red", (-10, 0, 0, 10), RED),
        ("green", (0, 10, 0, 10), GREEN),
        ("blue", (-10, 10, -10, 0), BLUE),
    ):
        maker = CardMaker(name)
        maker.setFrame(*frame)
        card = root.attachNewNode(maker.generate())
        card.setPos(0, distance, 0)
        card.setColor(*(c / 255 for c in colour), 1)
    return root


def _stream(*formats: tuple[VideoStreamResolution, int], pixel_format: Any) -> Any:
    return VirtualOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(
            formats=[
                VideoStreamFormat(resolution=r, pixel_format=pixel_format, frames_per_second=fps)
                for r, fps in formats
            ]
        )
    )


def _region_means(rgba: np.ndarray) -> dict[str, tuple[int, int, int]]:
    """Mean RGB in the middle of the top-left, top-right and bottom regions."""
    h, w = rgba.shape[:2]

    def mean(rows: slice, cols: slice) -> tuple[int, int, int]:
        m = rgba[rows, cols, :3].reshape(-1, 3).mean(axis=0)
        return int(m[0]), int(m[1]), int(m[2])

    return {
        "top-left": mean(slice(h // 10, 4 * h // 10), slice(w // 10, 4 * w // 10)),
        "top-right": mean(slice(h // 10, 4 * h // 10), slice(6 * w // 10, 9 * w // 10)),
        "bottom": mean(slice(6 * h // 10, 9 * h // 10), slice(w // 10, 9 * w // 10)),
    }


def _texture_means(texture: Any) -> dict[str, tuple[int, int, int]]:
    """``_region_means`` of a Panda3D texture's RAM image (BGRA, bottom row first)."""
    data = np.frombuffer(memoryview(texture.getRamImage()), dtype=np.uint8)
    bgra = data.reshape(texture.getYSize(), texture.getXSize(), 4)
    return _region_means(bgra[::-1, :, [2, 1, 0, 3]])


def _scene_seen(means: dict[str, tuple[int, int, int]]) -> bool:
    return (
        close(means["top-left"], RED)
        and close(means["top-right"], GREEN)
        and close(means["bottom"], BLUE)
    )


@dataclass
class Received:
    width: int
    height: int
    means: dict[str, tuple[int, int, int]]


@dataclass
class Receiver:
    """Starts every incoming video stream of a call and keeps what its frames show."""

    frames: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, call: Any) -> None:
        IncomingStreams(call, on_available=self.attach)

    def attach(self, stream: RawIncomingVideoStream) -> None:
        if stream.state is VideoStreamState.AVAILABLE:
            stream.raw_video_frame_received += self.on_frame
            stream.start()

    def on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        fmt = args.frame.stream_format
        assert fmt is not None
        means = _region_means(args.frame.to_ndarray())
        with self.lock:
            self.frames.append(Received(fmt.width, fmt.height, means))

    def count(self, predicate: Callable[[Received], bool] = lambda r: True) -> int:
        with self.lock:
            return sum(1 for r in self.frames if predicate(r))


def _leftovers(base: Any) -> tuple[int, int, list[str]]:
    tasks = sorted(t.name for t in base.taskMgr.getAllTasks())
    return base.graphicsEngine.getNumWindows(), base.render.getNumChildren(), tasks


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    "pixel_format",
    [VideoStreamPixelFormat.BGRX, VideoStreamPixelFormat.I420],
    ids=lambda p: p.name.lower(),
)
def test_the_scene_cameras_view_reaches_a_remote_agent(
    panda_base: Any, make_agent: Callable[[str], CallAgent], pixel_format: Any
) -> None:
    base = panda_base
    before = _leftovers(base)
    plugin = setup(base)
    scene = _scene(base.render)
    stream = _stream((VideoStreamResolution.P360, 30), pixel_format=pixel_format)
    camera = plugin.add(SceneCamera(stream))
    base.taskMgr.step()
    assert camera.size == (640, 360)
    assert camera.buffer is not None and not camera.buffer.isActive(), "idle until STARTED"
    assert camera.camera.getParent() == base.render
    assert camera.frames_rendered == 0

    receiver = Receiver()
    join_pair(make_agent, stream, receiver, "Camera")
    run(
        base,
        lambda: receiver.count(lambda r: _scene_seen(r.means)) >= 30,
        30,
        "30 frames showing the scene at the receiver",
        receiver,
    )
    last = receiver.frames[-1]
    assert (last.width, last.height) == (640, 360)
    assert _scene_seen(last.means), last.means

    # Rendering follows the format's 30 fps, not the 60 Hz of the loop.
    rendered, started = camera.frames_rendered, time.monotonic()
    run(base, lambda: time.monotonic() - started >= 1.0, 5, "one second")
    rate = (camera.frames_rendered - rendered) / (time.monotonic() - started)
    assert 10 <= rate <= 33, f"{rate:.1f} frames rendered per second"
    assert camera.frames_sent > 0
    assert camera.frames_sent + camera.frames_dropped <= camera.frames_rendered
    assert 0 < camera.main_thread_ms < 5, camera.main_thread_ms

    # The camera's texture shows the newest frame on every frame, rendered or not
    # (the game may put it on an in-scene monitor): never an older image.
    white = (255, 255, 255)
    scene.find("**/red").setColor(1, 1, 1, 1)
    run(base, lambda: close(_texture_means(camera.texture)["top-left"], white), 2, "white")
    for _ in range(12):  # 0.2 s: rendered frames and frames in between
        base.taskMgr.step()
        assert close(_texture_means(camera.texture)["top-left"], white)
        time.sleep(1 / STEP_HZ)

    # Destroy: no task, node, buffer, thread or handler left.
    worker = camera.worker_thread
    assert worker is not None and worker.is_alive()
    scene.removeNode()
    plugin.destroy()
    assert camera.destroyed
    assert not worker.is_alive()
    assert camera.buffer is None and camera.camera.isEmpty()
    assert len(stream.format_changed) == 0 and len(stream.state_changed) == 0
    assert UPDATE_TASK not in _leftovers(base)[2]
    assert _leftovers(base) == before


def test_destroy_without_a_call_leaves_nothing(panda_base: Any) -> None:
    base = panda_base
    before = _leftovers(base)
    plugin = setup(base)
    stream = _stream((VideoStreamResolution.P180, 15), pixel_format=VideoStreamPixelFormat.BGRX)
    parent = base.render.attachNewNode("rig")
    camera = plugin.add(SceneCamera(stream, parent=parent, pos=(1, 2, 3), hpr=(90, 0, 0)))
    for _ in range(5):
        base.taskMgr.step()
    assert base.graphicsEngine.getNumWindows() == before[0] + 1
    assert camera.camera.getParent() == parent
    assert tuple(camera.camera.getPos()) == (1.0, 2.0, 3.0) and camera.camera.getH() == 90
    assert camera.frames_rendered == 0, "nothing is rendered while the stream is not STARTED"
    worker = camera.worker_thread
    assert worker is not None and worker.is_alive()

    plugin.remove(camera)
    assert camera.destroyed and not worker.is_alive()
    assert camera.buffer is None and camera.camera.isEmpty()
    assert parent.getNumChildren() == 0
    assert len(stream.format_changed) == 0 and len(stream.state_changed) == 0
    parent.removeNode()
    plugin.destroy()
    assert _leftovers(base) == before


@pytest.mark.timeout(90)
def test_the_buffer_follows_format_changes(
    panda_base: Any, make_agent: Callable[[str], CallAgent]
) -> None:
    base = panda_base
    plugin = setup(base)
    _scene(base.render)
    stream = _stream(
        (VideoStreamResolution.P360, 30),
        (VideoStreamResolution.P180, 15),
        pixel_format=VideoStreamPixelFormat.BGRX,
    )
    # The test drives the format: the network's own estimates are left out.
    choose_format = stream._on_bandwidth
    stream._on_bandwidth = lambda _bps: False
    camera = plugin.add(SceneCamera(stream))
    receiver = Receiver()
    sender, _call = join_pair(make_agent, stream, receiver, "Camera")

    def seen_at(width: int, height: int, since: int = 0) -> Callable[[], bool]:
        def seen() -> bool:
            with receiver.lock:
                frames = receiver.frames[since:]
            size = (width, height)
            return (
                sum(1 for r in frames if (r.width, r.height) == size and _scene_seen(r.means)) >= 10
            )

        return seen

    def estimate(bps: int, times: int) -> None:  # on the SDK loop thread, as the network does
        for _ in range(times):
            choose_format(bps)

    run(base, seen_at(640, 360), 30, "the scene at 640x360", receiver)
    assert camera.size == (640, 360) and camera.resizes == 1

    sender._loop.call_soon(estimate, 1_000, DOWN_AFTER)
    run(base, seen_at(320, 180), 20, "the scene at 320x180", receiver)
    assert camera.size == (320, 180) and camera.resizes == 2
    assert stream.format.frames_per_second == 15

    sender._loop.call_soon(estimate, 100_000_000, 1)
    run(
        base,
        seen_at(640, 360, since=len(receiver.frames)),
        20,
        "the scene at 640x360 again",
        receiver,
    )
    assert camera.size == (640, 360) and camera.resizes == 3
    plugin.destroy()
