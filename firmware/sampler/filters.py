# Integer filters for the load cell. Imported unchanged by the firmware
# (MicroPython) and by host tests (CPython), which check both give the same
# results. Allocation-free after construction; every value stays below 2^30
# (a MicroPython small int on 32-bit ports) for 24-bit inputs and windows up
# to N_MAX: the averages hold differences from the level of the last restart.
from array import array

try:
    import micropython
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

    class micropython:  # noqa: N801 - stands in for the module's decorators
        @staticmethod
        def native(f):
            return f

        viper = native

    ptr32 = array  # a viper annotation; only evaluated here


K_SHIFT = const(24)  # calibration factor k is mg per count in Q24
K_MIN = const(1 << 14)  # 0.001 mg/count: a cell far more sensitive than any HX711 setup
K_MAX = const(1 << 29)  # 32 mg/count: keeps every product in mg_from_counts < 2^30
N_MAX = const(128)  # longest averaging window: 1.6 s at 80 SPS (one turn at 37.5 rpm)
SPAN_BLIND = const(64)  # settled span when nothing cancels the vibration: a turn at 75 rpm
_SPAN = const(1 << 22)  # a median this far from the reference level restarts the averages
_ENV = const(32)  # readings in the step/spike envelope: a drill turn at >= 150 rpm, 80 SPS


# The scans over the recent readings and outputs, machine code: on a Cortex-M0+ the
# native emitter's loops cost ~4 us an element (each a runtime call), a
# third of the filter's time with n_max outputs to span. Arrays of 'i';
# ptr32 loads are zero-extended on 64-bit ports, so the values are
# sign-extended by hand there (the test is never true on a 32-bit port,
# where sx - 1 wraps to the largest int, nor on CPython).
@micropython.viper
def _scan(a: ptr32, k: int, n: int, size: int, r: ptr32):
    # r[0..1] = min, max of r[0] and the n values before slot k of the ring
    # a (size slots), newest first; r[2..3] = those of the values from the
    # r[2]-th newest on (r[0] when there are none).
    sx = 1
    sx <<= 31
    big = sx - 1
    lo = r[0]
    if lo > big:
        lo -= sx << 1
    hi = lo
    olo = lo
    ohi = lo
    h = r[2]
    j = 0
    while j < n:
        k -= 1
        if k < 0:
            k = size - 1
        v = a[k]
        if v > big:
            v -= sx << 1
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
        if j == h:
            olo = v
            ohi = v
        elif j > h:
            if v < olo:
                olo = v
            elif v > ohi:
                ohi = v
        j += 1
    r[0] = lo
    r[1] = hi
    r[2] = olo
    r[3] = ohi


@micropython.viper
def _zero(a: ptr32, n: int):
    # A Python loop zeroing a whole-turn window costs ~0.4 ms on an RP2040.
    i = 0
    while i < n:
        a[i] = 0
        i += 1


def _far(x, y, m):
    # x is further from the level m than y: of two disagreeing readings, the spike.
    a = x - m
    b = y - m
    return (a if a > 0 else -a) > (b if b > 0 else -b)


