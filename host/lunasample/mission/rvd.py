"""Rendezvous and docking in lunar orbit with Clohessy-Wiltshire relative motion.

The orbiter (chaser) starts ~50 km behind and ~10 km below the ascender on a
coelliptic orbit, then flies two-impulse CW transfers to hold points on the V-bar
and finally a transfer to contact at a set closing speed, re-targeted a few times
on the way in. Every burn is
computed from the chaser's navigation estimate (position error proportional to
range with a floor, velocity error) and executed with a magnitude-proportional
error, so errors carry from leg to leg. Docking needs a small lateral miss and a
closing speed inside the capture mechanism's window.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lunasample.mission import cw
from lunasample.mission.draws import Draws
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams
from lunasample.mission.rocket import exhaust_velocity, propellant_for

NAME = "rendezvous and docking"
FloatArray = NDArray[np.float64]
TRACE_POINTS = 60


def mean_motion(p: MissionParams, orbit_alt_km: float) -> float:
    """Mean motion (rad/s) of the target's circular orbit."""
    c = p.constants
    a_m = (c.moon_radius_km + orbit_alt_km) * 1000.0
    return float(np.sqrt(c.moon_gm_km3_s2 * 1e9 / a_m**3))


def legs(p: MissionParams) -> list[tuple[FloatArray, float, float, bool]]:
    """(aim position, time to reach it, coast time, stop at arrival) for each leg.

    The hold legs end at V-bar hold points. The final approach is split into
    ``final_corrections`` segments, each re-targeting contact at the planned time.
    """
    r = p.rvd
    out: list[tuple[FloatArray, float, float, bool]] = [
        (np.array([0.0, -hold, 0.0]), t, t, True)
        for hold, t in zip(r.hold_points_m, r.leg_times_s, strict=True)
    ]
    final = r.hold_points_m[-1] / r.closing_speed_m_s
    step = final / r.final_corrections
    out += [(np.zeros(3), final - k * step, step, False) for k in range(r.final_corrections)]
    return out


def _burn(dv_plan: FloatArray, z: FloatArray, p: MissionParams) -> FloatArray:
    """Executed burn: the plan plus an error proportional to its size, with a floor."""
    r = p.rvd
    size = np.linalg.norm(dv_plan, axis=-1, keepdims=True)
    return dv_plan + z * np.maximum(r.exec_sigma_frac * size, r.exec_sigma_floor_m_s)


def _estimate(true: FloatArray, z: FloatArray, p: MissionParams) -> FloatArray:
    """Navigation estimate of the state: range-proportional position error, velocity error."""
    r = p.rvd
    rng = np.linalg.norm(true[:, :3], axis=-1, keepdims=True)
    pos_sigma = np.maximum(r.nav_sigma_frac * rng, r.nav_sigma_floor_m)
    return true + np.concatenate(
        [z[:, :3] * pos_sigma, z[:, 3:] * r.nav_velocity_sigma_m_s], axis=-1
    )


def simulate(
    p: MissionParams,
    d: Draws,
    orbit_alt_km: float,
    chaser_kg: FloatArray,
    propellant_kg: FloatArray,
    *,
    record: bool = False,
) -> PhaseArrays:
    """Approach and docking for every run; the chaser is the orbiter with the returner."""
    r = p.rvd
    n_runs = d.n
    n = mean_motion(p, orbit_alt_km)
    state = np.zeros((n_runs, 6))
    state[:, 0] = (r.start_radial_km + r.start_sigma_km * d.rvd_start_z[:, 0]) * 1000.0
    state[:, 1] = (r.start_along_km + r.start_sigma_km * d.rvd_start_z[:, 1]) * 1000.0
    state[:, 2] = r.start_sigma_km * d.rvd_start_z[:, 2] * 1000.0
    state[:, 4] = cw.coelliptic_drift(state[:, 0], n)
    dv_total = np.zeros(n_runs)
    elapsed = 0.0
    path: list[FloatArray] = []
    for k, (aim, t_aim, tof, stop) in enumerate(legs(p)):
        est = _estimate(state, d.rvd_nav_z[:, k], p)
        v_req = cw.targeting_velocity(est[:, :3], aim, n, t_aim)
        dv = _burn(v_req - est[:, 3:], d.rvd_exec_z[:, k, 0], p)
        state[:, 3:] += dv
        dv_total += np.linalg.norm(dv, axis=-1)
        if record:
            for t in np.linspace(0.0, tof, TRACE_POINTS):
                path.append(np.concatenate([[elapsed + t], cw.propagate(state[0], n, t)]))
        state = cw.propagate(state, n, tof)
        elapsed += tof
        if stop:
            # Brake to hold using the next leg's navigation estimate of the velocity.
            est = _estimate(state, d.rvd_nav_z[:, k + 1], p)
            dv = _burn(-est[:, 3:], d.rvd_exec_z[:, k, 1], p)
            state[:, 3:] += dv
            dv_total += np.linalg.norm(dv, axis=-1)
            state = cw.propagate(state, n, r.hold_s)
            elapsed += r.hold_s
    miss = np.hypot(state[:, 0], state[:, 2])
    closing = state[:, 4]
    ve = exhaust_velocity(p.vehicle.orbiter_isp_s, p.constants.g0_m_s2)
    left = propellant_kg - propellant_for(dv_total, ve, chaser_kg)
    code, texts = checks(
        n_runs,
        ("orbiter propellant exhausted in rendezvous", left < 0),
        (f"docking miss distance over {r.miss_limit_m:g} m", miss > r.miss_limit_m),
        (
            f"closing speed outside {r.closing_min_m_s:g}-{r.closing_max_m_s:g} m/s",
            (closing < r.closing_min_m_s) | (closing > r.closing_max_m_s),
        ),
    )
    phase = PhaseArrays(
        name=NAME,
        duration_s=np.full(n_runs, r.phasing_h * 3600.0 + elapsed),
        failure=code,
        failure_text=texts,
        figures={
            "approach_dv_m_s": dv_total,
            "miss_m": miss,
            "closing_speed_m_s": closing,
            "approach_time_h": np.full(n_runs, elapsed / 3600.0),
            "orbiter_propellant_kg": left,
        },
    )
    if record:
        trace = np.array(path)
        phase.trace = {
            "t_s": trace[:, 0],
            "radial_m": trace[:, 1],
            "along_m": trace[:, 2],
            "cross_m": trace[:, 3],
        }
    return phase
