"""Control-step cost of the whole firmware tick, the loop's service phase,
and the emulator's sustained speed.

The tick measured is each board's own control step (`app.control_step`:
every subsystem's step at its board rate, the watchdog once a cycle), built
by `app.build()` in the MicroPython unix port with the simulated machine and
the plant models (plant time excluded), in the busiest case: the drill
feeding under speed control, the three arm joints slewing at the start of a
scoop, the scale converting. A second pass over the whole scoop (servo waits
included) gives the mean load. Two board files: the RP2040 as it runs (steps
and HX711 on PIO state machines, simulated on virtual time) at 1 kHz, and
the ESP32 (steps through the GPIO registers every tick) at 250 Hz.

The simulated machine's calls (a pin write that steps a plant, an ADC read
that evaluates a motor model) cost far more than a board's C machine
module, so they are recorded and replayed: a recording pass runs the real
simulation, counts the calls by kind and subsystem and keeps every result;
the timed passes replay the same run with each call answered from the
recording by a small wrapper, whose own time is measured and taken out.
What remains is the firmware's own share. The RP2040 figure is an estimate:
(firmware share + the same calls at the price of a built-in call) x the
unix-port-to-RP2040 cost ratio, and the ratio is measured in the same run:
the unix port times the integer-addition loop of a published board
comparison (shaoziyang/micropython_benchmarks: `for i in range(n): c = p[1]
+ p[2]`, 1,000,000 times took 7,984 ms on an RP2040 at 125 MHz and 6,112 ms
on an ESP32 at 160 MHz, MicroPython 1.23), and the ratio is the published
time over ours. One loop of plain integer bytecode stands for the whole
tick, viper and native code included: a bench-rig measurement (`--ratio`)
would replace it.

Last line: step_us=<x> fw_us=<y> rp2040_ratio=<r> step_pct_rp2040_1khz=<z>
mean_pct_rp2040_1khz=<m> step_pct_esp32_250hz=<e> loop_pct_rp2040_1khz=<l>
mean_loop_pct_rp2040_1khz=<ml> emu_speed=<s> (one line)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link

# Published: integer-addition loop, 1e6 times, MicroPython 1.23 (see above).
ADD_LOOP_MS_1E6 = {"rp2040": 7984.0, "esp32": 6112.0}


STEP_SCRIPT = r"""
import array, json, time, utime
import simworld, machine
b = json.load(open("board.json"))
PIO = %(pio)r
# The RP2040 board as it runs: its steps and HX711 on (simulated) PIO state
# machines running on virtual time.
cfg = {"pins": b["pins"], "seed": 1, "speed": 0, "pio": PIO, "pio_clock": PIO}
TICK_US = 1000000 // b["loop_hz"]
simworld.setup(cfg)
import plant_drill, plant_arm, plant_loadcell
plant_drill.attach(cfg)
plant_arm.attach(cfg)
plant_loadcell.attach(cfg)

# The simulated machine costs far more than a board's C machine module (a
# pin write steps a plant, an ADC read evaluates a motor model), so its
# calls are taken out by record and replay. Its methods (and the simulated
# time and IRQ functions, C on a board) are wrapped before the firmware
# binds them. The recording pass runs the real simulation, counts the calls
# by kind and by the subsystem making them, and records every call's result
# in order; the timed passes replay the same run, each call answered with
# the recorded result by the wrapper alone, whose own cost (a few bytecodes,
# the same for every call) is timed and taken out.
PIO_CALLS = ("put", "get", "tx_fifo", "rx_fifo", "exec", "active")
KINDS = ("pin_w", "pin_r", "dev_w", "dev_r", "mem") + tuple(
    "pio_" + m for m in PIO_CALLS) + ("adc", "enc", "pwm", "wdt", "time", "irq", "con")
CALLS = {}  # (subsystem, kind) -> calls
CUR = ["tick"]
now_us = time.ticks_us  # the harness's clock, never counted
PASS, RECORD, REPLAY = 0, 1, 2
STATE = [PASS]
NONE = -2147483647  # a call that returned None
OUT = array.array("i", bytes(4 * 500000))  # results, recording: preallocated
NOUT = [0]
POS = [0]  # the next result, replaying
REC = None

_N = object()  # an argument not given

