# Step pulses for every stepper on the board: one viper call a control tick
# advances each axis's profile and says which axes step, so the 1 kHz tick
# carries only that call and the pulses; the drill and the arm, which own
# the axes, plan and supervise them at their own slower rates.
#
# Profiles are online trapezoids in Q16 fixed point, per axis in an
# array('i') of W words:
#   [PQ] commanded position (steps << 16), [VQ] velocity (steps/tick << 16),
#   [TQ] target (steps << 16), [POS] motor position (whole steps),
#   [A] acceleration (steps/tick^2 << 16), [VM] top speed (<= 1 step/tick).
# Bounds that keep every intermediate below 2^31 on 32-bit ports: positions
# within +-32767 steps, VM <= 65536, A >= 3.
# A = 0 marks a constant-rate axis (the drill feed, whose 2 m of travel in
# steps would not fit Q16): TQ is then its goal in whole steps and PQ a
# phase accumulator; VM is its rate.
import array

import micropython
from micropython import const

from sampler.motor import Stepper

W = const(6)
PQ = const(0)
VQ = const(1)
TQ = const(2)
POS = const(3)
A = const(4)
VM = const(5)
MAX_AXES = const(8)
ONE = const(65536)  # one step per tick, Q16: the fastest an axis moves


@micropython.viper
def advance(s: ptr32, n: int) -> int:
    """One tick of n axes; bit i of the result asks axis i for one step,
    bit i + 8 says it is backwards, bit i + 16 that it is still moving."""
    # ptr32 loads are zero-extended on 64-bit ports: sign-extend by hand
    # (a no-op on 32-bit ports). Shifted at run time: a folded 1 << 31 would
    # be a long-int object on 32-bit ports.
    sx = 1
    sx <<= 31
    out = 0
    i = 0
    while i < n:
        b = i * 6
        a = int(s[b + 4])
        if a == 0:
            # Constant-rate axis: TQ is the goal in whole steps, PQ a phase
            # accumulator that overflows into a step every 65536 / VM ticks.
            t = (s[b + 2] ^ sx) - sx
            pos = (s[b + 3] ^ sx) - sx
            if pos != t:
                acc = int(s[b]) + int(s[b + 5])
                if acc >= 65536:
                    acc -= 65536
                    if pos < t:
                        pos += 1
                        out |= 1 << i
                    else:
                        pos -= 1
                        out |= (1 << i) | (1 << (i + 8))
                    s[b + 3] = pos
                s[b] = acc
                if pos != t:
                    out |= 1 << (i + 16)
        else:
            p = (s[b] ^ sx) - sx
            v = (s[b + 1] ^ sx) - sx
            t = (s[b + 2] ^ sx) - sx
            if v != 0 or p != t:
                vm = int(s[b + 5])
                d = t - p
                av = v if v >= 0 else 0 - v
                stop = (av * (av // a + 1)) >> 1  # distance needed to stop from |v|
                if d > 0:
                    if v < 0 or d > stop:
                        v += a
                        if v > vm:
                            v = vm
                    else:
                        v -= a
                        if v < a:
                            v = a
                    p += v
                    if p >= t:
                        p = t
                        v = 0
                elif d < 0:
                    if v > 0 or 0 - d > stop:
                        v -= a
                        if v < 0 - vm:
                            v = 0 - vm
                    else:
                        v += a
                        if v > 0 - a:
                            v = 0 - a
                    p += v
                    if p <= t:
                        p = t
                        v = 0
                else:
                    v = 0
                s[b] = p
                s[b + 1] = v
            pos = (s[b + 3] ^ sx) - sx
            want = (p + 32768) >> 16
            if pos < want:
                pos += 1
                s[b + 3] = pos
                out |= 1 << i
            elif pos > want:
                pos -= 1
                s[b + 3] = pos
                out |= (1 << i) | (1 << (i + 8))
            if v != 0 or p != t or pos != want:
                out |= 1 << (i + 16)
        i += 1
    return out


class Axis:
    """One stepper axis: its pins, and its words in the shared profile array."""

    def __init__(self, g, i, step_pin, dir_pin):
        self.st = Stepper(step_pin, dir_pin)
        self._g = g
        self._q = g._q
        self._k = i * W
        self.bit = 1 << i  # in the step generator's `busy`
        self.sw = None  # its home switch, if the step generator watches one
        self.armed = 0
        self.hit = 0  # the switch stopped it

    def pos(self):
        return self._q[self._k + POS]

    def set_pos(self, steps):
        """Redefine where the axis is (homing) and hold it there."""
        self._q[self._k + POS] = steps
        self.hold()

    def hold(self):
        """Stop at once (no deceleration): the next tick emits no pulse; a
        stopped axis no longer watches its switch."""
        q = self._q
        k = self._k
        q[k + PQ] = q[k + POS] << 16
        q[k + TQ] = q[k + PQ]
        q[k + VQ] = 0
        self._stopped()

    def _stopped(self):
        self._g.busy &= ~self.bit
        if self.armed:
            self.armed = 0
            self._g._armed -= 1

    def target(self, steps):
        self._q[self._k + TQ] = steps << 16
        self._g.busy |= self.bit  # until the next tick says otherwise

    def limits(self, a, vm):
        """Acceleration and top speed, Q16 steps per tick (per tick^2)."""
        q = self._q
        q[self._k + A] = a if a > 2 else 3
        q[self._k + VM] = vm if vm < ONE else ONE

    def moving(self):
        return (self._g.busy & self.bit) != 0


class RateAxis(Axis):
    """An axis stepping at a constant rate toward a goal (A = 0)."""

    def hold(self):
        q = self._q
        k = self._k
        q[k + TQ] = q[k + POS]
        q[k + PQ] = 0
        self._stopped()

    def target(self, steps):
        self._q[self._k + TQ] = steps
        self._g.busy |= self.bit

    def rate(self, vm):
        """Steps per tick, Q16 (at most one step a tick)."""
        self._q[self._k + A] = 0
        self._q[self._k + VM] = vm if vm < ONE else ONE


class StepGen:
    """The board's step generator: a subsystem stepping every control tick."""

    def __init__(self):
        self._q = array.array("i", [0] * (MAX_AXES * W))
        self._st = []
        self._sw = []  # axes with a home switch
        self._armed = 0
        self.n = 0
        self.busy = 0  # bit i: axis i is moving

    def axis(self, step_pin, dir_pin, rate=False):
        """A new axis (at build time): a trapezoid one, or a constant-rate one."""
        if self.n == MAX_AXES:
            raise RuntimeError("stepgen: more than %d stepper axes" % MAX_AXES)
        ax = (RateAxis if rate else Axis)(self, self.n, step_pin, dir_pin)
        if rate:
            ax.rate(0)
        else:
            ax.limits(ONE, ONE)
        self._st.append(ax.st)
        self.n += 1
        return ax

    def switch(self, ax, pin):
        """Give axis ax a home switch (at build time); see watch()."""
        ax.sw = pin
        self._sw.append(ax)

    def watch(self, ax, on):
        """While watched, the axis stops on the very tick its switch closes
        (ax.hit = 1): homing lands on the switch's first closed step, not a
        control period past it. hold() ends the watch."""
        if on and not ax.armed:
            self._armed += 1
        elif not on and ax.armed:
            self._armed -= 1
        ax.armed = 1 if on else 0
        ax.hit = 0

    @micropython.native
    def step(self, now_us):
        if self._armed:
            # Before any pulse: an axis already on its switch does not step.
            for ax in self._sw:
                if ax.armed and ax.sw.value():
                    ax.hold()  # and stops watching
                    ax.hit = 1
        m = advance(self._q, self.n)
        self.busy = m >> 16
        if m & 0xFF:
            st = self._st
            for i in range(self.n):
                if m & (1 << i):
                    st[i].edge(-1 if m & (256 << i) else 1)


def of(ctx):
    """The board's step generator, created by the first subsystem asking."""
    sg = ctx.sub.get("stepgen")
    if sg is None:
        sg = ctx.sub["stepgen"] = StepGen()
    return sg
