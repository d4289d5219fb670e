"""Benchmarks: bare aiortc baselines and the calling SDK, each scenario in a fresh process.

- :mod:`bench.measure`: :class:`~bench.measure.ScenarioResult`, the measured
  window (CPU and wall time), running a scenario in a subprocess, and the
  Markdown table.
- :mod:`bench.bare_aiortc`: the baseline, two aiortc peers in one process on
  loopback (``python -m bench.bare_aiortc --help``).
"""
