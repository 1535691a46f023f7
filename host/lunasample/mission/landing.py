"""Landing: parachute descent from deployment altitude and recovery.

The re-entry model flies a fixed lift fraction in the second entry, so its
downrange error against the undispersed trajectory is what range control in the
second entry has to remove. Range control is modelled by its authority: errors
up to ``range_authority_km`` are flown out, leaving a normal guidance residual;
anything beyond stays. Wind drift under the canopy adds to that. The capsule must
come down inside the recovery zone.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.draws import Draws
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams

NAME = "landing"
FloatArray = NDArray[np.float64]


def simulate(
    p: MissionParams, d: Draws, downrange_error_km: FloatArray, sample_g: FloatArray
) -> PhaseArrays:
    """Parachute descent, drift and recovery for every run."""
    la = p.landing
    n = d.n
    descent_s = p.reentry.chute_alt_km * 1000.0 / la.descent_rate_m_s
    drift_km = la.wind_sigma_m_s * d.wind_z * descent_s / 1000.0
    excess = np.sign(downrange_error_km) * np.maximum(
        np.abs(downrange_error_km) - la.range_authority_km, 0.0
    )
    residual = excess + la.guidance_sigma_km * d.landing_guidance_z
    miss = np.hypot(residual + drift_km[:, 0], drift_km[:, 1])
    code, texts = checks(
        n,
        ("parachute failed", d.chute_u < la.chute_fail_prob),
        (
            f"landed outside the {la.recovery_radius_km:g} km recovery zone",
            miss > la.recovery_radius_km,
        ),
    )
    return PhaseArrays(
        name=NAME,
        duration_s=np.full(n, descent_s),
        failure=code,
        failure_text=texts,
        figures={
            "entry_range_error_km": downrange_error_km,
            "landing_error_km": miss,
            "canopy_descent_min": np.full(n, descent_s / 60.0),
            "sample_returned_g": np.where(code == 0, sample_g, 0.0),
        },
    )
