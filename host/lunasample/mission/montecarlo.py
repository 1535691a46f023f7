"""Monte Carlo over mission dispersions: vectorised batches, local processes or Dask.

Runs are split into fixed-size chunks, each with its own child of one
``SeedSequence``; results therefore depend only on the seed and the run count,
not on how many workers share the chunks. Each chunk flies the same vectorised
mission as a single run (``flight.fly``), with the surrogate sampler.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lunasample.errors import UserError
from lunasample.mission import rvd
from lunasample.mission.draws import Draws, draw
from lunasample.mission.flight import (
    PHASES,
    STATUS_FAIL,
    STATUS_NOT_FLOWN,
    STATUS_PASS,
    Flight,
    SampleBatch,
    fly,
)
from lunasample.mission.groundloop import FlightClock
from lunasample.mission.params import MissionParams
from lunasample.mission.sampling import (
    SurrogateDraws,
    draw_surrogate,
    simulate_surrogate,
    surrogate_anomalies,
)
from lunasample.mission.tasks import run_tasks

CHUNK_RUNS = 5000
MAX_RUNS = 10_000_000
ChunkProgress = Callable[[int, int], None]

# Per-run figures kept in runs.csv, as (phase, figure) pairs.
RUN_FIGURES = (
    ("descent", "propellant_margin_kg"),
    ("descent", "landing_error_km"),
    ("descent", "touchdown_speed_m_s"),
    ("surface operations", "min_soc"),
    ("sampling", "core_depth_mm"),
    ("sampling", "scoops"),
    ("sampling", "duration_h"),
    ("sampling", "board_s"),
    ("ascent", "burn_time_s"),
    ("ascent", "propellant_margin_kg"),
    ("rendezvous and docking", "miss_m"),
    ("rendezvous and docking", "closing_speed_m_s"),
    ("trans-Earth injection", "orbiter_propellant_margin_kg"),
    ("re-entry", "peak_g"),
    ("re-entry", "peak_heat_mw_m2"),
    ("re-entry", "skip_apex_alt_km"),
    ("landing", "landing_error_km"),
)


@dataclass
class ChunkResult:
    """Compact per-run results of one chunk."""

    status: NDArray[np.int8]  # (phases, runs)
    failure: NDArray[np.int16]  # (phases, runs)
    mass_g: NDArray[np.float64]
    returned_g: NDArray[np.float64]
    figures: dict[str, NDArray[np.float64]]
    failure_text: list[tuple[str, ...]]
    anomaly_counts: list[dict[str, int]]


@dataclass
class MonteCarloResult:
    """All runs of a Monte Carlo campaign."""

    n: int
    seed: int
    params: MissionParams
    status: NDArray[np.int8]
    failure: NDArray[np.int16]
    mass_g: NDArray[np.float64]
    returned_g: NDArray[np.float64]
    figures: dict[str, NDArray[np.float64]]
    failure_text: list[tuple[str, ...]]
    anomaly_counts: list[dict[str, int]] = field(default_factory=list)

    @property
    def success(self) -> NDArray[np.bool_]:
        """Runs in which every phase passed."""
        return np.all(self.status == STATUS_PASS, axis=0)


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (95 % by default)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z**2 / (4 * n**2)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def batch_draws(
    p: MissionParams, rng: np.random.Generator, n: int
) -> tuple[Draws, SurrogateDraws]:
    """Mission and sampler variates for ``n`` runs, mission first."""
    d = draw(rng, n, len(rvd.legs(p)))
    return d, draw_surrogate(rng, n, p.sampling.surrogate.max_scoops)


def simulate_batch(p: MissionParams, d: Draws, sd: SurrogateDraws) -> Flight:
    """Fly a batch with the vectorised surrogate sampler."""
    sp = p.sampling.surrogate

    def sample(clock: FlightClock, _alive: NDArray[np.bool_]) -> SampleBatch:
        a = simulate_surrogate(sp, sd, p.sampling.target_g, clock)
        return SampleBatch(
            mass_g=a.mass_g,
            core_depth_mm=a.core_depth_mm,
            scoops=a.scoops.astype(float),
            duration_s=a.duration_s,
            sealed=a.sealed,
            anomalies=surrogate_anomalies(a, sp),
        )

    return fly(p, d, sample)


def run_chunk(p: MissionParams, seed: np.random.SeedSequence, n: int) -> ChunkResult:
    """Fly ``n`` runs drawn from ``seed`` and keep the per-run essentials."""
    d, sd = batch_draws(p, np.random.default_rng(seed), n)
    return chunk_result(simulate_batch(p, d, sd))


def chunk_result(flight: Flight) -> ChunkResult:
    """A flown batch's per-run essentials."""
    by_name = {ph.name: ph for ph in flight.phases}
    flown = flight.status != STATUS_NOT_FLOWN
    return ChunkResult(
        status=flight.status,
        failure=np.stack([ph.failure for ph in flight.phases]).astype(np.int16),
        mass_g=by_name["sampling"].figures["mass_g"],
        returned_g=flight.returned_g,
        figures={
            f"{ph}.{fig}": np.asarray(by_name[ph].figures[fig], dtype=float)
            for ph, fig in RUN_FIGURES
        },
        failure_text=[ph.failure_text for ph in flight.phases],
        anomaly_counts=[
            {text: int(np.sum(hit & flown[i])) for text, hit in ph.anomalies.items()}
            for i, ph in enumerate(flight.phases)
        ],
    )


