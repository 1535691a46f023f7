"""Every procedure against the emulated rig (real firmware, real link), faulty rigs that
must fail with a clear reason, and the safety rules of a run."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from lunasample.commands import rig_cmd
from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.link.client import Link
from lunasample.rigs import registry, schema
from lunasample.rigs.procedure import COMMAND_SUBSYSTEM as _SUBSYSTEM
from lunasample.rigs.procedure import Result, RigContext
from lunasample.rigs.registry import Procedure
from lunasample.rigs.runner import run_procedure, start_safe

EMU_TEXT = (schema.RIGS_DIR / "emulator" / "rig.toml").read_text()


def _faulty_rig(tmp_path: Path, extra: str) -> schema.Rig:
    p = tmp_path / "faulty" / "rig.toml"
    p.parent.mkdir()
    p.write_text(EMU_TEXT.replace('name = "emulator"', 'name = "faulty"') + "\n" + extra)
    return schema.load_rig(p)


def _caps() -> list[str]:
    with EmulatedBoard(speed=0) as b, Link(b.url) as lk:
        assert lk.hello is not None
        return lk.hello.caps


CAPS = _caps()


@pytest.mark.parametrize("name", sorted(registry.procedures()))
def test_every_procedure_passes_on_the_emulated_rig(name: str, tmp_path: Path) -> None:
    rig = schema.load_rig("emulator")
    proc = registry.get(name)
    out = run_procedure(rig, proc, out_dir=tmp_path)
    summary = json.loads((out.path / "summary.json").read_text())
    lacking = [c for c in proc.needs if c in _SUBSYSTEM and _SUBSYSTEM[c] not in CAPS]
    if lacking:
        # The firmware does not have it yet: the run must say so, never fake it.
        assert not out.passed and out.reason is not None
        assert f"board lacks command {lacking[0]}" in out.reason
        return
    assert out.passed, (out.reason, [c.text for c in out.checks])
    assert summary["verdict"] == "PASS" and summary["procedure"] == name
    assert out.path.name.endswith(f"-emulator-{name}")
    assert any(c.passed for c in out.checks)
    with open(out.path / "measurements.csv") as f:
        assert len(list(csv.reader(f))) > 1
    assert list(out.path.glob("*.png"))
    assert "PASS" in (out.path / "summary.md").read_text()


def test_sticky_load_cell_fails_calibration_with_the_reason(tmp_path: Path) -> None:
    rig = _faulty_rig(tmp_path, "[emulator.faults]\nhx711_stuck = 1\n")
    out = run_procedure(rig, registry.get("scale_calibration"), out_dir=tmp_path / "out")
    assert not out.passed
    assert out.reason is not None and "calibration failed" in out.reason
    # Either the firmware's stuck detector (50 identical readings) trips first, or
    # the calibration sees no change from the weight: both say what is wrong.
    assert (
        "board fault scale_stuck" in out.reason
        or "implausible: 0 counts for 1000000 mg" in out.reason
    ), out.reason
    summary = (out.path / "summary.md").read_text()
    assert "FAIL" in summary and out.reason in summary


def test_a_jam_that_never_clears_fails_jam_recovery(tmp_path: Path) -> None:
    rig = _faulty_rig(tmp_path, "[procedure.drill_jam]\njam_backoffs = 10\n")
    out = run_procedure(rig, registry.get("drill_jam"), out_dir=tmp_path / "out")
    assert not out.passed
    assert out.reason is not None and "did not recover from the jam" in out.reason
    assert "drill_jam" in out.reason


def test_a_lossy_line_fails_the_soak_and_rig_run_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _faulty_rig(tmp_path, "[emulator.faults]\nserial_drop = 0.02\n")
    args = _parse(
        "rig",
        "run",
        "link_soak",
        "--rig",
        str(tmp_path / "faulty"),
        "--out",
        str(tmp_path / "out"),
    )
    assert args.run(args) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text and "lost_frames" in text
    (folder,) = (tmp_path / "out").iterdir()
    checks = {c["limit"]: c for c in json.loads((folder / "summary.json").read_text())["checks"]}
    assert checks["max_lost_frames"]["passed"] is False
    assert checks["max_lost_frames"]["value"] > 0


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lunasample")
    rig_cmd.add_parser(p.add_subparsers(dest="command"))
    return p.parse_args(argv)


def _log_types(log: Path) -> list[tuple[str, str]]:
    out = []
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        frame = rec["raw"]
        parts = frame.split(",")
        if len(parts) > 1:
            out.append((rec.get("dir", ""), parts[1].split("*")[0]))
    return out


def test_a_real_rig_asks_before_moving_and_moves_nothing_on_no(tmp_path: Path) -> None:
    rig = schema.load_rig("emulator")
    asked: list[str] = []

    def no(prompt: str) -> str:
        asked.append(prompt)
        return "no"

    with EmulatedBoard(speed=0, fs_dir=tmp_path / "fs") as b:
        with pytest.raises(UserError, match="not confirmed"):
            run_procedure(
                rig,
                registry.get("drill_step"),
                port=b.url,
                out_dir=tmp_path,
                log=tmp_path / "frames.jsonl",
                ask=no,
            )
        assert b.query()["plants"]["drill"]["rpm"] == 0
    assert asked and "yes" in asked[0]
    sent = [t for d, t in _log_types(tmp_path / "frames.jsonl") if d == "tx"]
    assert "HELLO" in sent and "SPIN" not in sent and "ARM" not in sent


def test_ctrl_c_sends_estop(tmp_path: Path) -> None:
    def spin_then_interrupt(ctx: RigContext) -> Result:
        ctx.command("ARM")
        ctx.command("SPIN", rpm=50)
        ctx.wait_board(0.3)
        raise KeyboardInterrupt

    proc = Procedure("spin_and_ctrl_c", "test", True, ("SPIN",), {}, {}, spin_then_interrupt)
    rig = schema.load_rig("emulator")
    log = tmp_path / "frames.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_procedure(rig, proc, out_dir=tmp_path, log=log)
    sent = [t for d, t in _log_types(log) if d == "tx"]
    assert "ESTOP" in sent and sent.index("ESTOP") > sent.index("SPIN")
    # The board took it: its state went to FAULT (estop) after the SPIN.
    raw = [json.loads(line)["raw"] for line in log.read_text().splitlines()]
    assert any(r.split(",")[1] == "ACK" and "st=FAULT" in r for r in raw)


def test_a_run_refuses_to_start_in_a_fault_whose_cause_persists(tmp_path: Path) -> None:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "fs", faults={"hx711_stuck": 1}) as b:
        with Link(b.url) as lk:
            lk.command("TMRATE", hz=20)
            while lk.command("STATUS").fields["st"] != "FAULT":  # 50 identical readings
                pass
            with pytest.raises(UserError, match=r"FAULT \(scale_stuck\).*stuck"):
                start_safe(lk)
            b.inject("hx711_stuck", 0)
            while True:  # the next readings differ: the cause is gone
                try:
                    start_safe(lk)
                    break
                except UserError:
                    continue
            assert lk.command("STATUS").fields["st"] == "SAFE"
