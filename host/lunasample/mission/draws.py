"""Random variates for N missions, drawn once in a fixed order from a numpy Generator.

Draws are standard variates (unit normals, uniforms on [0, 1), unit exponentials);
each phase scales them with its own sigmas from the parameters. So a run's
dispersions depend only on the seed, and a slice of a batch is a valid batch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Draws:
    """Standard variates for each dispersed quantity; first axis is the run."""

    launch_u: FloatArray
    injection_z: FloatArray
    mcc_exec_z: FloatArray  # (n, 2): the two mid-course corrections
    loi_exec_z: FloatArray  # (n, 2): capture and circularisation burns
    descent_thrust_z: FloatArray
    descent_isp_z: FloatArray
    divert_e: FloatArray  # unit exponential: distance to the nearest safe spot
    final_rate_z: FloatArray
    cutoff_alt_z: FloatArray
    slope_z: FloatArray
    landing_z: FloatArray  # (n, 2): downrange, crossrange
    relay_phase_z: FloatArray
    sun_elevation_z: FloatArray
    load_z: FloatArray
    site_seed: NDArray[np.int64]
    ascent_thrust_z: FloatArray
    ascent_isp_z: FloatArray
    rvd_start_z: FloatArray  # (n, 3)
    rvd_nav_z: FloatArray  # (n, legs, 6): position and velocity knowledge at each leg start
    rvd_exec_z: FloatArray  # (n, legs, 2, 3): departure and arrival burn errors
    transfer_u: FloatArray
    tei_exec_z: FloatArray
    tei_nav_z: FloatArray
    entry_angle_z: FloatArray
    lift_to_drag_z: FloatArray
    density_z: FloatArray
    chute_u: FloatArray
    landing_guidance_z: FloatArray
    wind_z: FloatArray  # (n, 2)

    @property
    def n(self) -> int:
        """Number of runs."""
        return int(self.launch_u.shape[0])

    def take(self, index: slice | NDArray[np.int64] | int) -> Draws:
        """The runs selected by ``index`` (an int keeps a batch of one)."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1)
        return Draws(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})


def draw(rng: np.random.Generator, n: int, rvd_legs: int) -> Draws:
    """Draw the variates of ``n`` missions; ``rvd_legs`` is the number of approach legs."""
    z = rng.standard_normal
    u = rng.random
    return Draws(
        launch_u=u(n),
        injection_z=z(n),
        mcc_exec_z=z((n, 2)),
        loi_exec_z=z((n, 2)),
        descent_thrust_z=z(n),
        descent_isp_z=z(n),
        divert_e=rng.standard_exponential(n),
        final_rate_z=z(n),
        cutoff_alt_z=z(n),
        slope_z=z(n),
        landing_z=z((n, 2)),
        relay_phase_z=z(n),
        sun_elevation_z=z(n),
        load_z=z(n),
        site_seed=rng.integers(0, 2**31 - 1, size=n, dtype=np.int64),
        ascent_thrust_z=z(n),
        ascent_isp_z=z(n),
        rvd_start_z=z((n, 3)),
        rvd_nav_z=z((n, rvd_legs, 6)),
        rvd_exec_z=z((n, rvd_legs, 2, 3)),
        transfer_u=u(n),
        tei_exec_z=z(n),
        tei_nav_z=z(n),
        entry_angle_z=z(n),
        lift_to_drag_z=z(n),
        density_z=z(n),
        chute_u=u(n),
        landing_guidance_z=z(n),
        wind_z=z((n, 2)),
    )


def nominal(n: int, rvd_legs: int) -> Draws:
    """Variates of the undispersed mission: normals at zero, no random failures."""
    zeros = draw(np.random.default_rng(0), n, rvd_legs)
    values = {}
    for f in dataclasses.fields(Draws):
        current = getattr(zeros, f.name)
        if f.name in ("launch_u", "transfer_u", "chute_u"):
            values[f.name] = np.ones_like(current)
        elif f.name == "divert_e":
            values[f.name] = np.ones_like(current)
        elif f.name == "site_seed":
            values[f.name] = current
        else:
            values[f.name] = np.zeros_like(current)
    return Draws(**values)
