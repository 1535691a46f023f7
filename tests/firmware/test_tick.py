"""The hard/soft split (sampler/loop.py): the control tick runs on its timer
interrupt at its own microsecond whatever the soft loop does, soft code that
holds the interrupt off delays it and is counted, and the simulated timer is
as strict as the ports' (run in the micropython binary on virtual time)."""

from __future__ import annotations

import json

from tests.conftest import run_micropython

HEAD = """
import json, machine, time, simworld
from array import array
from sampler.loop import Loop
simworld.chip = "rp2040"
simworld.speed = 0  # virtual time as fast as it goes
"""

TICK = (
    HEAD
    + """
at = array("i", bytes(4 * 400))
n = [0]
def rec(now_us):
    if n[0] < 400:
        at[n[0]] = now_us
        n[0] += 1
loop = Loop(1000)
passes = [0]
def soft():
    passes[0] += 1
    if %(hold)d:
        irq = machine.disable_irq()
        time.sleep_us(%(hold)d)  # soft code holding the tick off
        machine.enable_irq(irq)
    time.sleep_us(%(work)d)  # a long soft pass: a heap walk, a flash write
    if loop.ticks >= 400:
        loop.running = False
    return True
loop.start((rec,))
loop.run(soft)
loop.stop()
gaps = sorted(set(time.ticks_diff(at[i + 1], at[i]) for i in range(399)))
from sampler.loop import bin_us
late = [bin_us(i) for i in range(len(loop.late)) if loop.late[i]]
print(json.dumps([loop.ticks, passes[0], gaps, loop.overruns, late, loop.late_us(1)]))
"""
)


def _tick(work: int, hold: int) -> list:
    r = run_micropython(TICK % {"work": work, "hold": hold}, heap_kb=256)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_the_tick_keeps_its_period_while_soft_passes_take_milliseconds() -> None:
    ticks, passes, gaps, overruns, late, p9999 = _tick(work=7000, hold=0)
    assert ticks >= 400 and passes < 70  # ~7 ticks inside every soft pass
    assert gaps == [1000] and overruns == 0 and late == [0] and p9999 == 0


def test_soft_code_holding_the_interrupt_off_delays_the_tick_and_is_counted() -> None:
    # Held 300 us of every 2.3 ms pass: a tick due inside the hold runs when
    # it ends, late; the grid stays (the next one is on time).
    ticks, _, gaps, overruns, late, p9999 = _tick(work=2000, hold=300)
    assert ticks >= 400 and overruns == 0
    assert late[0] == 0 and 200 <= max(late) <= 307 and p9999 == max(late)
    assert min(gaps) < 1000 < max(gaps) <= 1300
    # Held 2.5 ms: a tick runs past the next one's due time, an overrun.
    ticks, _, _, overruns, late, _ = _tick(work=500, hold=2500)
    assert ticks >= 400 and overruns > 0


ALLOC = (
    HEAD
    + """
loop = Loop(1000)
def bad(now_us):
    if loop.ticks == 5:
        [now_us]  # allocates: a hard interrupt has the heap locked
loop.start((bad,))
time.sleep_us(20000)
print("ticks", loop.ticks)
"""
)


def test_an_allocating_hard_tick_raises_and_stops_its_timer_as_on_the_rp2() -> None:
    r = run_micropython(ALLOC, heap_kb=256)
    assert r.returncode == 0, r.stderr
    assert "Uncaught exception in IRQ callback handler" in r.stdout
    assert "MemoryError" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "ticks 5"
