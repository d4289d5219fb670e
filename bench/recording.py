"""What a scenario records as media arrives, and the result computed from it.

Shared by every implementation's scenarios (bare aiortc, the SDK), so that
their rows are measured the same way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.measure import MeasuredWindow, ScenarioResult, peak_rss_mb, percentile
from engine_plugin.media.test_patterns import psnr, read_frame_number

CLICK_THRESHOLD = 0.1 * 32768
"""A sample above this (in magnitude) is part of a click."""


@dataclass
class VideoLog:
    """When each numbered frame was handed over and when it arrived.

    The sender fills ``handed`` (frame number -> time); the receiver calls
    :meth:`record` with each arriving RGBA image. While ``sampling`` is set,
    every ``psnr_every``-th frame is kept (every other row and column) for PSNR.
    """

    psnr_every: int = 30
    handed: dict[int, float] = field(default_factory=dict)
    received: dict[int, float] = field(default_factory=dict)
    arrivals: list[float] = field(default_factory=list)
    unreadable: list[float] = field(default_factory=list)
    samples: list[tuple[int, np.ndarray]] = field(default_factory=list)
    sampling: bool = False

    def record(self, rgba: np.ndarray, now: float) -> None:
        """One frame arrived at ``now`` (an H x W x 4 RGBA image)."""
        self.arrivals.append(now)
        number = read_frame_number(rgba)
        if number is None:
            self.unreadable.append(now)
            return
        self.received.setdefault(number, now)
        if self.sampling and number % self.psnr_every == 0:
            self.samples.append((number, rgba[::2, ::2, :3].copy()))

    def result(
        self,
        *,
        name: str,
        implementation: str,
        window: MeasuredWindow,
        start: float,
        end: float,
        reference: Callable[[int], np.ndarray],
        extra: dict[str, float] | None = None,
    ) -> ScenarioResult:
        """The figures for frames handed over in ``[start, end)``.

        ``reference(n)`` is the RGBA image sent as frame ``n``. ``extra`` gets
        ``psnr_db``, ``sent_fps`` and ``unreadable`` added.
        """
        sent = [n for n, t in list(self.handed.items()) if start <= t < end]
        received = self.received
        latencies = [1000.0 * (received[n] - self.handed[n]) for n in sent if n in received]
        frames_received = sum(1 for t in self.arrivals if start <= t < end)
        psnrs = [psnr(image, reference(n)[::2, ::2, :3]) for n, image in self.samples]
        seconds = window.wall_seconds
        return ScenarioResult(
            name=name,
            implementation=implementation,
            seconds=seconds,
            received_fps=frames_received / seconds,
            latency_median_ms=statistics.median(latencies) if latencies else math.nan,
            latency_p95_ms=percentile(latencies, 95),
            cpu_percent=window.cpu_percent,
            peak_rss_mb=peak_rss_mb(),
            frames_sent=len(sent),
            frames_received=frames_received,
            frames_dropped=sum(1 for n in sent if n not in self.received),
            extra={
                "psnr_db": statistics.median(psnrs) if psnrs else math.nan,
                "sent_fps": len(sent) / seconds,
                "unreadable": float(sum(1 for t in self.unreadable if start <= t < end)),
                **(extra or {}),
            },
        )


@dataclass
class ClickLog:
    """Clicks sent (one every ``click_every`` 20 ms buffers) and click onsets heard.

    The sender fills ``handed`` (buffer index -> time); the receiver calls
    :meth:`record` with each arriving buffer. An onset counts once the signal
    has been quiet for half the click interval, so a click's tail is not heard
    as a new click.
    """

    click_every: int = 25
    handed: dict[int, float] = field(default_factory=dict)
    arrivals: list[float] = field(default_factory=list)
    onsets: list[float] = field(default_factory=list)
    _armed: bool = False
    _quiet: int = 0

    def record(self, pcm: np.ndarray, now: float) -> None:
        """One buffer of int16 samples arrived at ``now``."""
        self.arrivals.append(now)
        if bool(np.abs(pcm).max() > CLICK_THRESHOLD):
            self._quiet = 0
            if self._armed:
                self.onsets.append(now)
                self._armed = False
        else:
            self._quiet += 1
            if self._quiet >= max(1, self.click_every // 2):
                self._armed = True

    def result(
        self,
        *,
        name: str,
        implementation: str,
        window: MeasuredWindow,
        start: float,
        end: float,
    ) -> ScenarioResult:
        """Latency of clicks sent in ``[start, end)``: each onset minus its click's send time.

        ``received_fps`` counts buffers (50 a second expected); ``extra`` holds
        ``clicks_sent`` and ``clicks_heard``.
        """
        click_times = sorted(t for k, t in self.handed.items() if k % self.click_every == 0)
        latencies: list[float] = []
        for onset in self.onsets:
            # The newest click sent before the onset was heard.
            index = int(np.searchsorted(click_times, onset, side="right")) - 1
            if index >= 0 and start <= click_times[index] < end:
                latencies.append(1000.0 * (onset - click_times[index]))
        sent = sum(1 for t in self.handed.values() if start <= t < end)
        frames_received = sum(1 for t in self.arrivals if start <= t < end)
        return ScenarioResult(
            name=name,
            implementation=implementation,
            seconds=window.wall_seconds,
            received_fps=frames_received / window.wall_seconds,
            latency_median_ms=statistics.median(latencies) if latencies else math.nan,
            latency_p95_ms=percentile(latencies, 95),
            cpu_percent=window.cpu_percent,
            peak_rss_mb=peak_rss_mb(),
            frames_sent=sent,
            frames_received=frames_received,
            frames_dropped=max(0, sent - frames_received),
            extra={
                "clicks_sent": float(sum(1 for t in click_times if start <= t < end)),
                "clicks_heard": float(len(latencies)),
            },
        )
