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
#
# Pulses: on a board whose file names its GPIO output set/clear registers
# ("gpio_out", e.g. the RP2040's SIO GPIO_OUT_SET/CLR), every axis that
# steps on a tick is pulsed at once by two register stores (and direction
# changes by one or two more): a handful of stores a tick, not two pin calls
# per axis. Otherwise each axis pulses through its machine.Pin objects.
# Either way the pulse holds the drivers' minimum STEP high time and a
# direction change leads it by their DIR setup time (parts.json, the
# slowest driver on the board: DRV8825 1.9 us high, 650 ns setup); the
# PIO's 4 us phases are checked against them at build.
import array
import time

import machine
import micropython
from micropython import const

from sampler import board, hw
from sampler.motor import Stepper

try:
    import rp2
except ImportError:
    rp2 = None

W = const(6)
PQ = const(0)
VQ = const(1)
TQ = const(2)
POS = const(3)
A = const(4)
VM = const(5)
MAX_AXES = const(8)
ONE = const(65536)  # one step per tick, Q16: the fastest an axis moves
_PIO_HZ = const(1000000)  # the step state machine's clock: 1 us a cycle
_PIO_PHASE_US = const(4)  # its direction setup and its pulse: 4 cycles each
_sleep_us = time.sleep_us


@micropython.viper
def _half(buf: ptr16, i: int) -> int:
    # Half i of a batch buffer: read as a word, a tick's 16 bits in its top
    # half would be an int object on a 32-bit port (a hold must not allocate).
    return buf[i]


@micropython.viper
def advance(s: ptr32, n: int, k: int, pm: ptr32, out: ptr32, words: int) -> int:
    """k ticks of n axes. Bit i of the result: axis i stepped (in any of the
    k ticks); bit i + 8: its last step was backwards; bit i + 16: it is
    still moving. With words set (a PIO batch, k even) out[t // 2] holds
    tick t's 16 pin bits, the even tick's in the low half: the direction
    levels, then those and the step pulses (bit positions from pm, see
    _PW)."""
    # Axis by axis, each one's k ticks with its state in locals: its words
    # are loaded and stored once a batch, not once a tick (the axes do not
    # interact; the pin words gather every axis's bits).
    # ptr32 loads are zero-extended on 64-bit ports: sign-extend by hand
    # (a no-op on 32-bit ports). Shifted at run time: a folded 1 << 31 would
    # be a long-int object on 32-bit ports.
    sx = 1
    sx <<= 31
    res = 0
    if words:
        j = 0
        while j < (k + 1) >> 1:
            out[j] = 0
            j += 1
    i = 0
    while i < n:
        b = i * 6
        c = i * 3
        a = int(s[b + 4])
        vm = int(s[b + 5])
        p = (s[b] ^ sx) - sx  # a constant-rate axis: its phase accumulator
        v = (s[b + 1] ^ sx) - sx
        t = (s[b + 2] ^ sx) - sx  # a constant-rate axis: its goal in whole steps
        pos = (s[b + 3] ^ sx) - sx
        sb = int(pm[c]) << 8
        db = int(pm[c + 1])
        fwd = int(pm[c + 2])
        want = 0
        last = 0
        tk = 0
        while tk < k:
            st = 0  # this tick: 1 forwards, -1 backwards
            if a == 0:
                # Constant rate: the accumulator overflows into a step every
                # 65536 / VM ticks.
                if pos != t:
                    p += vm
                    if p >= 65536:
                        p -= 65536
                        st = 1 if pos < t else -1
                        pos += st
            else:
                if v != 0 or p != t:
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
                want = (p + 32768) >> 16
                if pos < want:
                    st = 1
                elif pos > want:
                    st = -1
                pos += st
            if st != 0:
                last = st
                fwd = 1 if st > 0 else 0
            if words:
                h = db if fwd else 0
                h |= h << 8
                if st != 0:
                    h |= sb
                if tk & 1:
                    h <<= 16
                out[tk >> 1] = int(out[tk >> 1]) | h
            tk += 1
        s[b] = p
        s[b + 1] = v
        s[b + 3] = pos
        if words:
            pm[c + 2] = fwd
        if last != 0:
            res |= 1 << i
            if last < 0:
                res |= 1 << (i + 8)
        if pos != t if a == 0 else (v != 0 or p != t or pos != want):
            res |= 1 << (i + 16)
        i += 1
    return res


# Pin words per axis in StepGen._pm: the step pin's bit, the direction
# pin's bit (in GPIO_OUT, or in the PIO's pin window), the direction last
# driven (1 forwards, 0 backwards).
_PW = const(3)


