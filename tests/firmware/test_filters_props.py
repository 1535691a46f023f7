"""Property tests of the load-cell filters (firmware/sampler/filters.py).

The same module runs in CPython here and in the micropython binary; both
must give identical results on the same inputs, passed as literals."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from lunasample.firmware.sampler import filters
from tests.conftest import run_micropython

CODE = st.integers(min_value=-(1 << 23) + 1, max_value=(1 << 23) - 2)
Cfg = tuple[int, int, int, int, int, int]
# (n_med, n_avg, n_sm, step, band, spike)
WINDOWS = st.tuples(st.sampled_from([1, 3, 5, 7, 9]), st.integers(1, 64), st.integers(1, 32),
                    st.integers(0, 5000), st.integers(0, 2000), st.integers(0, 20000))


def _run_cpython(xs: list[int], cfg: Cfg, turns: bool = False) -> list[tuple[int, bool]]:
    f = filters.MassFilter(*cfg)
    f.set_window(cfg[1], turns)
    return [(f.push(x), f.settled) for x in xs]


def _run_micropython(xs: list[int], cfg: Cfg, turns: bool) -> list[tuple[int, bool]]:
    script = f"""
from sampler import filters
f = filters.MassFilter(*{cfg!r})
f.set_window({cfg[1]}, {turns})
out = []
for x in {xs!r}:
    out.append((f.push(x), f.settled))
