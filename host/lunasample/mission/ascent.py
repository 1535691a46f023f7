"""Ascent from the lunar surface to orbit with the 3000 N ascender engine (~6 min).

Integrated in the same planar polar frame as the descent. The ascender rises
vertically, then steers with time-to-go guidance: full thrust, the vertical share
set by the minimum-effort law for a double integrator, so the altitude reaches the
insertion periselene with zero climb rate when the horizontal speed reaches the
periselene speed of the target orbit (vis-viva); the engine cuts off there. The
orbit reached follows from the cut-off state. A burn at aposelene then
circularises the ascender in the rendezvous orbit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.draws import Draws
from lunasample.mission.integrate import rk4
from lunasample.mission.orbits import apsides, circular_speed, period, vis_viva
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams
from lunasample.mission.rocket import delta_v, exhaust_velocity, planar_rhs, propellant_for

NAME = "ascent"
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AscentDynamics:
    """Equations of motion and guidance; fields may be arrays over runs."""

    mu: float  # m^3/s^2
    r_site: float  # m
    thrust: FloatArray | float  # N
    ve: FloatArray | float  # m/s
    dry_kg: FloatArray | float
    target_alt_m: float  # insertion periselene above the site
    target_speed: float  # m/s, periselene speed of the insertion orbit
    rise_m: float
    tau: float

    def steering(self, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Horizontal and vertical thrust (N) for states ``y`` (5, n)."""
        _, h, vx, vh, m = y
        r = self.r_site + h
        g_eff = self.mu / r**2 - vx**2 / r
        t_go = np.maximum((self.target_speed - vx) * m / self.thrust, self.tau)
        # Minimum-effort steering to altitude target with zero vertical rate at t_go:
        # a = 6 (h_t - h) / t_go^2 - 4 vh / t_go on top of the effective gravity.
        a_h = g_eff + 6.0 * (self.target_alt_m - h) / t_go**2 - 4.0 * vh / t_go
        # The vertical share may dip below zero late in the burn to shed climb rate.
        th = np.clip(m * a_h, -0.5 * self.thrust, self.thrust)
        tx = np.sqrt(np.maximum(self.thrust**2 - th**2, 0.0))
        rising = h < self.rise_m
        th = np.where(rising, self.thrust, th)
        tx = np.where(rising, 0.0, tx)
        burning = m > self.dry_kg
        return np.where(burning, tx, 0.0), np.where(burning, th, 0.0)

    def rhs(self, y: FloatArray) -> FloatArray:
        """Time derivative of (downrange, altitude, vx, vh, mass)."""
        tx, th = self.steering(y)
        return planar_rhs(y, tx, th, self.r_site, self.mu, self.ve)

    def event(self, y: FloatArray) -> FloatArray:
        """<= 0 at engine cut-off (target speed reached) or on falling back to the ground."""
        _, h, vx, _, _ = y
        return np.minimum(self.target_speed - vx, h + 1.0)


def dynamics(p: MissionParams, d: Draws, sample_kg: FloatArray) -> AscentDynamics:
    """Dynamics with each run's dispersed engine and its sample on board."""
    c, a = p.constants, p.ascent
    mu_km = c.moon_gm_km3_s2
    r_p = c.moon_radius_km + a.target_periapsis_alt_km
    r_a = c.moon_radius_km + a.target_apoapsis_alt_km
    r_site = c.moon_radius_km * 1000.0 + p.mission.landing_elevation_m
    return AscentDynamics(
        mu=mu_km * 1e9,
        r_site=r_site,
        thrust=a.engine_thrust_n * (1.0 + a.thrust_sigma_frac * d.ascent_thrust_z),
        ve=exhaust_velocity(a.isp_s * (1.0 + a.isp_sigma_frac * d.ascent_isp_z), c.g0_m_s2),
        dry_kg=p.vehicle.ascender_dry_kg + sample_kg,
        target_alt_m=r_p * 1000.0 - r_site,
        target_speed=float(vis_viva(mu_km, r_p, 0.5 * (r_p + r_a))) * 1000.0,
        rise_m=a.vertical_rise_m,
        tau=a.guidance_tau_s,
    )


def simulate(
    p: MissionParams, d: Draws, sample_g: FloatArray, *, record: bool = False
) -> PhaseArrays:
    """Powered ascent and circularisation for every run; ``sample_g`` rides along."""
    c, a = p.constants, p.ascent
    n = d.n
    sample_kg = np.asarray(sample_g, dtype=float) / 1000.0
    dyn = dynamics(p, d, sample_kg)
    m0 = p.vehicle.ascender_dry_kg + p.vehicle.ascender_propellant_kg + sample_kg
    y0 = np.zeros((5, n))
    y0[4] = m0
    run = rk4(dyn.rhs, dyn.event, y0, a.dt_s, a.max_time_s, record=record)
    _, h, vx, vh, m_cut = run.y
    cut_off = run.finished & (h > 0.0) & (vx >= dyn.target_speed - 1.0)

    mu = c.moon_gm_km3_s2
    r_km = (dyn.r_site + h) / 1000.0
    rp, ra = apsides(mu, r_km, vh / 1000.0, vx / 1000.0)
    with np.errstate(invalid="ignore"):
        dv_circ = (
            np.where(
                np.isfinite(ra), circular_speed(mu, ra) - vis_viva(mu, ra, 0.5 * (rp + ra)), np.inf
            )
            * 1000.0
        )
    m_orbit = m_cut - propellant_for(dv_circ, dyn.ve, m_cut)
    margin = m_orbit - dyn.dry_kg
    peri_alt = rp - c.moon_radius_km
    code, texts = checks(
        n,
        ("ascender propellant exhausted before orbit", ~cut_off & (m_cut <= dyn.dry_kg)),
        ("ascent did not reach orbit", ~cut_off),
        (
            f"insertion periselene below {a.min_periapsis_alt_km:g} km",
            peri_alt < a.min_periapsis_alt_km,
        ),
        ("ascender propellant margin below zero after circularisation", margin < 0),
    )
    with np.errstate(invalid="ignore"):
        half_orbit = 0.5 * period(mu, 0.5 * (rp + ra))
    phase = PhaseArrays(
        name=NAME,
        duration_s=run.t + np.where(np.isfinite(half_orbit), half_orbit, 0.0),
        failure=code,
        failure_text=texts,
        figures={
            "burn_time_s": run.t,
            "ascent_dv_m_s": delta_v(dyn.ve, m0, m_cut),
            "insertion_periapsis_alt_km": peri_alt,
            "insertion_apoapsis_alt_km": ra - c.moon_radius_km,
            "circularise_dv_m_s": dv_circ,
            "orbit_alt_km": ra - c.moon_radius_km,
            "propellant_margin_kg": margin,
        },
    )
    if record and run.trace_y is not None:
        ty = run.trace_y
        phase.trace = {
            "t_s": run.trace_t,
            "altitude_m": ty[1],
            "vx_m_s": ty[2],
            "vh_m_s": ty[3],
            "mass_kg": ty[4],
        }
    return phase
