"""Run one mission with a given sampler and seed, and collect a report-ready result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from lunasample.mission import rvd
from lunasample.mission.draws import draw
from lunasample.mission.flight import (
    PHASES,
    SAMPLING,
    STATUS_FAIL,
    STATUS_PASS,
    Flight,
    SampleBatch,
    fly,
)
from lunasample.mission.groundloop import FlightClock
from lunasample.mission.outcome import FAIL, NOT_FLOWN, PASS, PhaseResult
from lunasample.mission.params import MissionParams
from lunasample.mission.sampling import Sampler, SamplingOutcome

Progress = Callable[[str, float], None]


@dataclass
class MissionResult:
    """One mission: phases in order, the sampling journal and time series for plots."""

    seed: int
    params: MissionParams
    phases: list[PhaseResult]
    sampling: SamplingOutcome | None
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True when every phase passed."""
        return all(ph.status == PASS for ph in self.phases)

    @property
    def returned_g(self) -> float:
        """Sample mass delivered to Earth (0 if the mission failed)."""
        return self.sampling.mass_g if self.success and self.sampling else 0.0

    @property
    def epoch(self) -> datetime:
        """Launch epoch (UTC)."""
        return self.params.epoch

    @property
    def failed_phase(self) -> PhaseResult | None:
        """The phase that ended the mission, if any."""
        return next((ph for ph in self.phases if ph.status == FAIL), None)


def run_mission(
    params: MissionParams, sampler: Sampler, seed: int, progress: Progress | None = None
) -> MissionResult:
    """Fly one mission; deterministic for a given ``seed`` and sampler.

    ``progress(phase, fraction)`` is called as phases complete, with the fraction of
    the mission's phases done (sampling reports its own progress within its slot).
    """
    d = draw(np.random.default_rng(seed), 1, len(rvd.legs(params)))
    n_phases = len(PHASES)
    slot = PHASES.index(SAMPLING)
    outcome: list[SamplingOutcome] = []

    def sample(clock: FlightClock, alive: np.ndarray) -> SampleBatch:
        if not alive[0]:
            return _empty_batch()
        budget_s = float(clock.deadline_h[0] - clock.start_h) * 3600.0

        def on_sample(t_s: float, _mass_g: float) -> None:
            if progress is not None:
                progress(SAMPLING, (slot + min(t_s / max(budget_s, 1.0), 1.0)) / n_phases)

        result = sampler.sample(params.sampling.target_g, clock, int(d.site_seed[0]), on_sample)
        outcome.append(result)
        return SampleBatch(
            mass_g=np.array([result.mass_g]),
            core_depth_mm=np.array([float(result.core_depth_mm)]),
            scoops=np.array([float(result.scoops)]),
            duration_s=np.array([result.duration_s]),
            sealed=np.array([result.sealed]),
            anomalies={text: np.array([True]) for text in result.anomalies},
        )

    def on_phase(name: str, index: int) -> None:
        if progress is not None:
            progress(name, (index + 1) / n_phases)

    flight = fly(params, d, sample, record=True, on_phase=on_phase)
    return MissionResult(
        seed=seed,
        params=params,
        phases=_phase_results(flight),
        sampling=outcome[0] if outcome else None,
        traces={ph.name: ph.trace for ph in flight.phases if ph.trace},
    )


def _empty_batch() -> SampleBatch:
    zero = np.zeros(1)
    return SampleBatch(
        mass_g=zero,
        core_depth_mm=zero,
        scoops=zero,
        duration_s=zero,
        sealed=np.zeros(1, dtype=bool),
    )


def _phase_results(flight: Flight) -> list[PhaseResult]:
    out = []
    for i, ph in enumerate(flight.phases):
        code = int(ph.failure[0])
        status = {STATUS_PASS: PASS, STATUS_FAIL: FAIL}.get(int(flight.status[i, 0]), NOT_FLOWN)
        flown = status != NOT_FLOWN
        out.append(
            PhaseResult(
                name=ph.name,
                status=status,
                start_s=float(flight.start_s[i, 0]) if flown else float("nan"),
                end_s=float(flight.end_s[i, 0]) if flown else float("nan"),
                figures={k: float(np.asarray(v)[0]) for k, v in ph.figures.items()}
                if flown
                else {},
                failure=ph.failure_text[code] if status == FAIL else None,
                anomalies=[t for t, hit in ph.anomalies.items() if flown and bool(hit[0])],
            )
        )
    return out
