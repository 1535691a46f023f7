# The control tick's clock, and the soft loop beside it.
# Hard: one short deadline callback, a timer interrupt at the board's
# loop_hz, runs the schedule's row for the tick (app.schedule),
# integer-only and allocation-free. What must be exact within a tick (step
# pulses and their stop, encoder counts, the drill's PWM) is done by the
# chip's peripherals, which the tick only feeds and reads (docs/control.md).
# Soft: the link, telemetry, the scale, the journal, sequences: run()'s
# plain loop with no deadline, which the interrupt pre-empts.
import time
from array import array

import machine
from micropython import const

_ticks_us = time.ticks_us
_ticks_diff = time.ticks_diff
_ticks_add = time.ticks_add

# Ticks by start lateness: 1 us bins to 127 us, then 8 us bins to 1151 us;
# the last bin holds the rest.
JIT_BINS = const(256)
_FINE = const(128)
_IDLE_US = const(1000)  # a soft pass with nothing to do sleeps this long


class Loop:
    def __init__(self, rate_hz, hard=True):
        self.period_us = 1000000 // rate_hz
        self.rate_hz = rate_hz
        # rp2: the alarm interrupt runs the callback (hard=True). The ESP32
        # port always schedules timer callbacks and takes no `hard`.
        self.hard = hard
        self.ticks = 0
        self.overruns = 0  # ticks that ended after the next one was due
        self.worst_us = 0  # the longest tick
        self.late = array("i", bytes(4 * JIT_BINS))
        self.running = True
        self._table = (None,)
        self._t = 0
        self._due = 0
        self._timer = None

    def start(self, table):
        """Run table[t] (one allocation-free callable, or None, per tick of
        a cycle) from the timer interrupt, one row a period."""
        self._table = table
        self._t = 0
        self.ticks = 0
        tm = machine.Timer(-1)
        # The timer counts its period from init(): the grid starts here (a
        # few us early at most, so a tick reads late, never early).
        self._due = _ticks_add(_ticks_us(), self.period_us)
        if self.hard:
            tm.init(freq=self.rate_hz, callback=self._tick, hard=True)
        else:
            tm.init(freq=self.rate_hz, callback=self._tick)
        self._timer = tm

    def stop(self):
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None

    def _tick(self, _tm):
        t0 = _ticks_us()
        # A periodic alarm keeps its grid (rp2 reschedules from the due
        # time, not from when the callback ran): so does the count.
        due = self._due
        late = _ticks_diff(t0, due)
        f = self._table[self._t]
        if f is not None:
            f(t0)
        t = self._t + 1
        self._t = 0 if t == len(self._table) else t
        end = _ticks_us()
        dt = _ticks_diff(end, t0)
        if dt > self.worst_us:
            self.worst_us = dt
        if _ticks_diff(end, due) > self.period_us:
            self.overruns += 1
        if late < _FINE:
            b = late if late > 0 else 0
        else:
            b = _FINE + ((late - _FINE) >> 3)
            if b >= JIT_BINS:
                b = JIT_BINS - 1
        self.late[b] += 1
        self._due = _ticks_add(due, self.period_us)
        self.ticks += 1

    def late_us(self, per_10k):
        """The start lateness (us, its bin's top) that all but per_10k in
        10 000 ticks keep within; 1151 means that or more."""
        n = self.ticks
        keep = n - n * per_10k // 10000
        acc = 0
        for i in range(JIT_BINS):
            acc += self.late[i]
            if acc >= keep:
                return bin_us(i)
        return bin_us(JIT_BINS - 1)

    def run(self, soft):
        """The soft part: soft() over and over, no deadline, until running
        is cleared; a pass that returns False (nothing done) idles a while."""
        while self.running:
            if not soft():
                time.sleep_us(_IDLE_US)


def bin_us(i):
    """The top of lateness bin i, us."""
    return i if i < _FINE else _FINE + ((i - _FINE) << 3) + 7