class MassFilter:
    # Stages, per conversion:
    # 1. Spike: a reading more than `spike` outside the envelope (min..max of
    #    the last _ENV readings, which spans the drill vibration), or, when the
    #    window spans whole turns, that far from the reading whole turns
    #    before it (same phase of the vibration, which cancels) and further
    #    from the output than it, is replaced by that reading; without whole
    #    turns, by the straight line through
    #    the two readings before it, kept between the previous reading and
    #    this one. A second one in a row is a real change and goes through.
    #    Replacing rather than dropping keeps the readings evenly spaced,
    #    which the whole-turn average needs.
    # 2. Median of n_med: drops up to n_med//2 consecutive spikes.
    # 3. Moving average of n_avg (set_window: whole drill turns, so the
    #    vibration at the turn rate and its harmonics sum to zero), then a
    #    moving average of n_sm that smooths what is left.
    # 4. Step: a median more than `step` outside the envelope of the readings
    #    before the median's reach is a load change (a scoop dumped); both
    #    averages restart at the new level instead of waiting for the old
    #    readings to flush out.
    # 5. Settled: every reading in both averages came after the last restart,
    #    and the last `span` outputs (those too) lie within `band`. n_sm is
    #    enough when the first average spans whole turns; a window that does
    #    not cancel the vibration needs a span as long as itself, or a slow
    #    residual swing would pass for settled at its crest (set_span).
    def __init__(self, n_med=5, n_avg=16, n_sm=8, step=0, band=0, spike=0, n_max=0):
        self.n_med = n_med
        self.n_sm = n_sm
        self.step = step
        self.band = band
        self.spike = spike
        self.n_max = n_max if n_max > n_avg else n_avg
        self._med = [0] * n_med
        self._srt = [0] * n_med
        self._a1 = array("i", bytes(4 * self.n_max))
        self._a2 = array("i", bytes(4 * n_sm))
        self._out = array("i", bytes(4 * self.n_max))
        self._env = array("i", bytes(4 * _ENV))
        self._r = array("i", bytes(16))  # _scan's results
        self._cln = [0] * _ENV  # the readings after spike replacement, same slots
        self.n_avg = n_avg
        self.span = n_sm
        self._lag = 0
        self.window = 0
        self.reset()

    def reset(self):
        self._mi = 0
        self._mn = 0
        self._i1 = 0
        self._i2 = 0
        self._io = 0
        self._ei = 0
        self._en = 0
        self._s1 = 0
        self._s2 = 0
        self._ref = 0
        self._x1 = 0
        self._x2 = 0
        self.fresh = 0
        self._rc = 0
        self._lag_on = 0
        self.count = 0
        self.spikes = 0
        self.restarts = 0
        self.value = 0
        self.median = 0
        self.settled = False
        self._held = False
        self._window()

    def _window(self):
        # Readings a settled output depends on, counted from a load change.
        self.window = self.n_med // 2 + self.n_avg + self.n_sm + self.span - 1

    def set_window(self, n, turns=False):
        """Length of the first average (1..n_max), `turns` when it spans whole
        drill turns; a change restarts both averages at the present median."""
        n = 1 if n < 1 else (self.n_max if n > self.n_max else n)
        self._lag = n if turns and n < _ENV else 0
        if n == self.n_avg:
            return
        self.n_avg = n
        self._window()
        if self.count:
            self._fill(self.median)

    def set_span(self, n):
        """Outputs the settled test spans (1..n_max)."""
        self.span = 1 if n < 1 else (self.n_max if n > self.n_max else n)
        self._window()

    @micropython.native
    def _median(self):
        n = self._mn
        s = self._srt
        m = self._med
        for i in range(n):
            v = m[i]
            j = i
            while j > 0 and s[j - 1] > v:
                s[j] = s[j - 1]
                j -= 1
            s[j] = v
        return s[(n - 1) >> 1]

    def _fill(self, v):
        _zero(self._a1, self.n_avg)
        _zero(self._a2, self.n_sm)
        self._ref = v
        self._s1 = 0
        self._s2 = 0
        self._i1 = 0
        self._i2 = 0
        self.fresh = 0
        self._rc = self.count
        self._lag_on = self.count + self.n_avg + 1
        self.restarts += 1

    @micropython.native  # half the time of bytecode: it runs inside the control step
    def push(self, x):
        """Add one raw reading; returns the filtered value (also in .value)."""
        # Envelopes of the recent readings (the vibration's swing): all of
        # them for spikes; for steps, those older than the median's reach, or
        # the first readings of a new level would already be inside it.
        e = self._env
        ne = self._en
        h = (self.n_med >> 1) + 2
        r = self._r
        r[0] = self._x1
        r[2] = h
        _scan(e, self._ei, ne, _ENV, r)
        lo = r[0]
        hi = r[1]
        olo = r[2]
        ohi = r[3]
        # The envelope holds the raw readings, spikes too (holding the
        # replacements instead would shut out a vibration swing wider than
        # `spike` for good), and keeps them across a restart: the old level
        # stays in it until it has flushed, so vibration at the new level
        # cannot trigger a second restart.
        i = self._ei
        e[i] = x
        i += 1
        self._ei = 0 if i == _ENV else i
        if ne < _ENV:
            self._en = ne + 1
        sp = self.spike
        lag = self._lag if ne == _ENV else 0
        y = 0
        if lag:
            i = self._ei - 1 - lag
            y = self._cln[i + _ENV if i < 0 else i]  # the reading whole turns back
        if sp and self.count and (x - hi > sp or lo - x > sp or (
                lag and self.count >= self._lag_on and (x - y > sp or y - x > sp)
                and _far(x, y, self.value))):
            if not self._held:
                self._held = True
                self.spikes += 1
                if lag:
                    x = y
                else:
                    x1 = self._x1
                    y = 2 * x1 - self._x2
                    if x > x1:
                        x = x1 if y < x1 else (x if y > x else y)
                    else:
                        x = x1 if y > x1 else (x if y < x else y)
            else:
                # A real change: readings a turn back are the old level now.
                self._lag_on = self.count + lag + 1
        else:
            self._held = False
        self._x2 = self._x1 if self.count else x
        self._x1 = x
        i = self._ei - 1
        self._cln[i + _ENV if i < 0 else i] = x
        i = self._mi
        self._med[i] = x
        i += 1
        self._mi = 0 if i == self.n_med else i
        if self._mn < self.n_med:
            self._mn += 1
        med = self._median()
        self.median = med
        st = self.step
        n = self.n_avg
        m = self.n_sm
        d = med - self._ref
        if (self.count == 0 or d > _SPAN or -d > _SPAN
                or (st and ne > h and self.count - self._rc >= h
                    and (med - ohi > st or olo - med > st))):
            self._fill(med)
        else:
            k = self._i1
            self._s1 += d - self._a1[k]
            self._a1[k] = d
            k += 1
            self._i1 = 0 if k == n else k
            m1 = (self._s1 + (n >> 1)) // n  # rounded means: exact for a constant
            k = self._i2
            self._s2 += m1 - self._a2[k]
            self._a2[k] = m1
            k += 1
            self._i2 = 0 if k == m else k
        v = self._ref + (self._s2 + (m >> 1)) // m
        self.value = v
        o = self._out
        nm = self.n_max
        k = self._io
        o[k] = v
        k += 1
        self._io = 0 if k == nm else k
        self.count += 1
        sp = self.span
        full = n + m + sp - 2  # both averages fresh, and `span` outputs from them
        if self.fresh < full:
            self.fresh += 1
        r[0] = v
        r[2] = sp  # no second range
        _scan(o, k, sp, nm, r)
        self.settled = self.fresh >= full and r[1] - r[0] <= self.band
        return v


