"""Surface operations: relay visibility, power and thermal budget over the ~48 h stay.

* Relay: a Queqiao-2-like relay on a 24 h elliptical frozen orbit (Kepler's
  equation for its position, the Moon turning under it); the lander sees it when
  its elevation is above a floor. Sampling is commanded through the relay
  (its steps wait for the ground, mission/groundloop.py); ascent waits for a
  window.
* Power: solar array output ``P sin(e + tilt)`` with the sun elevation ``e`` rising
  at the lunar-day rate, against base, sampling and payload loads; the battery
  state of charge is stepped in time, payloads are shed when it runs low.
* Thermal: surface radiative-equilibrium temperature
  ``T = (S (1 - A) sin e / (eps sigma))^(1/4)`` against the equipment rating.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.draws import Draws
from lunasample.mission.orbits import semi_major_axis
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams

NAME = "surface operations"
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def relay_visible(p: MissionParams, t_h: FloatArray, phase_h: FloatArray) -> BoolArray:
    """Whether the relay is above the elevation floor at the site.

    ``t_h`` are hours since landing (shape (T,)); ``phase_h`` is, per run, the time
    since relay periapsis at landing (shape (n,)). Returns (n, T).
    """
    c, s = p.constants, p.surface
    mu = c.moon_gm_km3_s2
    a = float(semi_major_axis(mu, s.relay_period_h * 3600.0))
    r_p = c.moon_radius_km + s.relay_periapsis_alt_km
    e = 1.0 - r_p / a
    tau = (np.asarray(phase_h)[:, None] + np.asarray(t_h)[None, :]) * 3600.0
    mean = 2.0 * np.pi * tau / (s.relay_period_h * 3600.0)
    ecc = mean + e * np.sin(mean)
    for _ in range(8):
        ecc = ecc - (ecc - e * np.sin(ecc) - mean) / (1.0 - e * np.cos(ecc))
    px = a * (np.cos(ecc) - e)
    py = a * np.sqrt(1.0 - e**2) * np.sin(ecc)
    rot = _perifocal_to_inertial(
        s.relay_raan_deg, s.relay_inclination_deg, s.relay_arg_periapsis_deg
    )
    relay = px[..., None] * rot[:, 0] + py[..., None] * rot[:, 1]
    # The site turns with the Moon's sidereal rotation under the inertially fixed orbit.
    lat = np.radians(p.mission.landing_lat_deg)
    lon = np.radians(p.mission.landing_lon_deg) + 2.0 * np.pi * np.asarray(t_h) / (
        c.sidereal_month_d * 24.0
    )
    r_site = c.moon_radius_km + p.mission.landing_elevation_m / 1000.0
    up = np.stack(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.full_like(lon, np.sin(lat))],
        axis=-1,
    )
    los = relay - r_site * up
    sin_el = np.sum(los * up, axis=-1) / np.linalg.norm(los, axis=-1)
    return sin_el >= np.sin(np.radians(s.relay_min_elevation_deg))


def _perifocal_to_inertial(raan_deg: float, inc_deg: float, argp_deg: float) -> FloatArray:
    """Columns: perifocal x and y axes in the Moon-centred equatorial frame."""
    o, i, w = np.radians([raan_deg, inc_deg, argp_deg])
    co, so, ci, si, cw, sw = np.cos(o), np.sin(o), np.cos(i), np.sin(i), np.cos(w), np.sin(w)
    return np.array(
        [
            [co * cw - so * sw * ci, -co * sw - so * cw * ci],
            [so * cw + co * sw * ci, -so * sw + co * cw * ci],
            [sw * si, cw * si],
        ]
    )


def sun_elevation_deg(p: MissionParams, t_h: FloatArray, start_deg: FloatArray) -> FloatArray:
    """Sun elevation after ``t_h`` hours in the local morning, per run (n, T)."""
    c = p.constants
    rate = 360.0 / (c.synodic_month_d * 24.0) * np.cos(np.radians(p.mission.landing_lat_deg))
    return np.asarray(start_deg)[:, None] + rate * np.asarray(t_h)[None, :]


def surface_temperature_k(p: MissionParams, elevation_deg: FloatArray) -> FloatArray:
    """Radiative-equilibrium regolith temperature under the sun at ``elevation_deg``."""
    c, s = p.constants, p.surface
    flux = (
        c.solar_constant_w_m2
        * (1.0 - s.surface_albedo)
        * np.maximum(np.sin(np.radians(elevation_deg)), 0.0)
    )
    return (flux / (s.surface_emissivity * c.stefan_boltzmann)) ** 0.25


def simulate(p: MissionParams, d: Draws, *, record: bool = False) -> PhaseArrays:
    """Surface stay for every run: sampling budget, ascent window, power, thermal."""
    s = p.surface
    n = d.n
    horizon = s.stay_h + s.ascent_max_delay_h
    t_h = np.arange(0.0, horizon + 0.5 * s.step_h, s.step_h)
    phase_h = s.relay_phase_h + s.relay_phase_sigma_h * d.relay_phase_z
    visible = relay_visible(p, t_h, phase_h)

    # Sampling may run from the checkout until the ascent preparations begin;
    # within it, the ground works only while the relay is up (groundloop.py).
    span_h = s.stay_h - s.checkout_h - s.ascent_prep_h
    budget_h = np.full(n, min(span_h, s.sampling_max_h))
    after = t_h >= s.stay_h
    window_at = np.where(visible[:, after], t_h[after][None, :], np.inf).min(axis=1)
    delay_h = window_at - s.stay_h

    elevation = sun_elevation_deg(
        p, t_h, s.sun_elevation_deg + s.sun_elevation_sigma_deg * d.sun_elevation_z
    )
    solar_w = s.array_power_w * np.maximum(np.sin(np.radians(elevation + s.array_tilt_deg)), 0.0)
    base_w = s.base_load_w * (1.0 + s.load_sigma_frac * d.load_z)
    payload_w = s.radon_w + s.negative_ion_w + s.retroreflector_w
    sampling = (t_h[None, :] >= s.checkout_h) & (t_h[None, :] < s.checkout_h + budget_h[:, None])
    energy = np.full(n, s.battery_wh)
    min_soc = np.ones(n)
    payload_h = np.zeros(n)
    shed_h = np.zeros(n)
    soc_trace = []
    for k in range(t_h.size):
        if t_h[k] >= s.stay_h:
            break
        payloads_on = energy / s.battery_wh > s.payload_shed_soc
        load = base_w + s.sampling_load_w * sampling[:, k] + payload_w * payloads_on
        energy = np.clip(energy + (solar_w[:, k] - load) * s.step_h, 0.0, s.battery_wh)
        min_soc = np.minimum(min_soc, energy / s.battery_wh)
        payload_h += s.step_h * payloads_on
        shed_h += s.step_h * ~payloads_on
        if record:
            soc_trace.append(energy[0] / s.battery_wh)
    stay = t_h < s.stay_h
    max_temp = surface_temperature_k(p, elevation[:, stay].max(axis=1))

    code, texts = checks(
        n,
        ("battery below its minimum state of charge", min_soc < s.battery_min_soc),
        (
            f"surface temperature over the {s.max_surface_temp_k:g} K equipment rating",
            max_temp > s.max_surface_temp_k,
        ),
        (f"no relay window for ascent within {s.ascent_max_delay_h:g} h", ~np.isfinite(delay_h)),
    )
    delay_h = np.where(np.isfinite(delay_h), delay_h, s.ascent_max_delay_h)
    phase = PhaseArrays(
        name=NAME,
        duration_s=(s.stay_h + delay_h) * 3600.0,
        failure=code,
        failure_text=texts,
        figures={
            "relay_visible_frac": visible[:, stay].mean(axis=1),
            "sampling_budget_h": budget_h,
            "ascent_delay_h": delay_h,
            "min_soc": min_soc,
            "payload_hours": payload_h,
            "max_surface_temp_k": max_temp,
            "sun_elevation_end_deg": elevation[:, stay][:, -1],
        },
        anomalies={
            "ascent waited for a relay window": delay_h > 0,
            "payloads shed for low battery": shed_h > 0,
        },
    )
    if record:
        phase.trace = {
            "t_h": t_h[stay],
            "relay_visible": visible[0, stay].astype(float),
            "soc": np.asarray(soc_trace),
        }
    return phase
