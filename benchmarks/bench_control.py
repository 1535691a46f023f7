"""Control-step cost of the whole firmware tick on the unix port, the ESP32's
estimate, and the emulator's sustained speed.

The tick measured is each board's own control step (`app.schedule`, walked
as the timer interrupt walks it: every subsystem's step at its board rate,
the watchdog once a cycle), built by `app.build()` in the MicroPython unix
port with the simulated machine and the plant models (plant time excluded),
in the busiest case: the drill feeding under speed control, the three arm
joints slewing at the start of a scoop, the scale converting. Two board
files: the RP2040 as it runs (steps and HX711 on PIO state machines,
simulated on virtual time) at 1 kHz, and the ESP32 (steps through the GPIO
registers every tick) at 250 Hz.

The simulated machine's calls (a pin write that steps a plant, an ADC read
that evaluates a motor model) cost far more than a board's C machine
module, so they are recorded and replayed: a recording pass runs the real
simulation, counts the calls by kind and subsystem and keeps every result;
the timed passes replay the same run, each call answered from the
recording by a small wrapper. The ticks are timed in blocks of whole
schedule cycles, each block's fastest over the passes kept (the same
block is the same work in every pass, and the machine's noise only adds
time: it disturbs a block in one pass, not in all). Every other block is
doubled, each call answered by a second wrapper body as well, and the
firmware's share is 2 x single - double: the wrapper's cost taken out as it
is amid the tick, not as it is alone in a tight loop.

The RP2040's cost on its own port is rp2040_emulated.py's (MicroPython's
rp2 port on rp2040js, timed on the board's clock): no estimate here. The
ESP32 has no emulated port, so its figure is an estimate: (firmware share +
the same calls at the price of a built-in call) x the unix-port-to-ESP32
cost ratio, measured in the same run: the unix port times the
integer-addition loop of a published board comparison
(shaoziyang/micropython_benchmarks: `for i in range(n): c = p[1] + p[2]`,
1,000,000 times took 6,112 ms on an ESP32 at 160 MHz, MicroPython 1.23),
and the ratio is the published time over ours. One loop of plain integer
bytecode stands for the whole tick, viper and native code included: a
bench-rig measurement (`--ratio`) would replace it.

Last line: step_us=<x> fw_us=<y> esp32_ratio=<r> step_pct_esp32_250hz=<e>
emu_speed=<s> (one line)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.hardware.loader import parts_for_board, parts_for_emulator
from lunasample.link.client import Link

KIND_WDT = 14  # the watchdog's place in the script's KINDS
# Published: integer-addition loop, 1e6 times, MicroPython 1.23 (see above).
ADD_LOOP_MS_1E6 = {"rp2040": 7984.0, "esp32": 6112.0}
# The published loop itself, as the boards ran it (rp2040_emulated.py runs
# it on the emulated Pico too).
ADD_LOOP = """
def add_loop(p):
    for i in range(p[0]):
        c = p[1] + p[2]
"""


STEP_SCRIPT = r"""
import array, gc, json, time, utime
import simworld, machine
b = json.load(open("board.json"))
PIO = %(pio)r
# The RP2040 board as it runs: its steps and HX711 on (simulated) PIO state
# machines running on virtual time.
cfg = {"pins": b["pins"], "seed": 1, "speed": 0, "pio": PIO, "pio_clock": PIO,
       "mcu": b["mcu"], "wiring": b["wiring"], "drivers": b.get("drivers", {}),
       "hx711": b.get("hx711", {}), "parts": json.load(open("sim_parts.json"))}
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
# the recorded result by the wrapper alone. The wrapper's own cost is taken
# out in place (see DOUBLE).
PIO_CALLS = ("put", "get", "tx_fifo", "rx_fifo", "exec", "active")
KINDS = ("pin_w", "pin_r", "dev_w", "dev_r", "mem") + tuple(
    "pio_" + m for m in PIO_CALLS) + ("adc", "enc", "pwm", "wdt", "time", "irq", "con")
