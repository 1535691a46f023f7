"""Firmware-in-the-loop Monte Carlo: the fit, and runs on a Dask cluster."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunasample.mission.firmware_mc import FirmwareRun, fit_surrogate
from lunasample.mission.params import load_params


def _run(
    i: int, depth: float, drill_s: float, scoops: list[float], masses: list[float]
) -> FirmwareRun:
    return FirmwareRun(
        run=i,
        site_seed=i,
        mass_g=sum(masses),
        core_depth_mm=depth,
        scoops=len(scoops),
        duration_s=3600.0,
        sealed=True,
        anomalies=[],
        clock={},
        step_board_s={"drill": [drill_s], "core": [5.0], "scoop": scoops},
        core_mass_g=0.3 * depth,
        scoop_masses_g=masses,
    )


@settings(max_examples=30, deadline=None)
@given(
    st.floats(1.0, 100.0),  # setup s
    st.floats(0.5, 10.0),  # drill rate mm/s
    st.lists(st.floats(100.0, 999.0), min_size=2, max_size=8, unique=True),
)
def test_the_fit_recovers_the_drill_and_the_rock(setup: float, rate: float, depths: list[float]):
    sp = load_params().sampling.surrogate
    runs = [
        _run(i, d, setup + d / rate, [20.0 + i, 22.0], [100.0, 0.0, 140.0])
        for i, d in enumerate(depths)
    ]
    fit = fit_surrogate(sp, runs)
    assert fit.drill_rate_mm_s == pytest.approx(rate, rel=1e-3)
    assert fit.setup_s == pytest.approx(setup, rel=1e-3, abs=1e-3)
    logs = np.log(depths)
    assert fit.rock_depth_median_mm == pytest.approx(np.exp(logs.mean()), rel=1e-3)
    assert fit.rock_depth_sigma_log == pytest.approx(logs.std(ddof=1), rel=1e-3, abs=1e-4)
    assert fit.scoop_cycle_min_s == pytest.approx(20.0)
    assert fit.scoop_empty_prob == pytest.approx(1 / 3, abs=1e-3)
    assert fit.scoop_mass_mean_g == pytest.approx(120.0)
    assert fit.core_g_per_mm == pytest.approx(0.3)
    assert fit.core_seal_s == pytest.approx(5.0)


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_firmware_runs_on_a_dask_cluster(tmp_path: Path, dask_scheduler: str) -> None:
    small = tmp_path / "small.toml"
    # A short campaign (a core and a scoop or two) per run keeps this cheap.
    small.write_text("[sampling]\ntarget_g = 400.0\nmin_return_g = 200.0\n")
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "lunasample.cli", "montecarlo", "--firmware", "-n", "2"]
        + ["--params", str(small), "--dask", dask_scheduler, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rows = list(csv.DictReader((out / "firmware_runs.csv").open()))
    assert [int(x["run"]) for x in rows] == [0, 1]
    for x in rows:
        assert float(x["mass_g"]) >= 400.0 and x["sealed"] == "1"
        assert 0.0 < float(x["board_s"]) < 3600.0 < float(x["flight_h"]) * 3600.0
    runs = list(csv.DictReader((out / "runs.csv").open()))
    assert [float(x["sampling.board_s"]) for x in runs] == pytest.approx(
        [float(x["board_s"]) for x in rows], abs=1e-3
    )
    table = (out / "surrogate_vs_firmware.md").read_text()
    assert "| mass_g |" in table and "| board_s |" in table
    fit = (out / "surrogate_fit.toml").read_text()
    assert "[sampling.surrogate]" in fit and "scoop_cycle_mean_s" in fit
    # The fitted constants load as a parameters override.
    override = tmp_path / "fit.toml"
    override.write_text(fit)
    assert load_params(override).sampling.surrogate.core_seal_s > 0
