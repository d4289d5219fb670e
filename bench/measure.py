"""Measuring a scenario: results, CPU and memory, fresh subprocesses, the comparison table.

Each scenario runs in a process of its own (:func:`run_isolated`), so that its
CPU time and peak resident memory are its own and no scenario warms up the
next. A scenario is a function (sync or async) that returns a
:class:`ScenarioResult` or a list of them; the child process prints them as
one JSON line on stdout and the parent reads them back::

    from bench.measure import markdown_table, run_isolated

    rows = run_isolated("bench.bare_aiortc:video_scenario", resolution="720p", seconds=20)
    rows += run_isolated("bench.calls:sdk_video_scenario", resolution="720p", seconds=20)
    print(markdown_table(rows, baseline="bare aiortc"))

Figures, as every scenario should report them:

- ``received_fps``: frames received in the measured window / its length.
- latency: receive time (after conversion to what the user gets, RGBA for
  video) minus the time the frame was handed to the sending side; median
  and 95th percentile in ms.
- ``cpu_percent``: process CPU seconds (all threads) / wall seconds * 100
  over the measured window, so 100 means one core busy.
- ``peak_rss_mb``: the process's peak resident set size (whole run).

``python -m bench.measure run MODULE:FUNCTION --kwargs JSON`` is the child's
entry point (see ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import inspect
import json
import logging
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = [
    "MeasuredWindow",
    "ScenarioError",
    "ScenarioResult",
    "markdown_table",
    "peak_rss_mb",
    "percentile",
    "print_table",
    "results_from_json",
    "results_to_json",
    "run_isolated",
    "run_target",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The directory holding ``bench/`` and ``engine_plugin/`` (the child's working directory)."""


@dataclass
class ScenarioResult:
    """What one scenario measured over its window (after warm-up).

    ``name`` says what was sent (``"video vp8 720p30"``) and
    ``implementation`` who sent it (``"bare aiortc"``); rows with the same
    name are compared in :func:`markdown_table`. ``extra`` holds further
    figures by name (``"psnr_db"``, ``"send_kbps"``, ...).
    """

    name: str
    implementation: str
    seconds: float
    received_fps: float
    latency_median_ms: float
    latency_p95_ms: float
    cpu_percent: float
    peak_rss_mb: float
    frames_sent: int
    frames_received: int
    frames_dropped: int
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (NaN and infinity become ``None``)."""
        return {key: _jsonable(value) for key, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioResult:
        """The inverse of :meth:`to_dict` (``None`` floats come back as NaN)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: _from_jsonable(value) for key, value in data.items() if key in names}
        return cls(**values)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def _from_jsonable(value: Any) -> Any:
    if value is None:
        return math.nan
    if isinstance(value, dict):
        return {key: _from_jsonable(item) for key, item in value.items()}
    return value


def results_to_json(results: Iterable[ScenarioResult]) -> str:
    """One line of JSON: a list of result dictionaries."""
    return json.dumps([result.to_dict() for result in results], allow_nan=False)


def results_from_json(text: str) -> list[ScenarioResult]:
    """Results from the last non-empty line of ``text`` (a list or a single object)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("no JSON results in the output")
    data = json.loads(lines[-1])
    items = data if isinstance(data, list) else [data]
    return [ScenarioResult.from_dict(item) for item in items]


# --------------------------------------------------------------------------- measuring


class MeasuredWindow:
    """CPU and wall time between :meth:`start` and :meth:`stop` (all of the process's threads)."""

    def __init__(self) -> None:
        self._wall_start: float | None = None
        self._cpu_start = 0.0
        self.wall_seconds = 0.0
        """Wall-clock length of the window, seconds."""
        self.cpu_seconds = 0.0
        """CPU time the process used in the window, seconds (user + system, every thread)."""

    def start(self) -> None:
        """Open the window."""
        self._wall_start = time.monotonic()
        self._cpu_start = time.process_time()

    def stop(self) -> None:
        """Close the window and keep its figures."""
        if self._wall_start is None:
            raise RuntimeError("MeasuredWindow.stop() before start()")
        self.wall_seconds = time.monotonic() - self._wall_start
        self.cpu_seconds = time.process_time() - self._cpu_start

    @property
    def cpu_percent(self) -> float:
        """CPU seconds / wall seconds * 100: 100 means one core fully busy."""
        if self.wall_seconds <= 0:
            return math.nan
        return 100.0 * self.cpu_seconds / self.wall_seconds


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ``ru_maxrss``)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        return kib / (1024.0 * 1024.0)
    return kib / 1024.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100, linear interpolation) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --------------------------------------------------------------------------- subprocesses


class ScenarioError(RuntimeError):
    """A scenario's subprocess failed or printed no results."""


