# The emulated board's physical world, running inside the micropython
# process next to the firmware (an IPC round trip per control tick would cap
# the emulator far below 50x real time).
#
# It owns virtual time, the pin/PWM/ADC/encoder bus that the simulated
# `machine` module talks to, the plant models attached to that bus, the fault
# switches, and two side channels to the emulator host process:
#   control (fd from LUNASAMPLE_CTL_IN): JSON lines in, polled every few ms
#   report  (fd from LUNASAMPLE_CTL_OUT): JSON lines out (state snapshots,
#           query answers, "dying" before a simulated power cut)
# The firmware never imports this module: it only sees `machine` and `time`.

import json
import sys

import micropython

import utime

try:
    import uselect as _select
except ImportError:
    import select as _select

# Virtual clock, microseconds since power-on of this board instance.
vt_us = 0
speed = 1.0  # virtual seconds per real second; 0 = as fast as possible
# Lockstep: virtual time passes only as far as the host has granted
# ("run" on the control channel); there the world reports "held" and waits,
# so what the firmware sees never depends on how fast the host answers.
lockstep = False
until_us = 0  # lockstep: virtual time granted so far
cpu_scale = 0  # >0: charge real compute time x this factor to virtual time
_real0 = utime.ticks_us()
_vt0 = 0
_last_cpu = utime.ticks_us()

_PLANT_DT = 1000  # plant integration step, us
_CTL_EVERY = 5000  # control channel poll interval, us of virtual time
_SNAP_EVERY_MS = 500  # state snapshot interval, ms of real time
_next_plant = 0
_next_ctl = 0
_next_snap = 0

pins = {}  # pin number -> device with pin_read/pin_write, or int latch
# A device's pin_read returns FLOAT when nothing drives the line (an open
# contact, a cut wire, an unpowered chip): the pad's pull decides, and with
# none the input reads noise, as a floating CMOS input does.
FLOAT = -1
pull = {}  # pin -> 1 pulled up, 0 pulled down (machine.Pin, or an external resistor)
pads = None  # sim/pads.py once setup() has a board's pins
chip = "unix"  # "esp32", "rp2040" or "unix": whose pad rules apply (pads.setup)
# GPIO function select: pin number -> the PIO block driving it (0, 1); a pin
# not listed is the CPU's. machine.Pin(n, mode) takes a pin back for the
# CPU, a state machine's out/set/side-set init hands it to its PIO, and a
# write from anyone else does not reach the pad, as on an RP2040.
pin_fn = {}
pwm = {}  # pin number -> duty_u16
adc_src = {}  # pin number -> callable returning 0..65535
enc_src = {}  # pin number (phase A) -> callable returning count
plants = []  # objects with step(dt_us) and optional snapshot()/restore(d)
faults = {}  # name -> value (0/absent = off)
wdt_deadline = -1
# Motion watch: the last virtual instant an actuator was driven (a step pulse
# on a *_step pin, or duty on a motor PWM pin), and when each fault came on,
# so a fault campaign can measure fault-to-standstill in virtual time.
last_actuation_us = -1
fault_on_us = {}
_step_pins = ()
_motor_pwm_pins = ()
gpio_pins = ()  # the board file's pins, in order
writes_left = 0  # flash writes until a "power_cut_on_write" cut
reset_cause = 1  # machine.PWRON_RESET
config = {}

_ctl_in = None
_ctl_out = None
_poller = None
_ctl_buf = b""
_ctl = None  # sim/simctl.py: the host's commands, with a control channel


def _open_fd(env):
    path = _getenv(env)
    if not path:
        return None
    return open(path, "rb" if env.endswith("IN") else "wb")


def _getenv(name):
    try:
        import os

        return os.getenv(name)
    except Exception:
        return None


def setup(cfg):
    """Configure the world from the emulator's JSON config (dict)."""
    global speed, cpu_scale, reset_cause, config, _ctl_in, _ctl_out, _poller, lockstep
    config = cfg
    speed = float(cfg.get("speed", 1.0))
    lockstep = bool(cfg.get("lockstep", False))
    cpu_scale = int(cfg.get("cpu_scale", 0))
    reset_cause = int(cfg.get("reset_cause", 1))
    global pads
    if cfg.get("pins"):
        # The chip's pad and driver rules (sim/pads.py): a world with a
        # board's pins. A bare world (the 64 KB core test) goes without.
        import pads as _pads

        pads = _pads
        pads.setup(cfg)
    for k, v in cfg.get("faults", {}).items():
        faults[k] = v
    global _step_pins, _motor_pwm_pins, gpio_pins
    names = cfg.get("pins", {})
    gpio_pins = tuple(sorted(set(p for p in names.values() if isinstance(p, int))))
    _step_pins = tuple(p for n, p in names.items() if n.endswith("_step"))
    _motor_pwm_pins = tuple(p for n, p in names.items() if n == "drill_pwm")
    _ctl_in = _open_fd("LUNASAMPLE_CTL_IN")
    _ctl_out = _open_fd("LUNASAMPLE_CTL_OUT")
    if _ctl_in is not None:
        global _ctl
        import simctl  # now: the firmware's filesystem replaces the path later

        _ctl = simctl
        _poller = _select.poll()
        _poller.register(_ctl_in, _select.POLLIN)


