"""Skip re-entry of the returner at ~11 km/s.

Planar point-mass entry over a spherical, non-rotating Earth with an exponential
atmosphere (state: altitude, downrange, speed, flight-path angle, and the climb
made above the skip altitude, which tells the second entry from the first):

    dv/dt = -D/m - g sin(gamma)
    dgamma/dt = (L/m) cos(bank) / v + (v / r - g / v) cos(gamma)

with ``D/m = rho v^2 / (2 beta)``, ``beta = m / (Cd A)``, ``L = (L/D) D``. The bank
law flies full lift up while descending in the first dive, to pull out. Once
climbing, the lift fraction ``cos(bank)`` steers the skip: it is corrected in proportion
to the error between a target skip apex and the apex of the Kepler conic through
the current state (drag-free prediction, as skip guidance does). Once the capsule
has climbed above the skip altitude and comes back, it flies a fixed lift fraction
for the second entry. Peak deceleration and Sutton-Graves stagnation heat flux
``q = k sqrt(rho / Rn) v^3`` are tracked along the way; the phase ends at the
parachute deployment altitude.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.draws import Draws
from lunasample.mission.integrate import rk4
from lunasample.mission.orbits import apsides
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams

NAME = "re-entry"
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class EntryDynamics:
    """Equations of motion; fields may be arrays over runs."""

    mu: float  # m^3/s^2
    r_earth: float  # m
    beta: float  # kg/m^2, ballistic coefficient
    lift_to_drag: FloatArray | float
    rho0: FloatArray | float
    scale_height: float  # m
    exit_lift: float
    apex_target: float  # m, skip apex altitude aimed for
    apex_gain: float
    skip_alt: float  # m, above this the capsule is out of the sensible atmosphere
    second_lift: float
    chute_alt: float  # m

    def density(self, h: FloatArray) -> FloatArray:
        """Exponential atmosphere."""
        return self.rho0 * np.exp(-h / self.scale_height)

    def accelerations(self, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Drag and lift accelerations (m/s^2) for states ``y`` (5, n)."""
        h, _, v = y[0], y[1], y[2]
        drag = 0.5 * self.density(h) * v**2 / self.beta
        return drag, self.lift_to_drag * drag

    def lift_fraction(self, y: FloatArray) -> FloatArray:
        """Bank law: vertical share of the lift, cos(bank), in [-1, 1]."""
        h, _, v, gamma, climbed = y
        r = self.r_earth + h
        _, ra = apsides(self.mu, r, v * np.sin(gamma), v * np.cos(gamma))
        apex = np.minimum(ra - self.r_earth, 10.0 * self.apex_target)
        steer = np.clip(
            self.exit_lift + self.apex_gain * (self.apex_target - apex) / self.apex_target,
            -1.0,
            1.0,
        )
        first = np.where(gamma > 0.0, steer, 1.0)
        # Past the skip apex (or back below the skip altitude) the second entry begins.
        second = (climbed > 0.0) & ((gamma < 0.0) | (h < self.skip_alt))
        return np.where(second, self.second_lift, first)

    def rhs(self, y: FloatArray) -> FloatArray:
        """Time derivative of (altitude, downrange, speed, flight-path angle, climb)."""
        h, _, v, gamma, _ = y
        r = self.r_earth + h
        g = self.mu / r**2
        drag, lift = self.accelerations(y)
        vh = v * np.sin(gamma)
        return np.stack(
            [
                vh,
                v * np.cos(gamma) * self.r_earth / r,
                -drag - g * np.sin(gamma),
                lift * self.lift_fraction(y) / v + (v / r - g / v) * np.cos(gamma),
                np.where(h > self.skip_alt, np.maximum(vh, 0.0), 0.0),
            ]
        )

    def event(self, y: FloatArray) -> FloatArray:
        """<= 0 at parachute deployment altitude."""
        return y[0] - self.chute_alt


