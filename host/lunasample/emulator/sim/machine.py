# Simulated `machine` for the emulated board. Same API as MicroPython's
# machine module on RP2040/ESP32 for the parts the firmware uses; every call
# lands on the simulated world's pin bus, where plant models answer.

import simworld as _w

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset_cause():
    return _w.reset_cause


def reset():
    _w.power_cut("reset", HARD_RESET)


def soft_reset():
    raise SystemExit(0)


def freq(*a):
    return int(_w.config.get("cpu_hz", 125000000))


def unique_id():
    return str(_w.config.get("board", "emulator")).encode()[:8]


def idle():
    _w.advance(100)


def disable_irq():
    # Timer callbacks wait while this holds (the chip masks its interrupts).
    was = _w.irq_on
    _w.irq_on = False
    return 1 if was else 0


def enable_irq(state=1):
    _w.irq_on = bool(state)
    if state and _w._timers and _w.vt_us >= _w._timer_due:
        _w._run_timers()  # what came due while masked runs now, late


def time_pulse_us(pin, level, timeout_us=1000000):
    return -2


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self._id = id
        # A pin a plant device owns (the plants attach at boot, before the
        # firmware makes its pins) talks to it directly: a bit-banged HX711
        # read is 75 pin calls. Step pins keep the bus path, which notes the
        # time of the last actuation.
        d = _w.pins.get(id, 0)
        self._dev = None if isinstance(d, int) or id in _w._step_pins else d
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self._mode = mode
            _w.pin_fn.pop(self._id, None)  # the CPU's again (SIO)
        if value is not None:
            _w.pin_write(self._id, value)

    def value(self, v=None):
        if v is not None:
            self._out(v)
            return None
        d = self._dev
        return d.pin_read(self._id) if d is not None else _w.pin_read(self._id)

    __call__ = value

    def _out(self, v):
        if _w.pin_fn and self._id in _w.pin_fn:
            return  # a PIO drives this pad
        d = self._dev
        if d is not None:
            d.pin_write(self._id, v)
        else:
            _w.pin_write(self._id, v)

    def on(self):
        self._out(1)

    def off(self):
        self._out(0)

    def high(self):
        self._out(1)

    def low(self):
        self._out(0)

    def irq(self, handler=None, trigger=3):
        return None

    def id(self):
        return self._id

    def __repr__(self):
        return "Pin(%d)" % self._id


def _pin_no(p):
    return p._id if isinstance(p, Pin) else int(p)


# GPIO output set/clear registers the board files name ("gpio_out"): the
# RP2040's SIO GPIO_OUT_SET/CLR and the ESP32's GPIO_OUT_W1TS/W1TC. A store
# drives each of the board's pins in its mask on the bus, lowest first.
_GPIO_REGS = {0xD0000014: 1, 0xD0000018: 0, 0x3FF44008: 1, 0x3FF4400C: 0}


class _Mem32:
    def __setitem__(self, addr, v):
        level = _GPIO_REGS.get(addr)
        if level is None:
            raise ValueError("machine.mem32: no simulated register at 0x%08x" % addr)
        fn = _w.pin_fn
        for pin in _w.gpio_pins:
            if v >> pin & 1 and pin not in fn:  # a PIO's pads ignore the CPU's outputs
                _w.pin_write(pin, level)

    def __getitem__(self, addr):
        # A PIO state machine's ADDR register (PIO0 at 0x50200000, PIO1 at
        # 0x50300000; SMn_ADDR at 0xd4 + 0x18 n): its current instruction.
        base = addr & ~0xFFFFF
        off = addr - base - 0xD4
        if base in (0x50200000, 0x50300000) and 0 <= off < 0x60 and off % 0x18 == 0:
            import pio_sim

            return pio_sim._sms[(4 if base == 0x50300000 else 0) + off // 0x18].pc
        raise ValueError("machine.mem32: no simulated register at 0x%08x" % addr)


mem32 = _Mem32()


class PWM:
    def __init__(self, pin, freq=1000, duty_u16=0, duty_ns=None):
        self._pin = _pin_no(pin)
        self._freq = freq
        self.duty_u16(duty_u16)
        if duty_ns is not None:
            self.duty_ns(duty_ns)

    def freq(self, f=None):
        if f is None:
            return self._freq
        self._freq = f

    def duty_u16(self, d=None):
        if d is None:
            return _w.pwm.get(self._pin, 0)
        _w.pwm[self._pin] = max(0, min(65535, int(d)))

    def duty_ns(self, ns=None):
        period_ns = 1000000000 // self._freq
        if ns is None:
            return _w.pwm.get(self._pin, 0) * period_ns // 65535
        self.duty_u16(int(ns) * 65535 // period_ns)

    def deinit(self):
        _w.pwm[self._pin] = 0


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3
    WIDTH_12BIT = 3

    def __init__(self, pin, atten=None):
        self._pin = _pin_no(pin)

    def read_u16(self):
        return _w.adc_read(self._pin)

    def read_uv(self):
        return self.read_u16() * 3300000 // 65535

    def atten(self, a):
        pass


class Encoder:
    # Quadrature counter (machine.Encoder on ESP32/mimxrt; PIO on RP2040).
    def __init__(self, id, phase_a=None, phase_b=None, **kw):
        self._pin = _pin_no(phase_a if phase_a is not None else id)
        self._offset = 0

    def value(self, v=None):
        raw = _w.enc_read(self._pin)
        if v is None:
            return raw - self._offset
        self._offset = raw - v

    def deinit(self):
        pass


class Timer:
    # The ports' machine.Timer as each chip has it (checked against their
    # sources): the rp2 port has only the alarm-pool timer, id -1, whose
    # callback runs in the alarm's interrupt with hard=True (ports/rp2/
    # machine_timer.c); the ESP32 port's hardware timers 0-3 (and -1, the
    # esp_timer one) always schedule their callback (mp_sched_schedule in
    # ports/esp32/machine_timer.c) and take no `hard` argument.
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        if _w.chip == "rp2040" and id != -1:
            raise ValueError("Timer doesn't exist")
        if _w.chip == "esp32" and not -1 <= id <= 3:
            raise ValueError("Timer(%d) doesn't exist, there are only 4 hardware timers" % id)
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, freq=-1, period=-1, callback=None, **kw):
        hard = kw.pop("hard", None)
        if kw or (hard is not None and _w.chip == "esp32"):
            raise TypeError("unexpected keyword argument")
        period_us = 1000000 // freq if freq > 0 else period * 1000
        _w.add_timer(self, period_us, mode == Timer.ONE_SHOT, callback, bool(hard))

    def deinit(self):
        _w.remove_timer(self)


class WDT:
    def __init__(self, id=0, timeout=5000):
        self._timeout = timeout * 1000
        self.feed()

    def feed(self):
        _w.wdt_deadline = _w.vt_us + self._timeout


class UART:
    # The console is the firmware's only serial link; a UART is accepted so
    # board files that name one still load, and reads nothing.
    def __init__(self, id, baudrate=115200, **kw):
        self._baud = baudrate

    def any(self):
        return 0

    def read(self, n=-1):
        return None

    def write(self, b):
        return len(b)
