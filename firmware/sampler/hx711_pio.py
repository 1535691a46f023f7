# HX711 on an RP2040 PIO state machine. The state machine waits for DOUT
# low, clocks the 24 data bits and the gain pulses with exact timing (SCK
# high 3 us, far below the 60 us power-down limit, whatever the CPU does)
# and pushes each reading into its RX FIFO. poll() only looks at the FIFO:
# the control step never bit-bangs and never waits. Allocation-free poll.
import machine
import rp2
from micropython import const

from sampler.hx711 import accept, pulses_for

_FREQ = const(1000000)  # 1 us per PIO cycle


@rp2.asm_pio(sideset_init=rp2.PIO.OUT_LOW, in_shiftdir=rp2.PIO.SHIFT_LEFT)
def _prog():
    pull(block).side(0)  # gain pulses beyond the 24th, minus one (0..2)
    mov(y, osr).side(0)
    wrap_target()
    wait(0, pin, 0).side(0)  # DOUT low: conversion ready
    set(x, 23).side(0)
    label("bit")
    nop().side(1)[2]
    in_(pins, 1).side(0)[1]
    jmp(x_dec, "bit").side(0)
    push(noblock).side(0)
    mov(x, y).side(0)
    label("gain")
    nop().side(1)[2]
    jmp(x_dec, "gain").side(0)[2]
    wait(1, pin, 0).side(0)  # DOUT back high until the next conversion
    wrap()


class HX711:
    def __init__(self, sck, dout, gain=128, sm_id=0):
        self._sck_no = sck
        self._dout_no = dout
        self._sm = rp2.StateMachine(sm_id)
        self.raw = 0
        self.reads = 0
        self.backlog = 0
        self.valid = False
        self.powered = True
        self._skip = 1
        self.gain = gain
        self._extra = pulses_for(gain) - 24
        self._start()

    def _start(self):
        sm = self._sm
        while sm.rx_fifo():  # readings from before a restart are stale
            sm.get()
        sm.init(_prog, freq=_FREQ, sideset_base=machine.Pin(self._sck_no),
                in_base=machine.Pin(self._dout_no, machine.Pin.IN))
        sm.put(self._extra - 1)
        sm.active(1)

    def set_gain(self, gain):
        self._extra = pulses_for(gain) - 24
        self.gain = gain
        self._skip = 1
        if self.powered:
            self._sm.active(0)
            self._start()

    def poll(self):
        """True when a reading was taken from the FIFO into .raw (check .valid)."""
        sm = self._sm
        if not sm.rx_fifo():
            return False
        accept(self, sm.get() & 0xFFFFFF)
        # Readings still queued behind it came while nobody read: their
        # read times are not their conversion times (scale.py's rate check).
        self.backlog = sm.rx_fifo()
        return True

    def power_down(self):
        """Stop the state machine and hold SCK high: the chip sleeps after 60 us."""
        self._sm.active(0)
        machine.Pin(self._sck_no, machine.Pin.OUT, value=1)
        self.powered = False

    def power_up(self):
        """SCK low, restart the state machine; the chip wakes at gain 128."""
        machine.Pin(self._sck_no, machine.Pin.OUT, value=0)
        self.powered = True
        self._skip = 1 if self.gain == 128 else 2
        self._start()
