"""Runs fault scenarios, tabulates them, and writes the results."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from lunasample.faults.scenarios import SCENARIOS, Outcome, run_scenario


def run_campaign(
    names: Sequence[str] | None = None,
    seed: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Outcome]:
    """Run the named scenarios (all by default), each on a fresh emulated board."""
    chosen = list(names or SCENARIOS)
    out = []
    with tempfile.TemporaryDirectory(prefix="lunasample-faults-") as tmp:
        for i, name in enumerate(chosen):
            if progress:
                progress(name, i, len(chosen))
            out.append(run_scenario(name, Path(tmp), seed + i))
    if progress:
        progress("done", len(chosen), len(chosen))
    return out


def summary_line(results: Sequence[Outcome]) -> str:
    """The campaign's final line: scenarios=N failed=F records_lost=L."""
    failed = sum(1 for r in results if not r.passed)
    lost = sum(r.acked - r.recovered for r in results)
    return f"scenarios={len(results)} failed={failed} records_lost={lost}"


def ms(v: float | None) -> str:
    """A latency for the table ('-' when not measured)."""
    return "-" if v is None else f"{v:.0f}"


def write_results(results: Sequence[Outcome], out_dir: Path) -> Path:
    """results.csv and summary.md in out_dir; returns the CSV path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(asdict(results[0]).keys()))
        w.writeheader()
        for r in results:
            row = asdict(r)
            row["notes"] = "; ".join(r.notes)
            w.writerow(row)
    lines = [
        "# Fault-injection campaign",
        "",
        "| scenario | injected | detect (ms) | safe (ms) | reported | acked | recovered "
        "| result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        verdict = "pass" if r.passed else f"FAIL: {r.why}"
        lines.append(
            f"| {r.scenario} | {r.injected} | {ms(r.detect_ms)} | {ms(r.safe_ms)} | "
            f"{r.reported} | {r.acked} | {r.recovered} | {verdict} |"
        )
    lines += ["", summary_line(results), ""]
    (out_dir / "summary.md").write_text("\n".join(lines))
    return path
