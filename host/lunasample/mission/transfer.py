"""Earth-Moon transfer: coast on the injection ellipse with two mid-course corrections.

Flight time to lunar distance is Kepler's equation on the transfer ellipse; the
arrival excess speed is the difference between the spacecraft's velocity there and
the Moon's orbital velocity (patched conics). An injection speed error is an energy
error ``v_inj * dv``; the first correction removes it at the radius it is made,
costing ``v_inj * dv / v(r)``. The second removes what the first left over.
"""

from __future__ import annotations

import numpy as np

from lunasample.mission.draws import Draws
from lunasample.mission.orbits import (
    flight_velocity,
    radius_at_time,
    time_from_periapsis,
    vis_viva,
)
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams
from lunasample.mission.rocket import exhaust_velocity, propellant_for

NAME = "transfer"


def arrival(p: MissionParams) -> tuple[float, float]:
    """(time of flight to lunar distance in s, arrival excess speed in km/s)."""
    c = p.constants
    r_p = c.earth_radius_km + p.launch.perigee_alt_km
    r_a = c.earth_radius_km + p.transfer.apogee_alt_km
    r_m = c.earth_moon_distance_km
    tof = float(time_from_periapsis(c.earth_gm_km3_s2, r_p, r_a, r_m))
    v_r, v_t = flight_velocity(c.earth_gm_km3_s2, r_p, r_a, r_m)
    v_inf = float(np.hypot(v_r, c.moon_orbital_speed_km_s - v_t))
    return tof, v_inf


def simulate(
    p: MissionParams,
    d: Draws,
    stack_kg: float,
    v_inj_km_s: np.ndarray,
    injection_error_m_s: np.ndarray,
) -> PhaseArrays:
    """Coast and corrections for every run; ``stack_kg`` is the mass at injection."""
    c, t = p.constants, p.transfer
    n = d.n
    r_p = c.earth_radius_km + p.launch.perigee_alt_km
    r_a = c.earth_radius_km + t.apogee_alt_km
    tof, v_inf = arrival(p)
    r1 = radius_at_time(c.earth_gm_km3_s2, r_p, r_a, t.mcc1_time_h * 3600.0)
    v1 = vis_viva(c.earth_gm_km3_s2, r1, 0.5 * (r_p + r_a))
    mcc1 = np.abs(v_inj_km_s * injection_error_m_s / v1)
    residual = mcc1 * t.mcc_execution_sigma_frac * d.mcc_exec_z[:, 0]
    mcc2 = np.abs(residual + t.mcc_nav_sigma_m_s * d.mcc_exec_z[:, 1])
    total = mcc1 + mcc2
    ve = exhaust_velocity(p.vehicle.orbiter_isp_s, c.g0_m_s2)
    used = propellant_for(total, ve, stack_kg)
    code, texts = checks(
        n, ("mid-course corrections exceed their delta-v budget", total > t.mcc_budget_m_s)
    )
    return PhaseArrays(
        name=NAME,
        duration_s=np.full(n, tof - p.launch.duration_s),
        failure=code,
        failure_text=texts,
        figures={
            "transfer_time_h": np.full(n, tof / 3600.0),
            "arrival_v_inf_km_s": np.full(n, v_inf),
            "mcc1_m_s": mcc1,
            "mcc2_m_s": mcc2,
            "mcc_total_m_s": total,
            "orbiter_propellant_kg": p.vehicle.orbiter_propellant_kg - used,
        },
        anomalies={"first mid-course correction larger than planned": mcc1 > t.mcc_anomaly_m_s},
    )
