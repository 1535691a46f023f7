# Quadrature encoder on the drill shaft.
# ESP32 (PCNT), mimxrt and the emulator have machine.Encoder, used as is.
# The RP2040 port has none: there a PIO state machine counts every edge of
# both phases (x4, the full CPR) with no CPU time (_PioCounter). Without rp2
# a hard pin IRQ counts both edges of phase A (direction from phase B), half
# the resolution, scaled back to CPR (_EdgeCounter).
from array import array

import machine
from micropython import const

try:
    import rp2
except ImportError:
    rp2 = None

CPR = 4096  # counts per output-shaft revolution (1024-line encoder, x4)

# State machine 4 is PIO1's first: the counter's program fills all of PIO1's
# instruction memory (see _quad); PIO0 runs the HX711 (SM 0) and the step
# generator (SM 1), 12 + 6 of its 32 words.
_SM = const(4)
_SAMPLE = const(17)  # address of "sample" in _quad (the program sits at 0)


class _EdgeCounter:
    def __init__(self, pa, pb):
        self._b = pb
        self._n = 0
        pa.irq(self._edge, machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING, hard=True)

    def _edge(self, pin):
        self._n += 1 if pin.value() != self._b.value() else -1

    def value(self, v=None):
        if v is None:
            return self._n * 2
        self._n = v // 2


if rp2 is not None:
    # Count in X. Each pass of the loop pushes X (noblock: dropped while
    # the RX FIFO is full), samples A/B (A = in_base, B = in_base + 1) next
    # to the previous sample kept in Y, and jumps through the table at 0-15
    # indexed by previous << 2 | current (state = B << 1 | A). Forward is
    # 0 -> 1 -> 3 -> 2 -> 0. A jump in two steps (0 <-> 3, 1 <-> 2) means
    # a missed edge: not counted. The loop is 7 to 10 cycles, so at the
    # default 125 MHz it samples the pins every 80 ns or less.
    # `mov(pc, isr)` is an absolute jump, so the table must sit at address
    # 0. MicroPython places programs top down and has no .origin: padded to
    # the full 32 words, the program can only load at 0.
    @rp2.asm_pio(in_shiftdir=rp2.PIO.SHIFT_LEFT)
    def _quad():
        jmp("sample")  # 0 -> 0
        jmp("up")  # 0 -> 1
        jmp("down")  # 0 -> 2
        jmp("sample")  # 0 -> 3 (missed edge)
        jmp("down")  # 1 -> 0
        jmp("sample")  # 1 -> 1
        jmp("sample")  # 1 -> 2 (missed edge)
        jmp("up")  # 1 -> 3
        jmp("up")  # 2 -> 0
        jmp("sample")  # 2 -> 1 (missed edge)
        jmp("sample")  # 2 -> 2
        jmp("down")  # 2 -> 3
        jmp("sample")  # 3 -> 0 (missed edge)
        jmp("down")  # 3 -> 1
        jmp("up")  # 3 -> 2
        jmp("sample")  # 3 -> 3
        label("down")
        jmp(x_dec, "sample")  # falls through to sample when X was 0 too
        label("sample")  # address 17 (_SAMPLE)
        wrap_target()
        mov(isr, x)
        push(noblock)  # clears ISR
        in_(y, 2)  # previous state
        in_(pins, 2)  # current state
        mov(y, isr)
        mov(pc, isr)
        label("up")  # X + 1 = ~(~X - 1)
        mov(x, invert(x))
        jmp(x_dec, "up2")
        label("up2")
        mov(x, invert(x))
        wrap()
        for _ in range(6):  # padding to 32 words, never executed
            nop()


class _PioCounter:
    def __init__(self, pa):
        sm = rp2.StateMachine(_SM, _quad, in_base=pa)
        enc = rp2.asm_pio_encode
        self._set_x0 = enc("set(x, 0)", 0)
        # X and Y are not reset by init: count from 0, and start Y at the
        # current pin state so the first pass sees no change.
        sm.exec(self._set_x0)
        sm.exec(enc("in_(pins, 2)", 0))
        sm.exec(enc("mov(y, isr)", 0))
        sm.active(1)
        self._sm = sm
        self._buf = array("i", (0,))  # get() into it: signed, no int object

    def value(self, v=None):
        sm = self._sm
        if v is None:
            # The FIFO holds old counts; drain them, then the next push is
            # the count as of now (a few PIO cycles' wait).
            for _ in range(sm.rx_fifo()):
                sm.get(self._buf)
            sm.get(self._buf)
            return self._buf[0]
        # Encoder only ever sets 0: stopped, X = 0, back to the
        # top of the loop. Y keeps the last sampled state, so an edge the
        # loop was part-way through counting is simply not counted, and
        # one after it is.
        sm.active(0)
        sm.exec(self._set_x0)
        sm.exec(_SAMPLE)  # "jmp sample": JMP (always) encodes as the bare address
        sm.active(1)


class Encoder:
    def __init__(self, pin_a, pin_b):
        pa = machine.Pin(pin_a, machine.Pin.IN)
        pb = machine.Pin(pin_b, machine.Pin.IN)
        if hasattr(machine, "Encoder"):
            self._enc = machine.Encoder(0, phase_a=pa, phase_b=pb)
        elif rp2 is not None:
            # Phase B must be the pin after phase A (in_base + 1).
            if pin_b != pin_a + 1:
                raise ValueError("encoder: phase B must be on GPIO A+1 for PIO")
            self._enc = _PioCounter(pa)
        else:
            self._enc = _EdgeCounter(pa, pb)

    def count(self):
        return self._enc.value()

    def zero(self):
        # Zeroed at the start of every job so counts stay small ints.
        self._enc.value(0)
