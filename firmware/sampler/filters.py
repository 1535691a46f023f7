# Integer filters for the load cell. Imported unchanged by the firmware
# (MicroPython) and by host tests (CPython), which check both give the same
# results. Allocation-free after construction; every value stays below 2^30
# for 24-bit inputs and windows up to 32.
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


K_SHIFT = const(24)  # calibration factor k is mg per count in Q24
K_MIN = const(1 << 14)  # 0.001 mg/count: a cell far more sensitive than any HX711 setup
K_MAX = const(1 << 29)  # 32 mg/count: keeps every product in mg_from_counts < 2^30


class MassFilter:
    # Median of n_med raw readings (drops up to n_med//2 consecutive spikes,
    # e.g. drill percussion) feeding two cascaded moving averages of n_avg
    # (a triangular window: its sidelobes are the square of one boxcar's, so
    # drill vibration aliased into the passband is suppressed far better at
    # the same latency). A median more than `step` away from the output is a
    # real load change (a scoop dumped): both averages restart at the new
    # level instead of ramping. A lone reading more than `spike` from the
    # median is dropped before the median sees it (an impact landing on
    # top of vibration would otherwise shift the median by a rank); a second
    # one in a row is a real change and goes through. `settled`: a full
    # window (2*n_avg - 1) of fresh readings since the last restart, and the
    # output moved no more than `band` over the last n_avg readings.
    def __init__(self, n_med=7, n_avg=12, step=0, band=0, spike=0):
        self.n_med = n_med
        self.n_avg = n_avg
        self.step = step
        self.band = band
        self.spike = spike
        self._med = [0] * n_med
        self._srt = [0] * n_med
        self._a1 = [0] * n_avg
        self._a2 = [0] * n_avg
        self._out = [0] * n_avg
        self.reset()

    def reset(self):
        self._mi = 0
        self._mn = 0
        self._ai = 0
        self._s1 = 0
        self._s2 = 0
        self.fresh = 0
        self.count = 0
        self.spikes = 0
        self.value = 0
        self.median = 0
        self.settled = False
        self._held = False

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
        n = self.n_avg
        for i in range(n):
            self._a1[i] = v
            self._a2[i] = v
            self._out[i] = v
        self._s1 = v * n
        self._s2 = v * n
        self.fresh = 0

    def push(self, x):
        """Add one raw reading; returns the filtered value (also in .value)."""
        sp = self.spike
        if sp and self.count and (x - self.median > sp or self.median - x > sp):
            if not self._held:
                self._held = True
                self.spikes += 1
                return self.value
        self._held = False
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
        k = self._ai
        if self.count == 0 or (st and (med - self.value > st or self.value - med > st)):
            self._fill(med)
        else:
            self._s1 += med - self._a1[k]
            self._a1[k] = med
            m1 = (2 * self._s1 + n) // (2 * n)  # rounded means: exact for a constant
            self._s2 += m1 - self._a2[k]
            self._a2[k] = m1
        v = (2 * self._s2 + n) // (2 * n)
        self.value = v
        self._out[k] = v
        k += 1
        self._ai = 0 if k == n else k
        self.count += 1
        if self.fresh < 2 * n:
            self.fresh += 1
        lo = v
        hi = v
        o = self._out
        for j in range(n):
            if o[j] < lo:
                lo = o[j]
            elif o[j] > hi:
                hi = o[j]
        self.settled = self.fresh >= 2 * n - 1 and hi - lo <= self.band
        return v


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


def counts_for_mg(mg, k):
    """Counts that make mg (>= 0) at factor k, at least 1: for thresholds."""
    a = k if k > 0 else -k
    c = (mg << K_SHIFT) // a
    return c if c > 0 else 1
