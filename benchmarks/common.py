"""Helpers shared by the benchmark scripts: the machine description, ratio
formatting, the machine-readable last line, and JSON result files.

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


def write_result(
    doc: dict[str, Any], results_dir: Path = RESULTS_DIR, stamp: str | None = None
) -> Path:
    """Write one run's results as <results_dir>/<UTC timestamp>.json."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{stamp or utc_stamp()}.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    return path


def previous_result(results_dir: Path, before: Path | None = None) -> dict[str, Any] | None:
    """The most recent result file in results_dir (older than `before`, if given)."""
    files = sorted(p for p in results_dir.glob("*.json") if before is None or p.name < before.name)
    if not files:
        return None
    try:
        return json.loads(files[-1].read_text())
    except (OSError, json.JSONDecodeError):
        return None
