"""Sampling on the flight's clock: every campaign step waits for the ground in the loop.

Two clocks run through the sampling phase. The board clock is the firmware's
own time running each step of the campaign (drill the core, seal and weigh
it, one scoop, seal the container): minutes in all. The flight clock is what
the same steps take on the Moon, where each one waits for the ground: images
of the last result go down through the relay, engineers assess them and plan
the next step, approve it and send the commands up. That ground work runs
only while the relay is above the lander's horizon (a Queqiao-2-like 24 h
orbit, ``surface.relay_visible``); the arm and the drill move only while the
surface is cool enough and the solar array covers the loads (the surface
model's sun, temperature and power). The host runs the board's steps one at a
time (``SSTEP``) and :class:`FlightClock` places each on the flight clock; no
wall-clock time is spent waiting.

The drill core is one board step, drilled on the Moon in stages of
``drill_stage_mm`` with a ground check of the drill's telemetry between
stages: the clock splits the step's board time over the stages. Every figure
is in ``params.toml`` ``[sampling.ops]``.

The clock is vectorised over runs (Monte Carlo places thousands of campaigns
at once); a single mission is a batch of one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lunasample.mission import surface
from lunasample.mission.draws import Draws
from lunasample.mission.params import MissionParams

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

DRILL, CORE, SCOOP, END = "drill", "core", "scoop", "end"
STEP_KINDS = (DRILL, CORE, SCOOP, END)
# The step figures a sampling phase reports summed over its steps.
CLOCK_TOTALS = ("board_s", "ground_h", "relay_wait_h", "limit_wait_h")
# Hours the clock looks past the budget for a relay window (one relay period).
_LOOKAHEAD_H = 24.0


@dataclass(frozen=True)
class Steps:
    """Campaign steps on both clocks, one entry per run; flight times in hours since landing."""

    kind: str
    ground_from_h: FloatArray  # the ground started on this step
    start_h: FloatArray  # the board began to run it
    end_h: FloatArray  # and was done
    board_s: FloatArray  # the firmware's own time for it
    ground_h: FloatArray  # relay-visible ground work (images, assessment, approval, checks)
    relay_wait_h: FloatArray  # waiting for the relay to rise
    limit_wait_h: FloatArray  # waiting for the thermal or power limit


class FlightClock:
    """Places campaign steps of ``n`` runs on the flight clock from ``start_h`` after landing.

    ``relay_phase_h``, ``sun_elevation_deg`` and ``load_frac`` are the runs'
    surface draws (time since relay periapsis at landing, sun elevation at
    landing, base-load deviation); ``budget_h`` is the span sampling may take.
    """

    def __init__(
        self,
        p: MissionParams,
        *,
        relay_phase_h: FloatArray,
        sun_elevation_deg: FloatArray,
        load_frac: FloatArray,
        start_h: float,
        budget_h: FloatArray,
    ) -> None:
        self.p = p
        ops, s = p.sampling.ops, p.surface
        budget = np.asarray(budget_h, dtype=float)
        self.n = int(budget.shape[0])
        self.step_h = ops.grid_min / 60.0
        horizon_h = float(budget.max(initial=0.0)) + _LOOKAHEAD_H
        t = start_h + np.arange(0.0, horizon_h, self.step_h)
        self.size = int(t.size)
        self.end_of_grid_h = start_h + self.size * self.step_h
        visible = surface.relay_visible(p, t, np.asarray(relay_phase_h, dtype=float))
        # Minutes of relay visibility before each grid point, per run; each row
        # is offset past the previous one so one searchsorted serves all runs.
        cum = np.zeros((self.n, self.size + 1))
        cum[:, 1:] = np.cumsum(visible, axis=1) * ops.grid_min
        self._row_span = float(cum[:, -1].max(initial=0.0)) + 2.0 * horizon_h * 60.0 + 1.0
        self._rows = np.arange(self.n)
        self._cum = cum
        self._flat = (cum + self._rows[:, None] * self._row_span).ravel()
        elevation = surface.sun_elevation_deg(p, t, np.asarray(sun_elevation_deg, dtype=float))
        temp = surface.surface_temperature_k(p, elevation)
        solar_w = s.array_power_w * np.maximum(np.sin(np.radians(elevation + s.array_tilt_deg)), 0)
        load_w = s.base_load_w * (1.0 + np.asarray(load_frac))[:, None] + s.sampling_load_w
        ok = (temp <= ops.max_temp_k) & (solar_w >= load_w)
        # The first grid index at or after each one where motion is allowed (size: never).
        first = np.where(ok, np.arange(self.size)[None, :], self.size)
        self._next_ok = np.minimum.accumulate(first[:, ::-1], axis=1)[:, ::-1]
        c = p.constants
        # A command cycle: commands up, the step's telemetry back (the relay hop is short).
        self.light_s = 2.0 * c.earth_moon_distance_km / c.speed_of_light_km_s
        self.start_h = start_h
        self.now_h = np.full(self.n, float(start_h))
        self.deadline_h = start_h + budget
        self.steps: list[Steps] = []

    @classmethod
    def for_runs(cls, p: MissionParams, d: Draws, budget_h: FloatArray) -> FlightClock:
        """The clock of each run in ``d``, sampling from the end of the post-landing checkout."""
        s = p.surface
        return cls(
            p,
            relay_phase_h=s.relay_phase_h + s.relay_phase_sigma_h * d.relay_phase_z,
            sun_elevation_deg=s.sun_elevation_deg + s.sun_elevation_sigma_deg * d.sun_elevation_z,
            load_frac=s.load_sigma_frac * d.load_z,
            start_h=s.checkout_h,
            budget_h=budget_h,
        )

    def take(self, run: int) -> FlightClock:
        """A copy of one run's clock (a batch of one), with its steps so far."""
        one = object.__new__(FlightClock)
        one.__dict__.update(self.__dict__)
        sel = slice(run, run + 1)
        one.n = 1
        one._rows = np.zeros(1, dtype=int)
        one._cum = self._cum[sel]
        one._flat = one._cum.ravel().copy()
        one._next_ok = self._next_ok[sel]
        one.now_h = self.now_h[sel].copy()
        one.deadline_h = self.deadline_h[sel]
        one.steps = [
            Steps(st.kind, *(getattr(st, f)[sel] for f in STEP_FIELDS)) for st in self.steps
        ]
        return one

    # -- look-ups on the grid --------------------------------------------
    def _index(self, t_h: FloatArray) -> NDArray[np.int64]:
        k = np.ceil((t_h - self.start_h) / self.step_h - 1e-9).astype(np.int64)
        return np.clip(k, 0, self.size)

    def _ground(self, t_h: FloatArray, minutes: float) -> tuple[FloatArray, FloatArray]:
        """``minutes`` of relay-visible ground work from ``t_h``: (end_h, relay wait h)."""
        if minutes <= 0:
            return t_h, np.zeros_like(t_h)
        k = self._index(t_h)
        want = self._cum[self._rows, k] + minutes
        j = np.searchsorted(self._flat, want + self._rows * self._row_span - 1e-9)
        j = j - self._rows * (self.size + 1)
        found = j <= self.size
        end = np.where(found, self.start_h + j * self.step_h, self.end_of_grid_h)
        end = np.maximum(end, t_h + minutes / 60.0)
        return end, end - t_h - minutes / 60.0

    def _motion(self, t_h: FloatArray) -> FloatArray:
        """The first time from ``t_h`` the arm and the drill may move."""
        k = self._index(t_h)
        # Past the grid's end (k == size): no motion known, the end of the grid.
        ok = np.where(
            k < self.size, self._next_ok[self._rows, np.minimum(k, self.size - 1)], self.size
        )
        go = np.where(ok < self.size, self.start_h + ok * self.step_h, self.end_of_grid_h)
        return np.maximum(t_h, go)

    # -- placing steps -----------------------------------------------------
    def plan(
        self,
        kind: str,
        board_s: FloatArray | float,
        depth_mm: FloatArray | float = 0.0,
        at_h: FloatArray | None = None,
    ) -> Steps:
        """Where a step would go for every run, from ``at_h`` (default: now), unplaced."""
        if kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {kind!r}")
        ops = self.p.sampling.ops
        t0 = self.now_h if at_h is None else np.asarray(at_h, dtype=float)
        board = np.broadcast_to(np.asarray(board_s, dtype=float), (self.n,))
        cycle = ops.imaging_min + ops.assessment_min + ops.approval_min
        if kind == DRILL:
            depth = np.broadcast_to(np.asarray(depth_mm, dtype=float), (self.n,))
            stages = np.maximum(1, np.ceil(depth / ops.drill_stage_mm)).astype(np.int64)
            most = int(stages.max(initial=1))
            parts = [ops.site_survey_min + ops.approval_min] + [ops.drill_check_min] * (most - 1)
        else:
            stages = np.ones(self.n, dtype=np.int64)
            parts = [cycle]
        run_s = board / stages
        if kind == END:
            run_s = run_s + ops.container_seal_min * 60.0
        t = t0.copy()
        ground = np.zeros(self.n)
        relay_wait = np.zeros(self.n)
        limit_wait = np.zeros(self.n)
        start = t0.copy()
        for i, minutes in enumerate(parts):
            on = stages > i  # runs with this stage
            end, wait = self._ground(t, minutes)
            go = self._motion(end)
            ground += np.where(on, minutes / 60.0, 0.0)
            relay_wait += np.where(on, wait, 0.0)
            limit_wait += np.where(on, go - end, 0.0)
            if i == 0:
                start = go
            t = np.where(on, go + (run_s + self.light_s) / 3600.0, t)
        return Steps(kind, t0, start, t, board.copy(), ground, relay_wait, limit_wait)

    def place(
        self,
        kind: str,
        board_s: FloatArray | float,
        depth_mm: FloatArray | float = 0.0,
        active: BoolArray | None = None,
    ) -> Steps:
        """Place the step just run on the board after the last one (only ``active`` runs)."""
        st = self.plan(kind, board_s, depth_mm)
        if active is not None:
            st = Steps(
                kind, *(np.where(active, getattr(st, f), _idle(st, f)) for f in STEP_FIELDS)
            )
        self.steps.append(st)
        self.now_h = st.end_h
        return st

    def room_for(self, kind: str, board_s: FloatArray | float, seal_board_s: float) -> BoolArray:
        """Whether a step like this, and then the seal (``seal_board_s`` on the board),
        ends within the budget."""
        step = self.plan(kind, board_s)
        seal = self.plan(END, seal_board_s, at_h=step.end_h)
        return seal.end_h <= self.deadline_h

    # -- totals ------------------------------------------------------------
    @property
    def flight_s(self) -> FloatArray:
        """Flight time from the sampling start to the end of the last step."""
        return (self.now_h - self.start_h) * 3600.0

    def total(self, field: str) -> FloatArray:
        """A step figure summed over the placed steps (e.g. "board_s", "relay_wait_h")."""
        out = np.zeros(self.n)
        for st in self.steps:
            out = out + getattr(st, field)
        return out


# A step's per-run figures, in Steps' order after its kind.
STEP_FIELDS = (
    "ground_from_h",
    "start_h",
    "end_h",
    "board_s",
    "ground_h",
    "relay_wait_h",
    "limit_wait_h",
)


def _idle(st: Steps, field: str) -> FloatArray:
    """A run that did not take the step: it spends no time, the clock stays put."""
    if field in ("ground_from_h", "start_h", "end_h"):
        return st.ground_from_h
    return np.zeros_like(st.ground_from_h)