CALLS = {}  # (subsystem, kind) -> calls
CUR = ["tick"]
RAN = []  # what ran on this tick (recording pass)
now_us = time.ticks_us  # the harness's clock, never counted
PASS, RECORD, REPLAY = 0, 1, 2
STATE = [PASS]
NONE = -2147483647  # a call that returned None
# Every other block of ticks is doubled: each replayed call also runs a
# second wrapper body (extra()), so a doubled tick costs the firmware plus
# two wrappers where a single one costs the firmware plus one. Both are
# timed in place, interleaved (the machine's noise falls on both alike):
# the firmware's share is 2 x single - double, whatever a wrapper costs
# amid the tick.
DOUBLE = [0]
OUT = None  # results, recording: preallocated when it starts
NOUT = [0]
POS = [0]  # the next result, replaying
REC = None

_N = object()  # an argument not given
POS2 = [0]
REC2 = array.array("i", [NONE] * 1024)

def extra(x=_N, y=_N, z=_N):
    # The wrapper's replay body again, on a dummy recording.
    if STATE[0] == REPLAY:
        i = POS2[0]
        POS2[0] = (i + 1) & 1023
        v = REC2[i]
        return None if v == NONE else v

def hw(key_of, f):
    # Up to three positional arguments, no *args: a replayed call must not
    # allocate (an args tuple a call would keep the collector busy).
    def w(x=_N, y=_N, z=_N):
        if STATE[0] == REPLAY:
            if DOUBLE[0]:
                extra(x)
            i = POS[0]
            POS[0] = i + 1
            v = REC[i]
            return None if v == NONE else v
        a = () if x is _N else (x,) if y is _N else (x, y) if z is _N else (x, y, z)
        r = f(*a)
        if STATE[0] == RECORD:
            k = (CUR[0], key_of(a))
            CALLS[k] = CALLS.get(k, 0) + 1
            if k[1] == "wdt":
                RAN.append("watchdog")
            n = NOUT[0]
            OUT[n] = NONE if r is None else int(r)
            NOUT[0] = n + 1
        return r
    return w

COUNT = %(mode)r == "count"
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
for name in SUBS if COUNT else ():
    def wrap(name, f):
        def w(now):
            CUR[0] = name  # whose hardware calls these are
            RAN.append(name)
            f(now)
            CUR[0] = "tick"
        return w
    sub = ctx.sub[name]
    sub.step = wrap(name, sub.step)
wdt = [machine.WDT(timeout=500)]
table = app.schedule(ctx, wdt)
NT = len(table)
TI = [0]  # the tick in the schedule's cycle
SLOT = [0] * NT  # us spent in each tick of the cycle, busiest stretch
NAMES = ["-"] * NT  # what runs on each (recording pass)
soft = app.soft_step(ctx, wdt, [1])
def service(t0):
    soft()  # a pass of the soft loop, once a tick here
if COUNT:
    svc = service
    def service(t0):
        CUR[0] = "service"
        svc(t0)
        CUR[0] = "tick"
ctx.safety.arm()
a.start(-1, 1, a.plan_home())

