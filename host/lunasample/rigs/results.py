"""Limit checks and the results folder of one run:
`<out>/<date>-<rig>-<procedure>/` with measurements.csv, summary.md, summary.json, *.png."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lunasample.errors import UserError
from lunasample.rigs.procedure import Result

SUMMARY_JSON = "summary.json"


@dataclass
class Check:
    """One pass/fail limit applied to one figure."""

    limit: str  # the rig file's key, e.g. max_lost_frames
    figure: str
    op: str  # "<=" or ">="
    bound: float
    value: float | None  # None: not measured
    passed: bool | None  # None: not checked (the figure cannot be measured on this rig)
    text: str


def evaluate(result: Result, settings: dict[str, float], limit_keys: list[str]) -> list[Check]:
    """Apply every max_<figure> / min_<figure> limit to the result's figures."""
    out = []
    for key in limit_keys:
        bound = settings[key]
        fig = key[4:]
        op = "<=" if key.startswith("max_") else ">="
        if fig in result.unmeasured:
            out.append(
                Check(
                    key,
                    fig,
                    op,
                    bound,
                    None,
                    None,
                    f"{fig}: not measured on this rig ({result.unmeasured[fig]})",
                )
            )
            continue
        f = result.figures.get(fig)
        if f is None or math.isnan(f.value):
            out.append(Check(key, fig, op, bound, None, False, f"{fig}: not measured"))
            continue
        ok = f.value <= bound if op == "<=" else f.value >= bound
        word = "within" if ok else "outside"
        out.append(
            Check(
                key,
                fig,
                op,
                bound,
                f.value,
                ok,
                f"{fig} = {_fmt(f.value)} {f.unit} {word} limit {op} {_fmt(bound)}",
            )
        )
    return out


def _fmt(v: float) -> str:
    if v == int(v) and abs(v) < 1e12:
        return str(int(v))
    return f"{v:.4g}"


def folder_name(started: datetime, rig: str, procedure: str) -> str:
    """`<date>-<rig>-<procedure>`, the date to the second so runs sort in time order."""
    return f"{started:%Y%m%d-%H%M%S}-{rig}-{procedure}"


def write(
    out_dir: Path,
    started: datetime,
    meta: dict[str, Any],
    result: Result,
    checks: list[Check],
    reason: str | None,
) -> Path:
    """Write the results folder; returns its path."""
    base = out_dir / folder_name(started, meta["rig"], meta["procedure"])
    path = base
    n = 2
    while path.exists():
        path = Path(f"{base}-{n}")
        n += 1
    path.mkdir(parents=True)
    passed = reason is None and all(c.passed is not False for c in checks)
    summary = {
        **meta,
        "started": started.isoformat(timespec="seconds"),
        "verdict": "PASS" if passed else "FAIL",
        "reason": reason,
        "figures": {k: asdict(f) for k, f in result.figures.items()},
        "checks": [asdict(c) for c in checks],
        "notes": result.notes,
    }
    (path / SUMMARY_JSON).write_text(json.dumps(summary, indent=1) + "\n")
    if result.columns:
        with open(path / "measurements.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(result.columns)
            w.writerows(result.rows)
    plots = _plots(path, result)
    (path / "summary.md").write_text(_markdown(summary, plots))
    return path


def _plots(path: Path, result: Result) -> list[str]:
    if not result.plots:
        return []
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    names = []
    for name, draw in result.plots.items():
        fig = Figure(figsize=(7, 4), layout="constrained")
        draw(fig)
        fig.savefig(path / f"{name}.png", dpi=100)
        names.append(f"{name}.png")
    return names


def _markdown(s: dict[str, Any], plots: list[str]) -> str:
    lines = [
        f"# {s['procedure']} on rig {s['rig']}: {s['verdict']}",
        "",
        f"- started: {s['started']}",
        f"- board: {s['board']} ({s['where']}), firmware {s['firmware']}",
        f"- procedure: {s['title']}",
        "",
    ]
    if s["reason"]:
        lines += [f"**Failed:** {s['reason']}", ""]
    if s["figures"]:
        lines += ["## Figures", "", "| figure | value | unit | meaning |", "|---|---:|---|---|"]
        for k, f in s["figures"].items():
            lines.append(f"| {k} | {_fmt(f['value'])} | {f['unit']} | {f['doc']} |")
        lines.append("")
    if s["checks"]:
        lines += ["## Limits", "", "| limit | result |", "|---|---|"]
        for c in s["checks"]:
            mark = {True: "pass", False: "FAIL", None: "not checked"}[c["passed"]]
            lines.append(f"| {c['limit']} {c['op']} {_fmt(c['bound'])} | {mark}: {c['text']} |")
        lines.append("")
    lines += ["## Settings", ""] + [f"- {k} = {_fmt(v)}" for k, v in s["settings"].items()]
    if s["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in s["notes"]]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def read_summary(folder: Path) -> dict[str, Any]:
    """The summary.json of a results folder, or a one-line UserError."""
    p = Path(folder) / SUMMARY_JSON
    try:
        data = json.loads(p.read_text())
    except OSError:
        raise UserError(f"{folder}: not a rig results folder (no {SUMMARY_JSON})") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{p}:{e.lineno}: invalid JSON: {e.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
        raise UserError(f"{p}: no figures in this summary")
    return data