def hw(key_of, f):
    # Up to three positional arguments, no *args: a replayed call must not
    # allocate (an args tuple a call would keep the collector busy).
    def w(x=_N, y=_N, z=_N):
        if STATE[0] == REPLAY:
            i = POS[0]
            POS[0] = i + 1
            v = REC[i]
            return None if v == NONE else v
        a = () if x is _N else (x,) if y is _N else (x, y) if z is _N else (x, y, z)
        r = f(*a)
        if STATE[0] == RECORD:
            k = (CUR[0], key_of(a))
            CALLS[k] = CALLS.get(k, 0) + 1
            n = NOUT[0]
            OUT[n] = NONE if r is None else int(r)
            NOUT[0] = n + 1
        return r
    return w

COUNT = %(mode)r == "count"
SPLIT = %(mode)r == "split"
def pin_kind(a):
    dev = a[0]._dev is not None
    if len(a) > 1:
        return "dev_w" if dev else "pin_w"
    return "dev_r" if dev else "pin_r"

for cls, attr, key in (
        (machine.Pin, "value", pin_kind), (machine.Pin, "__call__", pin_kind),
        (machine.Pin, "on", lambda a: "dev_w" if a[0]._dev is not None else "pin_w"),
        (machine.Pin, "off", lambda a: "dev_w" if a[0]._dev is not None else "pin_w"),
        (type(machine.mem32), "__setitem__", lambda a: "mem"),
        (machine.ADC, "read_u16", lambda a: "adc"),
        (machine.Encoder, "value", lambda a: "enc"),
        (machine.PWM, "duty_u16", lambda a: "pwm"), (machine.WDT, "feed", lambda a: "wdt"),
        (time, "ticks_us", lambda a: "time"), (time, "ticks_ms", lambda a: "time"),
        (time, "ticks_diff", lambda a: "time"), (time, "ticks_add", lambda a: "time"),
        (machine, "disable_irq", lambda a: "irq"), (machine, "enable_irq", lambda a: "irq")):
    setattr(cls, attr, hw(key, getattr(cls, attr)))
if PIO:
    import pio_sim
    for attr in PIO_CALLS:
        setattr(pio_sim._StateMachine, attr,
                hw(lambda a, k="pio_" + attr: k, getattr(pio_sim._StateMachine, attr)))

class Line:
    # The console: nothing to read, frames written go nowhere.
    def read(self):
        return -1
    def write(self, data):
        pass

Line.read = hw(lambda a: "con", Line.read)
Line.write = hw(lambda a: "con", Line.write)

from sampler import app
ctx, loop = app.build()
ctx.comms._con = Line()
ctx.comms.tm_period_ms = 100  # telemetry at 10 Hz, as a mission runs it
d, a, sc = ctx.sub["drill"], ctx.sub["arm"], ctx.sub["scale"]
SUBS = ("stepgen", "drill", "arm")
BY = {n: 0 for n in SUBS}  # us in each subsystem's step (split pass)
for name in SUBS if COUNT or SPLIT else ():
    def wrap(name, f):
        def w(now):
            CUR[0] = name  # whose hardware calls these are (count pass)
            t0 = utime.ticks_us()
            f(now)
            BY[name] += utime.ticks_diff(utime.ticks_us(), t0)
            CUR[0] = "tick"
        return w
    sub = ctx.sub[name]
    sub.step = wrap(name, sub.step)
wdt = [machine.WDT(timeout=500)]
control = app.control_step(ctx, wdt)
service = app.service_step(ctx, wdt)
if COUNT:
    svc = service
    def service():
        CUR[0] = "service"
        svc()
        CUR[0] = "tick"
ctx.safety.arm()
a.start(-1, 1, a.plan_home())
while a.job != 2:
    simworld.advance(TICK_US)
    control(now_us())
a.job = 0
CALLS.clear()
for n in SUBS:
    BY[n] = 0
d.start_drill(-1, 2000)
a.start(-1, 3, a.plan_scoop(3), 3)
# From here the run is recorded, or replayed.
if COUNT:
    STATE[0] = RECORD
else:
    OUT = None  # only the recording pass keeps results
    with open("hw.rec", "rb") as f:
        n = int(f.readline())
        REC = array.array("i", bytes(4 * n))
        f.readinto(REC)
    STATE[0] = REPLAY
    simworld.wdt_deadline = -1  # the replayed feeds never reach the simulated watchdog

