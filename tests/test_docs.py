"""The README's snippet runs as written, and entry points answer --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.timeout(60)
def test_readme_snippet_runs() -> None:
    blocks = _readme_python_blocks()
    assert blocks, "README.md has no python snippet"
    result = subprocess.run(
        [sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=50, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "CallState.CONNECTED VideoStreamState.STARTED"


@pytest.mark.timeout(90)
def test_readme_user_test_passes(tmp_path: Path) -> None:
    blocks = _readme_python_blocks()
    assert len(blocks) >= 2, "README.md shows a user's test"
    test_file = tmp_path / "test_readme_example.py"
    test_file.write_text(blocks[1])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        timeout=80,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


@pytest.mark.parametrize(
    "command",
    [["main.py"], ["-m", "engine_plugin.service"], ["-m", "bench.calls"]],
    ids=["main", "service", "bench"],
)
def test_entry_points_have_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, *command, "--help"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