@micropython.viper
def gpio_masks(m: int, pm: ptr32, io: ptr32, n: int):
    """The register masks for advance()'s result m: io[0] the step pins to
    pulse, io[1] the direction pins to set, io[2] those to clear (only the
    axes whose direction changes). Pins below GPIO 30: masks stay small ints."""
    step = 0
    dset = 0
    dclr = 0
    i = 0
    while i < n:
        if m & (1 << i):
            b = i * 3
            step |= pm[b]
            fwd = 0 if m & (1 << (i + 8)) else 1
            if fwd != int(pm[b + 2]):
                pm[b + 2] = fwd
                if fwd:
                    dset |= pm[b + 1]
                else:
                    dclr |= pm[b + 1]
        i += 1
    io[0] = step
    io[1] = dset
    io[2] = dclr


# The step state machine's program, by instruction: where it stands tells a
# hold which of its word's two ticks have pulsed (StepGen.flush).
_PULSE_1 = const(3)  # the first tick's pulse goes out here
_PULSE_2 = const(9)  # the second's
_TICK_CYCLES = const(13)  # cycles of a tick besides its wait

if rp2 is not None:
    # One state machine plays the step generator's batches, two ticks a word
    # (advance() with k > 1): each tick's two bytes go out on the 8 pins of
    # the window in turn, the direction levels (4 us of setup), then those
    # and the step pulses (4 us high), then the levels again (kept in X);
    # then it waits out the tick. The ISR holds the wait, set once at start.
    # At 1 MHz a tick is _TICK_CYCLES + wait cycles, in either half.
    @rp2.asm_pio(out_init=(rp2.PIO.OUT_LOW,) * 8, out_shiftdir=rp2.PIO.SHIFT_RIGHT,
                 fifo_join=rp2.PIO.JOIN_TX)
    def _ticks():
        wrap_target()
        pull(block)
        out(x, 8)
        mov(pins, x)[3]
        out(pins, 8)[3]  # _PULSE_1
        mov(pins, x)
        mov(y, isr)
        label("wait1")
        jmp(y_dec, "wait1")
        out(x, 8)[1]
        mov(pins, x)[3]
        out(pins, 8)[3]  # _PULSE_2
        mov(pins, x)
        mov(y, isr)
        label("wait2")
        jmp(y_dec, "wait2")
        wrap()


