# The hardwired e-stop, read back. Its normally-closed loop drops the
# drivers' enable or the motor supply by itself (IEC 60204-1 stop category
# 0, drawn in the rig READMEs); the firmware reads the same contact on
# pins.estop, pulled up: closed reads 0, pressed or a cut wire reads 1.
# An edge latches it at once (a pin IRQ: a soft one, as the ESP32 port has
# no hard pin IRQs, and a soft handler never lands inside a viper step),
# and every control tick checks the level too. The latch stops every mover
# and cuts what a plain stop holds (safety.cut), and clears only by RESET
# with the loop closed again. Part of the core: kept small.
import machine

from sampler import safety as S


class EStop:
    def __init__(self, ctx):
        b = ctx.board
        self._saf = ctx.safety
        self._gpio = b["pins"]["estop"]
        # The chip's pull-up, unless the board has its own resistor. (An NO
        # contact or a pull-down would read a cut wire as "run": the board
        # check refuses them.)
        ext = b.get("wiring", {}).get("estop", {}).get("pull") == "external"
        self._pin = machine.Pin(self._gpio, machine.Pin.IN, None if ext else machine.Pin.PULL_UP)
        self.latched = 0
        if self._pin.value():
            # Open at boot: told apart from a press during the run.
            self._latch(S.F_ESTOP_BOOT)
        self._pin.irq(self._edge, machine.Pin.IRQ_RISING)

    def _edge(self, pin):
        # An edge toward open is a stop, even if the contact has bounced
        # back by the time this soft handler runs.
        if not self.latched:
            self._latch(S.F_ESTOP_INPUT)

    def _latch(self, code):
        self.latched = 1
        self._saf.cut = 1
        self._saf.trip(code)  # every mover stops

    def step(self, now_us):
        if self._pin.value() and not self.latched:
            self._latch(S.F_ESTOP_INPUT)

    def fault_active(self):
        if self._pin.value():
            return "e-stop open (GPIO %d): release it or mend its loop, then RESET" % self._gpio
        self.latched = 0
        return None


def make(ctx):
    return EStop(ctx)
