"""Fixed-step RK4 over many runs at once, each run stopping at its own event.

The integrated phases (descent, ascent, re-entry) write their dynamics as
``rhs(y) -> dy/dt`` on arrays of shape (n_state, n_runs) and an ``event(y)`` that
goes <= 0 when a run is finished. The same two functions feed scipy's ``solve_ivp``
in the reference benchmark, so the vectorised integrator is checked against an
adaptive one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Rhs = Callable[[FloatArray], FloatArray]


@dataclass
class Integration:
    """Final states, per-run elapsed times and, when asked, the trace of run 0."""

    y: FloatArray
    t: FloatArray
    finished: NDArray[np.bool_]
    trace_t: FloatArray | None = None
    trace_y: FloatArray | None = None


def rk4(
    rhs: Rhs,
    event: Callable[[FloatArray], FloatArray],
    y0: FloatArray,
    dt: float,
    t_max: float,
    *,
    record: bool = False,
    watch: Callable[[FloatArray, NDArray[np.bool_]], None] | None = None,
) -> Integration:
    """Integrate every column of ``y0`` until its event is <= 0 or ``t_max`` passes.

    Finished runs are frozen. The last step is shortened by linear interpolation of
    the event, so a run stops on the event rather than up to one step beyond it.
    ``watch(y, active)`` sees every accepted state (peak loads, heat, ...).
    """
    y = np.array(y0, dtype=float)
    n = y.shape[1]
    t = np.zeros(n)
    g_old = event(y)
    active = g_old > 0.0
    times = [0.0] if record else []
    states = [y[:, 0].copy()] if record else []
    if watch is not None:
        watch(y, active)
    for _ in range(int(np.ceil(t_max / dt))):
        if not active.any():
            break
        k1 = rhs(y)
        k2 = rhs(y + 0.5 * dt * k1)
        k3 = rhs(y + 0.5 * dt * k2)
        k4 = rhs(y + dt * k3)
        y_new = y + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        g_new = event(y_new)
        crossed = active & (g_new <= 0.0)
        # Fraction of the step at which the event reaches zero (linear in g).
        frac = np.where(crossed, g_old / np.where(g_old - g_new > 0, g_old - g_new, 1.0), 1.0)
        frac = np.clip(frac, 0.0, 1.0)
        y_new = y + frac * (y_new - y)
        y = np.where(active, y_new, y)
        t = t + np.where(active, frac * dt, 0.0)
        g_old = np.where(active, g_new, g_old)
        if watch is not None:
            watch(y, active)
        active = active & ~crossed
        if record and (active[0] or crossed[0]):
            times.append(float(t[0]))
            states.append(y[:, 0].copy())
    result = Integration(y=y, t=t, finished=~active)
    if record:
        result.trace_t = np.asarray(times)
        result.trace_y = np.stack(states, axis=1)
    return result
