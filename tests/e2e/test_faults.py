"""The fault-injection campaign: a CI-sized subset of the scenarios (the full
campaign runs from benchmarks/bench_faults.py and `lunasample faults run`)."""

from __future__ import annotations

from pathlib import Path

from lunasample.faults.campaign import run_campaign, summary_line, write_results
from lunasample.faults.scenarios import SCENARIOS, Outcome, run_scenario

# The ESTOP scenario runs in the benchmarks' quick suite (tests/bench).
SUBSET = ["hx711_timeout", "brownout_mid_journal_write", "serial_garbage"]


def test_campaign_subset_passes_and_loses_no_record(tmp_path: Path) -> None:
    results = run_campaign(SUBSET, seed=11)
    for r in results:
        assert r.passed, f"{r.scenario}: {r.why} {r.notes}"
        assert r.acked >= 1 and r.recovered == r.acked
    assert summary_line(results) == f"scenarios={len(SUBSET)} failed=0 records_lost=0"
    write_results(results, tmp_path)
    assert "brownout_mid_journal_write" in (tmp_path / "summary.md").read_text()


def test_a_wrong_expectation_fails_the_scenario(tmp_path: Path, monkeypatch) -> None:
    """The verdict is real: expecting another fault than the board reports fails."""
    from lunasample.faults import scenarios as sc

    desc, _ = SCENARIOS["hx711_timeout"]
    wrong = sc._plant_fault("hx711_timeout", "scoop", "drill_jam", 1500)
    monkeypatch.setitem(sc.SCENARIOS, "hx711_timeout", (desc, wrong))
    out: Outcome = run_scenario("hx711_timeout", tmp_path, seed=2)
    assert not out.passed and "expected 'drill_jam'" in out.why
    assert summary_line([out]) == "scenarios=1 failed=1 records_lost=0"


def test_random_moments_ci_subset_detect_in_time_and_lose_no_record() -> None:
    """Three kinds at two seeded random moments each (the benchmark runs every
    kind at 20): the right fault, within its goal, actuators off within a
    tick of the report, the journal whole."""
    from lunasample.faults.moments import KINDS, run_moments, summary, table

    results = run_moments(
        ["estop_wire_cut", "drill_stall", "hx711_disconnected"], moments=2, seed=3
    )
    for r in results:
        assert r.passed, f"{r.kind}: {r.failures}"
        assert len(r.moments) == 2
        for m in r.moments:
            assert m.reported in KINDS[r.kind].expect
            assert m.detect_ms is not None and m.detect_ms <= KINDS[r.kind].goal_ms + 1
            assert m.cut_ms is not None and m.cut_ms <= 1.0
    s = summary(results)
    assert s["moments"] == 6 and s["moment_records_lost"] == 0
    assert "| drill_stall | 2 |" in table(results)


def test_random_moments_refuse_an_unknown_kind() -> None:
    import pytest

    from lunasample.errors import UserError
    from lunasample.faults.moments import run_moments

    with pytest.raises(UserError, match="unknown fault kind 'nope'"):
        run_moments(["nope"], moments=1)
