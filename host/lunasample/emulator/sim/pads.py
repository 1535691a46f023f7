# The chip's pads and the step drivers, as strict as the silicon: the rules
# of the board file's chip (its "mcu"; figures from parts.json, which the
# emulator passes in its config) applied at run time. Loaded by
# simworld.setup() for a world with a board's pins.
#   - an output on a pin that cannot drive fails as the port fails
#     (ESP32: GPIO34-39 input-only, 6-11 the flash);
#   - an input's pull: none on ESP32 GPIO34-39 (the request is ignored and
#     the pin floats); an undriven input reads its pull, else noise
#     (float_level);
#   - pin IRQs: edges on inputs run their handlers as soft IRQs;
#   - the e-stop loop (an NC contact to ground on pins.estop);
#   - step pulses shorter than the driver's minimum high or low, or after a
#     DIR change within its setup time, are missed steps.
import sys

import simworld as _w

rules = {}  # the chip's entry in parts.json
irqs = {}  # pin -> [handler, trigger, last level, Pin]
estop_edge_us = -1  # the e-stop loop opened (its input edge), virtual us
outputs_off_us = -1  # every actuator output off after that edge
_actuator_pwm = ()  # PWM pins that drive something (drill, scoop servo)
_actuator_out = ()  # enable outputs that drive something (the drill's hammer)
_ext_pull = ()  # pins the board pulls up with its own resistor ("external")
_estop_pin = -1


def setup(cfg):
    global rules, _ext_pull, _estop_pin, _actuator_pwm, _actuator_out
    mcu = str(cfg.get("mcu", "unix"))
    low = mcu.lower()
    _w.chip = "esp32" if low.startswith("esp32") else ("rp2040" if low == "rp2040" else "unix")
    rules = cfg.get("parts", {}).get("chips", {}).get(mcu, {})
    wiring = cfg.get("wiring", {})
    _ext_pull = tuple(
        w["gpio"] for w in wiring.values() if isinstance(w, dict) and w.get("pull") == "external"
    )
    for p in _ext_pull:
        _w.pull[p] = 1
    pn = cfg.get("pins", {})
    _estop_pin = pn.get("estop", -1)
    if _estop_pin >= 0:
        _w.pins[_estop_pin] = _Loop()
    _actuator_pwm = tuple(pn[n] for n in ("drill_pwm", "scoop_pwm") if n in pn)
    _actuator_out = tuple(pn[n] for n in ("drill_hammer",) if n in pn)
    _setup_drivers(cfg)
    _install()


def _install():
    import machine

    Pin = machine.Pin
    init0 = Pin.init

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1 and mode != Pin.IN:
            check_output(self._id)
        if pull != -1:
            set_pull(self._id, None if pull is None else (1 if pull == Pin.PULL_UP else 0))
        init0(self, mode, -1, value)

    def value(self, v=None):
        if v is not None:
            self._out(v)
            return None
        d = self._dev
        if d is None:
            return _w.pin_read(self._id)
        v = d.pin_read(self._id)
        return v if v >= 0 else float_level(self._id)

    def irq(self, handler=None, trigger=3, **kw):
        add_irq(self._id, handler, trigger, self, kw)

    Pin.init = init
    Pin.value = Pin.__call__ = value
    Pin.irq = irq

    PWM = machine.PWM
    pwm_init0 = PWM.__init__

    def pwm_init(self, pin, freq=1000, duty_u16=0, duty_ns=None):
        check_output(machine._pin_no(pin))
        pwm_init0(self, pin, freq, duty_u16, duty_ns)

    def duty_u16(self, d=None):
        if d is None:
            return _w.pwm.get(self._pin, 0)
        d = max(0, min(65535, int(d)))
        _w.pwm[self._pin] = d
        if not d:
            pwm_cut()

    PWM.__init__ = pwm_init
    PWM.duty_u16 = duty_u16
    machine.ADC = ADC


_noise = 12345
_floating = []  # pins already reported floating


def float_level(pin):
    """What an undriven input reads: its pull, else noise."""
    global _noise
    p = _w.pull.get(pin)
    if p is not None:
        return p
    if pin not in _floating:
        _floating.append(pin)
        sys.stderr.write(
            "emulator: GPIO%d floats (no pull, nothing driving it): it reads noise (a CMOS "
            "input's level is undefined undriven; ESP32/RP2040 datasheets, GPIO)\n" % pin
        )
    _noise = (_noise * 1103515245 + 12345) & 0x7FFFFFFF
    return (_noise >> 16) & 1


def check_output(pin):
    """A pin made an output (Pin OUT, PWM): refused where the chip cannot
    drive it, with the port's words and the datasheet's rule (parts.json)."""
    io = rules.get("input_only", {})
    if pin in io.get("pins", ()):
        raise ValueError("pin can only be input: GPIO%d (%s)" % (pin, io["source"]))
    fl = rules.get("flash", {})
    if pin in fl.get("pins", ()):
        raise ValueError("GPIO%d is wired to the SPI flash (%s)" % (pin, fl["source"]))
    lo, hi = rules.get("gpio", (0, 63))
    if not lo <= pin <= hi or pin in rules.get("absent", {}).get("pins", ()):
        raise ValueError("invalid pin: GPIO%d (%s)" % (pin, rules.get("absent", {}).get(
            "source", "the chip's datasheet")))


