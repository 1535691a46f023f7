"""Launch: the launcher puts the stack on an Earth-Moon transfer orbit.

The injection speed at perigee comes from vis-viva for the transfer ellipse; the
launcher's injection error is a normal speed error that the transfer phase pays
for in mid-course corrections.
"""

from __future__ import annotations

import numpy as np

from lunasample.mission.draws import Draws
from lunasample.mission.orbits import vis_viva
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams

NAME = "launch"


def stack_mass_kg(p: MissionParams) -> float:
    """Mass of the full stack (orbiter, returner, lander, ascender) at launch."""
    v = p.vehicle
    return (
        v.orbiter_dry_kg
        + v.orbiter_propellant_kg
        + v.returner_kg
        + v.lander_dry_kg
        + v.lander_propellant_kg
        + v.ascender_dry_kg
        + v.ascender_propellant_kg
    )


def simulate(p: MissionParams, d: Draws) -> PhaseArrays:
    """Launch to transfer-orbit injection for every run in ``d``."""
    c = p.constants
    n = d.n
    r_p = c.earth_radius_km + p.launch.perigee_alt_km
    r_a = c.earth_radius_km + p.transfer.apogee_alt_km
    v_nominal = float(vis_viva(c.earth_gm_km3_s2, r_p, 0.5 * (r_p + r_a)))
    error_m_s = p.launch.injection_sigma_m_s * d.injection_z
    v_inj = v_nominal + error_m_s / 1000.0
    c3 = v_inj**2 - 2.0 * c.earth_gm_km3_s2 / r_p
    margin = p.launch.vehicle_capacity_kg - stack_mass_kg(p)
    code, texts = checks(
        n,
        ("launch vehicle failure", d.launch_u < p.launch.failure_prob),
        ("stack heavier than the launcher's transfer-orbit capacity", np.full(n, margin < 0)),
    )
    return PhaseArrays(
        name=NAME,
        duration_s=np.full(n, p.launch.duration_s),
        failure=code,
        failure_text=texts,
        figures={
            "injection_speed_km_s": v_inj,
            "injection_error_m_s": error_m_s,
            "c3_km2_s2": c3,
            "payload_margin_kg": np.full(n, margin),
        },
    )
