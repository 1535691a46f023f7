"""One implementation of the whole mission, vectorised over N runs.

``fly`` chains the phase models on a batch of draws. A single mission is a batch of
one; Monte Carlo passes thousands. A run that fails a phase is not flown further
(its later phases are computed but reported as "not flown"), so every phase can
stay branch-free numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lunasample.mission import (
    ascent,
    descent,
    landing,
    launch,
    loi,
    reentry,
    rvd,
    sample_transfer,
    surface,
    tei,
    transfer,
)
from lunasample.mission.draws import Draws, nominal
from lunasample.mission.groundloop import CLOCK_TOTALS, FlightClock
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

SAMPLING = "sampling"
PHASES = (
    launch.NAME,
    transfer.NAME,
    loi.NAME,
    descent.NAME,
    surface.NAME,
    SAMPLING,
    ascent.NAME,
    rvd.NAME,
    sample_transfer.NAME,
    tei.NAME,
    reentry.NAME,
    landing.NAME,
)

STATUS_PASS, STATUS_FAIL, STATUS_NOT_FLOWN = 0, 1, 2


@dataclass
class SampleBatch:
    """What the samplers of a batch brought back (arrays over runs)."""

    mass_g: FloatArray
    core_depth_mm: FloatArray
    scoops: FloatArray
    duration_s: FloatArray  # on the flight clock
    sealed: BoolArray
    anomalies: dict[str, BoolArray] = field(default_factory=dict)
    # Where the flight time went (groundloop.CLOCK_TOTALS: board_s, ground_h,
    # relay_wait_h, limit_wait_h); empty: the clock fly() handed out holds them.
    clock: dict[str, FloatArray] = field(default_factory=dict)


# Fills the container of every run, placing each campaign step on the clock.
SampleFn = Callable[[FlightClock, BoolArray], SampleBatch]
PhaseHook = Callable[[str, int], None]


@dataclass
class Flight:
    """All phases of a batch, their timing and per-run status."""

    phases: list[PhaseArrays]
    start_s: FloatArray  # (phases, runs), mission elapsed time
    end_s: FloatArray
    status: NDArray[np.int8]  # (phases, runs): STATUS_*
    success: BoolArray
    returned_g: FloatArray


def sampling_phase(p: MissionParams, s: SampleBatch, clock: FlightClock) -> PhaseArrays:
    """Pass/fail of the sampling itself: enough mass, and a sealed container.

    Its duration is on the flight clock; ``board_s`` is the sampler's own time.
    """
    n = s.mass_g.shape[0]
    code, texts = checks(
        n,
        (
            f"sample mass below the {p.sampling.min_return_g:g} g minimum useful return",
            s.mass_g < p.sampling.min_return_g,
        ),
        ("sample container not sealed", ~s.sealed),
    )
    return PhaseArrays(
        name=SAMPLING,
        duration_s=s.duration_s,
        failure=code,
        failure_text=texts,
        figures={
            "mass_g": s.mass_g,
            "core_depth_mm": s.core_depth_mm,
            "scoops": s.scoops,
            "duration_h": s.duration_s / 3600.0,
            **{k: s.clock[k] if s.clock else clock.total(k) for k in CLOCK_TOTALS},
            "vs_ce5_pct": 100.0 * s.mass_g / p.reference.ce5_sample_g,
            "vs_ce6_pct": 100.0 * s.mass_g / p.reference.ce6_sample_g,
        },
        anomalies=s.anomalies,
    )


def fly(
    p: MissionParams,
    d: Draws,
    sample: SampleFn,
    *,
    record: bool = False,
    on_phase: PhaseHook | None = None,
) -> Flight:
    """Fly every phase for every run in ``d``; ``sample`` fills the container."""
    v = p.vehicle
    phases: list[PhaseArrays] = []
    alive = np.ones(d.n, dtype=bool)

    def done(phase: PhaseArrays) -> PhaseArrays:
        nonlocal alive
        phases.append(phase)
        alive = alive & phase.ok
        if on_phase is not None:
            on_phase(phase.name, len(phases) - 1)
        return phase

    stack = launch.stack_mass_kg(p)
    ph = done(launch.simulate(p, d))
    ph = done(
        transfer.simulate(
            p, d, stack, ph.figures["injection_speed_km_s"], ph.figures["injection_error_m_s"]
        )
    )
    orbiter_prop = ph.figures["orbiter_propellant_kg"]
    arrival_kg = stack - (v.orbiter_propellant_kg - orbiter_prop)
    ph = done(loi.simulate(p, d, arrival_kg, transfer.arrival(p)[1], orbiter_prop))
    orbiter_prop = ph.figures["orbiter_propellant_kg"]
    done(descent.simulate(p, d, record=record))
    surf = done(surface.simulate(p, d, record=record))
    clock = FlightClock.for_runs(p, d, surf.figures["sampling_budget_h"])
    batch = sample(clock, alive.copy())
    done(sampling_phase(p, batch, clock))
    mass_g = batch.mass_g
    done(ascent.simulate(p, d, mass_g, record=record))
    orbit_alt = p.ascent.target_apoapsis_alt_km
    chaser_kg = v.orbiter_dry_kg + v.returner_kg + orbiter_prop
    ph = done(rvd.simulate(p, d, orbit_alt, chaser_kg, orbiter_prop, record=record))
    orbiter_prop = ph.figures["orbiter_propellant_kg"]
    done(sample_transfer.simulate(p, d, mass_g))
    return_kg = v.orbiter_dry_kg + v.returner_kg + orbiter_prop + mass_g / 1000.0
    ph = done(tei.simulate(p, d, orbit_alt, return_kg, orbiter_prop))
    ph = done(reentry.simulate(p, d, ph.figures["entry_speed_km_s"], record=record))
    reference = reentry.simulate(
        p, nominal(1, d.rvd_nav_z.shape[1]), ph.figures["entry_speed_km_s"][:1]
    )
    downrange_error = ph.figures["downrange_km"] - reference.figures["downrange_km"][0]
    done(landing.simulate(p, d, downrange_error, mass_g))
    start, end = _timeline(p, phases)
    status = _status(phases)
    success = np.all(status == STATUS_PASS, axis=0)
    return Flight(
        phases=phases,
        start_s=start,
        end_s=end,
        status=status,
        success=success,
        returned_g=np.where(success, mass_g, 0.0),
    )


def _timeline(p: MissionParams, phases: list[PhaseArrays]) -> tuple[FloatArray, FloatArray]:
    """Start and end of each phase; sampling runs inside the surface stay."""
    n = phases[0].duration_s.shape[0]
    start = np.zeros((len(phases), n))
    end = np.zeros((len(phases), n))
    cursor = np.zeros(n)
    for i, ph in enumerate(phases):
        if ph.name == SAMPLING:
            start[i] = start[i - 1] + p.surface.checkout_h * 3600.0
            end[i] = start[i] + ph.duration_s
            continue
        start[i] = cursor
        end[i] = cursor + ph.duration_s
        cursor = end[i]
    return start, end


def _status(phases: list[PhaseArrays]) -> NDArray[np.int8]:
    """Pass / fail / not flown per phase and run: a failure ends the run."""
    status = np.empty((len(phases), phases[0].failure.shape[0]), dtype=np.int8)
    alive = np.ones(status.shape[1], dtype=bool)
    for i, ph in enumerate(phases):
        status[i] = np.where(alive, np.where(ph.ok, STATUS_PASS, STATUS_FAIL), STATUS_NOT_FLOWN)
        alive &= ph.ok
    return status
