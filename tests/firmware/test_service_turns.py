"""The service phase's subsystem turns (app.service_step): one subsystem a
tick, in turn, and a turn waits while the tick's control step was long, at
most two ticks (run in the micropython binary)."""

from __future__ import annotations

import json

from tests.conftest import run_micropython

SCRIPT = """
import json, time
from sampler import app, comms, safety
class Line:
    def read(self):
        return -1
    def write(self, b):
        pass
ran = []
class Sub:
    def __init__(self, name):
        self.name = name
    def service(self, now_ms):
        ran.append(self.name)
ctx = app.Context({"loop_hz": 1000}, safety.Safety(), None, None)
ctx.comms = comms.Comms(Line(), ctx.safety)
ctx.comms._next_hb = 1 << 28  # no heartbeat in the way
ctx.sub = {"a": Sub("a"), "b": Sub("b"), "c": Sub("c")}
service = app.service_step(ctx, [None])
log = []
for used in %s:  # us the tick's control step took
    ran.clear()
    service(time.ticks_add(time.ticks_us(), -used))
    log.append(ran[0] if ran else "-")
print(json.dumps([[s.name for s in ctx.sub.values()], log]))
"""


def _turns(used: list[int]) -> list[str]:
    """Which subsystem each tick served ('-': none), its letters renamed
    a, b, c in the order the board's table holds them."""
    r = run_micropython(SCRIPT % json.dumps(used), heap_kb=256)
    assert r.returncode == 0, r.stdout + r.stderr
    order, log = json.loads(r.stdout)
    rename = dict(zip(order, "abc", strict=True))
    return [rename.get(x, x) for x in log]


def test_each_tick_serves_the_next_subsystem_in_turn() -> None:
    assert _turns([0] * 7) == ["a", "b", "c", "a", "b", "c", "a"]


def test_a_turn_waits_for_a_short_control_step_two_ticks_at_most() -> None:
    # 1 kHz: a step over 100 us (a tenth of the period) puts the turn off.
    assert _turns([500, 0, 500, 500, 0, 500, 500, 500, 0]) == [
        "-", "a", "-", "-", "b", "-", "-", "c", "a"]
