"""Run every benchmark, print one table of the headline figures beside their
goals and reference anchors, and keep each benchmark's result as JSON.

Each `benchmarks/bench_*.py` runs as its own subprocess (one that crashes or
hangs is reported as failed and the others still run); its last stdout line
(`key=value key=value`) carries its figures.

    python benchmarks/run_all.py [--quick] [--only NAME...] [--compare] [--record]
    python benchmarks/run_all.py --table [--write]

Each benchmark's result goes to `<dir>/<name>.json`, replacing the last one:
benchmarks/out/ by default, benchmarks/results/ with --record (the recorded
figures; their history is git log), --results-dir for elsewhere. --compare
shows each figure's change against the recorded result. --table prints
BENCHMARKS.md, generated from the recorded results (--write writes it).
"""

from __future__ import annotations

import argparse
import ast
import operator
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    OUT_DIR,
    RECORD_ENV,
    RESULTS_DIR,
    machine,
    parse_figures,
    read_results,
    utc_stamp,
    write_result,
)
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


@dataclass(frozen=True)
class Figure:
    """What a figure means: label, unit, goal ('<op> <number>' or ''), anchor."""

    label: str
    unit: str
    goal: str = ""
    anchor: str = ""


# The headline figures, in table order, by name or, where two benchmarks use
# one name, by "benchmark.name". Anything else a benchmark prints is kept in
# the JSON and shown after these, without goal or anchor.
FIGURES: dict[str, Figure] = {
    "step_us": Figure(
        "control tick, busiest, unix port (hardware calls replayed)",
        "us",
        "",
        "integer PID ~0.3 us on x86 (DESIGN.md)",
    ),
    "fw_us": Figure("  the firmware's own share", "us", "", "wrapper out in place, same run"),
    "esp32_ratio": Figure(
        "  ESP32 / unix-port cost, integer loop",
        "x",
        "",
        "published ESP32 loop time, same-run unix time",
    ),
    "step_pct_esp32_250hz": Figure(
        "control tick on ESP32 at 250 Hz, busiest (estimate)",
        "% of 4 ms",
        "",
        "ESP32 160 MHz, MicroPython 1.23",
    ),
    "rp2040.emu_step_pct_rp2040_1khz": Figure(
        "control tick on rp2040js (firmware as flashed), busiest",
        "% of 1 ms",
        "< 5",
        "Cortex-M0+ cycle counts at 125 MHz, calibrated",
    ),
    "rp2040.emu_loop_pct_rp2040_1khz": Figure(
        "  whole loop tick on rp2040js, busiest", "% of 1 ms", "<= 100", "the same"
    ),
    "rp2040.emu_overruns_per_1000": Figure(
        "  control tick overruns on rp2040js, paced", "per 1000 ticks", "== 0", "the same"
    ),
    "rp2040.late_p9999_us": Figure(
        "  control tick start lateness on rp2040js, p99.99",
        "us",
        "",
        "alarm interrupt to the Python callback",
    ),
    "rp2040.jitter_p9999_us": Figure(
        "  control period jitter on rp2040js, p99.99 (lateness less its least)",
        "us",
        "<= 50",
        "5 % of the 1 ms period",
    ),
    "rp2040.estop_to_outputs_off_us": Figure(
        "  e-stop edge to all outputs off on rp2040js", "us", "<= 1000", "IEC 60204-1 cat. 0"
    ),
    "emu_speed": Figure(
        "emulator unpaced, drilling", "x real time", ">= 50", "PX4 SITL speed factor"
    ),
    "emu_speed_idle": Figure(
        "emulator unpaced, firmware idle", "x real time", ">= 50", "PX4 SITL lockstep speed-up"
    ),
    "emu_speed_busy": Figure(
        "emulator unpaced, drill/arm busy", "x real time", ">= 50", "PX4 SITL lockstep speed-up"
    ),
    "emu_ratio_idle": Figure("  idle / bare sleep_us loop", "ratio", "", "bare loop, same run"),
    "mass_error_p95_g": Figure(
        "mass error, p95", "g", "<= 0.5", "HX711 90 nV rms at 80 SPS = 0.045 g (2 mV/V, 5 kg)"
    ),
    "settle_s": Figure("scale settling time", "s", "<= 1", "HX711 80 SPS"),
    "journal_append_per_s": Figure(
        "journal appends (atomic)", "records/s", "", "CE-5 >= 12 scoops + core"
    ),
    "journal_download_per_s": Figure(
        "journal download", "records/s", "", "PX4/ArduPilot slow log download"
    ),
    "mc_speedup": Figure("Monte Carlo vectorised / per-run", "x", ">= 100", "solve_ivp loop"),
    "mc_runs_per_s": Figure("Monte Carlo throughput", "runs/s", ">= 1667", "1e5 runs < 1 min"),
    "cmds_per_s": Figure(
        "PING round trips, speed 1, 8 in flight", "cmd/s", ">= 1000", "null firmware, same run"
    ),
    "cmds_ratio_null": Figure("  firmware / null firmware", "ratio", "", "same machinery"),
    "cmds_per_s_window1": Figure(
        "  the same, one at a time", "cmd/s", "", "bound by the emulator's pacing"
    ),
    "cmds_per_s_115200": Figure(
        "PING round trips at 115200 baud", "cmd/s", "", "line limit ~176 cmd/s"
    ),
    "line_util_115200": Figure("line use at 115200 baud", "0..1", "", "115200/10 B/s"),
    "cmds_per_s_usb": Figure("PING round trips at USB FS rate", "cmd/s", "", "12 Mbit/s"),
    "tm_share_115200_100hz": Figure(
        "TM at 100 Hz / 115200 line", "0..1", "<= 0.8", "11520 B/s (8N1)"
    ),
    "framing_tm": Figure("framing bytes per TM frame", "B", "", "MAVLink v2: 12 B min"),
    "link.frames_lost": Figure(
        "commands lost under line noise", "frames", "== 0", "CRC-16/MCRF4XX (MAVLink X.25)"
    ),
    "soak_hours": Figure("soak, board time", "h", "", "CE-5 ~19 h surface work"),
    "soak.heap_drift_bytes": Figure("soak heap drift", "B", "> -1024", "board heap_kb"),
    "soak.frames_lost": Figure("soak frames lost (TM 10 Hz)", "frames", "== 0", ""),
    "soak.overruns": Figure("soak loop overruns", "", "", "1 kHz loop"),
    "scenarios": Figure("fault scenarios run", "", "", "CE-5/CE-6 fault cases"),
    "failed": Figure("fault scenarios failed", "", "== 0", ""),
    "records_lost": Figure("acknowledged records lost", "", "== 0", "CE-5 1731 g, CE-6 1935.3 g"),
    "moments": Figure("faults at random moments (every kind x 20)", "", "", "seeded, board clock"),
    "moment_kinds_failed": Figure(
        "  fault kinds missing a goal", "", "== 0", "goals in faults/moments.py"
    ),
    "moment_records_lost": Figure("  acknowledged records lost", "", "== 0", ""),
    "moment_cut_max_ms": Figure("  actuator after the report, worst", "ms", "<= 1", "one tick"),
    "estop_to_outputs_off_us": Figure(
        "e-stop input edge to all outputs off, worst of 20", "us", "<= 1000", "IEC 60204-1 cat. 0"
    ),
}

_OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


def goal_met(goal: str, value: float) -> bool | None:
    """Whether value meets a goal like '>= 100'; None when there is no goal."""
    if not goal:
        return None
    op, _, num = goal.partition(" ")
    return _OPS[op](value, float(num))


@dataclass
class Job:
    """One benchmark to run: a name and its command line."""

    name: str
    argv: list[str]


@dataclass
class Outcome:
    """What one benchmark did."""

    name: str
    status: str  # ok, failed, timeout
    seconds: float
    returncode: int | None
    figures: dict[str, float] = field(default_factory=dict)
    tail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "returncode": self.returncode,
            "figures": self.figures,
            "tail": self.tail,
        }


def discover(bench_dir: Path, quick: bool, only: list[str] | None) -> list[Job]:
    """Every bench_*.py in bench_dir (all of them, or those named in `only`)."""
    flag = ["--quick"] if quick else []
    jobs = [
        Job(p.stem.removeprefix("bench_"), [sys.executable, str(p), *flag])
        for p in sorted(bench_dir.glob("bench_*.py"))
    ]
    return [j for j in jobs if only is None or j.name in only]


def run_job(job: Job, timeout: float, cwd: Path, record: bool = False) -> Outcome:
    """Run one benchmark in cwd; its figures are on the last non-empty stdout line.

    A benchmark that prints its figures and exits non-zero (a fault campaign
    with a failed scenario) still counts: its figures say what failed.
    """
    t0 = time.monotonic()
    try:
        env = {**os.environ, RECORD_ENV: "1" if record else "0"}
        r = subprocess.run(
            job.argv, capture_output=True, text=True, timeout=timeout, cwd=str(cwd), env=env
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else ""
        return Outcome(job.name, "timeout", time.monotonic() - t0, None, tail=out[-2000:])
    dt = time.monotonic() - t0
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    figures = parse_figures(lines[-1]) if lines else {}
    tail = (r.stdout + r.stderr)[-2000:]
    return Outcome(job.name, "ok" if figures else "failed", dt, r.returncode, figures, tail)


def describe(bench: str, name: str) -> Figure:
    """The catalogue entry of a figure ("bench.name" first), or a bare one."""
    return FIGURES.get(f"{bench}.{name}") or FIGURES.get(name) or Figure(name, "")


def fmt(v: float | None) -> str:
    """A figure for the table: 4 significant digits."""
    return "-" if v is None else f"{v:.4g}"


def change(new: float, old: float | None) -> str:
    """The change from old to new, in per cent (or absolute from 0)."""
    if old is None:
        return "new"
    if old == 0:
        return "=" if new == 0 else f"{new - old:+.3g}"
    return f"{(new - old) / abs(old) * 100:+.1f} %"


def table(outcomes: list[Outcome], prev: dict[str, Any] | None) -> Table:
    """The headline table: known figures first, in catalogue order."""
    t = Table(title="lunasample benchmarks", show_lines=False)
    for col in ("benchmark", "figure", "value", "unit", "goal", "met", "reference anchor"):
        t.add_column(col, overflow="fold")
    if prev is not None:
        t.add_column("previous")
        t.add_column("change")
    old = prev.get("figures", {}) if prev else {}
    rows: list[tuple[int, str, str, float]] = []
    order = {k: i for i, k in enumerate(FIGURES)}
    for o in outcomes:
        for k, v in o.figures.items():
            key = f"{o.name}.{k}" if f"{o.name}.{k}" in FIGURES else k
            rows.append((order.get(key, len(order)), o.name, k, v))
    for _, bench, k, v in sorted(rows, key=lambda r: (r[0], r[1])):
        f = describe(bench, k)
        met = goal_met(f.goal, v)
        mark = "" if met is None else ("[green]yes[/]" if met else "[red]no[/]")
        cells = [bench, f.label, fmt(v), f.unit, f.goal, mark, f.anchor]
        if prev is not None:
            key = f"{bench}.{k}"
            cells += [fmt(old.get(key)), change(v, old.get(key))]
        t.add_row(*cells)
    for o in outcomes:
        if o.status != "ok":
            cells = [o.name, f"[red]{o.status}[/] (rc={o.returncode})", "-", "", "", "", ""]
            t.add_row(*(cells + (["", ""] if prev is not None else [])))
    return t


# How to reproduce a benchmark that run_all.py does not run itself.
COMMANDS = {"rp2040": "python benchmarks/rp2040_emulated.py --uf2 RPI_PICO.uf2"}


def command(bench: str, doc: dict[str, Any]) -> str:
    """The command line that reproduces a recorded result."""
    if bench in COMMANDS:
        return COMMANDS[bench]
    if doc.get("argv"):
        return f"python benchmarks/{doc['argv']}"
    quick = " --quick" if doc.get("mode") == "quick" else ""
    return f"python benchmarks/bench_{bench}.py{quick}"


def method(bench: str, bench_dir: Path = HERE) -> str:
    """A benchmark's method: the first sentence of its script's docstring."""
    name = COMMANDS[bench].split()[1] if bench in COMMANDS else f"benchmarks/bench_{bench}.py"
    path = bench_dir / Path(name).name
    try:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    except (OSError, SyntaxError):
        return ""
    first = " ".join(doc.split("\n\n")[0].split())
    for stop in (". ", ": ", " ("):  # the first clause: the table stays narrow
        first = first.split(stop)[0]
    return first.rstrip(".")


def markdown(results: dict[str, dict[str, Any]], bench_dir: Path = HERE) -> str:
    """BENCHMARKS.md: the recorded figures beside their goals, how each was measured
    and the command that reproduces it."""
    order = {k: i for i, k in enumerate(FIGURES)}
    rows: list[tuple[int, str, str, float]] = []
    for bench, doc in results.items():
        for k, v in doc.get("figures", {}).items():
            key = f"{bench}.{k}" if f"{bench}.{k}" in FIGURES else k
            if key in FIGURES:
                rows.append((order[key], bench, k, v))
    lines = [
        "# Benchmarks",
        "",
        "<!-- generated by `python benchmarks/run_all.py --table --write` from",
        "     benchmarks/results/; edit run_all.py, not this file -->",
        "",
        "Every timing is a ratio against a baseline measured in the same run, or read",
        "on an emulated board's own clock: the machines are shared and noisy.",
        "benchmarks/results/ keeps each benchmark's latest recorded run (its history",
        "is git log); docs/benchmarks.md says what each one measures and against what.",
        "",
        "```",
        "python benchmarks/run_all.py --quick           # every benchmark, ~3 min on 2 cores",
        "python benchmarks/run_all.py --only link --record  # run and record one benchmark",
        "python benchmarks/run_all.py --table --write   # regenerate this file",
        "```",
        "",
        "| figure | goal | measured | method (baseline) | reproduce |",
        "|---|---|---|---|---|",
    ]
    for _, bench, k, v in sorted(rows, key=lambda r: (r[0], r[1])):
        f = describe(bench, k)
        met = goal_met(f.goal, v)
        mark = "" if met is None else (" (met)" if met else " (**not met**)")
        unit = {"": "", "x": "x", "ratio": "", "0..1": ""}.get(f.unit, f" {f.unit}")
        goal = f"{f.goal}{unit}" if f.goal else ""
        label = (
            f.label.strip() if not f.label.startswith("  ") else f"&nbsp;&nbsp;{f.label.strip()}"
        )
        cells = [
            label,
            goal,
            f"{fmt(v)}{unit}{mark}",
            f.anchor,
            f"`{command(bench, results[bench])}`",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "## Recorded runs", "", "| benchmark | method | run (UTC) | mode | machine |"]
    lines.append("|---|---|---|---|---|")
    for bench, doc in sorted(results.items()):
        m = doc.get("machine") or {}
        mach = (
            f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, load {m.get('loadavg', '?')}"
            if m
            else "not recorded"
        )
        lines.append(
            f"| {bench} | {method(bench, bench_dir)} | {doc.get('stamp', '?')} "
            f"| {doc.get('mode', '?')} | {mach} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the suite; exit 1 when a benchmark failed to produce its figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="every benchmark's quick mode (~3 minutes on 2 cores)"
    )
    ap.add_argument(
        "--compare",
        action="store_true",
        help="show the change against the most recent earlier result",
    )
    ap.add_argument(
        "--record",
        action="store_true",
        help="record the results in benchmarks/results/ (one file per benchmark)",
    )
    ap.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where result JSON files go (default: benchmarks/out, or benchmarks/results "
        "with --record)",
    )
    ap.add_argument(
        "--table",
        action="store_true",
        help="print BENCHMARKS.md from the recorded results instead of running anything",
    )
    ap.add_argument("--write", action="store_true", help="with --table: write BENCHMARKS.md")
    ap.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run just these benchmarks (names without bench_, e.g. link)",
    )
    ap.add_argument(
        "--bench-dir",
        type=Path,
        default=HERE,
        metavar="DIR",
        help="where the bench_*.py scripts are (default: this directory)",
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=0.0,
        help="seconds per benchmark (default 300 quick, 1800 full)",
    )
    a = ap.parse_args(argv)
    recorded = a.results_dir or RESULTS_DIR
    if a.table:
        text = markdown(read_results(recorded), a.bench_dir)
        if a.write:
            BENCHMARKS_MD.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    out_dir = a.results_dir or (RESULTS_DIR if a.record else OUT_DIR)
    timeout = a.timeout or (300.0 if a.quick else 1800.0)
    con = Console(width=160)
    mach = machine()
    con.print(
        f"machine: {mach['cpu']}, {mach['cores']} cores, {mach['os']}, "
        f"Python {mach['python']}, MicroPython {mach['micropython']}, "
        f"load {mach['loadavg']}"
    )
    prev = None
    if a.compare:
        old = read_results(recorded)
        prev = {
            "figures": {f"{b}.{k}": v for b, d in old.items() for k, v in d["figures"].items()}
        }
        if not old:
            con.print(f"no recorded result in {recorded} to compare with")
    stamp = utc_stamp()
    outcomes: list[Outcome] = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-all-") as scratch:
        # Each benchmark runs in a scratch directory: whatever it writes to
        # its working directory (campaign reports) stays out of the tree.
        for job in discover(a.bench_dir, a.quick, a.only):
            con.print(f"[bold]{job.name}[/] ...", end=" ")
            o = run_job(job, timeout, Path(scratch), record=a.record)
            outcomes.append(o)
            con.print(f"{o.status} in {o.seconds:.1f} s")
            if o.status != "ok":
                con.print(o.tail, markup=False, highlight=False)
    total = time.monotonic() - t0
    con.print(table(outcomes, prev))
    mode = "quick" if a.quick else "full"
    for o in outcomes:
        if o.status == "ok":  # a failed run does not replace the last good result
            write_result({"mode": mode, "machine": mach, **o.as_dict()}, out_dir, stamp, o.name)
    con.print(f"{len(outcomes)} benchmarks in {total:.0f} s; results in {out_dir}")
    return 0 if all(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