def set_pull(pin, p):
    """machine.Pin's pull on an input pad (1 up, 0 down, None none)."""
    if p is not None and pin in rules.get("input_only", {}).get("pins", ()):
        # The pad has no pull resistors: the request changes nothing.
        sys.stderr.write(
            "emulator: GPIO%d has no internal pull (%s); it floats\n"
            % (pin, rules["input_only"]["source"])
        )
        p = None
    if p is None:
        if pin in _ext_pull:
            _w.pull[pin] = 1
        else:
            _w.pull.pop(pin, None)
    else:
        _w.pull[pin] = p


class _Loop:
    # The e-stop loop: a normally-closed contact to ground. Closed it pulls
    # the input to 0; pressed (estop_press) or its wire cut (estop_cut), it
    # drives nothing and the pull-up reads 1.
    def pin_read(self, p):
        f = _w.faults
        if f.get("estop_press") or f.get("estop_cut"):
            return _w.FLOAT
        return 0

    def pin_write(self, p, v):
        pass


def add_irq(pin, handler, trigger, obj, kw):
    if kw.get("hard") and _w.chip == "esp32":
        raise TypeError(
            "unexpected keyword argument 'hard' (the ESP32 port's pin IRQs are soft only)"
        )
    if handler is None:
        irqs.pop(pin, None)
    else:
        irqs[pin] = [handler, trigger, obj.value(), obj]


_clip_pin = -1  # an ADC that clipped, to be noted on stderr
_clip = [0]  # at this many uV


