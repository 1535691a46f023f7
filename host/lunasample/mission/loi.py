"""Lunar orbit insertion: capture into a 200 x 8600 km ellipse, then circularise at 200 km.

Capture brakes the arrival hyperbola at periselene down to the capture ellipse
(vis-viva on both); circularisation brakes again at periselene. Burn execution
errors move the far apsis; the periselene after circularisation is checked
against a floor. Propellant follows Tsiolkovsky on the full stack.
"""

from __future__ import annotations

import numpy as np

from lunasample.mission.draws import Draws
from lunasample.mission.orbits import (
    apsides,
    circular_speed,
    hyperbolic_periapsis_speed,
    period,
    vis_viva,
)
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams
from lunasample.mission.rocket import exhaust_velocity, propellant_for

NAME = "lunar orbit insertion"


def simulate(
    p: MissionParams,
    d: Draws,
    stack_kg: np.ndarray,
    v_inf_km_s: float,
    orbiter_propellant_kg: np.ndarray,
) -> PhaseArrays:
    """Both insertion burns for every run; ``stack_kg`` is the mass on arrival."""
    c, lo = p.constants, p.loi
    mu, radius = c.moon_gm_km3_s2, c.moon_radius_km
    n = d.n
    r_p = radius + lo.capture_periapsis_alt_km
    a_capture = 0.5 * (r_p + radius + lo.capture_apoapsis_alt_km)
    v_hyp = float(hyperbolic_periapsis_speed(mu, r_p, v_inf_km_s))
    dv1_plan = v_hyp - float(vis_viva(mu, r_p, a_capture))
    dv1 = dv1_plan * (1.0 + lo.execution_sigma_frac * d.loi_exec_z[:, 0])
    v_after1 = v_hyp - dv1
    _, ra1 = apsides(mu, r_p, 0.0, v_after1)

    # Circularise at periselene: brake from the capture speed to circular speed.
    dv2_plan = v_after1 - circular_speed(mu, r_p)
    dv2 = dv2_plan * (1.0 + lo.execution_sigma_frac * d.loi_exec_z[:, 1])
    rp2, ra2 = apsides(mu, r_p, 0.0, v_after1 - dv2)

    dv_total_m_s = (dv1 + dv2) * 1000.0
    ve = exhaust_velocity(p.vehicle.orbiter_isp_s, c.g0_m_s2)
    used = propellant_for(dv_total_m_s, ve, stack_kg)
    left = orbiter_propellant_kg - used
    perilune_alt = rp2 - radius
    code, texts = checks(
        n,
        ("capture burn too weak: the stack escapes the Moon", ~np.isfinite(ra1)),
        ("orbiter propellant exhausted during insertion", left < 0),
        (
            "periselene after circularisation below the safe floor",
            perilune_alt < lo.min_periapsis_alt_km,
        ),
    )
    with np.errstate(invalid="ignore"):
        capture_period_h = period(mu, 0.5 * (r_p + ra1)) / 3600.0
    return PhaseArrays(
        name=NAME,
        duration_s=np.full(n, lo.orbit_wait_d * 86400.0),
        failure=code,
        failure_text=texts,
        figures={
            "capture_dv_m_s": dv1 * 1000.0,
            "capture_apoapsis_alt_km": ra1 - radius,
            "capture_period_h": capture_period_h,
            "circularise_dv_m_s": dv2 * 1000.0,
            "orbit_periapsis_alt_km": perilune_alt,
            "orbit_apoapsis_alt_km": ra2 - radius,
            "orbit_period_h": period(mu, 0.5 * (rp2 + ra2)) / 3600.0,
            "stack_after_kg": stack_kg - used,
            "orbiter_propellant_kg": left,
        },
    )
