"""The simulated machine.Timer is each port's own: the rp2 port's alarm-pool
timer (id -1, hard callbacks allowed), the ESP32's timers 0-3 with scheduled
callbacks only; and a callback waits while machine.disable_irq() holds."""

from __future__ import annotations

from tests.conftest import run_micropython

PORTS = """
import machine, simworld
out = []
def tries(chip, id, **kw):
    simworld.chip = chip
    try:
        t = machine.Timer(id)
        t.init(freq=1000, callback=lambda t: None, **kw)
        t.deinit()
        out.append("ok")
    except (ValueError, TypeError) as e:
        out.append(type(e).__name__)
tries("rp2040", -1, hard=True)
tries("rp2040", 0)
tries("esp32", 0)
tries("esp32", 0, hard=True)
tries("esp32", 4)
print(" ".join(out))
"""


def test_the_timers_are_the_ports_own() -> None:
    # rp2: only the alarm-pool timer -1, with hard=True; ESP32: timers 0-3
    # whose callbacks are always scheduled (no `hard` argument).
    r = run_micropython(PORTS, heap_kb=256)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ok", "ValueError", "ok", "TypeError", "ValueError"]


HELD = """
import machine, time, simworld
simworld.chip = "rp2040"
simworld.speed = 0
at = []
t = machine.Timer(-1)
t.init(freq=1000, callback=lambda tm: at.append(time.ticks_us()), hard=False)
time.sleep_us(2500)  # ticks at 1000 and 2000
irq = machine.disable_irq()
time.sleep_us(1800)  # 3000 and 4000 fall in here: held
n_held = len(at)
machine.enable_irq(irq)
time.sleep_us(1000)
t.deinit()
print(n_held, *[x - at[0] for x in at])
"""


def test_a_callback_waits_while_interrupts_are_held_and_the_grid_stays() -> None:
    r = run_micropython(HELD, heap_kb=256)
    assert r.returncode == 0, r.stderr
    n_held, *at = (int(x) for x in r.stdout.split())
    assert n_held == 2
    # The held ones run at enable_irq, late (4300 - 1000), one after the
    # other as the rp2 alarm pool catches up; the grid stays (5000).
    assert at == [0, 1000, 3300, 3300, 4000]
