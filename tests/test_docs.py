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


def test_every_readme_snippet_compiles_and_its_imports_exist() -> None:
    for block in _readme_python_blocks():
        compile(block, "README.md", "exec")
        imports = "\n".join(
            line for line in block.splitlines() if line.startswith(("import ", "from "))
        )
        exec(compile(imports, "README.md imports", "exec"), {})


@pytest.mark.timeout(90)
def test_readme_user_test_passes(tmp_path: Path) -> None:
    tests = [b for b in _readme_python_blocks() if "def test_" in b]
    assert len(tests) == 1, "README.md shows a user's test"
    test_file = tmp_path / "test_readme_example.py"
    test_file.write_text(tests[0])
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
    [
        ["main.py"],
        ["examples/raw_media_call.py"],
        ["-m", "scenes.bot"],
        ["-m", "engine_plugin.service"],
        ["-m", "bench.calls"],
        ["-m", "bench.engine"],
        ["-m", "bench.browser"],
    ],
    ids=["main", "example", "bot", "service", "bench-calls", "bench-engine", "bench-browser"],
)
def test_entry_points_have_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, *command, "--help"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
