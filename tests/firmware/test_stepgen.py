"""The step generator's viper kernel (firmware/sampler/stepgen.py), run in
the unix port on random moves: every trapezoid move ends exactly on its
target without passing it, never faster than its top speed, and the pulses
it asks for add up to the distance; a constant-rate axis steps at its rate
to its goal, beyond the Q16 range of the trapezoid axes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import run_micropython

SCRIPT = r"""
import json
import simworld
simworld.setup({})
from sampler import stepgen as G
cases = json.loads(%(cases)r)
sg = G.StepGen()
trap = sg.axis(1, 2)
rate = sg.axis(3, 4, rate=True)
q = sg._q
out = []
for kind, start, goal, a, vm in cases:
    ax = trap if kind == "trap" else rate
    k = 0 if kind == "trap" else G.W
    ax.set_pos(start)
    if kind == "trap":
        ax.limits(a, vm)
    else:
        ax.rate(vm)
    ax.target(goal)
    net = 0
    fastest = 0
    passed = 0
    ticks = 0
    while ax.moving() and ticks < 100000:
        m = G.advance(q, 2, 1, sg._pm, sg._io, 0)
        sg.busy = m >> 16  # as StepGen.step keeps it
        bit = 1 if kind == "trap" else 2
        if m & bit:
            net += -1 if m & (bit << 8) else 1
        v = abs(q[k + G.VQ])
        fastest = v if v > fastest else fastest
        p = ax.pos()
        if (goal - start) * (goal - p) < 0:
            passed = 1
        ticks += 1
    out.append((ax.pos(), net, fastest, passed, ticks))
print(json.dumps(out))
"""

@st.composite
def trap_case(draw: st.DrawFn) -> tuple:
    # Speeds from 3 % of a step a tick: every move ends within the tick cap.
    start = draw(st.integers(-30000, 30000))
    a = draw(st.integers(3, 65536))
    return ("trap", start, start + draw(st.integers(-1000, 1000)), a,
            draw(st.integers(max(a, 2000), 65536)))


@st.composite
def rate_case(draw: st.DrawFn) -> tuple:
    start = draw(st.integers(-60000, 60000))
    # From 3 % of a step a tick to one step a tick.
    return ("rate", start, start + draw(st.integers(-1000, 1000)), 0,
            draw(st.integers(2000, 65536)))


@settings(max_examples=4, deadline=None)
@given(st.lists(st.one_of(trap_case(), rate_case()), min_size=25, max_size=25))
def test_moves_end_on_target_within_limits(cases: list[tuple]) -> None:
    r = run_micropython(SCRIPT % {"cases": json.dumps(cases)}, heap_kb=256, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for (kind, start, goal, _a, vm), (pos, net, fastest, passed, ticks) in zip(
            cases, json.loads(r.stdout), strict=True):
        assert pos == goal and net == goal - start, (kind, start, goal, pos, net)
        assert not passed, (kind, start, goal)
        if kind == "trap":
            assert fastest <= vm
        else:
            # One step per 65536 / vm ticks, the phase carried from step to step.
            assert ticks >= abs(goal - start) * 65536 // vm
