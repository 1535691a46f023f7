"""`rig compare` on two results folders, and the results folder itself."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import pytest

from lunasample.commands import rig_cmd
from lunasample.errors import UserError
from lunasample.rigs import compare, results
from lunasample.rigs.procedure import Result


def _folder(
    out: Path, when: datetime, procedure: str, figures: dict[str, float], limits: dict[str, float]
) -> Path:
    r = Result(columns=["i", "x"], rows=[[1, 2.0]])
    for k, v in figures.items():
        r.figure(k, v, "ms", f"{k} meaning")
    checks = results.evaluate(r, limits, list(limits))
    meta = {
        "rig": "emulator",
        "procedure": procedure,
        "title": "t",
        "board": "emulator",
        "firmware": "0.1.0",
        "where": "emulated emulator",
        "emulated": True,
        "rig_file": "x",
        "settings": limits,
    }
    return results.write(out, when, meta, r, checks, None)


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lunasample")
    rig_cmd.add_parser(p.add_subparsers(dest="command"))
    return p.parse_args(argv)


def test_compare_shows_both_values_and_the_deltas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _folder(
        tmp_path,
        datetime(2025, 3, 1, 10),
        "estop_latency",
        {"stop_ms": 200.0, "cut_ms": 2.0},
        {"max_stop_ms": 500.0},
    )
    b = _folder(
        tmp_path,
        datetime(2025, 3, 8, 9),
        "estop_latency",
        {"stop_ms": 250.0, "cut_ms": 2.0, "extra": 1.0},
        {"max_stop_ms": 240.0},
    )
    assert json.loads((b / "summary.json").read_text())["verdict"] == "FAIL"
    rows = {r[0]: r for r in compare.rows(results.read_summary(a), results.read_summary(b))}
    assert rows["stop_ms"][2:] == ("200", "250", "+50", "+25.0 %")
    assert rows["cut_ms"][4] == "0"
    assert rows["extra"][2] == "-" and rows["extra"][4] == "-"
    args = _parse("rig", "compare", str(a), str(b))
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "stop_ms" in out and "+25.0 %" in out and "PASS" in out and "FAIL" in out


def test_compare_warns_about_different_procedures(tmp_path: Path) -> None:
    a = _folder(tmp_path, datetime(2025, 3, 1), "estop_latency", {"x": 1.0}, {})
    b = _folder(tmp_path, datetime(2025, 3, 1), "link_soak", {"x": 2.0}, {})
    assert b.name.endswith("-2") or a.name != b.name
    _, warnings = compare.table(a, b)
    assert warnings == ["different procedures: estop_latency and link_soak"]


def test_compare_of_a_folder_without_results_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a rig results folder"):
        compare.table(tmp_path, tmp_path)


def test_results_folder_has_csv_markdown_and_checks(tmp_path: Path) -> None:
    f = _folder(
        tmp_path,
        datetime(2025, 3, 1, 10, 0, 5),
        "estop_latency",
        {"stop_ms": 200.0},
        {"max_stop_ms": 100.0, "min_cut_ms": 1.0},
    )
    assert f.name == "20250301-100005-emulator-estop_latency"
    md = (f / "summary.md").read_text()
    assert "FAIL" in md and "stop_ms = 200 ms outside limit <= 100" in md
    assert "cut_ms: not measured" in md  # a limit on a figure never measured fails
    assert (f / "measurements.csv").read_text().splitlines() == ["i,x", "1,2.0"]


def test_rig_list_and_check(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse("rig", "list")
    assert args.run(args) == 0
    out = capsys.readouterr().out
    for name in ("link_soak", "estop_latency", "scoop_repeatability", "rp2040_bench"):
        assert name in out
    args = _parse("rig", "check", "esp32_bench")
    assert args.run(args) == 0
    assert "ok" in capsys.readouterr().out
    args = _parse("rig")
    with pytest.raises(UserError, match="choose an action"):
        args.run(args)
