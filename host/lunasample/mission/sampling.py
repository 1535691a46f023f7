"""Sampling: the interface every sampler implements, and the numpy surrogate sampler.

The mission runner only talks to a :class:`Sampler`. The firmware-backed sampler
drives a board (or the emulated one); :class:`SurrogateSampler` is a calibrated
numpy model of the same drill-then-scoop sequence, used by Monte Carlo in its
vectorised form (:func:`simulate_surrogate`) and by single runs without a board.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.groundloop import CORE, DRILL, END, SCOOP, STEP_FIELDS, FlightClock
from lunasample.mission.params import Surrogate

FloatArray = NDArray[np.float64]
SamplerProgress = Callable[[float, float], None]


@dataclass
class SamplingOutcome:
    """What a sampler brought back: mass, core, scoops and the sample journal."""

    mass_g: float
    core_depth_mm: int
    scoops: int
    duration_s: float  # on the flight clock
    records: list[dict]  # each: t_s (flight clock), kind ("core"/"scoop"), site, depth_mm, mass_g
    mass_timeline: list[tuple[float, float]]  # (t_s on the flight clock, container total g)
    sealed: bool
    anomalies: list[str] = field(default_factory=list)
    source: str = "surrogate"  # "firmware:<board>" or "surrogate"
    board_s: float = 0.0  # the sampler's own time for all its steps
    steps: list[dict] = field(default_factory=list)  # each step on both clocks (step_rows)
    # The drill's step on the board: (board s since it began, depth mm, percussion 0/1).
    drill_trace: list[tuple[float, float, int]] = field(default_factory=list)


def step_rows(clock: FlightClock, run: int = 0) -> list[dict]:
    """One run's placed steps as rows: kind, flight start/end h since landing, where time went."""
    rows = []
    for st in clock.steps:
        if st.end_h[run] <= st.ground_from_h[run]:
            continue  # a step this run did not take
        rows.append(
            {"kind": st.kind} | {f: round(float(getattr(st, f)[run]), 6) for f in STEP_FIELDS}
        )
    return rows


@runtime_checkable
class Sampler(Protocol):
    """Anything that can fill and seal the sample container."""

    def sample(
        self,
        target_g: float,
        clock: FlightClock,
        site_seed: int,
        progress: SamplerProgress | None,
    ) -> SamplingOutcome:
        """Sample toward ``target_g``, each step placed on ``clock`` (a batch of one).

        ``progress(t_s, mass_g)`` follows the flight clock since the sampling start.
        """
        ...


