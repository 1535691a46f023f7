"""Helpers shared by the benchmark scripts: the machine description, ratio
formatting, the machine-readable last line, and JSON result files.

benchmarks/results/ keeps one file per benchmark, its latest recorded run
(<bench>.json; the history is in git log). A run writes there only when asked
to record (`run_all.py --record`, or LUNASAMPLE_BENCH_RECORD=1 for a script
run on its own); otherwise results go to benchmarks/out/ (not in git).

Every timing in these benchmarks is a ratio against a baseline measured in the
same run, because the machines they run on are shared and noisy; the machine
description is recorded next to every result so runs can be compared.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lunasample import paths

RESULTS_DIR = Path(__file__).resolve().parent / "results"
OUT_DIR = Path(__file__).resolve().parent / "out"
RECORD_ENV = "LUNASAMPLE_BENCH_RECORD"
_FIGURE = re.compile(r"^[a-z][a-z0-9_]*$")
# "1.29.0-preview (9458e3a23f on 2026-07-05)": release, then the build.
_MP_VERSION = (
    "import sys; v = sys.implementation.version; "
    "print('.'.join(str(x) for x in v[:3]) + ('-' + v[3] if len(v) > 3 and v[3] else '') "
    "+ ' (' + sys.version.split('MicroPython ')[-1] + ')')"
)


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo, else platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def micropython_version() -> str:
    """Version of the micropython unix-port binary the emulator runs."""
    try:
        r = subprocess.run(
            [paths.micropython_binary(), "-c", _MP_VERSION],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return r.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on (recorded in every result file)."""
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 1,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "micropython": micropython_version(),
        "loadavg": [round(x, 2) for x in load],
    }


def ratio(value: float, baseline: float) -> float:
    """value / baseline, 0 when the baseline is 0 (nothing measured)."""
    return value / baseline if baseline else 0.0


def fmt_ratio(value: float, baseline: float, unit: str = "") -> str:
    """'<value> <unit> = <r> x baseline' for the human-readable lines."""
    u = f" {unit}" if unit else ""
    return f"{value:.4g}{u} = {ratio(value, baseline):.3g} x baseline ({baseline:.4g}{u})"


def figures_line(figures: dict[str, float]) -> str:
    """The machine-readable last line: `key=value key=value`."""
    for k in figures:
        if not _FIGURE.match(k):
            raise ValueError(f"bad figure name {k!r}")
    return " ".join(f"{k}={v:.4g}" for k, v in figures.items())


def parse_figures(line: str) -> dict[str, float]:
    """Parse a `key=value ...` line; {} when the line is not one."""
    out: dict[str, float] = {}
    for tok in line.split():
        k, eq, v = tok.partition("=")
        if not eq or not _FIGURE.match(k):
            return {}
        try:
            out[k] = float(v)
        except ValueError:
            return {}
    return out


def utc_stamp(now: datetime | None = None) -> str:
    """A UTC timestamp usable as a file name, sorting in time order."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def recording() -> bool:
    """Whether this run's results are to be recorded in benchmarks/results/."""
    return os.environ.get(RECORD_ENV, "") == "1"


def write_result(
    doc: dict[str, Any],
    results_dir: Path | None = None,
    stamp: str | None = None,
    name: str | None = None,
) -> Path:
    """Write one benchmark's result as <dir>/<name>.json, replacing the last one.

    name defaults to doc["bench"]; dir to benchmarks/results/ when recording,
    else benchmarks/out/. The UTC stamp goes into the document.
    """
    name = name or str(doc.get("bench") or "all")
    if not _FIGURE.match(name):
        raise ValueError(f"bad benchmark name {name!r}")
    if results_dir is None:
        results_dir = RESULTS_DIR if recording() else OUT_DIR
    doc = {"bench": name, "stamp": stamp or doc.get("stamp") or utc_stamp(), **doc}
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)  # a reader never sees half a file
    return path


def read_results(results_dir: Path = RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """Every benchmark's latest result in results_dir, by benchmark name."""
    out = {}
    for p in sorted(results_dir.glob("*.json")):
        try:
            doc = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        out[str(doc.get("bench") or p.stem)] = doc
    return out
