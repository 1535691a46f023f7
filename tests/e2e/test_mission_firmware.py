"""The main job end to end: `lunasample mission` with the firmware sampling on
an emulated board, through the serial link."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


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
    assert "grav_mm_s2" in frames  # the scale weighed at the site's gravity
    # Rotary-percussive: the default site's hard lens took the hammer.
    drill = next(ln for ln in frames.splitlines() if "step=drill" in ln)
    assert ",perc=" in drill and ",perc=0" not in drill
    # Two clocks: the board ran each step in minutes; on the flight clock the
    # same steps, with the ground in the loop between them, span 10-30 h.
    sampling = next(r for r in rows if r["phase"] == "sampling")
    figures = dict(kv.split("=") for kv in sampling["figures"].split("; "))
    flight_h = (float(sampling["end_s"]) - float(sampling["start_s"])) / 3600.0
    assert 10.0 <= flight_h <= 30.0
    assert float(figures["duration_h"]) == pytest.approx(flight_h, rel=1e-5)
    assert 0.0 < float(figures["board_s"]) < 3600.0
    steps = timeline["sampling_steps"]
    assert [st["kind"] for st in steps][:2] == ["drill", "core"] and steps[-1]["kind"] == "end"
    assert sum(st["board_s"] for st in steps) == pytest.approx(float(figures["board_s"]), rel=1e-5)
    assert frames.count(",SSTEP") == len(steps)
    assert "Sampling on two clocks" in report


def test_same_seed_same_mission(tmp_path: Path) -> None:
    """The emulated board runs in lockstep with the host: byte-identical timelines,
    with progress bars drawn (a terminal) or not (a pipe)."""
    small = tmp_path / "small.toml"
    # A short campaign (a core and a scoop or two) keeps the two runs cheap.
    small.write_text("[sampling]\ntarget_g = 400.0\nmin_return_g = 200.0\n")
    outs = [tmp_path / f"out{i}" for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "lunasample.cli", "mission", "--seed", "11"]
            + ["--params", str(small), "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # rich draws on a terminal only; FORCE_COLOR makes the first one a terminal.
            env={**os.environ, **({"FORCE_COLOR": "1"} if i == 0 else {})},
        )
        for i, out in enumerate(outs)
    ]
    shown = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()[-2000:]
        shown.append(out.decode())
    # Sampling progress from the board's own replies and telemetry.
    assert re.search(r"sampling .*scoop \d+ of <= \d+", shown[0]), shown[0][-2000:]
    assert re.search(r"drill .*\d+ mm", shown[0])
    assert not re.search(r"scoop \d+ of", shown[1])
    first, second = ((o / "timeline.csv").read_bytes() for o in outs)
    assert first == second
    assert b"board_s=" in first


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
