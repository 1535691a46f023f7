"""The nominal mission against the flown one: CE-6's dates (params.toml [reference])."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from lunasample.mission import montecarlo as mc
from lunasample.mission import rvd
from lunasample.mission.draws import nominal
from lunasample.mission.flight import PHASES
from lunasample.mission.params import MissionParams
from lunasample.mission.sampling import SurrogateDraws

# (reference date key, phase, "start" or "end", tolerance): how close the
# undispersed mission lands to each event. The simulator flies its own
# trajectory from the launch epoch; the spans below are what its models
# leave open (LOI timing within the transfer's hour, the phasing orbit's
# length, the return's entry interface and descent under canopy).
EVENTS = (
    ("ce6_loi", "lunar orbit insertion", "start", timedelta(hours=1)),
    ("ce6_landing", "descent", "end", timedelta(hours=1)),
    ("ce6_ascent", "ascent", "start", timedelta(hours=1)),
    ("ce6_docking", "rendezvous and docking", "end", timedelta(hours=2)),
    ("ce6_capsule_landing", "landing", "end", timedelta(hours=3)),
)


def _nominal_times(p: MissionParams) -> dict[tuple[str, str], datetime]:
    d = nominal(1, len(rvd.legs(p)))
    sp = p.sampling.surrogate
    zeros = np.zeros((1, sp.max_scoops))
    sd = SurrogateDraws(
        rock_z=np.zeros(1),
        density_z=np.zeros(1),
        scoop_mass_z=zeros,
        scoop_cycle_z=zeros,
        empty_u=np.ones((1, sp.max_scoops)),  # no scoop comes up empty
        seal_u=np.ones(1),
    )
    flight = mc.simulate_batch(p, d, sd)
    assert bool(flight.success[0])
    out = {}
    for i, name in enumerate(PHASES):
        out[(name, "start")] = p.epoch + timedelta(seconds=float(flight.start_s[i, 0]))
        out[(name, "end")] = p.epoch + timedelta(seconds=float(flight.end_s[i, 0]))
    return out


@pytest.mark.parametrize(("key", "phase", "edge", "tolerance"), EVENTS)
def test_nominal_timeline_meets_the_ce6_dates(
    params: MissionParams, key: str, phase: str, edge: str, tolerance: timedelta
) -> None:
    got = _nominal_times(params)[(phase, edge)]
    want = params.reference.time(key)
    assert abs(got - want) <= tolerance, f"{phase} {edge} {got} vs {key} {want}"


def test_launch_is_the_ce6_launch(params: MissionParams) -> None:
    assert abs(params.epoch - params.reference.time("ce6_launch")) < timedelta(minutes=1)


def test_sampling_spans_the_flight_clock(params: MissionParams) -> None:
    """Sampling takes 10-30 h of flight time (CE-5 ~19 h, CE-6 ~14 h planned),
    minutes of the sampler's own."""
    times = _nominal_times(params)
    span = times[("sampling", "end")] - times[("sampling", "start")]
    assert timedelta(hours=10) <= span <= timedelta(hours=30)
    # It ends before the ascent's preparations begin.
    prep = timedelta(hours=params.surface.ascent_prep_h)
    assert times[("sampling", "end")] <= times[("ascent", "start")] - prep