%(add_loop)s
# Ticks are timed in blocks of whole schedule cycles (at least 20 ticks):
# every pass replays the same run, so block b is the same work in every
# pass, and the bench takes each block's fastest over the passes (a tick
# disturbed by the machine is disturbed in one pass, not in all).
BL = NT * ((20 + NT - 1) // NT)
MAXB = 4000
BC = array.array("i", bytes(4 * MAXB))  # control us per block
BS = array.array("i", bytes(4 * MAXB))  # service us per block
BE = array.array("i", bytes(4 * MAXB))  # the clock's own: an empty span a tick
G = [0]  # ticks since the recorded stretch began

def run(n, slots=None):
    # The loop's ticks: the schedule walked as Loop.run walks it (timed), and
    # the service phase; returns the worst single tick. The simulation
    # advances between ticks, untimed, in every pass. (Stopped while
    # replaying, its inputs being in the recording, the ticks timed slower,
    # not faster: nothing of its cache state is left in the figures.) The
    # collector runs between blocks, never in a timed span: on a 4 MB heap
    # holding the recording it takes milliseconds where a board's small heap
    # takes a fraction of one.
    t = TI[0]
    tb = table  # locals, as in Loop.run
    nt = NT
    replay = STATE[0] == REPLAY
    worst = 0
    for _ in range(n):
        g = G[0]
        b = g // BL
        if replay and g == b * BL:
            DOUBLE[0] = b & 1
            if b & 15 == 0:
                gc.collect()
        G[0] = g + 1
        simworld.advance(TICK_US)
        now = now_us()
        slot = t
        t0 = utime.ticks_us()
        f = tb[t]
        if f is not None:
            f(now)
        t += 1
        if t == nt:
            t = 0
        t1 = utime.ticks_us()
        if COUNT:
            if slots is not None:
                NAMES[slot] = "+".join(RAN) or "-"
            RAN.clear()
        service(now)
        t2 = utime.ticks_us()
        t3 = utime.ticks_us()
        if replay and b < MAXB:
            dt = utime.ticks_diff(t1, t0)
            BC[b] += dt
            BS[b] += utime.ticks_diff(t2, t1)
            BE[b] += utime.ticks_diff(t3, t2)
            if not b & 1:
                if slots is not None:
                    slots[slot] += dt
                if dt > worst:
                    worst = dt
    TI[0] = t
    return worst

while a.job != 2:
    run(1)
a.job = 0
CALLS.clear()
d.start_drill(-1, 2000)
a.start(-1, 3, a.plan_scoop(3), 3)
# From here the run is recorded, or replayed.
if COUNT:
    # Made once the homing is done, on a collected heap: the smaller the
    # unix port's heap, the faster the simulation runs (3 MB: 2x 8 MB's speed).
    gc.collect()
    OUT = array.array("i", bytes(4 * 160000))
    STATE[0] = RECORD
else:
    OUT = None  # only the recording pass keeps results
    gc.collect()
    with open("hw.rec", "rb") as f:
        n = int(f.readline())
        REC = array.array("i", bytes(4 * n))
        f.readinto(REC)
    STATE[0] = REPLAY
    simworld.wdt_deadline = -1  # the replayed feeds never reach the simulated watchdog
G[0] = 0


def per_kind(calls, n, svc=False):
    return [sum(c for (s, k), c in calls.items() if k == kind and (s == "service") == svc) / n
            for kind in KINDS]

N = %(steps)d  # a whole number of blocks
worst = run(N, SLOT)
busy_calls = dict(CALLS)
DOUBLE[0] = 0
STATE[0] = PASS
nb = min(G[0] // BL, MAXB)
print("RUN", G[0], BL, N // BL, nb, worst, d.phase, ctx.safety.state)
if not COUNT:
    print("BC", " ".join(str(v) for v in BC[:nb]))
    print("BS", " ".join(str(v) for v in BS[:nb]))
    print("BE", " ".join(str(v) for v in BE[:nb]))
print("CALLS", " ".join("%%.4f" %% c for c in per_kind(busy_calls, N)))

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
for i in range(NT):  # each tick of the cycle: what runs on it, us a time (single)
    print("SLOT", i, NAMES[i], SLOT[i] * NT * 2 / N)

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
    r = subprocess.run(
        [
            paths.micropython_binary(),
            "-X",
            "heapsize=3M",
            "-c",
            script,
        ],  # the recording (640 KB), not the firmware's heap
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=cwd or str(paths.FIRMWARE_DIR),
    )
    if r.returncode != 0:
        sys.exit(f"micropython failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return r.stdout


def step_figures(
    board_name: str, pio: int, steps: int, reps: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """The recording pass, then `reps` timing passes replaying it (each
    figure the fastest of its kind: noise only adds time; the doubled
    cycles' under STEP2 and SVC2), of the control tick of board
    `board_name` (see the docstring). The second dict splits the
    busiest tick by what the schedule runs, per tick: "dispatch" the walk
    itself (a tick with nothing to run), each subsystem its tick's time over
    that, the replay's wrapper taken out."""
    loaded = paths.load_board(board_name)
    board = json.dumps(loaded)
    parts = json.dumps(parts_for_board(loaded))  # what a flashed board holds
    sim_parts = json.dumps(parts_for_emulator(loaded))  # the pads' rules, as the emulator's
    out: dict[str, list[float]] = {}
    slots: dict[int, tuple[str, list[float]]] = {}
    subcalls: dict[str, float] = {}
    blocks: dict[str, list[list[float]]] = {"BC": [], "BS": [], "BE": []}
    with tempfile.TemporaryDirectory() as keep:
        for mode in ["count"] + ["time"] * reps:
            with tempfile.TemporaryDirectory() as flash:  # params and journal land here
                Path(flash, "board.json").write_text(board)
                Path(flash, "parts.json").write_text(parts)
                Path(flash, "sim_parts.json").write_text(sim_parts)
                if mode != "count":
                    shutil.copy(Path(keep, "hw.rec"), flash)
                text = run_mp(
                    STEP_SCRIPT % {"steps": steps, "mode": mode, "pio": pio, "add_loop": ADD_LOOP},
                    cwd=flash,
                )
                if mode == "count":
                    shutil.copy(Path(flash, "hw.rec"), keep)
            for line in text.splitlines():
                key, *vals = line.split()
                if key == "SUBCALLS":
                    subcalls[vals[0]] = float(vals[1])
                elif key == "SLOT":
                    # What runs on each tick, from the recording pass.
                    slots.setdefault(int(vals[0]), (vals[1], []))
                    if mode == "time":
                        slots[int(vals[0])][1].append(float(vals[2]))
                elif key in blocks and mode == "time":
                    blocks[key].append([float(v) for v in vals])
                elif key == "RUN":
                    got = [float(v) for v in vals]
                    if mode == "count":
                        out["RUN"] = got
                    else:  # the least disturbed worst tick
                        out["WORST"] = [min(got[4], out.get("WORST", got)[0])]
                elif mode == "time" and key in ("ADD", "STUB"):
                    out.setdefault(key, []).append(float(vals[0]))
                elif mode == "time" and key == "COST":
                    out[key] = [float(v) for v in vals]
                elif mode == "count" and key == "CALLS":
                    out[key] = [float(v) for v in vals]
    ticks, bl, nbusy, nall = out["RUN"][:4]
    for key in ("ADD", "STUB"):
        out[key] = [min(out[key])]
    # Each block's fastest over the passes (noise only adds time), the
    # clock's own cost (an empty span timed after every tick) taken out;
    # even blocks single, odd doubled.
    clock = np.min(np.array(blocks["BE"]), axis=0)
    out["CLOCK"] = [float(clock.mean()) / bl]
    for key, name in (("BC", "STEP"), ("BS", "SVC")):
        med = np.min(np.array(blocks[key]), axis=0) - clock
        busy = med[: int(nbusy)]
        out[name] = [busy[0::2].mean() / bl, med[0::2].mean() / bl]
        out[name + "2"] = [busy[1::2].mean() / bl, med[1::2].mean() / bl]
    out["STEP"] = [out["STEP"][0], out["WORST"][0], out["STEP"][1], ticks]
    # One wrapper's cost per replayed call, in place: what the doubled blocks
    # added over the busiest stretch, per call made there.
    calls = sum(out["CALLS"])
    wrap = max(out["STEP2"][0] - out["STEP"][0], 0.0) / calls if calls else 0.0
    out["WRAP"] = [wrap]
    subcalls["watchdog"] = out["CALLS"][KIND_WDT]
    med_slot = {i: (who, min(us)) for i, (who, us) in slots.items()}
    empty = [us for who, us in med_slot.values() if who == "-"]
    e0 = sum(empty) / len(empty) if empty else out["CLOCK"][0]
    by = {"dispatch": max(e0 - out["CLOCK"][0], 0.0)}
    for who, us in med_slot.values():
        for name in who.split("+") if who != "-" else ():
            # A tick's time over an empty one's, shared by what it runs.
            by[name] = by.get(name, 0.0) + (us - e0) / len(slots) / len(who.split("+"))
    return out, {k: max(v - subcalls.get(k, 0.0) * wrap, 0.0) for k, v in by.items()}


def firmware_share(single: float, double: float) -> float:
    """The firmware's own time from a single pass (firmware + one wrapper a
    call) and a doubled one (firmware + two): 2 x single - double, kept
    within [0, single] (noise can make the doubled pass the faster)."""
    return min(max(2.0 * single - double, 0.0), single)


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
    ap.add_argument(
        "--ratio",
        type=float,
        default=0.0,
        help="ESP32 / unix-port cost ratio for the estimate (default: measured "
        "in this run against the published integer-addition loop)",
    )
    a = ap.parse_args(argv)
    steps = 3000  # the busiest stretch: every joint slewing while the drill feeds
    reps = 1 if a.quick else 5
    f, by = step_figures("rpi_pico", 1, steps, reps)
    fe, _ = step_figures("esp32_devkitc", 0, steps, reps)
    busy_us, worst_us = f["STEP"][0], f["STEP"][1]
    loop_us, builtin_us = fe["COST"]
    call_us = builtin_us - loop_us  # one call of a built-in (C) function
    speed = emulator_speed(1.5 if a.quick else 5.0)
    add_ms_1e6 = fe["ADD"][0] / 1000.0
    esp32_ratio = a.ratio or ADD_LOOP_MS_1E6["esp32"] / add_ms_1e6
    fw_us = firmware_share(busy_us, f["STEP2"][0])
    # The ESP32 board file's own tick (no PIO: its steps pulse through the
    # GPIO registers every tick) at its 250 Hz (4 ms period): the replay's
    # wrapper out, each call priced as a built-in call.
    efw_us = firmware_share(fe["STEP"][0], fe["STEP2"][0])
    esp_us = (efw_us + sum(fe["CALLS"]) * call_us) * esp32_ratio
    esp_pct = esp_us / 40.0
    kinds = (
        "pin writes",
        "pin reads",
        "device pin writes",
        "device pin reads",
        "register stores",
        "PIO",
        "ADC",
        "encoder",
        "PWM",
        "watchdog",
        "time",
        "IRQ",
        "console",
    )

    def per_label(calls: list[float]) -> list[float]:
        return calls[:5] + [sum(calls[5:11])] + calls[11:]

    print(
        f"RP2040 board (steps and HX711 on PIO) control tick, busiest (drill feeding, "
        f"3 joints slewing, scale converting), unix port: {busy_us:.2f} us mean over "
        f"{steps} ticks, {worst_us:.0f} us worst"
    )
    print(
        "  hardware calls per tick: "
        + ", ".join(f"{k} {n:.2f}" for k, n in zip(kinds, per_label(f["CALLS"]), strict=True))
        + f"; replaying them {busy_us - fw_us:.2f} us a tick ({f['WRAP'][0]:.2f} us a call "
        f"in place, {f['STUB'][0]:.2f} us alone in a tight loop); the clock's own "
        f"{f['CLOCK'][0]:.2f} us a tick taken out"
    )
    print(
        "  firmware time per tick by what the schedule runs (dispatch: walking it, every "
        "tick): " + ", ".join(f"{k} {v:.2f} us" for k, v in by.items())
    )
    print(
        f"  firmware share: {fw_us:.2f} us; the soft loop's pass after it "
        f"{f['SVC'][0]:.2f} us (no deadline); on the RP2040's own port: rp2040_emulated.py"
    )
    print(
        f"ESP32 board (steps through GPIO registers every tick), busiest: "
        f"{fe['STEP'][0]:.2f} us, firmware {efw_us:.2f} us; integer-addition loop "
        f"{add_ms_1e6:.1f} ms per 1e6 here, published ESP32 "
        f"{ADD_LOOP_MS_1E6['esp32']:.0f} ms -> x{esp32_ratio:.0f}"
        + (" (--ratio given)" if a.ratio else "")
        + f"; estimate at its 250 Hz loop: {esp_pct:.1f} % of 4 ms"
    )
    print(f"emulator, unpaced, drilling: {speed:.1f} x real time")
    print(
        f"step_us={busy_us:.2f} fw_us={fw_us:.2f} esp32_ratio={esp32_ratio:.0f} "
        f"step_pct_esp32_250hz={esp_pct:.1f} emu_speed={speed:.1f}"
    )


if __name__ == "__main__":
    main()
