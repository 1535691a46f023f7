"""The drill and arm control steps run allocation-free: thousands of steps
under micropython.heap_lock(), in the unix port, with the simulated machine
and the real plant models answering on the pin bus."""

from __future__ import annotations

from lunasample import paths
from tests.conftest import run_micropython

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
saf.arm()
n = 0

def run(limit, done):
    global n
    for _ in range(limit):
        simworld.advance(1000)
        now = time.ticks_us()
        micropython.heap_lock()
        d.step(now)
        a.step(now)
        micropython.heap_unlock()
        n += 1
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


def test_drill_and_arm_steps_do_not_allocate() -> None:
    board = paths.BOARDS_DIR / "emulator.json"
    r = run_micropython(SCRIPT % {"board": str(board)}, heap_kb=512, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    words = r.stdout.split()
    assert words[0] == "OK", r.stdout
    steps, rock, jams, fault, delivered = words[1:6]
    assert int(steps) > 20000
    assert rock == "1" and int(jams) >= 4  # the drill met the rock layer: jam/back-off paths ran
    assert fault == "arm_stall" and delivered == "True"