def run(n):
    spent = 0
    worst = 0
    serv = 0
    for _ in range(n):
        simworld.advance(TICK_US)
        now = now_us()
        t0 = utime.ticks_us()
        control(now)
        t1 = utime.ticks_us()
        service()
        serv += utime.ticks_diff(utime.ticks_us(), t1)
        dt = utime.ticks_diff(t1, t0)
        spent += dt
        if dt > worst:
            worst = dt
    return spent / n, worst, serv / n

def per_kind(calls, n, svc=False):
    return [sum(c for (s, k), c in calls.items() if k == kind and (s == "service") == svc) / n
            for kind in KINDS]

busy, worst, busy_svc = run(%(steps)d)
N = %(steps)d
busy_calls = dict(CALLS)
busy_by = dict(BY)
rest = 0
spent = 0
spent_svc = 0
while a.job != 2:  # the rest of the scoop: moves, servo waits, dump
    m, _, ms = run(100)
    spent += m * 100
    spent_svc += ms * 100
    rest += 100
mean = (busy * N + spent) / (N + rest)
mean_svc = (busy_svc * N + spent_svc) / (N + rest)
STATE[0] = PASS
print("STEP", busy, worst, mean, N + rest, d.phase, ctx.safety.state)
print("SVC", busy_svc, mean_svc)
print("CALLS", " ".join("%%.4f" %% c for c in per_kind(busy_calls, N)))
print("MCALLS", " ".join("%%.4f" %% c for c in per_kind(CALLS, N + rest)))
print("SCALLS", " ".join("%%.4f" %% c for c in per_kind(busy_calls, N, True)))
print("MSCALLS", " ".join("%%.4f" %% c for c in per_kind(CALLS, N + rest, True)))

if COUNT:
    with open("hw.rec", "wb") as f:
        f.write("%%d\n" %% NOUT[0])
        f.write(memoryview(OUT)[:NOUT[0]])
    for name in SUBS:
        print("SUBCALLS", name, sum(n for (s, k), n in busy_calls.items() if s == name) / N)
else:
    # The whole replay was used: the replayed run took the recorded path.
    assert POS[0] == len(REC), (POS[0], len(REC))
    # The wrapper's own time, answering from a recording (the fastest of
    # several batches: noise only adds time).
    w = hw(lambda a: "x", None)
    REC = array.array("i", [NONE] * 3000)
    STATE[0] = REPLAY
    best = 1 << 30
    for _ in range(7):
        POS[0] = 0
        t0 = utime.ticks_us()
        for _ in range(3000):
            w(1)
        best = min(best, utime.ticks_diff(utime.ticks_us(), t0))
    STATE[0] = PASS
    print("STUB", best / 3000)
if SPLIT:
    for name in SUBS:
        print("BY", name, busy_by[name] / N)

# What a built-in call costs on this port: the price of a hardware call on a
# real board, whose machine module is C.
def loop_only(n=3000):
    best = 1 << 30
    for _ in range(7):
        t0 = utime.ticks_us()
        for _ in range(n):
            pass
        best = min(best, utime.ticks_diff(utime.ticks_us(), t0))
    return best / n

def builtin_call(n=3000):
    best = 1 << 30
    x = -1
    f = abs  # a local, as a board's pin object is: the call, not the name look-up
    for _ in range(7):
        t0 = utime.ticks_us()
        for _ in range(n):
            f(x)
        best = min(best, utime.ticks_diff(utime.ticks_us(), t0))
    return best / n

print("COST", loop_only(), builtin_call())

# The published integer-addition loop, timed in the same process (the
# fastest of several: noise only adds time): the RP2040 ratio's baseline.
def add_loop(p):
    for i in range(p[0]):
        c = p[1] + p[2]
best = 1 << 30
for _ in range(7):
    t0 = utime.ticks_us()
    add_loop([200000, 12345678, 56781234])
    best = min(best, utime.ticks_diff(utime.ticks_us(), t0))
