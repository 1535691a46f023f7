"""Trans-Earth injection from lunar orbit and the coast back to the entry interface.

The return ellipse has its perigee at the entry interface and its apogee at lunar
distance; its speed there against the Moon's orbital speed gives the excess speed
to leave the Moon with (patched conics). The injection burn is the difference
between that hyperbola's periselene speed and circular speed (vis-viva). A burn
error is removed by a return-leg correction; the coast is half the return ellipse
(Kepler), and the entry speed is vis-viva at the interface (~11 km/s).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.draws import Draws
from lunasample.mission.orbits import (
    circular_speed,
    flight_velocity,
    hyperbolic_periapsis_speed,
    time_from_periapsis,
    vis_viva,
)
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams
from lunasample.mission.rocket import exhaust_velocity, propellant_for

NAME = "trans-Earth injection"
FloatArray = NDArray[np.float64]


def return_orbit(p: MissionParams) -> tuple[float, float, float, float]:
    """(excess speed at the Moon km/s, coast s, entry speed km/s, entry radius km)."""
    c = p.constants
    r_ei = c.earth_radius_km + p.reentry.interface_alt_km
    r_m = c.earth_moon_distance_km
    _, v_t = flight_velocity(c.earth_gm_km3_s2, r_ei, r_m, r_m)
    v_inf = c.moon_orbital_speed_km_s - float(v_t)
    coast = float(time_from_periapsis(c.earth_gm_km3_s2, r_ei, r_m, r_m))
    v_entry = float(vis_viva(c.earth_gm_km3_s2, r_ei, 0.5 * (r_ei + r_m)))
    return v_inf, coast, v_entry, r_ei


def simulate(
    p: MissionParams,
    d: Draws,
    orbit_alt_km: FloatArray,
    mass_kg: FloatArray,
    propellant_kg: FloatArray,
) -> PhaseArrays:
    """Injection burn, return correction and coast for every run."""
    c, t = p.constants, p.tei
    n = d.n
    v_inf, coast, v_entry, _ = return_orbit(p)
    r = c.moon_radius_km + np.asarray(orbit_alt_km, dtype=float)
    dv = (
        hyperbolic_periapsis_speed(c.moon_gm_km3_s2, r, v_inf)
        - circular_speed(c.moon_gm_km3_s2, r)
    ) * 1000.0
    dv = dv * np.ones(n)
    mcc = np.hypot(dv * t.execution_sigma_frac * d.tei_exec_z, t.mcc_nav_sigma_m_s * d.tei_nav_z)
    ve = exhaust_velocity(p.vehicle.orbiter_isp_s, c.g0_m_s2)
    left = propellant_kg - propellant_for(dv + mcc, ve, mass_kg)
    code, texts = checks(
        n,
        ("orbiter propellant margin below zero at trans-Earth injection", left < 0),
        ("return-leg correction exceeds its budget", mcc > t.mcc_budget_m_s),
    )
    return PhaseArrays(
        name=NAME,
        duration_s=np.full(n, coast),
        failure=code,
        failure_text=texts,
        figures={
            "tei_dv_m_s": dv,
            "v_inf_km_s": np.full(n, v_inf),
            "return_mcc_m_s": mcc,
            "coast_h": np.full(n, coast / 3600.0),
            "entry_speed_km_s": np.full(n, v_entry),
            "orbiter_propellant_margin_kg": left,
        },
    )
