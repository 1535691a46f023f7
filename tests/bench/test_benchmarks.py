"""The benchmark suite: it runs to the end and emits every headline figure.

No timing thresholds here (the machines are shared and noisy): the quick suite
runs once through `run_all.py` into a temporary results directory, and the
tests check what it wrote. The helpers and the bridge's line-rate limit,
which the link figures rest on, are checked directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import Link

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_control  # noqa: E402
import common  # noqa: E402 - lives in benchmarks/, not in the package
import run_all  # noqa: E402

# Every benchmark and the figures its last line must carry.
REQUIRED = {
    "link": ("cmds_per_s", "line_util_115200", "frames_lost"),
    "emulator": ("emu_speed_idle", "emu_speed_busy"),
    "control": (
        "step_us",
        "fw_us",
        "esp32_ratio",
        "step_pct_esp32_250hz",
        "emu_speed",
    ),
    "mass": ("mass_error_p95_g", "settle_s"),
    "journal": ("journal_append_per_s", "journal_download_per_s"),
    "montecarlo": ("mc_speedup", "mc_runs_per_s"),
    "faults": ("scenarios", "failed", "records_lost"),
    "soak": ("soak_hours", "heap_drift_bytes", "frames_lost", "overruns"),
}


def run_suite(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """run_all.py with arguments, as CI runs it."""
    return subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def suite_result(results: Path) -> dict[str, Any]:
    """The per-benchmark files of one run, gathered: mode, machine, benchmarks, figures."""
    docs = common.read_results(results)
    assert docs, list(results.iterdir())
    assert {p.name for p in results.iterdir()} == {f"{b}.json" for b in docs}
    first = next(iter(docs.values()))
    return {
        "mode": first["mode"],
        "machine": first["machine"],
        "benchmarks": docs,
        "figures": {f"{b}.{k}": v for b, d in docs.items() for k, v in d["figures"].items()},
    }


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """One `run_all.py --quick` for the whole module: (stdout, result JSON)."""
    results = tmp_path_factory.mktemp("results")
    r = run_suite("--quick", "--results-dir", str(results))
    yield r.stdout + r.stderr, suite_result(results)


def test_quick_suite_completes(quick: tuple[str, dict[str, Any]]) -> None:
    out, doc = quick
    assert doc["mode"] == "quick"
    failed = {k: v["tail"] for k, v in doc["benchmarks"].items() if v["status"] != "ok"}
    assert not failed, failed
    # Every script in benchmarks/ ran.
    scripts = {p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py")}
    assert set(doc["benchmarks"]) == scripts
    for key in ("cpu", "cores", "python", "micropython"):
        assert doc["machine"][key], key
    assert "lunasample benchmarks" in out  # the table was printed


@pytest.mark.parametrize("bench", sorted(REQUIRED))
def test_every_figure_emitted(quick: tuple[str, dict[str, Any]], bench: str) -> None:
    _, doc = quick
    if not (BENCH / f"bench_{bench}.py").exists():
        pytest.skip(f"benchmarks/bench_{bench}.py is not in this tree")
    figures = doc["benchmarks"][bench]["figures"]
    missing = [k for k in REQUIRED[bench] if k not in figures]
    assert not missing, (missing, doc["benchmarks"][bench]["tail"])
    for k in REQUIRED[bench]:
        assert doc["figures"][f"{bench}.{k}"] == figures[k]


def test_link_noise_was_injected_and_recovered(quick: tuple[str, dict[str, Any]]) -> None:
    # Not a timing check: the line really damaged frames, and the link's
    # retries with the board's reply cache still answered every command.
    f = quick[1]["benchmarks"]["link"]["figures"]
    assert f["frames_lost"] == 0
    assert f["line_util_115200"] > 0


def test_a_crashing_benchmark_does_not_stop_the_others(tmp_path: Path) -> None:
    benches, results = tmp_path / "b", tmp_path / "r"
    benches.mkdir()
    (benches / "bench_ok.py").write_text('print("working")\nprint("alpha=1.5 beta=2")\n')
    (benches / "bench_crash.py").write_text(
        'print("gamma=1")\nraise SystemExit("boom")\nprint("never")\n'
    )
    (benches / "bench_mute.py").write_text('print("no figures here")\n')
    r = run_suite("--bench-dir", str(benches), "--results-dir", str(results), timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    doc = suite_result(results)
    b = doc["benchmarks"]
    assert b["ok"]["status"] == "ok" and b["ok"]["figures"] == {"alpha": 1.5, "beta": 2.0}
    # A script that exits non-zero after its figures line still reports them.
    assert b["crash"]["status"] == "ok" and b["crash"]["returncode"] == 1
    # A failed run is reported and does not replace the last good result.
    assert "mute" not in b and "failed" in r.stdout
    assert doc["figures"] == {"ok.alpha": 1.5, "ok.beta": 2.0, "crash.gamma": 1.0}


def test_compare_shows_the_change_against_the_previous_run(tmp_path: Path) -> None:
    benches, results = tmp_path / "b", tmp_path / "r"
    benches.mkdir()
    script = benches / "bench_one.py"
    script.write_text('print("alpha=2")\n')
    assert run_suite("--bench-dir", str(benches), "--results-dir", str(results)).returncode == 0
    script.write_text('print("alpha=3")\n')
    r = run_suite("--bench-dir", str(benches), "--results-dir", str(results), "--compare")
    assert r.returncode == 0
    assert "+50.0 %" in r.stdout, r.stdout
    # One file per benchmark: the latest run replaced the one before.
    assert [p.name for p in results.glob("*.json")] == ["one.json"]
    assert json.loads((results / "one.json").read_text())["figures"] == {"alpha": 3.0}


def test_results_go_to_out_unless_recording(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(common, "OUT_DIR", tmp_path / "out")
    monkeypatch.delenv(common.RECORD_ENV, raising=False)
    # The call rp2040_emulated.py makes, unchanged.
    assert common.write_result({"bench": "rp2040", "figures": {}}) == tmp_path / "out/rp2040.json"
    monkeypatch.setenv(common.RECORD_ENV, "1")
    p = common.write_result({"bench": "rp2040", "figures": {"a": 1}})
    assert p == tmp_path / "results/rp2040.json"
    common.write_result({"bench": "rp2040", "figures": {"a": 2}})
    assert common.read_results(tmp_path / "results")["rp2040"]["figures"] == {"a": 2}


def test_benchmarks_md_is_generated_from_the_recorded_results() -> None:
    # Stale when a result was recorded (or run_all.py's table changed) without
    # `python benchmarks/run_all.py --table --write`.
    text = run_all.markdown(common.read_results(common.RESULTS_DIR))
    assert (ROOT / "BENCHMARKS.md").read_text() == text
    assert len(text.splitlines()) <= 120
    recorded = sorted(p.stem for p in common.RESULTS_DIR.iterdir())
    assert recorded == sorted(common.read_results(common.RESULTS_DIR))  # only <bench>.json
    for bench in recorded:
        assert f"| {bench} |" in text


figure_names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@given(st.dictionaries(figure_names, st.floats(-1e9, 1e9, allow_nan=False), min_size=1))
def test_figures_line_round_trips(figs: dict[str, float]) -> None:
    back = common.parse_figures(common.figures_line(figs))
    assert back.keys() == figs.keys()
    for k, v in figs.items():
        assert back[k] == pytest.approx(v, rel=1e-3, abs=1e-300)


@given(st.text(max_size=80))
def test_parse_figures_takes_any_line(line: str) -> None:
    out = common.parse_figures(line)
    assert all(isinstance(v, float) for v in out.values())
    if "=" not in line:
        assert out == {}


times = st.floats(0, 1e4, allow_nan=False)


@given(times, times)
def test_firmware_share_takes_one_wrapper_out(fw: float, wrap: float) -> None:
    # A single block costs the firmware and one wrapper a call, a doubled
    # one the firmware and two.
    got = bench_control.firmware_share(fw + wrap, fw + 2 * wrap)
    assert got == pytest.approx(fw, abs=1e-6 * (1 + fw + wrap))


@given(times, times)
def test_firmware_share_stays_within_the_single_time(single: float, double: float) -> None:
    # Noise can make the doubled blocks the faster, or far slower.
    assert 0 <= bench_control.firmware_share(single, double) <= single


def test_goal_met() -> None:
    assert run_all.goal_met(">= 100", 100) is True
    assert run_all.goal_met("< 100", 100) is False
    assert run_all.goal_met("== 0", 0) is True
    assert run_all.goal_met("", 5) is None


def test_line_rate_holds_bytes_for_their_bit_times(tmp_path: Path) -> None:
    # The emulator's line-rate limit: at 9600 baud (8N1) no round trip can
    # finish before both frames' bits have crossed the line, and the line
    # counts every byte it carried. A one-sided bound the limit guarantees.
    # Speed 1: the line runs in real time, so only then do the board's
    # heartbeats (one per board second) fit a 9600-baud line.
    baud, n = 9600, 8
    with EmulatedBoard(speed=1, fs_dir=tmp_path / "fs", baud=baud) as b, Link(b.url) as lk:
        lk.command("PING", n=0)
        c0 = dict(b.line.carried)
        asked = answered = 0
        for i in range(n):
            t0 = time.perf_counter()
            r = lk.command("PING", n=i)
            took = time.perf_counter() - t0
            ping = len(proto.encode(1, "PING", {"n": i}))  # shortest seq: a lower bound
            reply = len(proto.encode(r.seq, r.mtype, r.fields))
            assert took >= (ping + reply) * 10 / baud
            asked += ping
            answered += reply
        sent = b.line.carried["in"] - c0["in"]
        got = b.line.carried["out"] - c0["out"]
    assert sent >= asked
    assert got >= answered


def test_emulated_rp2040_figures_take_the_clock_out_of_the_sums() -> None:
    import rp2040_emulated

    # 10 busy ticks: 400 us of control sums, 20 of them the clock's own
    # span; 3000 us of service. 100 later ticks: 3600 us, 100 of the clock.
    probe = {
        "busy_ticks": 10,
        "busy": [400, 90, 3000, 700, 20],
        "rest_ticks": 100,
        "rest": [3600, 50, 30000, 800, 100],
        "loop_hz": 1000,
        "paced_ticks": 500,
        "overruns": 3,
        "paced_worst_us": 150,
        "late_p9999_us": 47,
        "late_min_us": 40,
    }
    f = rp2040_emulated.figures(probe, add_ms=7984.0 * 1.5)
    assert f["emu_step_us"] == pytest.approx(38.0)
    assert f["emu_step_pct_rp2040_1khz"] == pytest.approx(3.8)
    assert f["emu_mean_pct_rp2040_1khz"] == pytest.approx(3.5)
    assert f["emu_service_us"] == pytest.approx(298.0)
    assert f["emu_loop_pct_rp2040_1khz"] == pytest.approx(33.6)
    assert f["emu_worst_tick_us"] == 90
    assert f["rp2040_emu_calib"] == pytest.approx(1.5)
    assert f["emu_overruns_per_1000"] == pytest.approx(6.0)
    assert f["emu_paced_worst_us"] == 150
    assert f["late_p9999_us"] == 47 and f["late_min_us"] == 40
    assert f["jitter_p9999_us"] == 7


def test_emulated_rp2040_without_a_uf2_is_a_one_line_error(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "rp2040_emulated.py"),
            "--uf2",
            str(tmp_path / "none.uf2"),
            "--bootrom",
            str(tmp_path / "rom.ts"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert r.stderr.strip() == f"rp2040_emulated: UF2 not found: {tmp_path / 'none.uf2'}"
