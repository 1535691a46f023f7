"""A freshly flashed board, reached as a real one (--port): its scale is not
calibrated, and the host says how to calibrate it; a prompt with nobody at
the terminal is a clear error, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lunasample.emulator.board import EmulatedBoard


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedBoard]:
    flash = tmp_path_factory.mktemp("fresh") / "flash"
    with EmulatedBoard(speed=0, fs_dir=flash) as b:
        yield b


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lunasample.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_mission_names_the_calibration_to_run(fresh: EmulatedBoard, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _cli("mission", "--port", fresh.url, "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "not calibrated" in lines[0]
    # The procedure and the rig it names exist.
    assert f"rig run scale_calibration --rig emulator --port {fresh.url}" in lines[0]
    listing = _cli("rig", "list").stdout
    assert "scale_calibration" in listing and "emulator" in listing
    assert not (out / "report.md").exists() and not (out / "timeline.csv").exists()


def test_a_prompt_on_a_closed_stdin_is_a_user_error(fresh: EmulatedBoard, tmp_path: Path) -> None:
    r = _cli(
        "rig",
        "run",
        "scale_calibration",
        "--rig",
        "emulator",
        "--port",
        fresh.url,
        "--out",
        str(tmp_path / "res"),
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "stdin is closed" in lines[0]
    assert "reference weight" in lines[0] and "at a terminal" in lines[0]
    # A motion procedure asks first; --yes is the answer a script gives.
    r = _cli("rig", "run", "drill_step", "--rig", "emulator", "--port", fresh.url)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--yes" in r.stderr and "stdin is closed" in r.stderr
