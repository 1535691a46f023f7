"""The flight clock: ground work in relay windows, motion within limits, budgets kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunasample.mission import rvd
from lunasample.mission.draws import draw
from lunasample.mission.groundloop import CORE, DRILL, END, SCOOP, FlightClock
from lunasample.mission.params import MissionParams, load_params

BUDGET_H = 30.0


def _clock(p: MissionParams, n: int = 3, seed: int = 0, budget_h: float = BUDGET_H) -> FlightClock:
    d = draw(np.random.default_rng(seed), n, len(rvd.legs(p)))
    return FlightClock.for_runs(p, d, np.full(n, budget_h))


def _params(tmp_path: Path, text: str) -> MissionParams:
    f = tmp_path / "override.toml"
    f.write_text(text)
    return load_params(f)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([CORE, SCOOP]), st.floats(0.0, 600.0)), min_size=1, max_size=12
    ),
    st.floats(0.0, 2000.0),
    st.integers(0, 1000),
)
def test_a_step_spans_its_ground_work_waits_and_board_time(
    steps: list[tuple[str, float]], depth_mm: float, seed: int
) -> None:
    p = load_params()
    clock = _clock(p, seed=seed)
    placed = [clock.place(DRILL, 300.0, depth_mm)]
    placed += [clock.place(kind, board_s) for kind, board_s in steps]
    placed.append(clock.place(END, 0.0))
    ops = p.sampling.ops
    for a, b in zip(placed, placed[1:], strict=False):
        assert np.array_equal(b.ground_from_h, a.end_h)  # steps follow one another
    for stp in placed:
        stages = 1 if stp.kind != DRILL else max(1, int(np.ceil(depth_mm / ops.drill_stage_mm)))
        seal_h = ops.container_seal_min / 60.0 if stp.kind == END else 0.0
        run_h = (stp.board_s + stages * clock.light_s) / 3600.0 + seal_h
        span = stp.end_h - stp.ground_from_h
        parts = stp.ground_h + stp.relay_wait_h + stp.limit_wait_h + run_h
        assert span == pytest.approx(parts, abs=1e-9)
        assert np.all(stp.relay_wait_h >= 0) and np.all(stp.limit_wait_h >= 0)
        assert np.all(stp.start_h >= stp.ground_from_h + stp.ground_h / stages - 1e-9)
    assert clock.total("board_s") == pytest.approx(300.0 + sum(b for _, b in steps))


def test_ground_work_waits_for_the_relay(tmp_path: Path) -> None:
    never = _clock(_params(tmp_path, "[surface]\nrelay_min_elevation_deg = 89.0\n"))
    st2 = never.place(SCOOP, 30.0)
    assert np.all(st2.end_h >= never.end_of_grid_h)  # no ground, no step
    assert not never.room_for(SCOOP, 30.0, 0.0).any()
    # With the default relay orbit some step in a day waits for it to rise.
    clock = _clock(load_params(), n=1)
    grid_h = clock.step_h
    waits = [clock.place(SCOOP, 30.0).relay_wait_h[0] for _ in range(40)]
    assert max(waits) > 1.0 and min(waits) <= grid_h + 1e-9


def test_motion_waits_for_the_thermal_limit(tmp_path: Path) -> None:
    cold = _clock(_params(tmp_path, "[sampling.ops]\nmax_temp_k = 1000.0\n"))
    assert np.all(cold.place(SCOOP, 30.0).limit_wait_h == 0.0)
    hot = _clock(_params(tmp_path, "[sampling.ops]\nmax_temp_k = 10.0\n"))
    st1 = hot.place(SCOOP, 30.0)
    assert np.all(st1.start_h >= hot.end_of_grid_h) and np.all(st1.limit_wait_h > 0)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.0, 3000.0), st.floats(0.0, 3000.0), st.integers(0, 1000))
def test_room_for_keeps_the_budget(small_s: float, extra_s: float, seed: int) -> None:
    p = load_params()
    clock = _clock(p, seed=seed, budget_h=6.0)
    clock.place(DRILL, 200.0, 500.0)
    while True:
        room = clock.room_for(SCOOP, small_s, 0.0)
        # A longer step never fits where a shorter one does not.
        assert not np.any(clock.room_for(SCOOP, small_s + extra_s, 0.0) & ~room)
        if not room.any():
            break
        clock.place(SCOOP, small_s, active=room)
    clock.place(END, 0.0)
    took_scoops = np.any([s.end_h > s.ground_from_h for s in clock.steps[1:-1]], axis=0)
    assert np.all(~took_scoops | (clock.now_h <= clock.deadline_h + 1e-9))


def test_one_run_of_a_batch_is_that_run() -> None:
    p = load_params()
    batch = _clock(p, n=4, seed=9)
    ones = [batch.take(i) for i in range(4)]
    placed = batch.place(DRILL, 250.0, 738.0)
    for i, one in enumerate(ones):
        mine = one.place(DRILL, 250.0, 738.0)
        assert mine.end_h[0] == pytest.approx(placed.end_h[i])
        assert mine.relay_wait_h[0] == pytest.approx(placed.relay_wait_h[i])
