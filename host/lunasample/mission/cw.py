"""Clohessy-Wiltshire relative motion about a circular orbit, closed form.

Frame: x radial (up), y along-track (direction of motion), z cross-track.
Equations: x'' = 3 n^2 x + 2 n y',  y'' = -2 n x',  z'' = -n^2 z.
States are arrays of shape (..., 6): position then velocity.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def stm(n: float, t: float) -> FloatArray:
    """6x6 state transition matrix over ``t`` seconds for mean motion ``n`` (rad/s)."""
    s, c = np.sin(n * t), np.cos(n * t)
    return np.array(
        [
            [4 - 3 * c, 0, 0, s / n, 2 * (1 - c) / n, 0],
            [6 * (s - n * t), 1, 0, -2 * (1 - c) / n, (4 * s - 3 * n * t) / n, 0],
            [0, 0, c, 0, 0, s / n],
            [3 * n * s, 0, 0, c, 2 * s, 0],
            [-6 * n * (1 - c), 0, 0, -2 * s, 4 * c - 3, 0],
            [0, 0, -n * s, 0, 0, c],
        ]
    )


def propagate(state: FloatArray, n: float, t: float) -> FloatArray:
    """States after ``t`` seconds of free drift."""
    return np.asarray(state) @ stm(n, t).T


def rhs(state: FloatArray, n: float) -> FloatArray:
    """Time derivative of a state (..., 6), for numerical cross-checks."""
    x, _, z, vx, vy, vz = np.moveaxis(np.asarray(state), -1, 0)
    return np.stack([vx, vy, vz, 3 * n**2 * x + 2 * n * vy, -2 * n * vx, -(n**2) * z], axis=-1)


def targeting_velocity(r0: FloatArray, r_f: FloatArray, n: float, t: float) -> FloatArray:
    """Departure velocity that carries positions ``r0`` to ``r_f`` in ``t`` seconds."""
    phi = stm(n, t)
    rhs_ = np.asarray(r_f) - np.asarray(r0) @ phi[:3, :3].T
    return np.linalg.solve(phi[:3, 3:], rhs_.T).T


def coelliptic_drift(x: FloatArray, n: float) -> FloatArray:
    """Along-track speed of a circular orbit offset radially by ``x`` (drift rate)."""
    return -1.5 * n * np.asarray(x)
