"""Firmware-in-the-loop Monte Carlo: each run's sampling on the real firmware.

Every run is drawn as in the vectorised Monte Carlo; its sampling phase runs
on a fresh emulated board (the unix-port firmware behind a serial link, in
lockstep with the host, seeded by the run's site) as one task, in a local
process pool or on a Dask cluster, and each step goes on the run's own flight
clock. The other phases fly vectorised. The same draws are flown again with
the numpy surrogate, so the report gives the surrogate's error against the
firmware run by run, and the surrogate's board-time constants are fitted to
the firmware's steps (``surrogate_fit.toml``, a ``--params`` override).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lunasample.errors import UserError
from lunasample.mission.flight import Flight, SampleBatch, fly
from lunasample.mission.groundloop import CLOCK_TOTALS, CORE, DRILL, SCOOP, FlightClock
from lunasample.mission.montecarlo import (
    ChunkResult,
    MonteCarloResult,
    batch_draws,
    chunk_result,
    merge_chunks,
    simulate_batch,
)
from lunasample.mission.params import MissionParams, Surrogate
from lunasample.mission.tasks import run_tasks

log = logging.getLogger(__name__)

MAX_FIRMWARE_RUNS = 1000
RunProgress = Callable[[int, int], None]


@dataclass
class FirmwareRun:
    """What one run's sampling on the firmware brought back (picklable, compact)."""

    run: int
    site_seed: int
    mass_g: float
    core_depth_mm: float
    scoops: int
    duration_s: float  # flight clock
    sealed: bool
    anomalies: list[str]
    clock: dict[str, float]  # CLOCK_TOTALS
    step_board_s: dict[str, list[float]]  # per step kind
    core_mass_g: float
    scoop_masses_g: list[float] = field(default_factory=list)


def sample_on_firmware(
    p: MissionParams, clock: FlightClock, run: int, site_seed: int, board: str
) -> FirmwareRun:
    """One run's sampling on a fresh emulated board; ``clock`` is that run's (a batch of one)."""
    # Imported here: workers on a Dask cluster import this module first.
    from lunasample.emulator.board import EmulatedBoard
    from lunasample.link.client import Link
    from lunasample.mission.sampling_board import board_sampler
    from lunasample.preflight import ensure_calibrated
    from lunasample.session import Session

    with (
        EmulatedBoard(board=board, speed=0, lockstep=True, seed=site_seed) as emu,
        Link(emu.url) as link,
    ):
        link.command("HBTO", ms=60000)
        session = Session(link, emu)
        ensure_calibrated(session)
        out = board_sampler(session, p).sample(p.sampling.target_g, clock, site_seed, None)
    steps: dict[str, list[float]] = {}
    for st in out.steps:
        steps.setdefault(st["kind"], []).append(float(st["board_s"]))
    return FirmwareRun(
        run=run,
        site_seed=site_seed,
        mass_g=out.mass_g,
        core_depth_mm=float(out.core_depth_mm),
        scoops=out.scoops,
        duration_s=out.duration_s,
        sealed=out.sealed,
        anomalies=out.anomalies,
        clock={k: float(clock.total(k)[0]) for k in CLOCK_TOTALS},
        step_board_s=steps,
        core_mass_g=sum(r["mass_g"] for r in out.records if r["kind"] == "core"),
        scoop_masses_g=[r["mass_g"] for r in out.records if r["kind"] == "scoop"],
    )


@dataclass
class FirmwareMonteCarlo:
    """The campaign flown with the firmware sampling, and with the surrogate on the same draws."""

    firmware: MonteCarloResult
    surrogate: MonteCarloResult
    runs: list[FirmwareRun]
    fitted: Surrogate
    fitted_result: MonteCarloResult


def run_firmware_montecarlo(
    p: MissionParams,
    n: int,
    seed: int,
    *,
    board: str = "emulator",
    workers: int | None = None,
    dask_address: str | None = None,
    progress: RunProgress | None = None,
) -> FirmwareMonteCarlo:
    """Fly ``n`` runs whose sampling runs on the firmware, one emulated board per run."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_FIRMWARE_RUNS:
        raise UserError(f"firmware runs must be an integer in 1..{MAX_FIRMWARE_RUNS}, got {n!r}")
    if workers is not None and workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    d, sd = batch_draws(p, np.random.default_rng(seed), n)
    runs: list[FirmwareRun] = []

    def sample(clock: FlightClock, alive: NDArray[np.bool_]) -> SampleBatch:
        jobs = [(p, clock.take(i), int(i), int(d.site_seed[i])) for i in np.flatnonzero(alive)]
        results = run_tasks(
            sample_on_firmware,
            [(*job, board) for job in jobs],
            workers=workers,
            dask_address=dask_address,
            progress=progress,
        )
        runs.extend(sorted(results, key=lambda r: r.run))
        return _batch(n, runs)

    flight = fly(p, d, sample)
    firmware = _result(p, n, seed, flight)
    surrogate = _result(p, n, seed, simulate_batch(p, d, sd))
    fitted = fit_surrogate(p.sampling.surrogate, runs)
    refit = dataclasses.replace(p, sampling=dataclasses.replace(p.sampling, surrogate=fitted))
    fitted_result = _result(refit, n, seed, simulate_batch(refit, d, sd))
    return FirmwareMonteCarlo(firmware, surrogate, runs, fitted, fitted_result)


def _result(p: MissionParams, n: int, seed: int, flight: Flight) -> MonteCarloResult:
    part: ChunkResult = chunk_result(flight)
    return merge_chunks(p, n, seed, [part])


def _batch(n: int, runs: list[FirmwareRun]) -> SampleBatch:
    """The runs' outcomes as arrays over all ``n`` runs (runs not flown: empty)."""
    idx = np.array([r.run for r in runs], dtype=np.int64)

    def arr(values: list[float]) -> NDArray[np.float64]:
        out = np.zeros(n)
        out[idx] = values
        return out

    sealed = np.zeros(n, dtype=bool)
    sealed[idx] = [r.sealed for r in runs]
    texts = sorted({a for r in runs for a in r.anomalies})
    anomalies = {}
    for text in texts:
        hit = np.zeros(n, dtype=bool)
        hit[idx] = [text in r.anomalies for r in runs]
        anomalies[text] = hit
    return SampleBatch(
        mass_g=arr([r.mass_g for r in runs]),
        core_depth_mm=arr([r.core_depth_mm for r in runs]),
        scoops=arr([float(r.scoops) for r in runs]),
        duration_s=arr([r.duration_s for r in runs]),
        sealed=sealed,
        anomalies=anomalies,
        clock={k: arr([r.clock[k] for r in runs]) for k in CLOCK_TOTALS},
    )


