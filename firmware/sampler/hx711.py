# HX711 24-bit load-cell ADC on two GPIOs (bit-banged; ESP32 and any port),
# and the choice of driver from board.json ("hx711_driver": "gpio" | "pio").
#
# poll() never waits: unless DOUT is low (conversion ready) it returns at
# once, so the control loop polls it every tick. A ready reading is clocked
# out with interrupts off: SCK held high for more than 60 us would power the
# chip down mid-read. Allocation-free.
import machine
import micropython
from micropython import const

_PULSES = {128: 25, 32: 26, 64: 27}  # gain -> SCK pulses (A128, B32, A64)
_SIGN = const(0x800000)
_WRAP = const(0x1000000)


def pulses_for(gain):
    """SCK pulses per read that select `gain` for the next conversion."""
    p = _PULSES.get(gain)
    if p is None:
        raise ValueError("HX711 gain must be 128, 64 or 32")
    return p


def accept(drv, v):
    """Store a 24-bit two's-complement reading on driver `drv` (GPIO or PIO);
    the first conversion after a gain change is marked invalid."""
    if v & _SIGN:
        v -= _WRAP
    drv.raw = v
    drv.reads += 1
    if drv._skip:
        drv._skip -= 1
        drv.valid = False
    else:
        drv.valid = True


def driver_name(board):
    """Module implementing the driver the board file asks for."""
    kind = board.get("hx711_driver", "gpio")
    if kind == "gpio":
        return "sampler.hx711"
    if kind == "pio":
        return "sampler.hx711_pio"
    raise ValueError("board.json: hx711_driver must be gpio or pio, not " + str(kind))


def make(board, gain=128):
    """(driver, name): the board's HX711 driver on its hx711_sck/hx711_dout pins.

    A board asking for "pio" without an rp2 module (an RP2040 board file run
    in the emulator) gets the GPIO driver, named "gpio*" so it shows."""
    pins = board["pins"]
    rate_pin(board)
    mod = driver_name(board)
    if mod == "sampler.hx711_pio":
        try:
            from sampler import hx711_pio
        except ImportError:
            return HX711(pins["hx711_sck"], pins["hx711_dout"], gain), "gpio*"
        return hx711_pio.HX711(pins["hx711_sck"], pins["hx711_dout"], gain), "pio"
    return HX711(pins["hx711_sck"], pins["hx711_dout"], gain), "gpio"


def rate_sps(board):
    """The conversion rate the board selects: its "hx711" rate_sps (10 or
    80), 80 if the file is silent (a RATE pin tied high)."""
    r = board.get("hx711", {}).get("rate_sps", 80)
    if r not in (10, 80):
        raise ValueError("board.json: hx711 rate_sps must be 10 or 80, not " + str(r))
    return r


def rate_pin(board):
    """Drive the HX711's RATE pin, if the board wires one: high for 80 SPS
    (which gives up the 50/60 Hz rejection of 10 SPS), low for 10."""
    name = board.get("hx711", {}).get("rate_pin")
    if name:
        machine.Pin(board["pins"][name], machine.Pin.OUT, value=1 if rate_sps(board) == 80 else 0)


class HX711:
    def __init__(self, sck, dout, gain=128):
        self._sck = machine.Pin(sck, machine.Pin.OUT, value=0)
        self._dout = machine.Pin(dout, machine.Pin.IN)
        self.raw = 0
        self.reads = 0
        self.valid = False  # False for a reading made before a gain change took effect
        self.powered = True
        self.float_n = 0  # reads in a row that left DOUT low (see poll)
        self._skip = 1
        self.set_gain(gain)

    def set_gain(self, gain):
        self._extra = pulses_for(gain) - 24
        self.gain = gain
        self._skip = 1  # the conversion under way still uses the old gain

    @micropython.native
    def poll(self):
        """True when a reading was clocked into .raw (check .valid)."""
        if not self.powered:
            return False
        dout = self._dout
        if dout.value():
            return False
        sck = self._sck
        v = 0
        irq = machine.disable_irq()
        for _ in range(24):
            sck.on()
            sck.off()
            v = (v << 1) | dout.value()
        for _ in range(self._extra):
            sck.on()
            sck.off()
        machine.enable_irq(irq)
        # After its last pulse the chip drives DOUT high until the next
        # conversion: low here is an input nobody drives (a cut wire).
        self.float_n = 0 if dout.value() else self.float_n + 1
        accept(self, v)
        return True

    def power_down(self):
        """SCK high: the chip sleeps after 60 us."""
        self._sck.on()
        self.powered = False

    def power_up(self):
        """SCK low: the chip wakes at gain 128 and settles (about 4 conversions)."""
        self._sck.off()
        self.powered = True
        self._skip = 1 if self.gain == 128 else 2
