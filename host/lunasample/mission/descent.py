"""Powered descent from 15 km to touchdown with a 7500 N variable-thrust engine.

The lander leaves the circular parking orbit with a descent-orbit burn (vis-viva)
to a periselene of ``start_alt_km`` above the site. From there the braking and
approach phases are integrated in planar polar coordinates over a spherical Moon
(state: downrange, altitude, horizontal and vertical speed, mass):

* braking: full thrust, the vertical share chosen so the altitude reaches the
  approach gate when the horizontal speed reaches zero (time-to-go steering);
* approach: throttled, horizontal speed nulled, sink rate proportional to the
  height above the hover altitude.

Hover, the lateral hazard-avoidance manoeuvre (bang-bang, time ``2 sqrt(d/a)``) and
the slow final descent are short and near-static, so they are costed with
Tsiolkovsky on gravity-loss delta-v. After engine cut-off at ``cutoff_alt_m`` the
lander falls freely to the ground.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.draws import Draws
from lunasample.mission.integrate import rk4
from lunasample.mission.orbits import circular_speed, vis_viva
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams
from lunasample.mission.rocket import delta_v, exhaust_velocity, planar_rhs, propellant_for

NAME = "descent"
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class DescentDynamics:
    """Equations of motion and guidance; fields may be arrays over runs."""

    mu: float  # m^3/s^2
    r_site: float  # m, lunar radius at the landing site
    thrust_max: FloatArray | float  # N
    thrust_min: FloatArray | float  # N
    ve: FloatArray | float  # m/s
    dry_kg: float
    gate_alt_m: float
    hover_alt_m: float
    switch_speed: float
    tau_v: float
    tau_h: float
    max_rate: float
    min_rate: float

    def thrust(self, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Guidance: horizontal and vertical thrust (N) for states ``y`` (5, n)."""
        _, h, vx, vh, m = y
        r = self.r_site + h
        g_eff = self.mu / r**2 - vx**2 / r
        braking = vx > self.switch_speed
        # Braking: full thrust, steer the vertical rate to reach the gate as vx -> 0.
        t_go = np.maximum(vx * m / self.thrust_max, 1.0)
        vh_gate = np.clip(-(h - self.gate_alt_m) / t_go, -3.0 * self.max_rate, self.max_rate)
        th_brake = np.clip(m * (g_eff + (vh_gate - vh) / self.tau_v), 0.0, self.thrust_max)
        tx_brake = -np.sqrt(np.maximum(self.thrust_max**2 - th_brake**2, 0.0))
        # Approach: sink rate proportional to height above hover, horizontal speed nulled.
        sink = np.clip(
            (h - self.hover_alt_m) / self.tau_h + self.min_rate, self.min_rate, self.max_rate
        )
        ah = np.maximum(g_eff + (-sink - vh) / self.tau_v, 0.0)
        ax = -vx / self.tau_v
        a = np.maximum(np.hypot(ax, ah), 1e-9)
        t_app = np.clip(m * a, self.thrust_min, self.thrust_max)
        tx = np.where(braking, tx_brake, t_app * ax / a)
        th = np.where(braking, th_brake, t_app * ah / a)
        burning = m > self.dry_kg
        return np.where(burning, tx, 0.0), np.where(burning, th, 0.0)

    def rhs(self, y: FloatArray) -> FloatArray:
        """Time derivative of (downrange, altitude, vx, vh, mass)."""
        tx, th = self.thrust(y)
        return planar_rhs(y, tx, th, self.r_site, self.mu, self.ve)

    def event(self, y: FloatArray) -> FloatArray:
        """<= 0 at the hover altitude once braking is over, or on hitting the ground."""
        _, h, vx, _, _ = y
        at_hover = h - self.hover_alt_m + 1e5 * np.maximum(vx - self.switch_speed, 0.0)
        return np.minimum(at_hover, h)


def _descent_orbit(p: MissionParams) -> tuple[float, float, float]:
    """(parking radius, periselene radius, semi-major axis) of the descent orbit, km."""
    c = p.constants
    r_park = c.moon_radius_km + p.loi.capture_periapsis_alt_km
    r_peri = c.moon_radius_km + p.mission.landing_elevation_m / 1000.0 + p.descent.start_alt_km
    return r_park, r_peri, 0.5 * (r_park + r_peri)


