"""Property tests of the load-cell filters (firmware/sampler/filters.py).

The same module runs in CPython here and in the micropython binary; both
must give identical results on the same inputs, passed as literals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lunasample.firmware.sampler import filters
from tests.conftest import run_micropython

CODE = st.integers(min_value=-(1 << 23), max_value=(1 << 23) - 1)
# (n_med, n_avg, step, band, spike)
WINDOWS = st.tuples(st.sampled_from([1, 3, 5, 7, 9]), st.integers(1, 32),
                    st.integers(0, 5000), st.integers(0, 2000), st.integers(0, 20000))


def _run_cpython(xs: list[int], cfg: tuple[int, int, int, int, int]) -> list[tuple[int, bool]]:
    f = filters.MassFilter(*cfg)
    return [(f.push(x), f.settled) for x in xs]


def _run_micropython(xs: list[int], cfg: tuple[int, int, int, int, int]) -> list[tuple[int, bool]]:
    script = f"""
from sampler import filters
f = filters.MassFilter(*{cfg!r})
out = []
for x in {xs!r}:
    out.append((f.push(x), f.settled))
print(out)
print(f.spikes)
"""
    r = run_micropython(script)
    assert r.returncode == 0, r.stderr + r.stdout
    lines = r.stdout.strip().splitlines()
    return [tuple(t) for t in eval(lines[0])]  # noqa: S307 - our own script's output


@settings(max_examples=30, deadline=None)
@given(st.lists(CODE, min_size=1, max_size=120), WINDOWS)
def test_micropython_and_cpython_give_identical_results(
    xs: list[int], cfg: tuple[int, int, int, int, int]
) -> None:
    assert _run_micropython(xs, cfg) == _run_cpython(xs, cfg)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 20000), min_size=2, max_size=200), WINDOWS,
       st.integers(-(1 << 22), 1 << 22))
def test_monotone_input_gives_monotone_output(
    steps: list[int], cfg: tuple[int, int, int, int, int], start: int
) -> None:
    xs = []
    v = start
    for s in steps:
        v += s
        xs.append(min(v, (1 << 23) - 1))
    out = [v for v, _ in _run_cpython(xs, cfg)]
    assert all(b >= a for a, b in zip(out, out[1:], strict=False))
    assert min(xs) <= min(out) and max(out) <= max(xs)


@settings(max_examples=200, deadline=None)
@given(CODE, st.integers(-(1 << 20), 1 << 20).filter(lambda d: d != 0), st.integers(0, 40),
       st.sampled_from([3, 5, 7, 9]), st.integers(1, 32), st.integers(0, 5000),
       st.integers(0, 20000))
def test_a_single_spike_is_rejected(
    c: int, spike: int, where: int, n_med: int, n_avg: int, step: int, spike_limit: int
) -> None:
    n = n_med + n_avg + where + 10
    xs = [c] * n
    pos = n_med + where  # after the median window has filled
    xs[pos] = max(-(1 << 23), min((1 << 23) - 1, c + spike))
    out = _run_cpython(xs, (n_med, n_avg, step, 0, spike_limit))
    assert all(v == c for v, _ in out)


@settings(max_examples=200, deadline=None)
@given(st.lists(CODE, max_size=40), CODE, WINDOWS)
def test_constant_input_converges_exactly_and_settles(
    before: list[int], c: int, cfg: tuple[int, int, int, int, int]
) -> None:
    n_med, n_avg = cfg[0], cfg[1]
    xs = before + [c] * (n_med + 3 * n_avg + 1)
    out = _run_cpython(xs, cfg)
    # step=0 means no restart: the old readings must pass the median, both
    # averages and the settle window; one held-back spike costs a reading.
    assert out[-1] == (c, True)


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