clocked = []  # peripherals running on virtual time: clock(us) as it passes


def add_clocked(dev):
    if dev not in clocked:
        clocked.append(dev)


def remove_clocked(dev):
    if dev in clocked:
        clocked.remove(dev)


def attach_pin(pin, dev):
    """Route a GPIO to a device object with pin_read(pin) / pin_write(pin, v)."""
    pins[pin] = dev


def pin_read(pin):
    d = pins.get(pin)
    if d is None:
        return pads.float_level(pin) if pads else 0  # nothing drives it
    if isinstance(d, int):
        return d
    v = d.pin_read(pin)
    return v if v >= 0 else pads.float_level(pin)


def pin_write(pin, v):
    global last_actuation_us
    if pads is not None and pads.pin_write(pin, v):
        return  # a step pin: the driver's rules decided
    if v and pin in _step_pins:
        last_actuation_us = vt_us
    d = pins.get(pin, 0)
    if isinstance(d, int):
        pins[pin] = 1 if v else 0
    else:
        d.pin_write(pin, v)


def pin_level(pin):
    """Level last driven on an output pin that no device claims."""
    d = pins.get(pin, 0)
    return d if isinstance(d, int) else 0


def adc_read(pin):
    f = adc_src.get(pin)
    return f() if f is not None else 0


def enc_read(pin):
    f = enc_src.get(pin)
    return f() if f is not None else 0


def fault(name):
    return faults.get(name, 0)


def send(obj):
    """Write one JSON line to the emulator host (if it listens)."""
    if _ctl_out is not None:
        _ctl_out.write((json.dumps(obj) + "\n").encode())


def snapshot():
    snap = {}
    for p in plants:
        s = getattr(p, "snapshot", None)
        if s is not None:
            snap[p.name] = s()
    return snap


def restore(state):
    for p in plants:
        r = getattr(p, "restore", None)
        if r is not None and p.name in state:
            r(state[p.name])


def now_us():
    """Virtual time, charging compute time when cpu_scale is set."""
    global vt_us, _last_cpu
    if cpu_scale and _in_irq == 2:
        _unlock()
        try:
            now_us()
        finally:
            _relock()
        return vt_us
    if cpu_scale:
        t = utime.ticks_us()
        vt_us += utime.ticks_diff(t, _last_cpu) * cpu_scale
        _last_cpu = t
        _service()
    return vt_us


def _unlock():
    # Called from a hard callback (heap locked, as on the chip): the plants
    # run on meanwhile, and they are the world, not the firmware: they may
    # allocate. No arguments: a call with *args would allocate first.
    global _in_irq
    micropython.heap_unlock()
    _in_irq = 3


def _relock():
    global _in_irq
    _in_irq = 2
    micropython.heap_lock()


def advance(us):
    """Let `us` microseconds of virtual time pass: plants move, timers fire."""
    global vt_us, _last_cpu
    if us < 0:
        return
    if _in_irq == 2:
        _unlock()
        try:
            advance(us)
        finally:
            _relock()
        return
    if cpu_scale:
        now_us()
    target = vt_us + us
    while True:
        stop = target
        if lockstep:
            if vt_us >= until_us:
                _hold()
            if until_us < stop:
                stop = until_us
        step_to = _next_plant if _next_plant < stop else stop
        if vt_us < _timer_due < step_to and irq_on and not _in_irq:
            step_to = _timer_due  # a timer fires at its own microsecond
        if step_to > vt_us:
            for c in clocked:
                c.clock(step_to - vt_us)
            vt_us = step_to
        _service()
        if vt_us >= target:
            break
    _pace()
    if cpu_scale:
        _last_cpu = utime.ticks_us()


def _service():
    global _next_plant, _next_ctl, _next_snap, last_actuation_us
    _world()
    if _timers and vt_us >= _timer_due:
        _run_timers()


