# Fixed-rate scheduler: runs the control step every period, services the
# link in the slack, counts overruns and the worst step time.
import time

from micropython import const

_ticks_us = time.ticks_us
_ticks_diff = time.ticks_diff
_ticks_add = time.ticks_add
_sleep_us = time.sleep_us

_MIN_SLEEP = const(20)


class Loop:
    def __init__(self, rate_hz):
        self.period_us = 1000000 // rate_hz
        self.ticks = 0
        self.overruns = 0
        self.worst_us = 0
        self.running = True

    def run(self, table, service):
        """Each tick: the control step, table[t] (app.schedule: one
        allocation-free callable, or None, per tick of a cycle), walked here
        rather than behind a call, then service(t0), which may allocate (t0:
        the tick's start, ticks_us)."""
        period = self.period_us
        deadline = _ticks_us()
        n = len(table)
        t = 0
        while self.running:
            t0 = _ticks_us()
            f = table[t]
            if f is not None:
                f(t0)
            t += 1
            if t == n:
                t = 0
            dt = _ticks_diff(_ticks_us(), t0)
            if dt > self.worst_us:
                self.worst_us = dt
            self.ticks += 1
            service(t0)
            deadline = _ticks_add(deadline, period)
            rem = _ticks_diff(deadline, _ticks_us())
            if rem < 0:
                self.overruns += 1
                deadline = _ticks_us()
            elif rem >= _MIN_SLEEP:
                _sleep_us(rem)
