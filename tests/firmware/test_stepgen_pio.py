"""The step generator's PIO mode (the RP2040 board): the viper kernel plans
k ticks at a time into pin words, two ticks a word, and a state machine
(the real program, in the simulated rp2 on virtual time) plays them on the
step and direction pins, where counting devices stand in for the drivers.
Random moves with random holds, falling anywhere in a word: every pulse
the pins carried is in the positions and no pulse comes after a hold; a
batch of k ticks steps exactly as k single ticks do; a watched home switch
stops the axis within one batch."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import run_micropython

PRELUDE = r"""
import json
import simworld
simworld.setup({"pio": 1, "pio_clock": 1, "speed": 0, "pins": {}})
from sampler import stepgen as G

class Driver:
    # A stepper driver on a step pin: counts rising edges, signed by the
    # direction pin's level then, and notes when the last one came.
    def __init__(self, dir_pin):
        self.n = 0
        self.lv = 0
        self.d = dir_pin
        self.last_us = -1
    def pin_write(self, pin, v):
        if v and not self.lv:
            self.n += 1 if simworld.pin_level(self.d) else -1
            self.last_us = simworld.vt_us
        self.lv = 1 if v else 0
    def pin_read(self, pin):
        return self.lv

def board(k):
    # Step and direction pins interleaved on GPIO 2-9, as on the Pico board.
    drv = []
    for i in range(4):
        d = Driver(3 + 2 * i)
        simworld.attach_pin(2 + 2 * i, d)
        drv.append(d)
    sg = G.StepGen(None, {"sm": 1, "base": 2}, k, 1000)
    axes = [sg.axis(2 + 2 * i, 3 + 2 * i, rate=(i == 3)) for i in range(4)]
    return sg, axes, drv

def start(axes, moves):
    # Three trapezoid joints and a constant-rate feed, each to its goal.
    for i, (goal, a, vm) in enumerate(moves):
        if i < 3:
            axes[i].limits(a, vm)
        else:
            axes[i].rate(vm)
        axes[i].target(goal)
"""

MOVES = PRELUDE + r"""
k, moves, holds, phase = json.loads(%(case)r)
sg, axes, drv = board(k)
start(axes, moves)
held = {}
t = 0
while t < 200000 and (t <= 3000 or sg.busy):  # the holds, then to the end
    if t %% k == 0:
        sg.step(t)
    simworld.advance(phase)  # the holds come `phase` us into the tick
    for i, at in enumerate(holds):
        if at == t:
            axes[i].hold()
            held[i] = simworld.vt_us
    simworld.advance(1000 - phase)
    t += 1
simworld.advance(20000)  # the queue drains
print(json.dumps([[a.pos() for a in axes], [d.n for d in drv],
                  [d.last_us - held[i] if i in held and d.last_us >= 0 else -1
                   for i, d in enumerate(drv)], sg._sm.tx_fifo()]))
"""

move = st.tuples(st.integers(-3000, 3000), st.integers(100, 65536), st.integers(2000, 65536))


@settings(max_examples=8, deadline=None)
@given(st.sampled_from([2, 4, 8]), st.lists(move, min_size=4, max_size=4),
       st.lists(st.integers(-1, 3000), min_size=4, max_size=4), st.integers(0, 999))
# A slow feed move, longer than the 3000 ticks the holds fall in.
@example(k=2, moves=[(0, 100, 2000)] * 3 + [(123, 100, 2000)], holds=[0, 0, 0, -1], phase=0)
# A step every tick; holds on either tick of a word, before, in and after a
# pulse (the pulses go out 4-8 us into a tick).
@example(k=8, moves=[(3000, 65536, 65536)] * 3 + [(3000, 0, 65536)], holds=[5, 6, 7, 300],
         phase=2)
@example(k=8, moves=[(3000, 65536, 65536)] * 3 + [(3000, 0, 65536)], holds=[5, 6, 7, 300],
         phase=6)
@example(k=8, moves=[(3000, 65536, 65536)] * 3 + [(3000, 0, 65536)], holds=[5, 6, 7, 300],
         phase=500)
def test_pulses_on_the_pins_are_the_positions_and_stop_at_a_hold(
        k: int, moves: list[tuple[int, int, int]], holds: list[int], phase: int) -> None:
    r = run_micropython(MOVES % {"case": json.dumps([k, moves, holds, phase])}, heap_kb=256,
                        timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    pos, pulses, after_hold, queued = json.loads(r.stdout)
    assert pulses == pos  # nothing queued was lost or counted twice
    assert queued == 0
    for i, (goal, _a, _vm) in enumerate(moves):
        if holds[i] < 0:
            assert pos[i] == goal  # an unheld move ends on its target
        # The last pulse of a held axis came before its hold (-1: no pulse
        # at all, or none after the hold).
        assert after_hold[i] <= 0, (i, after_hold)


BATCH = PRELUDE + r"""
# The same moves planned one tick at a time (CPU mode's kernel call) and k
# at a time into pin words: the same pulse on the same tick.
moves, k = json.loads(%(case)r)
def plan(kk):
    sg = G.StepGen()
    start([sg.axis(2 + 2 * i, 3 + 2 * i, rate=(i == 3)) for i in range(4)], moves)
    for i in range(4):  # PIO bit positions: step 2i, direction 2i + 1
        sg._pm[i * 3] = 1 << (2 * i)
        sg._pm[i * 3 + 1] = 1 << (2 * i + 1)
    return sg
