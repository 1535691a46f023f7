"""The control tick runs allocation-free: thousands of ticks of the drill,
the arm and the step generator (and, below, the whole RP2040 board, its
steps played by a simulated PIO state machine) under
micropython.heap_lock(), in the unix port, with the simulated machine and
the real plant models answering on the pin bus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lunasample import paths
from tests.conftest import run_micropython

# One tick of the loop's control step under the heap lock (both scripts):
# the schedule's entry for the tick, walked as Loop.run walks it.
LOCKED_TICK = r"""
ti = 0
def locked_tick():
    global n, ti
    # To the next whole ms, where the plants step: the pulses' few us of
    # driver timing inside the tick then never reach a plant step (its
    # float arithmetic allocates, and it is the simulation, not the tick).
    simworld.advance(1000 - simworld.vt_us % 1000)
    now = time.ticks_us()
    micropython.heap_lock()
    f = table[ti]
    if f is not None:
        f(now)
    ti += 1
    if ti == len(table):
        ti = 0
    micropython.heap_unlock()
    n += 1
"""

SCRIPT = r"""
import json, micropython, time
import simworld
b = json.load(open(%(board)r))
cfg = {"pins": b["pins"], "seed": 3, "speed": 0, "plant": {"rock_depth_mm": 30}}
simworld.setup(cfg)
import plant_drill, plant_arm
plant_drill.attach(cfg)
plant_arm.attach(cfg)
from sampler import safety as S
from sampler import arm as A, drill as D
from sampler import app
from sampler.app import Context
from sampler.comms import Comms
from sampler.config import Params

class Line:  # the console: nothing to read, replies discarded
    def read(self):
        return -1
    def write(self, data):
        pass

saf = S.Safety()
ctx = Context(b, saf, Comms(Line(), saf), Params())
d = D.make(ctx)
a = A.make(ctx)
ctx.sub["drill"] = d
ctx.sub["arm"] = a
saf.set_movers((d, a))
ctx.params.values["drill_rock_min_mm"] = 10
table = app.schedule(ctx, [None])  # stepgen every tick, drill and arm at their rates
saf.arm()
n = 0

%(tick)s
def run(limit, done):
    for _ in range(limit):
        locked_tick()
        a.service(time.ticks_ms())  # the service phase, unlocked: the arm's next instruction
        if done():
            return True
    return False

run(10, lambda: False)
d.start_drill(-1, 60)
assert run(200000, lambda: d.job == D.J_OK), "drill"
rock, jams = d.rock, d.jams
d.job = D.J_NONE
d.start_seal(-1)
assert run(20000, lambda: d.job == D.J_OK), "seal"
d.job = D.J_NONE
a.start(-1, A.A_HOMING, a.plan_home())
assert run(100000, lambda: a.job == A.J_OK), "home"
a.job = A.J_NONE
a.start(-1, A.A_SCOOP, a.plan_scoop(1), 1)
assert run(100000, lambda: a.job == A.J_OK), "scoop"
# Fault paths under the lock too: a stalled joint trips the safety chain.
a.job = A.J_NONE
a.start(-1, A.A_MOVING, a.plan_to(A.POSES["container"]))
simworld.faults["arm_stall"] = 1
assert run(20000, lambda: saf.state == S.FAULT), "stall"
print("OK", n, rock, jams, S.FAULT_NAMES[saf.fault], plant_arm.container_g > 0)
"""


@pytest.mark.parametrize("arm_hz", [50, 250])  # the RP2040 and emulator files', the most
def test_drill_and_arm_ticks_do_not_allocate(tmp_path: Path, arm_hz: int) -> None:
    # The arm's step allocates nothing and trips on a stall at either rate
    # (its tolerances are worked out from the rate).
    b = paths.load_board("emulator")
    b["step_hz"]["arm"] = arm_hz
    board = tmp_path / "board.json"
    board.write_text(json.dumps(b))
    r = run_micropython(SCRIPT % {"board": str(board), "tick": LOCKED_TICK}, heap_kb=512,
                        timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    words = r.stdout.split()
    assert words[0] == "OK", r.stdout
    steps, rock, jams, fault, delivered = words[1:6]
    assert int(steps) > 20000
    assert rock == "1" and int(jams) >= 4  # the drill met the rock layer: jam/back-off paths ran
    assert fault == "arm_stall" and delivered == "True"



APP_SCRIPT = r"""
import array, json, micropython, time
import simworld, machine
b = json.load(open("board.json"))
b["step_hz"] = %(step_hz)s
json.dump(b, open("board.json", "w"))
# The RP2040 board file: its step pins are played by a PIO state machine,
# run on virtual time.
cfg = {"pins": b["pins"], "seed": 5, "speed": 0, "pio": 1, "pio_clock": 1}
simworld.setup(cfg)
import plant_drill, plant_arm, plant_loadcell
feed = plant_drill.attach(cfg)
plant_arm.attach(cfg)
plant_loadcell.attach(cfg)
from sampler import app
try:
    ctx, loop = app.build()