print("ADD", best * 5)  # us per 1e6
"""

def run_mp(script: str, cwd: str | None = None) -> str:
    """Run a script in the unix port with the firmware and sim on MICROPYPATH."""
    env = dict(os.environ, MICROPYPATH=f"{paths.SIM_DIR}:{paths.FIRMWARE_DIR}")
    r = subprocess.run([paths.micropython_binary(), "-X", "heapsize=4M", "-c", script],
                       capture_output=True, text=True, env=env, timeout=600,
                       cwd=cwd or str(paths.FIRMWARE_DIR))
    if r.returncode != 0:
        sys.exit(f"micropython failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return r.stdout


def step_figures(board_name: str, pio: int, steps: int,
                 reps: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """The recording pass, then timing passes (the fastest of `reps` kept:
    noise only adds time) and a per-subsystem timing pass replaying it, of
    the control tick of board `board_name` (see the docstring); the second
    dict is each subsystem's own time per tick in the busiest stretch, the
    replay's wrapper taken out."""
    board = (Path(paths.BOARDS_DIR) / f"{board_name}.json").read_text()
    out: dict[str, list[float]] = {}
    by: dict[str, float] = {}
    subcalls: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as keep:
        for mode in ["count"] + ["time"] * reps + ["split"]:
            with tempfile.TemporaryDirectory() as flash:  # params and journal land here
                Path(flash, "board.json").write_text(board)
                if mode != "count":
                    shutil.copy(Path(keep, "hw.rec"), flash)
                text = run_mp(STEP_SCRIPT % {"steps": steps, "mode": mode, "pio": pio},
                              cwd=flash)
                if mode == "count":
                    shutil.copy(Path(flash, "hw.rec"), keep)
            for line in text.splitlines():
                key, *vals = line.split()
                if key in ("BY", "SUBCALLS"):
                    (by if key == "BY" else subcalls)[vals[0]] = float(vals[1])
                    continue
                got = [float(v) for v in vals]
                if mode == "time" and key in ("STEP", "SVC", "COST", "ADD", "STUB"):
                    if key not in out or (key != "COST" and got[0] < out[key][0]):
                        out[key] = got
                elif mode == "count" and key in ("CALLS", "MCALLS", "SCALLS", "MSCALLS"):
                    out[key] = got
    stub = out["STUB"][0]
    return out, {k: max(v - subcalls.get(k, 0.0) * stub, 0.0) for k, v in by.items()}


