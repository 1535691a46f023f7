# Runs on the board (rp2040_emulated.py sends it with mpremote): the flashed
# firmware's control tick and service phase timed tick by tick, as Loop.run
# walks them, in the busiest stretch (the drill feeding under speed control
# while the three joints slew to a scoop site) and over the scoop's next
# REST ticks; then the control tick on its timer interrupt beside the soft
# loop (Loop.start, Loop.run), for PACED ticks (its overruns and
# worst control step) and the ticks' start lateness. Prints one JSON line.
import gc
import json
import time

import machine
from sampler import app, arm, drill
from sampler.loop import bin_us

BUSY = 400  # ticks (rp2040_emulated.py sets all three)
REST = 2000
PACED = 3000


class Line:
    # The link: nothing to read, frames written go nowhere (the USB serial
    # is this probe's own channel).
    def read(self):
        return -1

    def write(self, data):
        pass


ctx, loop = app.build()
ctx.comms._con = Line()
ctx.comms.tm_period_ms = 100  # telemetry at 10 Hz, as a mission runs it
d, a = ctx.sub["drill"], ctx.sub["arm"]


class Watchdog:
    # Fed once a cycle by the schedule, as on a mission. Not the board's:
    # once started it cannot be stopped, and the board sits at the REPL
    # after the probe.
    def feed(self):
        pass


wdt = [Watchdog()]
table = app.schedule(ctx, wdt)
soft = app.soft_step(ctx, wdt, [1])
n = len(table)
hz = ctx.board["loop_hz"]
us = time.ticks_us
diff = time.ticks_diff


def run(ticks, t, acc):
    # acc: control sum, control worst, service sum, service worst, clock sum
    for _ in range(ticks):
        t0 = us()
        f = table[t]
        if f is not None:
            f(t0)
        t += 1
        if t == n:
            t = 0
        t1 = us()
        soft()
        t2 = us()
        t3 = us()
        c = diff(t1, t0)
        s = diff(t2, t1)
        acc[0] += c
        acc[2] += s
        acc[4] += diff(t3, t2)
        if c > acc[1]:
            acc[1] = c
        if s > acc[3]:
            acc[3] = s
    return t


ctx.safety.arm()


# The arm starts homed at 0 (rp2040_emulated.py starts the plant's joints
# there); the feed homes on its switch (run.js's plant), 2 mm up.
a._set_homed(1)
d.start_drill(-1, 2000)
ctx.safety.busy()  # as the DRILL and SCOOP commands leave it
gc.collect()
t = 0
spin = [0] * 5
k = 0
while d.phase != drill.P_FEED and k < 3 * hz:  # homing, spin-up
    t = run(1, t, spin)
    k += 1
a.start(-1, arm.A_SCOOP, a.plan_scoop(3), 3)  # site 3
busy = [0] * 5
t = run(BUSY, t, busy)
rest = [0] * 5
t = run(REST, t, rest)


# Then Loop.run itself, paced at the board's period, as main() runs it:
# does the loop keep its period with the drill feeding and scoop after
# scoop under way?
scoops = [0]


def paced_soft():
    if a.job == drill.J_OK:  # the scoop done: the next one, as a campaign does
        a.job = drill.J_NONE
        a.start(-1, arm.A_SCOOP, a.plan_scoop(3), 3)
        scoops[0] += 1
    busy = soft()
    if loop.ticks >= PACED:
        loop.running = False
    return busy


loop.overruns = 0
loop.worst_us = 0
loop.start(table)
loop.run(paced_soft)
loop.stop()
late_max = bin_us(max(i for i in range(len(loop.late)) if loop.late[i]))
late_min = bin_us(min(i for i in range(len(loop.late)) if loop.late[i]))
print(
    json.dumps(
        {
            "spinup_ticks": k,
            "feeding": d.phase == drill.P_FEED,
            "drill_phase": d.phase,
            "safety": ctx.safety.state,
            "fault": ctx.safety.fault,
            "drill_depth_mm": d.max_pos // drill.STEPS_PER_MM,
            "arm_state": a.state,
            "busy_ticks": BUSY,
            "busy": busy,
            "rest_ticks": REST,
            "rest": rest,
            "paced_ticks": loop.ticks,
            "paced_scoops": scoops[0],
            "paced_drill_phase": d.phase,
            "overruns": loop.overruns,
            "paced_worst_us": loop.worst_us,
            "late_p9999_us": loop.late_us(1),
            "late_max_us": late_max,
            "late_min_us": late_min,
            "loop_hz": hz,
            "cycle": n,
            "freq": machine.freq(),
            "mem_free": gc.mem_free(),
        }
    )
)