def _chunks(n: int, seed: int) -> list[tuple[np.random.SeedSequence, int]]:
    count = max(1, math.ceil(n / CHUNK_RUNS))
    seeds = np.random.SeedSequence(seed).spawn(count)
    sizes = [min(CHUNK_RUNS, n - i * CHUNK_RUNS) for i in range(count)]
    return list(zip(seeds, sizes, strict=True))


def run_montecarlo(
    params: MissionParams,
    n: int,
    seed: int,
    *,
    workers: int | None = None,
    dask_address: str | None = None,
    progress: ChunkProgress | None = None,
) -> MonteCarloResult:
    """Fly ``n`` dispersed missions.

    Chunks run in a local process pool (``workers`` processes, default: all cores;
    1 runs in this process) or, with ``dask_address="tcp://host:port"``, on an
    existing Dask cluster. ``progress(done_chunks, total_chunks)`` follows the work.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_RUNS:
        raise UserError(f"number of runs must be an integer in 1..{MAX_RUNS}, got {n!r}")
    if workers is not None and workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    jobs = [(params, s, size) for s, size in _chunks(n, seed)]
    results = run_tasks(
        run_chunk, jobs, workers=workers, dask_address=dask_address, progress=progress
    )
    return merge_chunks(params, n, seed, list(results))


def merge_chunks(
    p: MissionParams, n: int, seed: int, parts: list[ChunkResult]
) -> MonteCarloResult:
    counts: list[dict[str, int]] = [{} for _ in PHASES]
    for part in parts:
        for i, phase_counts in enumerate(part.anomaly_counts):
            for text, k in phase_counts.items():
                counts[i][text] = counts[i].get(text, 0) + k
    return MonteCarloResult(
        n=n,
        seed=seed,
        params=p,
        status=np.concatenate([c.status for c in parts], axis=1),
        failure=np.concatenate([c.failure for c in parts], axis=1),
        mass_g=np.concatenate([c.mass_g for c in parts]),
        returned_g=np.concatenate([c.returned_g for c in parts]),
        figures={k: np.concatenate([c.figures[k] for c in parts]) for k in parts[0].figures},
        failure_text=parts[0].failure_text,
        anomaly_counts=counts,
    )


def phase_table(result: MonteCarloResult) -> list[dict[str, object]]:
    """Per phase: runs flown, passed, conditional success with its Wilson interval."""
    rows = []
    for i, name in enumerate(PHASES):
        flown = int(np.sum(result.status[i] != STATUS_NOT_FLOWN))
        passed = int(np.sum(result.status[i] == STATUS_PASS))
        lo, hi = wilson_interval(passed, flown)
        causes: dict[str, int] = {}
        failed = result.status[i] == STATUS_FAIL
        for code in np.unique(result.failure[i][failed]):
            causes[result.failure_text[i][int(code)]] = int(
                np.sum(result.failure[i][failed] == code)
            )
        rows.append(
            {
                "phase": name,
                "flown": flown,
                "passed": passed,
                "p": passed / flown if flown else float("nan"),
                "lo": lo,
                "hi": hi,
                "failures": causes,
                "anomalies": result.anomaly_counts[i],
            }
        )
    return rows
