"""Each phase's physics against known values and independent integrations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from lunasample.mission import ascent, cw, descent, draws, reentry, rvd, tei, transfer
from lunasample.mission.orbits import (
    apsides,
    period,
    radius_at_time,
    semi_major_axis,
    time_from_periapsis,
    vis_viva,
)
from lunasample.mission.rocket import delta_v, propellant_for

MU_MOON = 4902.8
R_MOON = 1737.4


def test_tsiolkovsky_known_value() -> None:
    # ve = 3000 m/s, mass ratio e: delta-v is exactly 3000 m/s.
    assert delta_v(3000.0, math.e * 100.0, 100.0) == pytest.approx(3000.0)
    assert propellant_for(3000.0, 3000.0, 1000.0) == pytest.approx(1000.0 * (1 - 1 / math.e))


def test_capture_orbit_period_and_speeds() -> None:
    rp, ra = R_MOON + 200.0, R_MOON + 8600.0
    a = 0.5 * (rp + ra)
    # 2 pi sqrt(a^3 / mu) with a = 6137.4 km: 11.98 h.
    assert period(MU_MOON, a) / 3600.0 == pytest.approx(11.985, abs=0.01)
    assert vis_viva(MU_MOON, rp, a) == pytest.approx(2.0646, abs=1e-3)
    # Angular momentum: r v is the same at both apsides.
    assert vis_viva(MU_MOON, ra, a) * ra == pytest.approx(vis_viva(MU_MOON, rp, a) * rp)


def test_circular_200_km_period() -> None:
    # r = 1937.4 km: T = 2 pi sqrt(r^3 / mu) = 7652 s, about 2.13 h.
    assert period(MU_MOON, R_MOON + 200.0) == pytest.approx(7652.0, abs=5.0)


def test_relay_orbit_semi_major_axis_for_24_h() -> None:
    a = semi_major_axis(MU_MOON, 86400.0)
    assert period(MU_MOON, a) == pytest.approx(86400.0)
    assert a == pytest.approx(9750.0, rel=2e-3)


def test_apsides_of_circular_state() -> None:
    r = R_MOON + 200.0
    rp, ra = apsides(MU_MOON, r, 0.0, math.sqrt(MU_MOON / r))
    assert rp == pytest.approx(r) and ra == pytest.approx(r)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 0.99))
def test_kepler_time_and_radius_are_inverse(frac: float) -> None:
    rp, ra = 6571.0, 385000.0
    r = rp + frac * (ra - rp)
    t = time_from_periapsis(398600.4418, rp, ra, r)
    assert radius_at_time(398600.4418, rp, ra, t) == pytest.approx(r, rel=1e-9)


def test_transfer_takes_about_112_hours(params) -> None:
    tof, v_inf = transfer.arrival(params)
    assert 105.0 < (tof + params.launch.duration_s) / 3600.0 < 120.0
    assert 0.7 < v_inf < 1.0


def test_entry_speed_about_11_km_s(params) -> None:
    _, coast, v_entry, _ = tei.return_orbit(params)
    assert 10.8 < v_entry < 11.2
    assert 4.0 < coast / 86400.0 < 5.5


def test_ascent_reaches_15_by_180_km_in_about_six_minutes(params) -> None:
    d = draws.nominal(1, len(rvd.legs(params)))
    phase = ascent.simulate(params, d, np.array([1900.0]))
    assert phase.ok[0]
    assert 5.0 < phase.figures["burn_time_s"][0] / 60.0 < 7.0
    assert phase.figures["insertion_periapsis_alt_km"][0] == pytest.approx(15.0, abs=1.0)
    assert phase.figures["insertion_apoapsis_alt_km"][0] == pytest.approx(180.0, abs=5.0)


def test_heavier_sample_costs_ascent_margin(params) -> None:
    d = draws.nominal(2, len(rvd.legs(params)))
    phase = ascent.simulate(params, d, np.array([0.0, 2000.0]))
    margin = phase.figures["propellant_margin_kg"]
    # 2 kg more to orbit costs 2 kg x (1 - 1/mass ratio) of propellant, ~0.9 kg here.
    assert 0.7 < margin[0] - margin[1] < 1.2
    assert phase.figures["burn_time_s"][1] > phase.figures["burn_time_s"][0]


def test_descent_ends_in_a_soft_landing_with_margin(params) -> None:
    d = draws.nominal(1, len(rvd.legs(params)))
    phase = descent.simulate(params, d, record=True)
    assert phase.ok[0]
    assert phase.figures["propellant_margin_kg"][0] > 0
    assert phase.figures["touchdown_speed_m_s"][0] < params.descent.touchdown_limit_m_s
    assert phase.trace["altitude_m"][-1] == 0.0


def _solve(dyn, y0: np.ndarray, t_max: float) -> np.ndarray:
    def event(_t, y):
        return dyn.event(y[:, None])[0]

    event.terminal = True
    sol = solve_ivp(
        lambda _t, y: dyn.rhs(y[:, None])[:, 0],
        (0.0, t_max),
        y0,
        rtol=1e-6,
        atol=1e-3,
        events=event,
        max_step=5.0,
    )
    return sol.y[:, -1], sol.t[-1]


def test_rk4_descent_matches_solve_ivp(params) -> None:
    d = draws.nominal(1, len(rvd.legs(params)))
    dyn = descent.dynamics(params, d)
    y0 = descent.initial_state(params, np.array([4500.0]))
    from lunasample.mission.integrate import rk4

    ours = rk4(dyn.rhs, dyn.event, y0, params.descent.dt_s, params.descent.max_time_s)
    ref, t_ref = _solve(dyn, y0[:, 0], params.descent.max_time_s)
    assert ours.t[0] == pytest.approx(t_ref, rel=0.01)
    assert ours.y[4, 0] == pytest.approx(ref[4], abs=5.0)  # mass at hover, kg


def test_rk4_reentry_matches_solve_ivp(params) -> None:
    d = draws.nominal(1, len(rvd.legs(params)))
    dyn = reentry.dynamics(params, d)
    y0 = reentry.initial_state(params, d, np.array([11.0]))
    from lunasample.mission.integrate import rk4

    ours = rk4(dyn.rhs, dyn.event, y0, params.reentry.dt_s, params.reentry.max_time_s)
    ref, t_ref = _solve(dyn, y0[:, 0], params.reentry.max_time_s)
    assert ours.t[0] == pytest.approx(t_ref, rel=0.02)
    assert ours.y[1, 0] == pytest.approx(ref[1], rel=0.02)  # downrange


def test_reentry_skips(params) -> None:
    d = draws.nominal(1, len(rvd.legs(params)))
    phase = reentry.simulate(params, d, np.array([11.0]))
    assert phase.ok[0]
    assert phase.figures["first_dip_alt_km"][0] < 70.0
    assert phase.figures["skip_apex_alt_km"][0] > params.reentry.skip_alt_km
    assert 3.0 < phase.figures["peak_g"][0] < params.reentry.peak_g_limit


def test_cw_closed_form_matches_integration() -> None:
    n = 7.0e-4
    x0 = np.array([-10000.0, -50000.0, 300.0, 0.5, 10.5, -0.2])
    sol = solve_ivp(lambda _t, y: cw.rhs(y, n), (0.0, 5000.0), x0, rtol=1e-11, atol=1e-9)
    assert cw.propagate(x0, n, 5000.0) == pytest.approx(sol.y[:, -1], rel=1e-6, abs=1e-4)


def test_cw_targeting_hits_the_aim_point() -> None:
    n = 7.0e-4
    r0 = np.array([[-10000.0, -50000.0, 0.0]])
    aim = np.array([0.0, -5000.0, 0.0])
    v = cw.targeting_velocity(r0, aim, n, 5400.0)
    end = cw.propagate(np.concatenate([r0, v], axis=1), n, 5400.0)
    assert end[0, :3] == pytest.approx(aim, abs=1e-6)


def test_vbar_hold_point_is_an_equilibrium() -> None:
    state = np.array([0.0, -1000.0, 0.0, 0.0, 0.0, 0.0])
    assert cw.propagate(state, 7e-4, 3000.0) == pytest.approx(state, abs=1e-9)


vectors = st.lists(st.floats(-1e4, 1e4), min_size=6, max_size=6).map(np.array)


@settings(max_examples=50, deadline=None)
@given(vectors, vectors, st.floats(-3, 3), st.floats(0.0, 6000.0))
def test_cw_propagation_is_linear(a: np.ndarray, b: np.ndarray, k: float, t: float) -> None:
    n = 7e-4
    lhs = cw.propagate(a + k * b, n, t)
    rhs = cw.propagate(a, n, t) + k * cw.propagate(b, n, t)
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-6)