def dynamics(p: MissionParams, d: Draws) -> EntryDynamics:
    """Dynamics with each run's dispersed lift-to-drag ratio and density."""
    c, e = p.constants, p.reentry
    return EntryDynamics(
        mu=c.earth_gm_km3_s2 * 1e9,
        r_earth=c.earth_radius_km * 1000.0,
        beta=p.vehicle.returner_kg / (e.drag_coefficient * e.area_m2),
        lift_to_drag=e.lift_to_drag * (1.0 + e.lift_to_drag_sigma_frac * d.lift_to_drag_z),
        rho0=e.rho0_kg_m3 * (1.0 + e.density_sigma_frac * d.density_z),
        scale_height=e.scale_height_km * 1000.0,
        exit_lift=e.exit_lift_fraction,
        apex_target=e.skip_apex_target_km * 1000.0,
        apex_gain=e.skip_apex_gain,
        skip_alt=e.skip_alt_km * 1000.0,
        second_lift=e.second_entry_lift_fraction,
        chute_alt=e.chute_alt_km * 1000.0,
    )


class _Peaks:
    """Running extremes along the trajectories: loads, heating, first dip, skip apex."""

    def __init__(self, dyn: EntryDynamics, g0: float, rn: float, k: float, n: int) -> None:
        self.dyn, self.g0, self.rn, self.k = dyn, g0, rn, k
        self.g = np.zeros(n)
        self.heat = np.zeros(n)
        self.climbed = np.zeros(n, dtype=bool)
        self.dip = np.full(n, np.inf)
        self.apex = np.zeros(n)

    def __call__(self, y: FloatArray, active: NDArray[np.bool_]) -> None:
        h, _, v, gamma, _ = y
        drag, lift = self.dyn.accelerations(y)
        self.g = np.where(active, np.maximum(self.g, np.hypot(drag, lift) / self.g0), self.g)
        q = self.k * np.sqrt(self.dyn.density(h) / self.rn) * v**3
        self.heat = np.where(active, np.maximum(self.heat, q), self.heat)
        first_dive = active & ~self.climbed
        self.dip = np.where(first_dive, np.minimum(self.dip, h), self.dip)
        self.climbed |= active & (gamma > 0)
        self.apex = np.where(active & self.climbed, np.maximum(self.apex, h), self.apex)


def initial_state(p: MissionParams, d: Draws, entry_speed_km_s: FloatArray) -> FloatArray:
    """State (5, n) at the entry interface."""
    e = p.reentry
    y0 = np.zeros((5, d.n))
    y0[0] = e.interface_alt_km * 1000.0
    y0[2] = np.asarray(entry_speed_km_s) * 1000.0
    y0[3] = np.radians(e.entry_angle_deg + e.entry_angle_sigma_deg * d.entry_angle_z)
    return y0


def simulate(
    p: MissionParams, d: Draws, entry_speed_km_s: FloatArray, *, record: bool = False
) -> PhaseArrays:
    """Entry interface to parachute deployment for every run."""
    e = p.reentry
    n = d.n
    dyn = dynamics(p, d)
    peaks = _Peaks(dyn, p.constants.g0_m_s2, e.nose_radius_m, e.sutton_graves_k, n)
    y0 = initial_state(p, d, entry_speed_km_s)
    run = rk4(dyn.rhs, dyn.event, y0, e.dt_s, e.max_time_s, record=record, watch=peaks)
    heat_mw = peaks.heat / 1e6
    code, texts = checks(
        n,
        ("returner skipped out and did not come back in time", ~run.finished),
        (f"peak deceleration over {e.peak_g_limit:g} g", peaks.g > e.peak_g_limit),
        (
            f"peak heat flux over {e.heat_flux_limit_mw_m2:g} MW/m^2",
            heat_mw > e.heat_flux_limit_mw_m2,
        ),
    )
    phase = PhaseArrays(
        name=NAME,
        duration_s=run.t,
        failure=code,
        failure_text=texts,
        figures={
            "entry_speed_km_s": np.asarray(entry_speed_km_s, dtype=float) * np.ones(n),
            "entry_angle_deg": np.degrees(y0[3]),
            "peak_g": peaks.g,
            "peak_heat_mw_m2": heat_mw,
            "first_dip_alt_km": peaks.dip / 1000.0,
            "skip_apex_alt_km": peaks.apex / 1000.0,
            "downrange_km": run.y[1] / 1000.0,
            "chute_speed_m_s": run.y[2],
        },
        anomalies={
            "no skip: the returner stayed in the atmosphere": peaks.apex < e.skip_alt_km * 1000.0
        },
    )
    if record and run.trace_y is not None:
        phase.trace = {
            "t_s": run.trace_t,
            "altitude_m": run.trace_y[0],
            "speed_m_s": run.trace_y[2],
            "downrange_m": run.trace_y[1],
        }
    return phase