except RuntimeError as e:  # a bad board file stops the boot
    print("ERR", e)
    raise SystemExit
d, a, sg = ctx.sub["drill"], ctx.sub["arm"], ctx.sub["stepgen"]
NAMES = ("stepgen", "drill", "arm")
ticks = [array.array("H", range(9000)) for _ in NAMES]  # each step's tick, preallocated
got = [0, 0, 0]
marks = [bytearray(8000) for _ in NAMES]  # the analysis' too: the run fragments the heap
n = 0
def counting(j, real):
    t = ticks[j]
    def step(now_us):
        t[got[j]] = n
        got[j] += 1
        real(now_us)
    return step
for j, sub in enumerate((sg, d, a)):
    sub.step = counting(j, sub.step)  # bound into the schedule by app.schedule
table = app.schedule(ctx, [machine.WDT(timeout=500)])
ctx.safety.arm()
d.start_drill(-1, 2000)
a.start(-1, 1, a.plan_home())
%(tick)s
while n < 8000:
    locked_tick()
def gap_range(t, m):
    hi = 0
    lo = 1 << 20
    for i in range(m - 1):
        g = t[i + 1] - t[i]
        hi = g if g > hi else hi
        lo = g if g < lo else lo
    return hi, lo
for j in range(3):
    m = marks[j]
    for i in range(got[j]):
        m[ticks[j][i]] = 1
shared = sum(marks[0][i] & marks[1][i] | marks[0][i] & marks[2][i] | marks[1][i] & marks[2][i]
             for i in range(8000))
out = ["OK"]
for j in range(3):
    hi, lo = gap_range(ticks[j], got[j])
    out += [got[j], hi, lo]
print(*out, shared, d.phase, a.state, feed.steps, d._feed.pos())
"""


def _run_app(tmp_path: Path, step_hz: str) -> list[str]:
    (tmp_path / "board.json").write_text(json.dumps(paths.load_board("rpi_pico")))
    r = run_micropython(APP_SCRIPT % {"step_hz": step_hz, "tick": LOCKED_TICK}, heap_kb=512,
                        timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.split()


def test_whole_control_tick_does_not_allocate_and_runs_each_subsystem_at_its_rate(
        tmp_path: Path) -> None:
    out = _run_app(tmp_path, '{"stepgen": 125, "drill": 100, "arm": 50}')  # the board file's
    assert out[0] == "OK", out
    (sg_calls, sg_max, sg_min, d_calls, d_max, d_min, a_calls, a_max, a_min, shared, phase,
     arm_state, plant_feed, feed_pos) = map(int, out[1:15])
    assert (sg_calls, sg_max, sg_min) == (1000, 8, 8)  # every 8th tick of 8000 at 1 kHz
    assert (a_calls, a_max, a_min) == (400, 20, 20)  # every 20th
    assert (d_calls, d_max, d_min) == (800, 10, 10)  # every 10th
    assert shared == 0  # staggered: no two of them share a tick
    assert phase > 0 and arm_state > 0  # drill and arm were working meanwhile
    # The feed's pulses went out through the PIO to the plant: the carriage
    # is where the step generator says, less what is still queued (16 ticks
    # at most, one step a tick).
    assert plant_feed != 0 and 0 <= abs(feed_pos) - abs(plant_feed) <= 16, (plant_feed,
                                                                             feed_pos)


def test_without_step_hz_every_subsystem_steps_every_tick(tmp_path: Path) -> None:
    # All but the PIO step generator, which plans two ticks a word: every
    # other tick.
    out = _run_app(tmp_path, "{}")
    assert out[0] == "OK" and out[1:10] == ["4000", "2", "2"] + ["8000", "1", "1"] * 2, out


def test_a_rate_that_does_not_divide_the_loop_rate_is_a_clear_error(tmp_path: Path) -> None:
    out = _run_app(tmp_path, '{"drill": 300}')
    assert out[:2] == ["ERR", "board.json:"] and "drill=300" in out, out
