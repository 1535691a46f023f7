"""Per-phase results: vectorised (one array per figure, N runs) and single-run views."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

PASS = "pass"
FAIL = "fail"
NOT_FLOWN = "not flown"


@dataclass
class PhaseArrays:
    """One phase over N runs.

    ``failure`` holds, per run, the index into ``failure_text`` of the first failed
    check (0 = none). ``anomalies`` maps a non-critical anomaly's text to the runs it
    happened in. ``trace`` holds time series of run 0 for plots when recording.
    """

    name: str
    duration_s: FloatArray
    failure: NDArray[np.int64]
    failure_text: tuple[str, ...]
    figures: dict[str, FloatArray]
    anomalies: dict[str, BoolArray] = field(default_factory=dict)
    trace: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def ok(self) -> BoolArray:
        """Runs that passed every check of this phase."""
        return self.failure == 0


def checks(n: int, *items: tuple[str, BoolArray]) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Turn named failure masks into (first-failure code per run, texts).

    Code 0 is "no failure"; code k is the k-th item, earlier items win.
    """
    code = np.zeros(n, dtype=np.int64)
    texts = [""]
    for k, (text, failed) in enumerate(items, start=1):
        code = np.where((code == 0) & np.broadcast_to(failed, (n,)), k, code)
        texts.append(text)
    return code, tuple(texts)


@dataclass
class PhaseResult:
    """One phase of one mission, as reported."""

    name: str
    status: str
    start_s: float
    end_s: float
    figures: dict[str, float]
    failure: str | None = None
    anomalies: list[str] = field(default_factory=list)
