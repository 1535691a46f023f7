"""Two-body orbit relations (vis-viva, Kepler) written for numpy arrays or plain floats.

Units are whatever the caller keeps consistent: km and km^3/s^2 in the orbit phases,
m and m^3/s^2 inside the integrated phases.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def vis_viva(mu: ArrayLike, r: ArrayLike, a: ArrayLike) -> FloatArray:
    """Speed at radius ``r`` on an orbit of semi-major axis ``a`` (negative for hyperbolae)."""
    return np.sqrt(np.asarray(mu) * (2.0 / np.asarray(r) - 1.0 / np.asarray(a)))


def circular_speed(mu: ArrayLike, r: ArrayLike) -> FloatArray:
    """Speed of a circular orbit of radius ``r``."""
    return np.sqrt(np.asarray(mu) / np.asarray(r))


def period(mu: ArrayLike, a: ArrayLike) -> FloatArray:
    """Orbital period from Kepler's third law."""
    return 2.0 * np.pi * np.sqrt(np.asarray(a) ** 3 / np.asarray(mu))


def semi_major_axis(mu: ArrayLike, period_s: ArrayLike) -> FloatArray:
    """Semi-major axis of an orbit with the given period (Kepler's third law inverted)."""
    return np.cbrt(np.asarray(mu) * (np.asarray(period_s) / (2.0 * np.pi)) ** 2)


def hyperbolic_periapsis_speed(mu: ArrayLike, r: ArrayLike, v_inf: ArrayLike) -> FloatArray:
    """Speed at radius ``r`` of a hyperbola with excess speed ``v_inf`` (energy balance)."""
    return np.sqrt(np.asarray(v_inf) ** 2 + 2.0 * np.asarray(mu) / np.asarray(r))


def time_from_periapsis(mu: ArrayLike, rp: ArrayLike, ra: ArrayLike, r: ArrayLike) -> FloatArray:
    """Time to climb from periapsis ``rp`` to radius ``r`` on the ellipse ``rp`` x ``ra``.

    Kepler's equation with the eccentric anomaly taken from ``r = a (1 - e cos E)``.
    """
    rp, ra, r = (np.asarray(x, dtype=float) for x in (rp, ra, r))
    a = 0.5 * (rp + ra)
    e = (ra - rp) / (ra + rp)
    cos_e = np.clip((1.0 - r / a) / e, -1.0, 1.0)
    ecc_anomaly = np.arccos(cos_e)
    return np.sqrt(a**3 / np.asarray(mu)) * (ecc_anomaly - e * np.sin(ecc_anomaly))


def flight_velocity(
    mu: ArrayLike, rp: ArrayLike, ra: ArrayLike, r: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Radial and tangential speed at radius ``r`` on the ellipse ``rp`` x ``ra``.

    Angular momentum fixes the tangential part; vis-viva gives the rest.
    """
    rp, ra, r = (np.asarray(x, dtype=float) for x in (rp, ra, r))
    a = 0.5 * (rp + ra)
    v = vis_viva(mu, r, a)
    v_t = vis_viva(mu, rp, a) * rp / r
    v_r = np.sqrt(np.maximum(v**2 - v_t**2, 0.0))
    return v_r, v_t


def apsides(
    mu: ArrayLike, r: ArrayLike, v_r: ArrayLike, v_t: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Periapsis and apoapsis radii of the orbit through a planar state (radius, speeds).

    An unbound state gets an infinite apoapsis.
    """
    mu, r, v_r, v_t = (np.asarray(x, dtype=float) for x in (mu, r, v_r, v_t))
    energy = 0.5 * (v_r**2 + v_t**2) - mu / r
    h = r * v_t
    e = np.sqrt(np.maximum(1.0 + 2.0 * energy * h**2 / mu**2, 0.0))
    p = h**2 / mu
    rp = p / (1.0 + e)
    with np.errstate(divide="ignore"):
        ra = np.where(e < 1.0, p / np.maximum(1.0 - e, 1e-300), np.inf)
    return rp, ra


def radius_at_time(mu: ArrayLike, rp: ArrayLike, ra: ArrayLike, t: ArrayLike) -> FloatArray:
    """Radius reached ``t`` seconds after periapsis on the ellipse ``rp`` x ``ra``.

    Solves Kepler's equation ``M = E - e sin E`` by Newton iteration.
    """
    rp, ra, t = (np.asarray(x, dtype=float) for x in (rp, ra, t))
    a = 0.5 * (rp + ra)
    e = (ra - rp) / (ra + rp)
    mean_anomaly = np.sqrt(np.asarray(mu) / a**3) * t
    ecc = mean_anomaly + e * np.sin(mean_anomaly)
    for _ in range(30):
        ecc = ecc - (ecc - e * np.sin(ecc) - mean_anomaly) / (1.0 - e * np.cos(ecc))
    return a * (1.0 - e * np.cos(ecc))
