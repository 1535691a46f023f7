"""Control-step cost of the drill and arm, integer vs float PID, and the
emulator's sustained speed.

Runs the real firmware modules in the MicroPython unix port (with the
simulated machine and the plant models, plant time excluded from the
figures) and the emulated board over the real link.

The RP2040 figure is an estimate: unix-port step time x RP2040_COST_RATIO.
The ratio (80) is the bytecode-speed gap between the unix port on a ~3 GHz
x86-64 core and MicroPython on a 125 MHz Cortex-M0+ (an STM32F4 pyboard is
~40x slower than the unix port, an M0+ at 125 MHz about half as fast again
per bytecode). The simulated pin bus costs more per pin write than the
RP2040's machine.Pin, so the estimate errs high. Replace it with a bench-rig
measurement (`--ratio`) once one exists.

Last line: step_us=<x> step_pct_rp2040_1khz=<y> emu_speed=<z>
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link

RP2040_COST_RATIO = 80.0

STEP_SCRIPT = r"""
import json, time, utime
import simworld
b = json.load(open(%(board)r))
cfg = {"pins": b["pins"], "seed": 1, "speed": 0}
simworld.setup(cfg)
import plant_drill, plant_arm
plant_drill.attach(cfg)
plant_arm.attach(cfg)
from sampler import safety as S
from sampler import arm as A, drill as D
from sampler.app import Context
from sampler.comms import Comms
from sampler.config import Params

class Line:
    def read(self):
        return -1
    def write(self, data):
        pass

saf = S.Safety()
ctx = Context(b, saf, Comms(Line(), saf), Params())
d = D.make(ctx)
a = A.make(ctx)
saf.set_movers((d, a))
saf.arm()
a.start(-1, A.A_HOMING, a.plan_home())
while a.job != A.J_OK:
    simworld.advance(1000)
    now = time.ticks_us()
    d.step(now)
    a.step(now)
a.job = A.J_NONE
# Busiest case: drill feeding under speed control while the arm slews.
d.start_drill(-1, 2000)
a.start(-1, A.A_SCOOP, a.plan_scoop(3), 3)
spent = 0
n = 0
worst = 0
while n < %(steps)d:
    simworld.advance(1000)
    now = time.ticks_us()
    t0 = utime.ticks_us()
    d.step(now)
    a.step(now)
    dt = utime.ticks_diff(utime.ticks_us(), t0)
    spent += dt
    if dt > worst:
        worst = dt
    n += 1
print("STEP", spent / n, worst, d.phase, a.state)
"""

PID_SCRIPT = r"""
import micropython, utime
from sampler.pid import PID

class FPID:
    # The same controller in floating point, same emitter (native).
    def __init__(self, kp, ki, kd, out_max):
        self.kp = kp
        self.ki = ki
        self.kd = kd
        self.out_max = out_max
        self.integ = 0.0
        self.prev = 0.0

    @micropython.native
    def update(self, err, lim):
        de = err - self.prev
        self.prev = err
        i = self.integ
        u = self.kp * err + i + self.kd * de
        if u > lim:
            u = lim
            if err < 0:
                i += self.ki * err
        elif u < -lim:
            u = -lim
            if err > 0:
                i += self.ki * err
        else:
            i += self.ki * err
        if i > self.out_max:
            i = self.out_max
        elif i < -self.out_max:
            i = -self.out_max
        self.integ = i
        return u

def bench(p, errs, lim):
    t0 = utime.ticks_us()
    for e in errs:
        p.update(e, lim)
    return utime.ticks_diff(utime.ticks_us(), t0)

N = %(n)d
ierr = [((i * 37) %% 400) - 200 for i in range(1000)]
ferr = [float(e) for e in ierr]
ip = PID(13000, 2200, 100, 65535)
fp = FPID(13000 / 256, 2200 / 256, 100 / 256, 65535.0)
ti = tf = 0
for _ in range(N // 1000):
    ti += bench(ip, ierr, 60000)
    tf += bench(fp, ferr, 60000.0)
print("PID", ti / N, tf / N)
"""


def run_mp(script: str) -> str:
    """Run a script in the unix port with the firmware and sim on MICROPYPATH."""
    env = dict(os.environ, MICROPYPATH=f"{paths.SIM_DIR}:{paths.FIRMWARE_DIR}")
    r = subprocess.run([paths.micropython_binary(), "-X", "heapsize=512K", "-c", script],
                       capture_output=True, text=True, env=env, timeout=600,
                       cwd=str(paths.FIRMWARE_DIR))
    if r.returncode != 0:
        sys.exit(f"micropython failed:\n{r.stdout}{r.stderr}")
    return r.stdout


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
    ap.add_argument("--ratio", type=float, default=RP2040_COST_RATIO,
                    help="RP2040 / unix-port cost ratio for the estimate")
    a = ap.parse_args(argv)
    steps = 5000 if a.quick else 50000
    board = Path(paths.BOARDS_DIR) / "rpi_pico.json"
    out = run_mp(STEP_SCRIPT % {"board": str(board), "steps": steps}).split()
    step_us, worst_us = float(out[1]), int(out[2])
    pid = run_mp(PID_SCRIPT % {"n": 20000 if a.quick else 200000}).split()
    pid_int, pid_float = float(pid[1]), float(pid[2])
    speed = emulator_speed(1.5 if a.quick else 5.0)
    rp_us = step_us * a.ratio
    pct = rp_us / 1000.0 * 100.0  # of the 1 ms period at 1 kHz
    print(f"control step (drill feeding + arm scooping), unix port: {step_us:.2f} us "
          f"mean, {worst_us} us worst, over {steps} steps")
    print(f"PID update: integer {pid_int:.3f} us, float {pid_float:.3f} us, "
          f"float/int = {pid_float / pid_int:.2f}")
    print(f"RP2040 estimate (x{a.ratio:g}): {rp_us:.0f} us per step = {pct:.1f} % of 1 kHz")
    print(f"emulator, unpaced, drilling: {speed:.1f} x real time")
    print(f"step_us={step_us:.2f} step_pct_rp2040_1khz={pct:.1f} emu_speed={speed:.1f}")


if __name__ == "__main__":
    main()