def turn_window(per_us, rpm10, n_min, n_max, cur=0):
    """Readings spanning a whole number of drill turns, in n_min..n_max, for
    one conversion every per_us at rpm10 (0.1 rpm): `cur` while it is still
    within 1/128 of whole turns (speed jitter must not restart the filter),
    else the shortest within 1/256, else the closest within 1/64. n_min when
    the drill is stopped; n_max when no window fits (a turn longer than
    n_max readings): that one does not cancel the vibration."""
    if rpm10 < 0:
        rpm10 = -rpm10
    if rpm10 < 10 or per_us <= 0:
        return n_min
    t_us = 600000000 // rpm10  # one turn
    q = t_us // per_us
    if q > n_max:
        return n_max
    # Readings per turn, Q8, rounded: within 1/512 of a reading per turn.
    spr = (q << 8) + (((t_us - q * per_us) << 8) + (per_us >> 1)) // per_us
    if spr < 1:
        return n_min
    if n_min <= cur <= n_max:
        m = ((cur << 8) + (spr >> 1)) // spr
        if m > 0:
            e = m * spr
            err = (cur << 8) - e
            if (err if err > 0 else -err) * 128 <= e:
                return cur
    best = n_max
    best_err = 1
    best_e = 64  # a candidate must beat 1/64
    m = 1
    while True:
        e = m * spr
        n = (e + 128) >> 8
        if n > n_max:
            return best
        if n >= n_min:
            err = (n << 8) - e
            if err < 0:
                err = -err
            if err * 256 <= e:
                return n
            if err * best_e < best_err * e:
                best = n
                best_err = err
                best_e = e
        m += 1


def mg_from_counts(d, k):
    """d counts (|d| < 2^24) times k (mg per count, Q24) -> mg, with 12-bit
    limbs so no intermediate reaches 2^30 (no big-int allocation)."""
    neg = d < 0
    if neg:
        d = -d
    kneg = k < 0
    if kneg:
        k = -k
    d1 = d >> 12
    d0 = d & 4095
    k1 = k >> 12
    k0 = k & 4095
    m = d1 * k1 + ((d1 * k0 + d0 * k1 + ((d0 * k0) >> 12)) >> 12)
    return -m if neg != kneg else m


def cal_factor(raw0, raw1, ref_mg):
    """k (Q24 mg/count) from the empty reading, the reading with ref_mg on
    the pan, or None when implausible (too few counts, wiring, range)."""
    d = raw1 - raw0
    if ref_mg < 1000 or d == 0 or (d if d > 0 else -d) < 100:
        return None
    k = (ref_mg << K_SHIFT) // d if d > 0 else -((ref_mg << K_SHIFT) // -d)
    a = k if k > 0 else -k
    if a < K_MIN or a >= K_MAX:
        return None
    return k


def local_factor(k, cal_grav, grav):
    """k calibrated at cal_grav -> k at the local gravity grav (both mm/s^2),
    or None outside K_MIN..K_MAX: a cell weighs mass x gravity, so at 1/6 g a
    count is 6x the mg. Not for the control step (the product may be a long int)."""
    q, r = divmod(k, grav)
    k2 = q * cal_grav + r * cal_grav // grav
    a = k2 if k2 > 0 else -k2
    if a < K_MIN or a >= K_MAX:
        return None
    return k2


def counts_for_mg(mg, k):
    """Counts that make mg (>= 0) at factor k, at least 1: for thresholds."""
    a = k if k > 0 else -k
    c = (mg << K_SHIFT) // a
    return c if c > 0 else 1