@dataclass(frozen=True)
class SurrogateDraws:
    """Standard variates of the surrogate sampler; first axis is the run."""

    rock_z: FloatArray
    density_z: FloatArray
    scoop_mass_z: FloatArray  # (n, max_scoops)
    scoop_cycle_z: FloatArray  # (n, max_scoops)
    empty_u: FloatArray  # (n, max_scoops)
    seal_u: FloatArray

    def take(self, index: slice | NDArray[np.int64] | int) -> SurrogateDraws:
        """The runs selected by ``index`` (an int keeps a batch of one)."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1)
        return SurrogateDraws(
            **{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)}
        )


def draw_surrogate(rng: np.random.Generator, n: int, max_scoops: int) -> SurrogateDraws:
    """Variates for ``n`` sampling runs, in a fixed order."""
    return SurrogateDraws(
        rock_z=rng.standard_normal(n),
        density_z=rng.standard_normal(n),
        scoop_mass_z=rng.standard_normal((n, max_scoops)),
        scoop_cycle_z=rng.standard_normal((n, max_scoops)),
        empty_u=rng.random((n, max_scoops)),
        seal_u=rng.random(n),
    )


@dataclass
class SamplingArrays:
    """Vectorised surrogate outcome over N runs (journal kept for run 0 only)."""

    mass_g: FloatArray
    core_depth_mm: FloatArray
    scoops: NDArray[np.int64]
    duration_s: FloatArray  # on the flight clock
    board_s: FloatArray  # the sampler's own time
    sealed: NDArray[np.bool_]
    rock_hit: NDArray[np.bool_]
    empty_scoops: NDArray[np.int64]
    time_limited: NDArray[np.bool_]
    records: list[dict] = field(default_factory=list)


def simulate_surrogate(
    sp: Surrogate,
    d: SurrogateDraws,
    target_g: float,
    clock: FlightClock,
    *,
    record: bool = False,
) -> SamplingArrays:
    """Drill a core, then scoop until the next scoop would overfill or overrun, then seal.

    The core stops at the drill target or at a lognormally distributed rock layer.
    Scoop masses scale with the site's bulk density; a scoop can come up empty.
    Board time per scoop is normal with a floor. Each step goes on ``clock``
    (the flight clock, with the ground in the loop between steps); a scoop is
    taken only while it and the seal still end within the flight budget. All
    runs advance together, step by step.
    """
    n = d.rock_z.shape[0]
    start_h = clock.start_h
    density = np.maximum(1.0 + sp.density_sigma_frac * d.density_z, 0.5)
    rock_mm = sp.rock_depth_median_mm * np.exp(sp.rock_depth_sigma_log * d.rock_z)
    rock_hit = rock_mm < sp.drill_target_mm
    depth = np.floor(np.minimum(sp.drill_target_mm, rock_mm))
    clock.place(DRILL, sp.setup_s + depth / sp.drill_rate_mm_s, depth)
    mass = depth * sp.core_g_per_mm * density
    clock.place(CORE, sp.core_seal_s)
    records: list[dict] = []
    if record and depth[0] > 0:
        records.append(
            {
                "t_s": float(clock.now_h[0] - start_h) * 3600.0,
                "kind": "core",
                "site": 0,
                "depth_mm": int(depth[0]),
                "mass_g": float(mass[0]),
            }
        )
    scoops = np.zeros(n, dtype=np.int64)
    empty = np.zeros(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    nominal = sp.scoop_mass_mean_g * density
    time_limited = np.zeros(n, dtype=bool)
    for k in range(sp.max_scoops):
        cycle = np.maximum(
            sp.scoop_cycle_mean_s + sp.scoop_cycle_sd_s * d.scoop_cycle_z[:, k],
            sp.scoop_cycle_min_s,
        )
        got_nothing = d.empty_u[:, k] < sp.scoop_empty_prob
        scoop_g = np.where(
            got_nothing, 0.0, np.maximum(nominal + sp.scoop_mass_sd_g * d.scoop_mass_z[:, k], 0.0)
        )
        room = mass + nominal <= target_g
        in_time = clock.room_for(SCOOP, cycle, sp.seal_s)
        time_limited |= active & room & ~in_time
        active &= room & in_time
        if not active.any():
            break
        clock.place(SCOOP, cycle, active=active)
        mass = mass + np.where(active, scoop_g, 0.0)
        scoops += active
        empty += active & got_nothing
        if record and active[0]:
            records.append(
                {
                    "t_s": float(clock.now_h[0] - start_h) * 3600.0,
                    "kind": "scoop",
                    "site": k + 1,
                    "depth_mm": 0,
                    "mass_g": float(scoop_g[0]),
                }
            )
    clock.place(END, sp.seal_s)
    return SamplingArrays(
        mass_g=mass,
        core_depth_mm=depth,
        scoops=scoops,
        duration_s=clock.flight_s,
        board_s=clock.total("board_s"),
        sealed=d.seal_u >= sp.seal_fail_prob,
        rock_hit=rock_hit,
        empty_scoops=empty,
        time_limited=time_limited,
        records=records,
    )


def surrogate_anomalies(a: SamplingArrays, sp: Surrogate) -> dict[str, NDArray[np.bool_]]:
    """Non-critical sampling anomalies per run, keyed by their report text."""
    return {
        "drill stopped on a rock layer before its target depth": a.rock_hit,
        "a scoop came up empty": a.empty_scoops > 0,
        "the flight-clock budget ended scooping before the target mass": a.time_limited,
    }


class SurrogateSampler:
    """Numpy sampler with the firmware's drill-then-scoop behaviour (see module doc)."""

    def __init__(self, params: Surrogate) -> None:
        self.params = params

    def sample(
        self,
        target_g: float,
        clock: FlightClock,
        site_seed: int,
        progress: SamplerProgress | None = None,
    ) -> SamplingOutcome:
        """One sampling run; the site's regolith and luck come from ``site_seed``."""
        d = draw_surrogate(np.random.default_rng(site_seed), 1, self.params.max_scoops)
        return self.outcome(d, target_g, clock, progress)

    def outcome(
        self,
        d: SurrogateDraws,
        target_g: float,
        clock: FlightClock,
        progress: SamplerProgress | None = None,
    ) -> SamplingOutcome:
        """The report-level outcome for a batch of one set of draws."""
        a = simulate_surrogate(self.params, d, target_g, clock, record=True)
        total = 0.0
        timeline = [(0.0, 0.0)]
        for rec in a.records:
            total += rec["mass_g"]
            timeline.append((rec["t_s"], total))
            if progress is not None:
                progress(rec["t_s"], total)
        timeline.append((float(a.duration_s[0]), total))
        anomalies = [text for text, hit in surrogate_anomalies(a, self.params).items() if hit[0]]
        return SamplingOutcome(
            mass_g=float(a.mass_g[0]),
            core_depth_mm=int(a.core_depth_mm[0]),
            scoops=int(a.scoops[0]),
            duration_s=float(a.duration_s[0]),
            records=a.records,
            mass_timeline=timeline,
            sealed=bool(a.sealed[0]),
            anomalies=anomalies,
            source="surrogate",
            board_s=float(a.board_s[0]),
            steps=step_rows(clock),
        )
