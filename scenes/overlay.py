"""The demo's on-screen overlay: each stream's rate, size and latency, refreshed twice a second."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque

import numpy as np
from direct.gui.OnscreenText import OnscreenText
from panda3d.core import NodePath, TextNode

from engine_plugin import RawIncomingVideoStream, RawVideoFrameReceivedEventArgs
from engine_plugin.engine import Component, SceneCamera, WallLayout
from engine_plugin.media.test_patterns import read_frame_number
from engine_plugin.testing import stamp_age_ms

REFRESH_S = 0.5
LOG_EVERY_S = 5.0

log = logging.getLogger("demo.overlay")


class LatencyProbe:
    """Reads the clock stamp in each frame of a stream (on the SDK's delivery thread).

    Only frames from a sender that stamps the clock (the demo's bot) give
    figures; others are ignored.
    """

    def __init__(self, stream: RawIncomingVideoStream) -> None:
        self.stream = stream
        self._ages: deque[float] = deque(maxlen=60)
        self._lock = threading.Lock()
        stream.raw_video_frame_received += self._on_frame

    def _on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        fmt = args.frame.stream_format
        if fmt is None:
            return
        plane = np.asarray(args.frame.buffers[0]).reshape(fmt.height, -1)
        image = plane[:, : fmt.width * 4].reshape(fmt.height, fmt.width, 4)
        stamp = read_frame_number(image, channel_order="bgrx")
        if stamp is not None:
            age = stamp_age_ms(stamp)
            if age < 10_000:
                with self._lock:
                    self._ages.append(age)

    def median_ms(self) -> float | None:
        """The median age of the last frames on arrival, if any carried a stamp."""
        with self._lock:
            return statistics.median(self._ages) if self._ages else None

    def close(self) -> None:
        """Stop reading frames."""
        self.stream.raw_video_frame_received -= self._on_frame


class StatsOverlay(Component):
    """Text in the top-left corner: the sent stream and every wall's stream."""

    def __init__(self, parent: NodePath, layout: WallLayout, camera: SceneCamera | None) -> None:
        self.parent = parent
        self.layout = layout
        self.camera = camera
        self.text: OnscreenText | None = None
        self._probes: dict[int, LatencyProbe] = {}
        self._last = time.monotonic()
        self._logged = self._last
        self._uploads: dict[int, int] = {}
        self._sent = 0
        self.lines: list[str] = []

    def start(self) -> None:
        self.text = OnscreenText(
            text="joining...",
            parent=self.parent,
            pos=(0.05, -0.08),
            scale=0.045,
            fg=(1, 1, 1, 1),
            bg=(0, 0, 0, 0.55),
            align=TextNode.ALeft,
            mayChange=True,
        )

    def update(self, dt: float) -> None:
        now = time.monotonic()
        elapsed = now - self._last
        if elapsed < REFRESH_S or self.text is None:
            return
        self._last = now
        lines = []
        if self.camera is not None:
            sent = self.camera.frames_sent
            fmt = self.camera.stream.format
            lines.append(
                f"sending  scene camera {fmt.width}x{fmt.height} "
                f"{(sent - self._sent) / elapsed:4.1f} fps  {self.camera.stream.state.name}"
            )
            self._sent = sent
        for wall in self.layout.walls:
            stream = wall.stream
            key = id(wall)
            uploads = wall.frame_texture.uploads
            fps = (uploads - self._uploads.get(key, uploads)) / elapsed
            self._uploads[key] = uploads
            if stream is None or not wall.showing_video:
                lines.append(f"{wall.label_text or 'wall'}: waiting")
                continue
            probe = self._probes.get(stream.id)
            if probe is None:
                probe = self._probes[stream.id] = LatencyProbe(stream)
            latency = probe.median_ms()
            shown = f"{latency:4.0f} ms" if latency is not None else "   - ms"
            lines.append(
                f"{wall.label_text or 'wall'}: {wall.frame_texture.width}x"
                f"{wall.frame_texture.height} {fps:4.1f} fps  latency {shown}"
            )
        self.lines = lines
        self.text.setText("\n".join(lines))
        if now - self._logged >= LOG_EVERY_S:
            self._logged = now
            log.info("%s", " | ".join(lines))

    def on_destroy(self) -> None:
        for probe in self._probes.values():
            probe.close()
        self._probes.clear()
        if self.text is not None:
            self.text.destroy()
            self.text = None