class Axis:
    """One stepper axis: its pins, and its words in the shared profile array."""

    def __init__(self, g, i, step_pin, dir_pin):
        # With a PIO the state machine owns the pins (its out_init made them
        # PIO outputs): a machine.Pin(OUT) here would hand them back to the
        # CPU on an RP2040.
        self.st = Stepper(step_pin, dir_pin, g.high_us, g.setup_us) if g._sm is None else None
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
        self._g.flush()
        self._q[self._k + POS] = steps
        self.hold()

    def hold(self):
        """Stop at once (no deceleration): no pulse after this one, even one
        already queued for the PIO; a stopped axis no longer watches its
        switch."""
        self._g.flush()
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
        self._g.flush()
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
    """The board's step generator. Without a PIO it is a subsystem stepping
    every control tick, pulsing through the GPIO output registers
    (gpio_out: {"set": address, "clr": address}) or, without those, through
    machine.Pin. With one (pio: {"sm": id, "base": first pin}: all step and
    direction pins within the 8 from base) it steps every k ticks (its
    board rate, k even) and queues k ticks of pin words, two ticks a word,
    for the state machine."""

    def __init__(self, gpio_out=None, pio=None, k=1, hz=1000, timing=(2, 2, 1)):
        # The drivers' STEP high, low and DIR setup, whole us (hw.slowest_timing).
        self.high_us, self.low_us, self.setup_us = timing
        self._q = array.array("i", [0] * (MAX_AXES * W))
        self._pm = array.array("i", [0] * (MAX_AXES * _PW))
        self._io = array.array("i", [0, 0, 0])
        self._k = k
        self.rate_hz = hz // k  # its schedule's rate (app.schedule)
        self._set = self._clr = 0
        self._sm = None
        self._base = -1
        if pio:
            if rp2 is None:
                raise RuntimeError("stepgen: board.json asks for a PIO and this port has none")
            if max(timing) > _PIO_PHASE_US:
                raise RuntimeError("stepgen: a driver needs %d us, the PIO pulses for %d"
                                   % (max(timing), _PIO_PHASE_US))
            self._base = pio["base"]
            self._sm_id = pio["sm"]
            self._wait = _PIO_HZ // hz - _TICK_CYCLES
            # Three batch buffers in turn: what a flush takes back is in the
            # last three pushed (the FIFO holds two batches at most, see
            # step(), and the state machine a word of the one before).
            # Unsigned words: rp2's put() takes arrays of B, H or I only.
            wk = k // 2
            self._bufs = (array.array("I", [0] * wk), array.array("I", [0] * wk),
                          array.array("I", [0] * wk))
            self._cur = 0
            self._start()
        elif gpio_out:
            self._set = gpio_out["set"]
            self._clr = gpio_out["clr"]
            self._mem = machine.mem32
        self._st = []
        self._sw = []  # axes with a home switch
        self._armed = 0
        self.n = 0
        self.busy = 0  # bit i: axis i is moving

    def _start(self):
        sm = rp2.StateMachine(self._sm_id)
        sm.init(_ticks, freq=_PIO_HZ, out_base=machine.Pin(self._base))
        # The state machine's ADDR register (RP2040 datasheet, PIO: SMx_ADDR,
        # its current instruction): the rp2 API does not say where a state
        # machine stands, and a hold must know. Read at init, it is the
        # program's start.
        i = self._sm_id
        self._addr = (0x50300000 if i > 3 else 0x50200000) + 0xD4 + 0x18 * (i & 3)
        self._off = machine.mem32[self._addr] & 31
        enc = rp2.asm_pio_encode
        sm.put(self._wait)
        sm.exec(enc("pull(block)", 0))
        sm.exec(enc("mov(isr, osr)", 0))
        sm.active(1)
        self._sm = sm
        # For flush(), encoded once: no allocation when a hold needs them.
        self._drop = enc("pull(noblock)", 0)
        self._settle = enc("mov(pins, x)", 0)

    def axis(self, step_pin, dir_pin, rate=False):
        """A new axis (at build time): a trapezoid one, or a constant-rate one."""
        if self.n == MAX_AXES:
            raise RuntimeError("stepgen: more than %d stepper axes" % MAX_AXES)
        base = self._base
        if base >= 0:
            if not (base <= step_pin < base + 8 and base <= dir_pin < base + 8):
                raise RuntimeError("stepgen: step and dir pins must be GPIO %d-%d for the PIO"
                                   % (base, base + 7))
        elif self._set and not (0 <= step_pin < 30 and 0 <= dir_pin < 30):
            raise RuntimeError("stepgen: gpio_out needs step and dir pins below GPIO 30")
        ax = (RateAxis if rate else Axis)(self, self.n, step_pin, dir_pin)
        off = base if base >= 0 else 0  # bits in the PIO's window, or in GPIO_OUT
        k = self.n * _PW
        self._pm[k] = 1 << (step_pin - off)
        self._pm[k + 1] = 1 << (dir_pin - off)
        self._pm[k + 2] = 1  # Stepper starts its direction pin forwards
        if rate:
            ax.rate(0)
        else:
            ax.limits(ONE, ONE)
        self._st.append(ax.st)
        self.n += 1
        if self._sm is not None:
            self.step = self._batcher()
        return ax

    def switch(self, ax, pin):
        """Give axis ax a home switch (at build time); see watch()."""
        ax.sw = pin
        self._sw.append(ax)

    def watch(self, ax, on):
        """While watched, the axis stops on the very tick its switch closes
        (ax.hit = 1): homing lands on the switch's first closed step, not a
        control period past it (with a PIO, within the k ticks queued).
        hold() ends the watch."""
        if on and not ax.armed:
            self._armed += 1
        elif not on and ax.armed:
            self._armed -= 1
        ax.armed = 1 if on else 0
        ax.hit = 0

    def flush(self):
        """PIO: stop the state machine where it stands, take the ticks it has
        not pulsed yet (the queued words, and those of the word it is
        playing whose pulse is still to come) back out of the positions, and
        send it to wait for the next word: a hold stops the motors now, not
        k ticks later. Its place is its ADDR register; on a board a pulse
        whose instruction is in its delay may read as not yet made (a 4 us
        window a tick)."""
        sm = self._sm
        if sm is None:
            return
        sm.active(0)
        pc = (machine.mem32[self._addr] - self._off) & 31
        # The playing word's ticks still to pulse: both before its first
        # pulse, the second before the second's, none after (or at the pull).
        todo = 0 if pc == 0 or pc > _PULSE_2 else 2 if pc <= _PULSE_1 else 1
        left = sm.tx_fifo()
        if left or todo:
            for _ in range(left):
                sm.exec(self._drop)
            sm.exec(self._settle)  # a pulse under way ends: direction levels only
            sm.exec(self._off)  # jmp to the pull (a jmp's word is its address)
            self._take_back(left, todo)
        sm.active(1)

    def _take_back(self, left, todo):
        # Newest word first: the last pushed buffer from its end, then those
        # before it; the queued words' two ticks each, then the playing
        # word's last `todo` ticks.
        q = self._q
        pm = self._pm
        wk = self._k // 2
        for j in range(left + (1 if todo else 0)):
            buf = self._bufs[(self._cur - j // wk) % 3]
            w = 2 * (wk - 1 - j % wk)  # the word's halves, little-endian
            for half in range(2 if j < left else todo):
                h = _half(buf, w + 1 - half)  # the later tick first
                steps = ((h >> 8) ^ h) & 0xFF
                for i in range(self.n):
                    if steps & pm[i * _PW]:
                        q[i * W + POS] -= 1 if h & pm[i * _PW + 1] else -1

    def _watch_switches(self):
        # Before any pulse: an axis already on its switch does not step.
        for ax in self._sw:
            if ax.armed and ax.sw.value():
                ax.hold()  # and stops watching
                ax.hit = 1

    def _batcher(self):
        """The PIO board's step, rebuilt by axis(): what does not change once
        the axes are made is bound in its default arguments (a closure over
        more than a few names allocates at every call), sparing a batch the
        look-ups that were the bulk of its cost."""
        sm = self._sm

        @micropython.native
        def step(now_us, g=self, fifo=sm.tx_fifo, put=sm.put, q=self._q, pm=self._pm,
                 bufs=self._bufs, n=self.n, k=self._k, wk=self._k // 2, adv=advance):
            if g._armed:
                g._watch_switches()
            if not g.busy:
                return  # every axis at rest on its target: nothing to plan
            # A batch of k ticks (k / 2 words), queued behind at most as many:
            # the FIFO (8 words, 2k ticks at most) never blocks the loop.
            if fifo() > wk:
                return  # the PIO is behind the loop: plan when it catches up
            c = g._cur + 1
            c = 0 if c == 3 else c
            buf = bufs[c]
            m = adv(q, n, k, pm, buf, 1)
            g.busy = m >> 16
            if m & 0xFF:
                g._cur = c
                put(buf)

        return step

    @micropython.native
    def step(self, now_us):
        """The step of a board without a PIO: one tick, its pulses through
        the GPIO registers or the pins. (A PIO board's is _batcher's.)"""
        if self._armed:
            self._watch_switches()
        if not self.busy:
            return  # every axis at rest on its target (target() sets busy)
        m = advance(self._q, self.n, 1, self._pm, self._io, 0)
        self.busy = m >> 16
        if m & 0xFF:
            if self._set:
                io = self._io
                gpio_masks(m, self._pm, io, self.n)
                mem = self._mem
                if io[1] or io[2]:
                    if io[1]:
                        mem[self._set] = io[1]
                    if io[2]:
                        mem[self._clr] = io[2]
                    # Direction first, by the drivers' setup time.
                    _sleep_us(self.setup_us)
                mem[self._set] = io[0]
                _sleep_us(self.high_us)  # the drivers' minimum STEP high
                mem[self._clr] = io[0]
            else:
                st = self._st
                for i in range(self.n):
                    if m & (1 << i):
                        st[i].edge(-1 if m & (256 << i) else 1)


def of(ctx):
    """The board's step generator, created by the first subsystem asking.
    A board file's step_pio needs the rp2 module; without it (an RP2040 board
    file in the emulator) the steps go out through gpio_out every tick, as
    the HX711 falls back to its GPIO driver."""
    sg = ctx.sub.get("stepgen")
    if sg is None:
        b = ctx.board
        pio = b.get("step_pio") if rp2 is not None else None
        hz = b["loop_hz"]
        # Two ticks a PIO word: a board file silent on its rate gets k = 2.
        k = max(hz // board.step_hz(b, "stepgen"), 2) if pio else 1
        if pio and (k > 8 or k & 1):
            # Two ticks a word, and the PIO's FIFO holds 8 words: k queued
            # behind k.
            raise RuntimeError("board.json: step_hz stepgen must be loop_hz / 2, / 4, / 6 "
                               "or / 8")
        sg = ctx.sub["stepgen"] = StepGen(b.get("gpio_out"), pio, k, hz, hw.slowest_timing(b))
    return sg
