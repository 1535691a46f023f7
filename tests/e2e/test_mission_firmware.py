"""The main job end to end: `lunasample mission` with the firmware sampling on
an emulated board, through the serial link."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path


def test_full_mission_with_firmware_sampling(tmp_path: Path) -> None:
    out = tmp_path / "out"
    log = tmp_path / "frames.jsonl"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "lunasample.cli",
            "mission",
            "--out",
            str(out),
            "--seed",
            "3",
            "--log",
            str(log),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for name in (
        "timeline.csv",
        "timeline.json",
        "report.md",
        "descent.png",
        "sampling_mass.png",
        "rvd.png",
        "reentry.png",
    ):
        assert (out / name).stat().st_size > 0, name
    timeline = json.loads((out / "timeline.json").read_text())
    phases = timeline["phases"] if isinstance(timeline, dict) else timeline
    names = [p["phase"] if "phase" in p else p["name"] for p in phases]
    assert names[0] == "launch" and names[-1] == "landing" and "sampling" in names
    rows = list(csv.DictReader((out / "timeline.csv").open()))
    assert len(rows) == len(names)
    report = (out / "report.md").read_text()
    assert "firmware:emulator" in report
    # The sample came from the board: every record crossed the serial link.
    frames = log.read_text()
    assert ",SAMPLE,target=2000" in frames and "kind=sample" in frames
    assert "sealed=1" in frames


def test_bad_parameters_file_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[descent]\nengine_thrust_n = -5\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "lunasample.cli",
            "mission",
            "--surrogate",
            "--params",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "engine_thrust_n" in r.stderr and "Traceback" not in r.stderr