def tick():
    """Each plant step (1 ms of virtual time): pin IRQs, pending notes."""
    global _clip_pin
    if irqs:
        check_irqs()
    if _clip_pin >= 0:
        if _w.chip == "esp32":
            why = "ESP32 datasheet, ADC: the input range at its attenuation"
        else:
            why = "the 3.3 V reference: RP2040 datasheet 4.9"
        sys.stderr.write(
            "emulator: ADC GPIO%d clipped at %d mV (%s)\n" % (_clip_pin, _clip[0] // 1000, why)
        )
        _clip_pin = -1


def check_irqs():
    """Edges on inputs with an IRQ. The handlers are soft IRQs (the ESP32
    has no other pin IRQs): run while the firmware sleeps, as the ports'
    delay loops run scheduled callbacks."""
    global estop_edge_us, outputs_off_us
    for pin in irqs:
        e = irqs[pin]
        v = e[3].value()
        if v != e[2]:
            e[2] = v
            if e[1] & (1 if v else 2):  # IRQ_RISING = 1, IRQ_FALLING = 2
                if pin == _estop_pin and v:
                    estop_edge_us = _w.now_us()
                    outputs_off_us = -1
                e[0](e[3])
    pwm_cut()


def outputs_idle():
    """Every actuator PWM at zero duty, every actuator enable low."""
    for p in _actuator_pwm:
        if _w.pwm.get(p, 0):
            return False
    for p in _actuator_out:
        if _w.pin_level(p):
            return False
    return True


def pwm_cut():
    """After an e-stop edge: note when every actuator output is off."""
    global outputs_off_us
    if estop_edge_us >= 0 and outputs_off_us < 0 and outputs_idle():
        outputs_off_us = _w.now_us()


# -- ADC -------------------------------------------------------------
_TOP_MV = (950, 1250, 1750, 2450)  # ESP32 datasheet, ADC characteristics, if parts.json is silent


class ADC:
    # The plants give each sense input as 0..65535 of 3.3 V; what the
    # converter makes of it is the chip's: an ESP32 ADC reads up to its
    # attenuation's range and clips there (0 dB, the port's default, about
    # 1 V), an RP2040 reads 0-3.3 V on GPIO26-29 only.
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_12BIT = 3

    def __init__(self, pin, atten=None):
        import machine

        self._pin = pin = machine._pin_no(pin)
        self._top_uv = 3300000
        self._told = 0
        if _w.chip == "esp32":
            if not (32 <= pin <= 39 or pin in (0, 2, 4, 12, 13, 14, 15, 25, 26, 27)):
                raise ValueError(
                    "invalid Pin for ADC: GPIO%d (ESP32 datasheet, Pin "
                    "Description: ADC1 is GPIO32-39, ADC2 GPIO0/2/4/12-15/25-27)" % pin
                )
            self.atten(0 if atten is None else atten)  # the port's default: 0 dB
            return
        if atten is not None:
            raise TypeError(
                "unexpected keyword argument 'atten' (the RP2040 ADC has a fixed 0-3.3 V range)"
            )
        if _w.chip == "rp2040" and not 26 <= pin <= 29:
            raise ValueError(
                "Pin doesn't have ADC capabilities: GPIO%d (RP2040 datasheet 4.9: "
                "ADC inputs are GPIO26-29)" % pin
            )

    def _uv(self):
        v = _w.adc_read(self._pin) * 3300000 // 65535
        if v < self._top_uv:
            return v
        if not self._told:
            # Noted at the next plant step: this runs inside the control
            # step, where nothing may allocate.
            global _clip_pin
            self._told = 1
            _clip_pin = self._pin
            _clip[0] = self._top_uv
        return self._top_uv  # the converter's top

    def read_u16(self):
        return self._uv() * 65535 // self._top_uv

    def read_uv(self):
        return self._uv()

    def atten(self, att):
        if _w.chip != "esp32":
            raise AttributeError("'ADC' object has no attribute 'atten'")
        top = rules.get("adc_range_mv", {}).get(("0", "2.5", "6", "11")[att])
        if top is None:
            top = _TOP_MV[att]
        elif isinstance(top, list):
            top = top[1]
        self._top_uv = int(top) * 1000


# -- step drivers ----------------------------------------------------
# Each step pin's driver (the board file's "drivers", timings from
# parts.json): a STEP pulse reaches the motor only if it was high for the
# driver's minimum, low for its minimum before, and DIR had settled its
# setup time before the rising edge. Otherwise the driver may miss it: the
# emulator misses it, counts it, and says which rule it broke.
_DRV_DEFAULT = {"name": "DRV8825", "step_high_ns": 1900, "step_low_ns": 1900, "dir_setup_ns": 650}
_drv = {}  # step pin -> [dir pin, high ns, low ns, setup ns, driver name, axis]
_step_t = {}  # step pin -> [rise us, fall us, pulse ok so far]
_dir_t = {}  # dir pin -> the last change of its level, us
missed_steps = 0
violations = []  # the first few rule texts, for query() and stderr


def _setup_drivers(cfg):
    names = cfg.get("pins", {})
    drivers = cfg.get("drivers", {})
    table = cfg.get("parts", {}).get("drivers", {})
    for n, p in names.items():
        if not n.endswith("_step"):
            continue
        axis = n[:-5]
        name = drivers.get(axis)
        d = table.get(name) if name else None
        if d is None:
            d = _DRV_DEFAULT
            name = d["name"]
        hi = int(d.get("step_high_ns", 1900))
        _drv[p] = [
            names.get(axis + "_dir", -1),
            hi,
            int(d.get("step_low_ns", hi)),
            int(d.get("dir_setup_ns", 650)),
            name,
            axis,
        ]
        _step_t[p] = [-1000000, -1000000, 0]
        if names.get(axis + "_dir", -1) >= 0:
            _dir_t[names[axis + "_dir"]] = -1000000


def _violation(text):
    global missed_steps
    missed_steps += 1
    if len(violations) < 8:
        violations.append(text)
        sys.stderr.write("emulator: missed step: " + text + "\n")


def _step_edge(pin, v):
    # True when the edge is a falling one ending a pulse the driver takes.
    t = _step_t[pin]  # [rise us, fall us, a pulse is under way and sound]
    d = _drv[pin]
    now = _w.vt_us
    if v:
        t[0] = now
        t[2] = 1
        if (now - t[1]) * 1000 < d[2]:
            t[2] = 0
            _violation(
                "%s: STEP low %d us < %d ns (%s datasheet, timing: minimum STEP low)"
                % (d[5], now - t[1], d[2], d[4])
            )
        elif d[0] in _dir_t and (now - _dir_t[d[0]]) * 1000 < d[3]:
            t[2] = 0
            _violation(
                "%s: DIR changed %d us before STEP < %d ns (%s datasheet, timing: "
                "DIR setup)" % (d[5], now - _dir_t[d[0]], d[3], d[4])
            )
        return False
    if t[0] <= t[1]:
        return False  # no rise since the last fall: a low written to a low pin
    t[1] = now
    ok = t[2]
    t[2] = 0
    if not ok:
        return False  # a pulse begun against the rules
    if (now - t[0]) * 1000 < d[1]:
        _violation(
            "%s: STEP high %d us < %d ns (%s datasheet, timing: minimum STEP high)"
            % (d[5], now - t[0], d[1], d[4])
        )
        return False
    return True


def pin_write(pin, v):
    """True when the write was a step pin's, handled here."""
    if pin in _dir_t:
        if _w.pin_level(pin) != (1 if v else 0):
            _dir_t[pin] = _w.vt_us
        return False
    if pin not in _step_t or pin in _w.pin_fn:
        # A PIO's pulses are not timed here: its cycles run in whole chunks
        # of virtual time; stepgen checks its program's 4-cycle phases
        # against the drivers at build.
        return False
    # The driver takes the step at the falling edge here, once the pulse's
    # width is known (a real one steps at the rising edge).
    if _step_edge(pin, v):
        _w.last_actuation_us = _w.vt_us
        d = _w.pins.get(pin, 0)
        if isinstance(d, int):
            _w.pins[pin] = 0
        else:
            d.pin_write(pin, 1)
            d.pin_write(pin, 0)
    return True


def report():
    return {
        "missed_steps": missed_steps,
        "violations": violations,
        "estop_edge_us": estop_edge_us,
        "outputs_off_us": outputs_off_us,
    }
