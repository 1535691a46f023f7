"""Rocket equation (Tsiolkovsky) for numpy arrays or plain floats."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def exhaust_velocity(isp_s: ArrayLike, g0: float) -> FloatArray:
    """Effective exhaust velocity from specific impulse."""
    return np.asarray(isp_s, dtype=float) * g0


def delta_v(ve: ArrayLike, m0: ArrayLike, mf: ArrayLike) -> FloatArray:
    """Ideal velocity change for burning from mass ``m0`` down to ``mf``."""
    return np.asarray(ve) * np.log(np.asarray(m0) / np.asarray(mf))


def propellant_for(dv: ArrayLike, ve: ArrayLike, m0: ArrayLike) -> FloatArray:
    """Propellant mass a stage of initial mass ``m0`` burns to gain ``dv``."""
    return np.asarray(m0) * (1.0 - np.exp(-np.asarray(dv) / np.asarray(ve)))


def planar_rhs(
    y: FloatArray, tx: FloatArray, th: FloatArray, r_site: float, mu: float, ve: FloatArray
) -> FloatArray:
    """Time derivative of (downrange, altitude, vx, vh, mass) of a rocket over a
    spherical, airless Moon, thrust (tx, th) horizontal and vertical, in SI units.
    Shared by powered descent and ascent."""
    _, h, vx, vh, m = y
    r = r_site + h
    return np.stack(
        [
            vx * r_site / r,
            vh,
            tx / m - vx * vh / r,
            th / m - mu / r**2 + vx**2 / r,
            -np.hypot(tx, th) / ve,
        ]
    )