print(out)
"""
    r = run_micropython(script)
    assert r.returncode == 0, r.stderr + r.stdout
    lines = r.stdout.strip().splitlines()
    return [tuple(t) for t in eval(lines[0])]  # noqa: S307 - our own script's output


@settings(max_examples=30, deadline=None)
@given(st.lists(CODE, min_size=1, max_size=150), WINDOWS, st.booleans())
def test_micropython_and_cpython_give_identical_results(
    xs: list[int], cfg: Cfg, turns: bool
) -> None:
    assert _run_micropython(xs, cfg, turns) == _run_cpython(xs, cfg, turns)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 20000), min_size=2, max_size=200), WINDOWS,
       st.integers(-(1 << 22), 1 << 22))
def test_monotone_input_gives_monotone_output(steps: list[int], cfg: Cfg, start: int) -> None:
    # Without whole turns (drill stopped or its speed unknown). Over whole
    # turns a spike is replaced by the reading a window back, which a ramp
    # has left behind: that mode is for periodic vibration (next test).
    xs = []
    v = start
    for s in steps:
        v += s
        xs.append(min(v, (1 << 23) - 2))
    out = [v for v, _ in _run_cpython(xs, cfg)]
    assert all(b >= a for a, b in zip(out, out[1:], strict=False))
    assert min(xs) <= min(out) and max(out) <= max(xs)


@settings(max_examples=200, deadline=None)
@given(CODE.map(lambda c: c // 2), st.integers(2, 15), st.integers(1, 3),
       st.lists(st.integers(-20000, 20000), min_size=15, max_size=15),
       st.sampled_from([1, 3, 5, 7]), st.integers(1, 32), st.integers(1000, 20000),
       st.integers(0, 200), st.integers(1, 1 << 20), st.booleans())
def test_a_spike_on_whole_turn_vibration_leaves_no_trace(
    c: int, period: int, turns: int, shape: list[int], n_med: int, n_sm: int, spike: int,
    where: int, size: int, up: bool
) -> None:
    # Any waveform repeating every `period` readings, the window spanning
    # whole turns: the spike is replaced by the reading a window back, the
    # same phase, so the output is exactly the one without the spike.
    n_avg = period * turns
    if n_avg >= 32:
        n_avg = period
    wave = shape[:period]
    swing = max(wave) - min(wave)
    spike += swing  # the vibration itself is no spike
    xs = [c + wave[j % period] for j in range(300)]
    pos = 40 + where  # once the envelope is full
    hit = list(xs)
    hit[pos] += (swing + spike + size) * (1 if up else -1)
    cfg = (n_med, n_avg, n_sm, 0, 0, spike)
    assert _run_cpython(hit, cfg, True) == _run_cpython(xs, cfg, True)


@settings(max_examples=200, deadline=None)
@given(CODE, st.integers(-(1 << 20), 1 << 20).filter(lambda d: d != 0), st.integers(0, 40),
       st.sampled_from([3, 5, 7, 9]), st.integers(1, 64), st.integers(1, 32),
       st.integers(0, 5000), st.integers(0, 20000), st.booleans())
def test_a_single_spike_is_rejected(
    c: int, spike: int, where: int, n_med: int, n_avg: int, n_sm: int, step: int,
    spike_limit: int, turns: bool
) -> None:
    n = n_med + n_avg + where + 10
    xs = [c] * n
    pos = n_med + where  # after the median window has filled
    xs[pos] = max(-(1 << 23), min((1 << 23) - 1, c + spike))
    out = _run_cpython(xs, (n_med, n_avg, n_sm, step, 0, spike_limit), turns)
    assert all(v == c for v, _ in out)


@settings(max_examples=200, deadline=None)
@given(st.lists(CODE, max_size=40), CODE, WINDOWS)
def test_constant_input_converges_exactly_and_settles(
    before: list[int], c: int, cfg: Cfg
) -> None:
    n_med, n_avg, n_sm = cfg[0], cfg[1], cfg[2]
    # The median, both averages and the settled span; one held-back spike
    # costs a reading.
    xs = before + [c] * (n_med + n_avg + 2 * n_sm + 1)
    out = _run_cpython(xs, cfg)
    assert out[-1] == (c, True)


@settings(max_examples=200, deadline=None)
@given(CODE, st.integers(-(1 << 21), 1 << 21), st.sampled_from([1, 3, 5, 7, 9]),
       st.integers(1, 64), st.integers(1, 32), st.integers(1, 5000), st.integers(0, 20000),
       st.booleans())
def test_a_step_settles_within_the_window_and_never_settles_on_the_way(
    c: int, d: int, n_med: int, n_avg: int, n_sm: int, step: int, spike: int, turns: bool
) -> None:
    f = filters.MassFilter(n_med, n_avg, n_sm, step, 0, spike)
    f.set_window(n_avg, turns)
    for _ in range(n_med + n_avg + 2 * n_sm + 40):
        f.push(c)
    assert f.settled and f.value == c
    new = max(-(1 << 23) + 1, min((1 << 23) - 2, c + d))
    out = []
    for _ in range(f.window + 1):  # the first reading may be held as a spike
        f.push(new)
        out.append((f.value, f.settled))
    assert out[-1] == (new, True)
    if abs(new - c) > step:
        # A restart: once the median has moved (n_med//2 + 1 readings, one
        # more if held), no settled output is anything but the new level.
        assert all(v == new for v, s in out[n_med // 2 + 2:] if s)


@settings(max_examples=200, deadline=None)
@given(CODE, st.integers(-(1 << 21), 1 << 21), st.integers(2, 16), st.integers(1, 4),
       st.integers(0, 20000), st.floats(0.0, 6.283), st.integers(1, 32))
def test_vibration_over_whole_turns_is_cancelled_after_a_step(
    c: int, d: int, period: int, turns: int, amp: int, phase: float, n_sm: int
) -> None:
    # No median (it would reshape the waveform) and no spike stage (the swing
    # is not a spike): what is left is the whole-turn average.
    n_avg = period * turns
    f = filters.MassFilter(1, n_avg, n_sm, 1, 2, 0, filters.N_MAX)
    f.set_window(n_avg, True)
    wave = [round(amp * math.sin(2 * math.pi * j / period + phase)) for j in range(period)]
    offset = sum(wave) / period  # integer rounding of the samples
    j = 0
    for _ in range(n_avg + 2 * n_sm + 40):
        f.push(c + wave[j % period])
        j += 1
    assert f.settled and abs(f.value - c - offset) <= 1
    new = max(-(1 << 23) + amp + 1, min((1 << 23) - amp - 2, c + d))
    n0 = f.count
    while not (f.settled and f.count - n0 >= f.window):
        f.push(new + wave[j % period])
        j += 1
        assert f.count - n0 <= 2 * f.window  # restarted at once or flushed
    assert abs(f.value - new - offset) <= 1


def test_filter_step_allocates_nothing() -> None:
    script = """
