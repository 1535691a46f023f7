"""Sample transfer: the sealed container moves from the docked ascender to the returner.

A small probability of a jam in the transfer mechanism ends the mission; after the
transfer the ascender is released and the orbiter waits in lunar orbit for the
Earth-return window.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lunasample.mission.draws import Draws
from lunasample.mission.outcome import PhaseArrays, checks
from lunasample.mission.params import MissionParams

NAME = "sample transfer"


def simulate(p: MissionParams, d: Draws, sample_g: NDArray[np.float64]) -> PhaseArrays:
    """Container transfer and the wait for the return window, for every run."""
    st = p.sample_transfer
    n = d.n
    code, texts = checks(
        n, ("sample container jammed in the transfer mechanism", d.transfer_u < st.jam_prob)
    )
    return PhaseArrays(
        name=NAME,
        duration_s=np.full(n, st.duration_h * 3600.0 + st.orbit_wait_d * 86400.0),
        failure=code,
        failure_text=texts,
        figures={"sample_transferred_g": np.where(code == 0, sample_g, 0.0)},
    )
