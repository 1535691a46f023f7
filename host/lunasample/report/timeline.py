"""Mission timeline as CSV and JSON: one row per phase with times and key figures."""

from __future__ import annotations

import csv
import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

from lunasample.mission.runner import MissionResult


def timeline_rows(result: MissionResult) -> list[dict[str, Any]]:
    """Phase rows: name, status, start/end (elapsed seconds and UTC), failure, figures."""
    rows = []
    for ph in result.phases:
        flown = not math.isnan(ph.start_s)
        rows.append(
            {
                "phase": ph.name,
                "status": ph.status,
                "start_s": round(ph.start_s, 3) if flown else None,
                "end_s": round(ph.end_s, 3) if flown else None,
                "start_utc": _utc(result, ph.start_s) if flown else None,
                "end_utc": _utc(result, ph.end_s) if flown else None,
                "failure": ph.failure,
                "anomalies": ph.anomalies,
                "figures": {k: _round(v) for k, v in ph.figures.items()},
            }
        )
    return rows


def write_timeline(result: MissionResult, out_dir: Path) -> list[Path]:
    """Write ``timeline.csv`` and ``timeline.json``; return their paths."""
    rows = timeline_rows(result)
    csv_path = out_dir / "timeline.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "phase",
                "status",
                "start_s",
                "end_s",
                "start_utc",
                "end_utc",
                "failure",
                "anomalies",
                "figures",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    r["phase"],
                    r["status"],
                    _blank(r["start_s"]),
                    _blank(r["end_s"]),
                    _blank(r["start_utc"]),
                    _blank(r["end_utc"]),
                    _blank(r["failure"]),
                    "; ".join(r["anomalies"]),
                    "; ".join(f"{k}={v}" for k, v in r["figures"].items()),
                ]
            )
    json_path = out_dir / "timeline.json"
    doc = {
        "seed": result.seed,
        "params": result.params.source,
        "launch_epoch": result.epoch.isoformat().replace("+00:00", "Z"),
        "success": result.success,
        "returned_g": _round(result.returned_g),
        "phases": rows,
        # Each campaign step on both clocks (flight hours since landing, board s).
        "sampling_steps": result.sampling.steps if result.sampling else [],
    }
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    return [csv_path, json_path]


def _utc(result: MissionResult, seconds: float) -> str:
    t = result.epoch + timedelta(seconds=seconds)
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _round(value: float) -> float | None:
    if math.isnan(value) or math.isinf(value):
        return None
    return float(f"{value:.6g}")


def _blank(value: object) -> object:
    return "" if value is None else value
