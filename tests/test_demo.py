"""The demo runs headless, with its bot, and its screenshot shows a live video wall."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine_plugin import CommunicationIdentityClient

from .conftest import wait_until

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


def _assert_pattern_on_a_wall(shot: Path) -> None:
    """The pattern's pure red, green and blue markers: red left of green and above blue."""
    image = _load_png(shot)
    red, green, blue = (_blob(image, c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255)))
    for count, _x, _y in (red, green, blue):
        assert count > 200, (red, green, blue)
    assert red[1] < green[1] and red[2] < blue[2]


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
    # A browser can join the same call: the page's URL names the group.
    assert re.search(
        r"^Browser page: http://localhost:\d+/\?group=[0-9a-f-]{36}$", result.stdout, re.M
    )
    _assert_pattern_on_a_wall(shot)


@pytest.mark.timeout(120)
def test_demo_joins_a_call_on_an_existing_service_with_a_token(
    tmp_path: Path, calling_service: Any, synthetic_participant: Any
) -> None:
    identity = CommunicationIdentityClient.from_connection_string(calling_service.connection_string)
    _user, token = identity.create_user_and_token(["voip"])
    group = str(uuid.uuid4())
    someone = synthetic_participant("Someone", tone_hz=None)
    someone.join(group)
    shot = tmp_path / "joined.png"
    result = subprocess.run(
        [
            sys.executable,
            "main.py",
            "--headless",
            "--duration",
            "5",
            "--screenshot",
            str(shot),
            "--endpoint",
            calling_service.endpoint,
            "--token",
            token.token,
            "--group",
            group,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stderr + result.stdout
    assert "bot participant" not in log and "calling service at" not in log
    assert "Browser page" not in log
    assert "Someone: 640x360" in log
    _assert_pattern_on_a_wall(shot)


@pytest.mark.timeout(120)
def test_windowed_demo_opens_a_window_and_esc_quits_cleanly(tmp_path: Path) -> None:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.skip("needs Xvfb and xdotool (installed by .ci/run)")
    display = f":{90 + os.getpid() % 9}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
    env = dict(os.environ, DISPLAY=display)
    try:
        demo = subprocess.Popen(
            [sys.executable, "main.py", "--no-bot"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert demo.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        for line in demo.stdout:
            lines.append(line)
            if "running until ESC" in line or time.monotonic() > deadline:
                break
        assert any("running until ESC" in line for line in lines), "".join(lines[-30:])
        assert not any("rendering offscreen" in line for line in lines), "a real window"
        window = ""
        while not window and time.monotonic() < deadline:
            found = subprocess.run(
                ["xdotool", "search", "--name", "engine_plugin demo"],
                env=env,
                capture_output=True,
                text=True,
            )
            window = found.stdout.split("\n")[0].strip()
            time.sleep(0.2)
        assert window, "the demo's window is on the display"
        subprocess.run(["xdotool", "key", "--window", window, "Escape"], env=env, check=True)
        rest, _ = demo.communicate(timeout=30)
        assert demo.returncode == 0, rest[-3000:]
        assert "ran " in rest
    finally:
        if demo.poll() is None:
            demo.kill()
        xvfb.terminate()
        xvfb.wait(10)


@pytest.mark.timeout(120)
def test_sigterm_stops_the_demo_and_its_bot(tmp_path: Path) -> None:
    import psutil

    log = tmp_path / "demo.log"
    with log.open("w") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "main.py", "--headless", "--duration", "90"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    try:
        wait_until(
            lambda: "sending the scene camera" in log.read_text() or demo.poll() is not None,
            60,
            "the demo's scene to run",
        )
        assert demo.poll() is None, log.read_text()[-3000:]
        children = psutil.Process(demo.pid).children(recursive=True)
        bots = [c for c in children if "scenes.bot" in " ".join(c.cmdline())]
        assert len(bots) == 1, children
        demo.terminate()
        assert demo.wait(30) == 128 + 15, log.read_text()[-3000:]
        _gone, alive = psutil.wait_procs(bots, timeout=10)
        assert alive == [], "the bot outlived the demo"
        assert "bot: leaving" in log.read_text()  # it left the call, not killed
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)