def run_isolated(
    target: str, /, *, timeout: float | None = None, **kwargs: Any
) -> list[ScenarioResult]:
    """Run ``target`` (``"module:function"``) with ``kwargs`` in a fresh Python process.

    The child inherits this process's network namespace and environment and
    runs from :data:`PROJECT_ROOT`. Its stderr (logging) passes through to
    ours. ``kwargs`` must be JSON-serialisable. Raises :class:`ScenarioError`
    when the child fails or its output holds no results.
    """
    command = [
        sys.executable,
        "-m",
        "bench.measure",
        "run",
        target,
        "--kwargs",
        json.dumps(kwargs),
    ]
    if logging.getLogger().isEnabledFor(logging.INFO):
        command.append("--verbose")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    logger.info("running %s(%s) in a subprocess", target, kwargs)
    try:
        completed = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ScenarioError(f"{target} timed out after {timeout} s") from exc
    if completed.returncode != 0:
        raise ScenarioError(f"{target} exited with status {completed.returncode}")
    try:
        return results_from_json(completed.stdout)
    except ValueError as exc:
        raise ScenarioError(f"{target} printed no results: {exc}") from exc


def run_target(target: str, kwargs: Mapping[str, Any]) -> list[ScenarioResult]:
    """Import and call ``target`` (``"module:function"``) here; await it if it is async."""
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"target must look like 'module:function', not {target!r}")
    function = getattr(importlib.import_module(module_name), function_name)
    outcome = function(**kwargs)
    if inspect.isawaitable(outcome):
        outcome = asyncio.run(_await(outcome))
    if isinstance(outcome, ScenarioResult):
        return [outcome]
    results = list(outcome)
    if not all(isinstance(item, ScenarioResult) for item in results):
        raise TypeError(f"{target} must return ScenarioResult or a list of them")
    return results


async def _await(awaitable: Any) -> Any:
    return await awaitable


# --------------------------------------------------------------------------- the table


def _number(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _ratio(value: float, base: float) -> str:
    if any(math.isnan(x) for x in (value, base)) or base == 0:
        return "-"
    return f"{value / base:.2f}x"


def markdown_table(results: Sequence[ScenarioResult], *, baseline: str | None = None) -> str:
    """A Markdown table of ``results``, one row each, in the order given.

    With ``baseline`` (an ``implementation`` such as ``"bare aiortc"``), every
    other row whose ``name`` has a baseline row gets ratio columns: latency,
    CPU and peak memory relative to it (``1.20x`` = 20 % more). ``extra``
    figures go into the last column.
    """
    base_rows = {
        r.name: r for r in results if baseline is not None and r.implementation == baseline
    }
    headers = [
        "scenario",
        "implementation",
        "fps",
        "latency median ms",
        "latency p95 ms",
        "CPU % of a core",
        "peak RSS MB",
        "sent / received / dropped",
    ]
    if baseline is not None:
        headers += [f"{what} vs {baseline}" for what in ("latency", "CPU", "RSS")]
    headers.append("other")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in results:
        cells = [
            row.name,
            row.implementation,
            _number(row.received_fps),
            _number(row.latency_median_ms),
            _number(row.latency_p95_ms),
            _number(row.cpu_percent, 0),
            _number(row.peak_rss_mb, 0),
            f"{row.frames_sent} / {row.frames_received} / {row.frames_dropped}",
        ]
        if baseline is not None:
            base = base_rows.get(row.name)
            if base is None or base is row:
                cells += ["-", "-", "-"]
            else:
                cells += [
                    _ratio(row.latency_median_ms, base.latency_median_ms),
                    _ratio(row.cpu_percent, base.cpu_percent),
                    _ratio(row.peak_rss_mb, base.peak_rss_mb),
                ]
        cells.append(", ".join(f"{k} {_number(v)}" for k, v in row.extra.items()) or "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(results: Sequence[ScenarioResult], *, baseline: str | None = None) -> None:
    """Print :func:`markdown_table` to stdout (for command-line entry points)."""
    print(markdown_table(results, baseline=baseline))


# --------------------------------------------------------------------------- child entry point


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.measure run MODULE:FUNCTION --kwargs JSON``: print results as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.measure",
        description=(
            "Run one benchmark scenario in this process and print its results as one "
            "JSON line on stdout (what run_isolated() starts in a fresh subprocess)."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a scenario function and print JSON results")
    run.add_argument(
        "target", help="the scenario, as module:function (e.g. bench.bare_aiortc:video_scenario)"
    )
    run.add_argument(
        "--kwargs", default="{}", help="keyword arguments as a JSON object (default {})"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log at INFO level on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    kwargs = json.loads(args.kwargs)
    if not isinstance(kwargs, dict):
        parser.error("--kwargs must be a JSON object")
    # Under ``python -m`` this module is ``__main__``; scenarios return the
    # ``bench.measure`` classes, so use that module's functions.
    from bench import measure

    results = measure.run_target(args.target, kwargs)
    sys.stdout.write(measure.results_to_json(results) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
