"""Two results folders side by side: every summary figure, with deltas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lunasample.rigs.results import read_summary

COLUMNS = ("figure", "unit", "A", "B", "B - A", "change")


@dataclass
class Comparison:
    """Two runs' figures side by side: a title and one row per figure."""

    title: str
    rows: list[tuple[str, str, str, str, str, str]]


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return str(int(v)) if v == int(v) and abs(v) < 1e12 else f"{v:.4g}"


def rows(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(figure, unit, A, B, B-A, change %) for every figure of either summary."""
    out = []
    fa, fb = a["figures"], b["figures"]
    for name in list(fa) + [k for k in fb if k not in fa]:
        va = fa.get(name, {}).get("value")
        vb = fb.get(name, {}).get("value")
        unit = (fa.get(name) or fb.get(name))["unit"]
        delta = pct = "-"
        if va is not None and vb is not None:
            delta = ("+" if vb - va > 0 else "") + _num(vb - va)
            pct = f"{100.0 * (vb - va) / abs(va):+.1f} %" if va else "-"
        out.append((name, unit, _num(va), _num(vb), delta, pct))
    return out


def table(folder_a: Path, folder_b: Path) -> tuple[Comparison, list[str]]:
    """The comparison (title and rows, the verdicts first) and warnings
    (different procedures or rigs); the CLI draws it."""
    a, b = read_summary(folder_a), read_summary(folder_b)
    warn = []
    if a.get("procedure") != b.get("procedure"):
        warn.append(f"different procedures: {a.get('procedure')} and {b.get('procedure')}")
    if a.get("rig") != b.get("rig"):
        warn.append(f"different rigs: {a.get('rig')} and {b.get('rig')}")
    title = f"{a.get('procedure')}: A = {Path(folder_a).name}, B = {Path(folder_b).name}"
    verdict = ("verdict", "", a.get("verdict", "?"), b.get("verdict", "?"), "", "")
    return Comparison(title, [verdict, *rows(a, b)]), warn