def doi_delta_v(p: MissionParams) -> float:
    """Descent-orbit burn (m/s): circular parking orbit to the descent ellipse."""
    mu = p.constants.moon_gm_km3_s2
    r_park, _, a = _descent_orbit(p)
    return float(circular_speed(mu, r_park) - vis_viva(mu, r_park, a)) * 1000.0


def initial_state(p: MissionParams, mass_kg: FloatArray) -> FloatArray:
    """State (5, n) at periselene, where powered descent starts."""
    _, r_peri, a = _descent_orbit(p)
    mass_kg = np.asarray(mass_kg, dtype=float)
    y0 = np.zeros((5, mass_kg.shape[0]))
    y0[1] = p.descent.start_alt_km * 1000.0
    y0[2] = float(vis_viva(p.constants.moon_gm_km3_s2, r_peri, a)) * 1000.0
    y0[4] = mass_kg
    return y0


def dynamics(p: MissionParams, d: Draws) -> DescentDynamics:
    """Dynamics with each run's dispersed thrust and specific impulse."""
    c, de = p.constants, p.descent
    v = p.vehicle
    scale = 1.0 + de.thrust_sigma_frac * d.descent_thrust_z
    return DescentDynamics(
        mu=c.moon_gm_km3_s2 * 1e9,
        r_site=(c.moon_radius_km * 1000.0 + p.mission.landing_elevation_m),
        thrust_max=de.engine_thrust_n * scale,
        thrust_min=de.min_thrust_n * scale,
        ve=exhaust_velocity(de.isp_s * (1.0 + de.isp_sigma_frac * d.descent_isp_z), c.g0_m_s2),
        dry_kg=v.lander_dry_kg + v.ascender_dry_kg + v.ascender_propellant_kg,
        gate_alt_m=de.gate_alt_m,
        hover_alt_m=de.hover_alt_m,
        switch_speed=de.switch_speed_m_s,
        tau_v=de.braking_tau_s,
        tau_h=de.approach_tau_s,
        max_rate=de.approach_max_rate_m_s,
        min_rate=de.approach_min_rate_m_s,
    )