def fit_surrogate(sp: Surrogate, runs: list[FirmwareRun]) -> Surrogate:
    """The surrogate's board-time and mass constants fitted to the firmware's steps.

    Drill: board time = setup + depth / rate, least squares over the runs (the
    rate kept when every core had the same depth). Scoops: mean, standard
    deviation and minimum of the scoop steps' board time; mass mean and spread
    of the scoops that brought something, and the share that came up empty.
    Core: its seal-and-weigh step's mean board time and its mass per mm; the
    rock layer's lognormal depth from the cores that stopped short of the target.
    """
    if not runs:
        return sp
    fit: dict[str, float] = {}
    depth = np.array([r.core_depth_mm for r in runs if r.step_board_s.get(DRILL)])
    drill_s = np.array([r.step_board_s[DRILL][0] for r in runs if r.step_board_s.get(DRILL)])
    if depth.size >= 2 and np.ptp(depth) > 1.0:
        slope, setup = np.polyfit(depth, drill_s, 1)
        if slope > 0 and setup >= 0:
            fit["drill_rate_mm_s"] = 1.0 / slope
            fit["setup_s"] = setup
    elif depth.size:
        fit["setup_s"] = max(float(np.mean(drill_s - depth / sp.drill_rate_mm_s)), 0.0)
    rock = depth[depth < sp.drill_target_mm]
    if rock.size:
        # Cores stopped short of the target hit the site's rock layer.
        fit["rock_depth_median_mm"] = float(np.exp(np.log(rock).mean()))
        fit["rock_depth_sigma_log"] = float(np.log(rock).std(ddof=1)) if rock.size > 1 else 0.0
    scoop_s = np.array([s for r in runs for s in r.step_board_s.get(SCOOP, [])])
    if scoop_s.size:
        fit["scoop_cycle_mean_s"] = float(scoop_s.mean())
        fit["scoop_cycle_sd_s"] = float(scoop_s.std(ddof=1)) if scoop_s.size > 1 else 0.0
        fit["scoop_cycle_min_s"] = max(float(scoop_s.min()), 1e-3)
    core_s = np.array([s for r in runs for s in r.step_board_s.get(CORE, [])])
    if core_s.size:
        fit["core_seal_s"] = float(core_s.mean())
    masses = np.array([m for r in runs for m in r.scoop_masses_g])
    if masses.size:
        full = masses[masses > 0]
        fit["scoop_empty_prob"] = float(np.mean(masses <= 0))
        if full.size:
            fit["scoop_mass_mean_g"] = float(full.mean())
            fit["scoop_mass_sd_g"] = float(full.std(ddof=1)) if full.size > 1 else 0.0
    cores = [(r.core_mass_g, r.core_depth_mm) for r in runs if r.core_depth_mm > 0]
    if cores:
        fit["core_g_per_mm"] = float(np.mean([m / dep for m, dep in cores]))
    return dataclasses.replace(sp, **{k: round(v, 4) for k, v in fit.items()})


def comparison(fmc: FirmwareMonteCarlo) -> list[dict[str, float | str]]:
    """Per sampling figure: the firmware's mean, the surrogate's before and after the fit,
    and the mean absolute error per run on the same draws."""
    rows: list[dict[str, float | str]] = []
    flown = np.array([r.run for r in fmc.runs], dtype=np.int64)
    for key in ("mass_g", "scoops", "core_depth_mm", "duration_h", "board_s"):
        fw = _figure(fmc.firmware, key)[flown]
        sg = _figure(fmc.surrogate, key)[flown]
        ft = _figure(fmc.fitted_result, key)[flown]
        rows.append(
            {
                "figure": key,
                "firmware_mean": float(fw.mean()) if fw.size else float("nan"),
                "surrogate_mean": float(sg.mean()) if sg.size else float("nan"),
                "surrogate_mae": float(np.abs(sg - fw).mean()) if fw.size else float("nan"),
                "fitted_mean": float(ft.mean()) if ft.size else float("nan"),
                "fitted_mae": float(np.abs(ft - fw).mean()) if fw.size else float("nan"),
            }
        )
    return rows


def _figure(r: MonteCarloResult, key: str) -> NDArray[np.float64]:
    if key == "mass_g":
        return r.mass_g
    return r.figures[f"sampling.{key}"]
