"""Monte Carlo throughput: vectorised numpy batches vs a per-run loop with scipy solve_ivp.

Both fly the same phase models on the same draws. The per-run loop integrates
descent, ascent and re-entry one mission at a time with ``solve_ivp`` (RK45,
event-terminated); the vectorised path steps every run at once with RK4 and
spreads chunks over the local cores. Goals: speed-up >= 100x, 1e5 runs < 1 min.

    python benchmarks/bench_montecarlo.py [--quick]
    python benchmarks/bench_montecarlo.py --firmware [-n 4]

The last line is machine-readable: ``mc_speedup=<x> mc_runs_per_s=<y>``.

With ``--firmware``: the firmware-in-the-loop campaign (each run's sampling on
its own emulated board, ``montecarlo --firmware``) on a local Dask cluster of
one worker, then of two, on the same runs; goal: >= 1.8x runs/s with two on a
2-core machine. Last line: ``fw_runs_per_s_1w=<a> fw_runs_per_s_2w=<b>
fw_speedup_2w=<b/a>``.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

import numpy as np
from scipy.integrate import solve_ivp

from lunasample.mission import ascent, descent, montecarlo, reentry
from lunasample.mission.integrate import Integration
from lunasample.mission.params import MissionParams, load_params


def solve_ivp_integrator(
    rhs: Callable[[np.ndarray], np.ndarray],
    event: Callable[[np.ndarray], np.ndarray],
    y0: np.ndarray,
    dt: float,
    t_max: float,
    *,
    record: bool = False,
    watch: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> Integration:
    """Drop-in for ``integrate.rk4`` that integrates each run separately with solve_ivp.

    ``dt`` and ``record`` are accepted for the same signature; the solver picks its steps.
    """
    n = y0.shape[1]
    y_end, t_end, finished = np.array(y0, dtype=float), np.zeros(n), np.zeros(n, dtype=bool)
    for i in range(n):

        def stop(_t: float, y: np.ndarray) -> float:
            return event(y[:, None])[0]

        stop.terminal = True
        sol = solve_ivp(
            lambda _t, y: rhs(y[:, None])[:, 0],
            (0.0, t_max),
            y0[:, i],
            rtol=1e-6,
            atol=1e-3,
            max_step=5.0,
            events=stop,
        )
        if watch is not None:
            for k in range(sol.y.shape[1]):
                watch(sol.y[:, k : k + 1], np.ones(1, dtype=bool))
        y_end[:, i], t_end[i], finished[i] = sol.y[:, -1], sol.t[-1], sol.status == 1
    return Integration(y=y_end, t=t_end, finished=finished)


@contextmanager
def per_run_solve_ivp() -> Iterator[None]:
    with (
        mock.patch.object(descent, "rk4", solve_ivp_integrator),
        mock.patch.object(ascent, "rk4", solve_ivp_integrator),
        mock.patch.object(reentry, "rk4", solve_ivp_integrator),
    ):
        yield


def naive_runs_per_s(params: MissionParams, runs: int) -> float:
    """Missions per second flying one mission at a time with solve_ivp."""
    d, sd = montecarlo.batch_draws(params, np.random.default_rng(1), runs)
    start = time.perf_counter()
    with per_run_solve_ivp():
        for i in range(runs):
            montecarlo.simulate_batch(params, d.take(i), sd.take(i))
    return runs / (time.perf_counter() - start)


def vectorised_runs_per_s(params: MissionParams, runs: int) -> tuple[float, float]:
    """(missions per second, seconds) for a full local-pool campaign of ``runs``."""
    start = time.perf_counter()
    montecarlo.run_montecarlo(params, runs, seed=1)
    elapsed = time.perf_counter() - start
    return runs / elapsed, elapsed


def firmware_runs_per_s(params: MissionParams, runs: int, workers: int) -> float:
    """Missions per second with the firmware sampling on a local Dask cluster."""
    from distributed import LocalCluster

    from lunasample.mission.firmware_mc import run_firmware_montecarlo

    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as cluster:
        start = time.perf_counter()
        run_firmware_montecarlo(params, runs, seed=1, dask_address=cluster.scheduler_address)
        return runs / (time.perf_counter() - start)


def firmware_main(runs: int) -> None:
    params = load_params()
    one = firmware_runs_per_s(params, runs, 1)
    print(f"firmware sampling, 1 Dask worker:  {one * 3600:8.0f} missions/h ({runs} missions)")
    two = firmware_runs_per_s(params, runs, 2)
    print(f"firmware sampling, 2 Dask workers: {two * 3600:8.0f} missions/h ({runs} missions)")
    print(f"speed-up with 2 workers: {two / one:.2f}x (goal >= 1.8x on 2 cores)")
    print(f"fw_runs_per_s_1w={one:.4f} fw_runs_per_s_2w={two:.4f} fw_speedup_2w={two / one:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (a few seconds, for CI)")
    ap.add_argument(
        "--firmware", action="store_true", help="the firmware-in-the-loop campaign's scaling"
    )
    ap.add_argument("-n", type=int, default=4, help="missions for --firmware (default 4)")
    args = ap.parse_args()
    if args.firmware:
        firmware_main(args.n)
        return
    params = load_params()
    naive_n, vec_n = (3, 1_000) if args.quick else (30, 100_000)
    naive = naive_runs_per_s(params, naive_n)
    print(f"per-run loop, solve_ivp:   {naive:10.1f} missions/s ({naive_n} missions)")
    vec, elapsed = vectorised_runs_per_s(params, vec_n)
    print(f"vectorised, local pool:    {vec:10.1f} missions/s ({vec_n} missions)")
    print(f"time for {vec_n} runs:     {elapsed:10.1f} s (goal for 100000: < 60 s)")
    if vec_n != 100_000:
        print(f"extrapolated to 100000:    {100_000 / vec:10.1f} s")
    speedup = vec / naive
    print(f"speed-up:                  {speedup:10.0f}x (goal >= 100x)")
    print(f"mc_speedup={speedup:.1f} mc_runs_per_s={vec:.1f}")


if __name__ == "__main__":
    main()