def simulate(p: MissionParams, d: Draws, *, record: bool = False) -> PhaseArrays:
    """Descent-orbit burn, powered descent, hover, hazard avoidance and touchdown."""
    de, v = p.descent, p.vehicle
    n = d.n
    dyn = dynamics(p, d)
    wet = v.lander_dry_kg + v.lander_propellant_kg + v.ascender_dry_kg + v.ascender_propellant_kg
    ve = dyn.ve
    dv_doi = doi_delta_v(p)
    m0 = wet - propellant_for(dv_doi, ve, wet)
    y0 = initial_state(p, m0)
    run = rk4(dyn.rhs, dyn.event, y0, de.dt_s, de.max_time_s, record=record)
    _, h, vx, vh, m_hover = run.y
    reached = run.finished & (h > 0.5 * de.hover_alt_m)

    g_site = dyn.mu / dyn.r_site**2
    divert = de.divert_mean_m * d.divert_e
    t_divert = 2.0 * np.sqrt(divert / de.divert_accel_m_s2)
    final_rate = np.maximum(de.final_rate_m_s + de.final_rate_sigma_m_s * d.final_rate_z, 0.1)
    cutoff = np.maximum(de.cutoff_alt_m + de.cutoff_alt_sigma_m * d.cutoff_alt_z, 0.0)
    t_final = (de.hover_alt_m - cutoff) / final_rate
    # Holding the weight costs g per second; the divert adds its accelerate/brake pair.
    dv_terminal = (
        g_site * (de.hover_s + t_divert + t_final)
        + 2.0 * np.sqrt(divert * de.divert_accel_m_s2)
        + final_rate
    )
    m_land = m_hover - propellant_for(dv_terminal, ve, m_hover)
    margin = m_land - dyn.dry_kg
    touchdown = np.sqrt(final_rate**2 + 2.0 * g_site * cutoff)
    slope = np.abs(de.slope_sigma_deg * d.slope_z)

    radius_km = dyn.r_site / 1000.0
    err = de.landing_sigma_km * d.landing_z
    lat = p.mission.landing_lat_deg + np.degrees(err[:, 0] / radius_km)
    lon = p.mission.landing_lon_deg + np.degrees(
        err[:, 1] / (radius_km * np.cos(np.radians(p.mission.landing_lat_deg)))
    )
    miss_km = np.hypot(err[:, 0], err[:, 1])

    code, texts = checks(
        n,
        ("propellant exhausted before the hover point", ~reached & (m_hover <= dyn.dry_kg)),
        ("did not reach the hover point", ~reached),
        (
            f"hazard not avoided: no safe spot within {de.divert_max_m:g} m",
            divert > de.divert_max_m,
        ),
        ("descent propellant margin below zero", margin < 0),
        (
            f"touchdown speed over {de.touchdown_limit_m_s:g} m/s",
            touchdown > de.touchdown_limit_m_s,
        ),
        (f"site slope over {de.slope_limit_deg:g} deg", slope > de.slope_limit_deg),
    )
    powered_s = run.t
    duration = (
        _doi_coast_s(p)
        + powered_s
        + de.hover_s
        + t_divert
        + t_final
        + np.sqrt(2.0 * cutoff / g_site)
    )
    phase = PhaseArrays(
        name=NAME,
        duration_s=duration,
        failure=code,
        failure_text=texts,
        figures={
            "doi_dv_m_s": np.full(n, dv_doi),
            "powered_descent_s": powered_s,
            "descent_dv_m_s": delta_v(ve, m0, np.maximum(m_land, 1.0)),
            "hover_speed_m_s": np.hypot(vx, vh),
            "divert_m": divert,
            "propellant_margin_kg": margin,
            "touchdown_speed_m_s": touchdown,
            "slope_deg": slope,
            "landing_lat_deg": lat,
            "landing_lon_deg": lon,
            "landing_error_km": miss_km,
        },
        anomalies={
            f"landed outside the planned {de.ellipse_radius_km:g} km ellipse": miss_km
            > de.ellipse_radius_km
        },
    )
    if record and run.trace_y is not None:
        phase.trace = _trace(
            dyn,
            run.trace_t,
            run.trace_y,
            float(t_divert[0]),
            float(t_final[0]),
            float(cutoff[0]),
            float(final_rate[0]),
            g_site,
            de.hover_s,
            de.hover_alt_m,
        )
    return phase


def _doi_coast_s(p: MissionParams) -> float:
    """Half an orbit from the descent-orbit burn down to periselene."""
    _, _, a = _descent_orbit(p)
    return float(np.pi * np.sqrt(a**3 / p.constants.moon_gm_km3_s2))


def _trace(
    dyn: DescentDynamics,
    t: FloatArray,
    y: FloatArray,
    t_divert: float,
    t_final: float,
    cutoff: float,
    rate: float,
    g: float,
    hover_s: float,
    hover_alt: float,
) -> dict[str, FloatArray]:
    """Time series of run 0: integrated part, then hover, divert, final descent, fall."""
    one = dataclasses.replace(
        dyn,
        thrust_max=_first(dyn.thrust_max),
        thrust_min=_first(dyn.thrust_min),
        ve=_first(dyn.ve),
    )
    tx, th = one.thrust(y)
    thrust = np.hypot(tx, th)
    t_end = t[-1]
    m_end = y[4, -1]
    t_hold = t_end + hover_s + t_divert
    t_cut = t_hold + t_final
    t_touch = t_cut + np.sqrt(2.0 * cutoff / g)
    extra_t = np.array([t_hold, t_cut, t_touch])
    extra_h = np.array([hover_alt, cutoff, 0.0])
    extra_v = np.array([0.0, rate, np.sqrt(rate**2 + 2.0 * g * cutoff)])
    extra_f = np.array([m_end * g, m_end * g, 0.0])
    return {
        "t_s": np.concatenate([t, extra_t]),
        "altitude_m": np.concatenate([y[1], extra_h]),
        "speed_m_s": np.concatenate([np.hypot(y[2], y[3]), extra_v]),
        "thrust_n": np.concatenate([thrust, extra_f]),
    }


def _first(x: FloatArray | float) -> float:
    return float(np.asarray(x).reshape(-1)[0])