import array
one = plan(1)
many = plan(k)
buf = array.array("i", [0] * (k // 2))
io = array.array("i", [0] * 3)
bad = 0
ticks = 0
while ticks < 6000:
    m = G.advance(many._q, 4, k, many._pm, buf, 1)
    for j in range(k):
        w = (buf[j >> 1] >> (16 * (j & 1))) & 0xFFFF  # two ticks a word
        steps = ((w >> 8) ^ w) & 0xFF
        m1 = G.advance(one._q, 4, 1, one._pm, io, 0)
        for i in range(4):
            if m1 & (1 << i):
                if not steps & (1 << (2 * i)):
                    bad += 1
                fwd = 0 if m1 & (256 << i) else 1
                if fwd != (1 if w & (1 << (2 * i + 1)) else 0):
                    bad += 1
            elif steps & (1 << (2 * i)):
                bad += 1
    ticks += k
    if not m >> 16:
        break
print(json.dumps([bad, list(one._q) == list(many._q), ticks]))
"""


short_move = st.tuples(st.integers(-400, 400), st.integers(100, 65536),
                       st.integers(8000, 65536))


@settings(max_examples=10, deadline=None)
@given(st.lists(short_move, min_size=4, max_size=4), st.sampled_from([2, 4, 6, 8]))
def test_a_batch_of_k_ticks_steps_as_k_single_ticks(
        moves: list[tuple[int, int, int]], k: int) -> None:
    r = run_micropython(BATCH % {"case": json.dumps([moves, k])}, heap_kb=256, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    bad, same_state, ticks = json.loads(r.stdout)
    assert bad == 0 and same_state and ticks < 6000


HOMING = PRELUDE + r"""
# A home switch that closes once the joint's driver has taken it `at`
# steps backwards; the axis is watched and sent far beyond it.
at, vm = json.loads(%(case)r)
sg, axes, drv = board(8)
class Switch:
    def pin_read(self, pin):
        return 1 if drv[0].n <= -at else 0
    def pin_write(self, pin, v):
        pass
simworld.attach_pin(12, Switch())
import machine
ax = axes[0]
sg.switch(ax, machine.Pin(12, machine.Pin.IN))
ax.limits(65536, vm)
ax.target(-30000)
sg.watch(ax, True)
t = 0
while ax.moving() and t < 200000:
    if t %% 8 == 0:
        sg.step(t)
    simworld.advance(1000)
    t += 1
simworld.advance(20000)
print(json.dumps([ax.hit, ax.pos(), drv[0].n]))
"""


@settings(max_examples=6, deadline=None)
@given(st.integers(1, 400), st.integers(2000, 65536))
def test_a_watched_switch_stops_the_axis_within_one_batch(at: int, vm: int) -> None:
    r = run_micropython(HOMING % {"case": json.dumps([at, vm])}, heap_kb=256, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    hit, pos, pulses = json.loads(r.stdout)
    assert hit == 1 and pos == pulses
    # Past the closing step by at most what one batch (8 ticks) and the
    # ticks before the next switch check can carry at this speed.
    per_tick = vm / 65536
    assert -at >= pos >= -at - (16 * per_tick + 1), (at, vm, pos)
