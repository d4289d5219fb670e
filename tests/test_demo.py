"""The demo runs headless, with its bot, and its screenshot shows a live video wall."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_png(path: Path) -> np.ndarray:
    from panda3d.core import Filename, PNMImage

    image = PNMImage()
    assert image.read(Filename.fromOsSpecific(str(path))), f"cannot read {path}"
    width, height = image.getXSize(), image.getYSize()
    pixels = np.array(
        [[image.getXelVal(x, y) for x in range(0, width, 2)] for y in range(0, height, 2)],
        dtype=np.uint8,
    )
    return pixels  # every other pixel, top row first


def _blob(image: np.ndarray, colour: tuple[int, int, int]) -> tuple[int, float, float]:
    """How many pixels are within 40 of ``colour``, and their centre (x, y)."""
    near = np.all(np.abs(image.astype(int) - np.array(colour)) < 40, axis=2)
    ys, xs = np.nonzero(near)
    return (
        int(near.sum()),
        float(xs.mean()) if xs.size else 0.0,
        float(ys.mean()) if ys.size else 0.0,
    )


@pytest.mark.timeout(120)
def test_headless_demo_screenshot_shows_a_live_wall(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [sys.executable, "main.py", "--headless", "--duration", "5", "--screenshot", str(shot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stderr + result.stdout
    assert "screenshot saved" in log
    # The overlay's last lines: we sent the scene camera, and the bot's wall had video.
    assert "sending  scene camera 1280x720" in log
    assert "Bot: 640x360" in log
    # The bot's pattern is on a wall: its pure red, green, blue and white markers,
    # red left of green and above blue (right colours, right way up).
    image = _load_png(shot)
    red, green, blue = (_blob(image, c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255)))
    for count, _x, _y in (red, green, blue):
        assert count > 200, (red, green, blue)
    assert red[1] < green[1] and red[2] < blue[2]
