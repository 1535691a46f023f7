# Integer PI-D controller: Q8 gains, conditional integration plus a clamped
# integrator as anti-windup. Allocation-free. The drill's speed loop runs the
# same PI (no D term) inline in its viper step (drill.py), its state in words.
# Every product stays below 2^30 so it is a small int on 32-bit ports:
# gains <= 16383 and errors clamped to +-16383 keep each term < 2^28.
import micropython
from micropython import const

_EMAX = const(16383)
GAIN_MAX = const(16383)


class PID:
    def __init__(self, kp, ki, kd, out_max):
        self.kp = kp  # output units per error unit, Q8
        self.ki = ki  # per update, Q8
        self.kd = kd
        self.out_max = out_max
        self.integ = 0  # Q8 output units
        self.prev = 0
        self.out = 0

    def reset(self):
        self.integ = 0
        self.prev = 0
        self.out = 0

    @micropython.native
    def update(self, err, lim):
        """One update; output clamped to +-lim (lim <= out_max)."""
        if err > _EMAX:
            err = _EMAX
        elif err < -_EMAX:
            err = -_EMAX
        de = err - self.prev
        self.prev = err
        if de > _EMAX:
            de = _EMAX
        elif de < -_EMAX:
            de = -_EMAX
        i = self.integ
        u = (self.kp * err + i + self.kd * de) >> 8
        # Integrate only when that does not push further into saturation.
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
        imax = self.out_max << 8
        if i > imax:
            i = imax
        elif i < -imax:
            i = -imax
        self.integ = i
        self.out = u
        return u