import micropython
from sampler import filters
f = filters.MassFilter(5, 24, 8, 4000, 400, 9000, filters.N_MAX)
f.set_window(24, True)
r = 12345
fails = 0
for i in range(3000):
    r = (r * 1103515245 + 12345) & 0x7FFFFFFF
    v = (1 << 22) if (i // 500) % 2 else 300000  # steps up and down
    v += ((r >> 8) % 8000) - 4000  # vibration-sized noise
    if r % 97 == 0:
        v += 200000  # percussion spike
    if i % 700 == 0:
        f.set_window(16 + i // 100, i % 1400 == 0)
    micropython.heap_lock()
    try:
        f.push(v)
    except MemoryError:
        fails += 1
    micropython.heap_unlock()
print("RESULT", fails, f.count, f.spikes, f.restarts)
"""
    r = run_micropython(script)
    assert r.returncode == 0, r.stderr + r.stdout
    res = r.stdout.split("RESULT")[1].split()
    assert int(res[0]) == 0 and int(res[1]) == 3000
    assert int(res[2]) > 0 and int(res[3]) >= 6  # spikes replaced, every step restarted


@settings(max_examples=300, deadline=None)
@given(st.integers(1000, 200000), st.integers(0, 20000), st.integers(1, 32),
       st.integers(32, filters.N_MAX))
def test_turn_window_spans_whole_turns_and_holds_it(
    per_us: int, rpm10: int, n_min: int, n_max: int
) -> None:
    n = filters.turn_window(per_us, rpm10, n_min, n_max)
    assert n_min <= n <= n_max
    if rpm10 < 10:
        assert n == n_min
        return
    spr = 600e6 / rpm10 / per_us  # readings per turn
    if n < n_max:  # n_max alone may be a window that does not cancel the vibration
        turns = max(1, round(n / spr))
        # Within 1/64, judged on readings per turn held in Q8 (1/512 a turn).
        assert abs(n - turns * spr) <= n / 64 + turns / 512 + 0.01
    # Kept as the present window while the speed holds (no restarts).
    assert filters.turn_window(per_us, rpm10, n_min, n_max, n) == n


@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 24) + 1, (1 << 24) - 1),
       st.integers(filters.K_MIN, filters.K_MAX - 1), st.booleans())
def test_counts_to_mg_is_exact_to_a_milligram_and_stays_small(d: int, k: int, neg: bool) -> None:
    if neg:
        k = -k
    got = filters.mg_from_counts(d, k)
    exact = d * k / (1 << filters.K_SHIFT)
    assert abs(got - exact) <= 2
    # Every intermediate of the limb product stays a MicroPython small int.
    a, b = abs(d), abs(k)
    d1, d0, k1, k0 = a >> 12, a & 4095, b >> 12, b & 4095
    assert d1 * k1 < 1 << 30 and d1 * k0 + d0 * k1 + ((d0 * k0) >> 12) < 1 << 30


def test_calibration_factor_rejects_implausible_points() -> None:
    k = filters.cal_factor(340_000, 340_000 + 859_000, 1_000_000)
    assert k is not None and abs(k / (1 << 24) - 1_000_000 / 859_000) < 1e-6
    assert filters.cal_factor(0, 50, 1_000_000) is None  # reference weight barely seen
    assert filters.cal_factor(0, 859_000, 500) is None  # reference under a gram
    assert filters.cal_factor(0, 100, 100_000_000) is None  # 1 g per count: not this cell
    neg = filters.cal_factor(0, -859_000, 1_000_000)
    assert neg is not None and neg < 0  # a cell wired the other way round still works


@given(
    st.integers(filters.K_MIN, filters.K_MAX - 1),
    st.integers(1000, 25000),
    st.integers(1000, 25000),
    st.booleans(),
)
def test_local_factor_is_the_gravity_ratio(k: int, cal_grav: int, grav: int, neg: bool) -> None:
    k = -k if neg else k  # a cell wired the other way round
    got = filters.local_factor(k, cal_grav, grav)
    want = k * cal_grav // grav  # exact integers in CPython
    if filters.K_MIN <= abs(want) < filters.K_MAX:
        assert got == want
    else:
        assert got is None  # out of the range mg_from_counts keeps below 2^30
    assert filters.local_factor(k, grav, grav) == k
