# Quadrature encoder on the drill shaft.
# ESP32 (PCNT), mimxrt and the emulator have machine.Encoder, used as is.
# The RP2040 port has none: there this counts both edges of phase A in a
# hard pin IRQ (direction from phase B), half the resolution, scaled back to
# CPR. That keeps up with the drill (~8 k edges/s at 120 rpm); the hook for
# more is a PIO quadrature counter (pico-examples quadrature_encoder.pio)
# returned by _pio_counter() in place of _EdgeCounter.
import machine

CPR = 4096  # counts per output-shaft revolution (1024-line encoder, x4)


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


class Encoder:
    def __init__(self, pin_a, pin_b):
        pa = machine.Pin(pin_a, machine.Pin.IN)
        pb = machine.Pin(pin_b, machine.Pin.IN)
        if hasattr(machine, "Encoder"):
            self._enc = machine.Encoder(0, phase_a=pa, phase_b=pb)
        else:
            self._enc = _EdgeCounter(pa, pb)

    def count(self):
        return self._enc.value()

    def zero(self):
        # Zeroed at the start of every job so counts stay small ints.
        self._enc.value(0)
