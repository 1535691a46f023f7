"""Monte Carlo: vectorised equals scalar, determinism across workers, outputs, errors."""

from __future__ import annotations

import argparse
import builtins
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunasample.commands import montecarlo_cmd
from lunasample.errors import UserError
from lunasample.mission import montecarlo as mc
from lunasample.mission import rvd
from lunasample.mission.draws import draw
from lunasample.mission.groundloop import FlightClock
from lunasample.mission.sampling import SurrogateSampler, draw_surrogate, simulate_surrogate


def test_vectorised_batch_equals_runs_one_by_one(params) -> None:
    d, sd = mc.batch_draws(params, np.random.default_rng(5), 5)
    whole = mc.simulate_batch(params, d, sd)
    for i in range(5):
        one = mc.simulate_batch(params, d.take(i), sd.take(i))
        assert one.status[:, 0].tolist() == whole.status[:, i].tolist()
        for ph_all, ph_one in zip(whole.phases, one.phases, strict=True):
            for key, values in ph_all.figures.items():
                assert ph_one.figures[key][0] == pytest.approx(
                    values[i], rel=1e-9, abs=1e-9, nan_ok=True
                ), key


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(1.0, 30.0))
def test_surrogate_vectorised_equals_scalar(seed: int, budget_h: float) -> None:
    from lunasample.mission.params import load_params

    p = load_params()
    sp = p.sampling.surrogate
    rng = np.random.default_rng(seed)
    d = draw(rng, 4, len(rvd.legs(p)))
    sd = draw_surrogate(rng, 4, sp.max_scoops)
    fresh = FlightClock.for_runs(p, d, np.full(4, budget_h))
    clock = FlightClock.for_runs(p, d, np.full(4, budget_h))
    batch = simulate_surrogate(sp, sd, 2000.0, clock)
    for i in range(4):
        one = SurrogateSampler(sp).outcome(sd.take(i), 2000.0, fresh.take(i))
        assert one.mass_g == pytest.approx(batch.mass_g[i])
        assert one.scoops == batch.scoops[i]
        assert one.duration_s == pytest.approx(batch.duration_s[i])
        assert one.board_s == pytest.approx(batch.board_s[i])
        assert one.mass_timeline[-1][1] == pytest.approx(one.mass_g)
        # A scoop is only taken while it and the seal end within the flight budget.
        if one.scoops:
            assert one.duration_s <= budget_h * 3600.0 + 1e-6


def test_wilson_interval_known_values() -> None:
    lo, hi = mc.wilson_interval(95, 100)
    assert lo == pytest.approx(0.8882, abs=1e-3) and hi == pytest.approx(0.9785, abs=1e-3)
    lo, hi = mc.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)


def test_results_do_not_depend_on_workers(params, monkeypatch) -> None:
    monkeypatch.setattr(mc, "CHUNK_RUNS", 40)
    one = mc.run_montecarlo(params, 100, seed=3, workers=1)
    two = mc.run_montecarlo(params, 100, seed=3, workers=2)
    assert np.array_equal(one.status, two.status)
    assert np.array_equal(one.mass_g, two.mass_g)
    other = mc.run_montecarlo(params, 100, seed=4, workers=1)
    assert not np.array_equal(one.mass_g, other.mass_g)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_run_count_is_a_user_error(params, n) -> None:
    with pytest.raises(UserError, match="number of runs"):
        mc.run_montecarlo(params, n, seed=1)


def test_dask_missing_gives_install_hint(params, monkeypatch) -> None:
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(UserError, match=r"pip install lunasample\[dask\]"):
        mc.run_montecarlo(params, 10, seed=1, dask_address="tcp://127.0.0.1:8786")


def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lunasample")
    montecarlo_cmd.add_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_cli_writes_outputs(tmp_path: Path) -> None:
    args = _cli(
        ["montecarlo", "-n", "300", "--seed", "2", "--workers", "1", "--out", str(tmp_path)]
    )
    assert args.func(args) == 0
    rows = (tmp_path / "runs.csv").read_text().splitlines()
    assert len(rows) == 301 and rows[0].startswith("run,success,failed_phase")
    summary = (tmp_path / "summary.md").read_text()
    assert "Wilson" in summary and "| descent |" in summary
    assert (tmp_path / "mass_histogram.png").stat().st_size > 0


def test_cli_bad_params_file_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[descent]\nengine_thrust_n = -5\n")
    args = _cli(["montecarlo", "-n", "10", "--params", str(bad), "--out", str(tmp_path)])
    with pytest.raises(UserError, match="descent.engine_thrust_n: Input should be greater than 0"):
        args.func(args)


def test_cli_bad_n(tmp_path: Path) -> None:
    args = _cli(["montecarlo", "-n", "0", "--out", str(tmp_path)])
    with pytest.raises(UserError, match="-n must be between"):
        args.func(args)