def _world():
    global _next_plant, _next_ctl, _next_snap, last_actuation_us
    while vt_us >= _next_plant:
        for p in _motor_pwm_pins:
            if pwm.get(p, 0):
                last_actuation_us = _next_plant
        for p in plants:
            p.step(_PLANT_DT)
        _next_plant += _PLANT_DT
        if pads is not None:
            pads.tick()
    if vt_us >= _next_ctl:
        _next_ctl = vt_us + _CTL_EVERY
        _poll_ctl()
    if _ctl_out is not None and utime.ticks_diff(utime.ticks_ms(), _next_snap) >= 0:
        # Real-time paced: at full speed a snapshot per 100 virtual ms would
        # be a thousand JSON documents a second. A power cut sends its own.
        _next_snap = utime.ticks_add(utime.ticks_ms(), _SNAP_EVERY_MS)
        send({"op": "state", "t_us": vt_us, "plants": snapshot()})
    if wdt_deadline >= 0 and vt_us > wdt_deadline:
        power_cut("wdt", 3)  # machine.WDT_RESET


def _hold():
    # Lockstep: the granted time is spent. Say so (after everything the
    # firmware wrote, which is already in its pipe), then serve the control
    # channel until the host grants more.
    send({"op": "held", "t_us": vt_us})
    while vt_us >= until_us:
        ev = _poller.poll(-1)
        if ev and not ev[0][1] & _select.POLLIN:
            sys.exit(0)  # the host hung up: power off
        _poll_ctl()


def _pace():
    # Hold virtual time to `speed` x real time; never run ahead of it.
    global _real0, _vt0
    if speed <= 0 or lockstep:
        return
    real_due = int((vt_us - _vt0) / speed)
    ahead = real_due - utime.ticks_diff(utime.ticks_us(), _real0)
    if ahead > 2000:
        utime.sleep_us(ahead)
    elif ahead < -200000:
        # Fell far behind (slow host): re-anchor instead of sprinting later.
        _real0 = utime.ticks_us()
        _vt0 = vt_us


def set_speed(s):
    global speed, _real0, _vt0
    speed = s
    _real0 = utime.ticks_us()
    _vt0 = vt_us


_timers = []  # [period_us or 0, due_us, callback, timer, hard]
_timer_due = 1 << 62  # the earliest timer's due time
_in_irq = 0  # 1 a soft, 2 a hard timer callback runs: no other fires until it returns
irq_on = True  # machine.disable_irq() holds every callback until enable_irq()


def add_timer(t, period_us, oneshot, cb, hard):
    remove_timer(t)
    _timers.append([0 if oneshot else period_us, vt_us + period_us, cb, t, hard])
    _set_due()


def remove_timer(t):
    for i in range(len(_timers) - 1, -1, -1):
        if _timers[i][3] is t:
            _timers.pop(i)
    _set_due()


def _set_due():
    global _timer_due
    d = 1 << 62
    for e in _timers:
        if e[1] < d:
            d = e[1]
    _timer_due = d


def _run_timers():
    # As the chip's alarm does: each due callback runs, a periodic one is
    # due again a period after its last due time (not after it ran), so a
    # late callback does not shift the grid, and ones missed while held run
    # back to back (the rp2 alarm pool fires a target already past at
    # once). A hard callback runs with the heap locked (MicroPython's hard
    # IRQ rule: allocation raises MemoryError); an uncaught exception in a
    # callback stops its timer (the rp2 port's alarm_callback returns 0).
    global _in_irq
    if _in_irq:
        return
    ran = True
    while ran and irq_on:
        ran = False
        for e in list(_timers):
            if vt_us < e[1] or not irq_on:
                continue
            ran = True
            if e[0]:
                e[1] += e[0]
            else:
                remove_timer(e[3])
            _in_irq = 2 if e[4] else 1
            if e[4]:
                micropython.heap_lock()
            try:
                e[2](e[3])
            except Exception as ex:
                remove_timer(e[3])
                print("Uncaught exception in IRQ callback handler")
                sys.print_exception(ex)
                sys.print_exception(ex, sys.stderr)  # and in the emulator's log
            finally:
                if e[4]:
                    micropython.heap_unlock()
                _in_irq = 0
    _set_due()


def _poll_ctl():
    global _ctl_buf
    if _poller is None:
        return
    while _poller.poll(0):
        b = _ctl_in.read(1)
        if not b:
            return
        if b == b"\n":
            line = _ctl_buf
            _ctl_buf = b""
            try:
                _ctl.handle(json.loads(line))
            except Exception as e:
                send({"op": "error", "text": str(e)})
        else:
            _ctl_buf += b


def power_cut(why, cause):
    """Simulated loss of power: report state, then wait to be killed.

    Nothing after this line of firmware runs, as on a real board: no finally
    blocks, no file flushes.
    """
    send({"op": "dying", "why": why, "cause": cause, "t_us": vt_us, "plants": snapshot()})
    if _ctl_out is None:
        sys.exit(100 + cause)
    while True:
        utime.sleep_ms(1000)