def emulator_speed(seconds: float) -> float:
    """Virtual seconds per real second of the unpaced emulator while drilling."""
    with EmulatedBoard(speed=0) as b, Link(b.url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        lk.command("DRILL", depth=2000)
        time.sleep(0.5)  # past homing and spin-up
        t0, q0 = time.monotonic(), b.query()["t_us"]
        time.sleep(seconds)
        t1, q1 = time.monotonic(), b.query()["t_us"]
        lk.command("STOP")
    return (q1 - q0) / 1e6 / (t1 - t0)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures; the last line is machine-readable."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations (CI)")
    ap.add_argument("--ratio", type=float, default=0.0,
                    help="RP2040 / unix-port cost ratio for the estimate (default: measured "
                         "in this run against the published integer-addition loop)")
    a = ap.parse_args(argv)
    steps = 3000  # the busiest stretch: every joint slewing while the drill feeds
    reps = 1 if a.quick else 5
    f, by = step_figures("rpi_pico", 1, steps, reps)
    fe, _ = step_figures("esp32_devkitc", 0, steps, reps)
    busy_us, worst_us, mean_us, ticks = f["STEP"][0], f["STEP"][1], f["STEP"][2], f["STEP"][3]
    loop_us, builtin_us = f["COST"]
    call_us = builtin_us - loop_us  # one call of a built-in (C) function
    speed = emulator_speed(1.5 if a.quick else 5.0)
    add_ms_1e6 = f["ADD"][0] / 1000.0
    ratio = a.ratio or ADD_LOOP_MS_1E6["rp2040"] / add_ms_1e6
    esp32_ratio = ADD_LOOP_MS_1E6["esp32"] / add_ms_1e6 * (a.ratio / ratio if a.ratio else 1)

    def estimate(g: dict[str, list[float]], step_us: float, calls: list[float],
                 r: float) -> tuple[float, float, float]:
        # The replay's wrapper out; each call priced as a built-in call.
        stub_us = sum(calls) * g["STUB"][0]
        fw_us = max(step_us - stub_us, 0.0)
        return stub_us, fw_us, (fw_us + sum(calls) * call_us) * r

    sim_busy, fw_us, rp_us = estimate(f, busy_us, f["CALLS"], ratio)
    _, mfw_us, mrp_us = estimate(f, mean_us, f["MCALLS"], ratio)
    # The whole loop tick: the control step and the service phase after it.
    _, sfw_us, srp_us = estimate(f, f["SVC"][0], f["SCALLS"], ratio)
    _, _, msrp_us = estimate(f, f["SVC"][1], f["MSCALLS"], ratio)
    loop_pct, mloop_pct = (rp_us + srp_us) / 10.0, (mrp_us + msrp_us) / 10.0
    pct, mpct = rp_us / 10.0, mrp_us / 10.0  # of the 1 ms period at 1 kHz
    # The ESP32 board file's own tick (no PIO: its steps pulse through the
    # GPIO registers every tick) at its 250 Hz (4 ms period).
    _, efw_us, esp_us = estimate(fe, fe["STEP"][0], fe["CALLS"], esp32_ratio)
    esp_pct = esp_us / 40.0
    kinds = ("pin writes", "pin reads", "device pin writes", "device pin reads",
             "register stores", "PIO", "ADC", "encoder", "PWM", "watchdog", "time", "IRQ",
             "console")

    def per_label(calls: list[float]) -> list[float]:
        return calls[:5] + [sum(calls[5:11])] + calls[11:]
    print(f"RP2040 board (steps and HX711 on PIO) control tick, busiest (drill feeding, "
          f"3 joints slewing, scale converting), unix port: {busy_us:.2f} us mean over "
          f"{steps} ticks, {worst_us:.0f} us worst")
    print("  hardware calls per tick: " + ", ".join(
        f"{k} {n:.2f}" for k, n in zip(kinds, per_label(f["CALLS"]), strict=True))
          + f"; replaying them {sim_busy:.2f} us a tick")
    print("  firmware time per tick by subsystem: " + ", ".join(
        f"{k} {v:.2f} us" for k, v in by.items()))
    print(f"  firmware share: {fw_us:.2f} us; a built-in call costs {call_us:.3f} us here")
    print(f"whole scoop ({ticks:.0f} ticks): {mean_us:.2f} us mean, "
          f"firmware share {mfw_us:.2f} us")
    print(f"integer-addition loop: {add_ms_1e6:.1f} ms per 1e6 here; published RP2040 "
          f"{ADD_LOOP_MS_1E6['rp2040']:.0f} ms -> x{ratio:.0f}"
          + (" (--ratio given)" if a.ratio else "")
          + f", ESP32 {ADD_LOOP_MS_1E6['esp32']:.0f} ms -> x{esp32_ratio:.0f}")
    print(f"RP2040 estimate (x{ratio:.0f}): busiest {rp_us:.0f} us = {pct:.1f} % of 1 kHz, "
          f"whole-scoop mean {mrp_us:.0f} us = {mpct:.1f} %")
    print(f"ESP32 board (steps through GPIO registers every tick), busiest: "
          f"{fe['STEP'][0]:.2f} us, firmware {efw_us:.2f} us; estimate (x{esp32_ratio:.0f}), "
          f"its 250 Hz loop: {esp_pct:.1f} % of 4 ms")
    print(f"service phase after it (link, TM at 10 Hz, one subsystem's service, the scale's "
          f"HX711 poll in its turn): {f['SVC'][0]:.2f} us, firmware {sfw_us:.2f} us; whole "
          f"loop tick on the RP2040: busiest {loop_pct:.1f} %, whole scoop {mloop_pct:.1f} % "
          f"of 1 ms")
    print(f"emulator, unpaced, drilling: {speed:.1f} x real time")
    print(f"step_us={busy_us:.2f} fw_us={fw_us:.2f} rp2040_ratio={ratio:.0f} "
          f"step_pct_rp2040_1khz={pct:.1f} mean_pct_rp2040_1khz={mpct:.1f} "
          f"step_pct_esp32_250hz={esp_pct:.1f} loop_pct_rp2040_1khz={loop_pct:.1f} "
          f"mean_loop_pct_rp2040_1khz={mloop_pct:.1f} emu_speed={speed:.1f}")


if __name__ == "__main__":
    main()
