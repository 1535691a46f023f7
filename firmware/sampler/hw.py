# The board file's electrical facts, applied at build time: input pulls,
# contact levels, ADC attenuation and range, the step drivers' timings
# (parts.json, copied to the board with board.json). Nothing here runs in
# the control step; what it returns does.
import json

import machine
from micropython import const

_PARTS = "parts.json"
_U16_TOP = const(65500)  # read_u16 at or above this: the converter's top code
_NS_DEFAULT = const(1900)  # a driver the file does not name: the slowest listed (DRV8825)
_parts = None


def parts():
    """parts.json as a dict ({} when the board has none)."""
    global _parts
    if _parts is None:
        try:
            with open(_PARTS) as f:
                _parts = json.load(f)
        except (OSError, ValueError):
            _parts = {}
    return _parts


def wiring(b, name):
    """The board file's pin object for `name` ({"gpio": n, ...})."""
    w = b.get("wiring", {}).get(name)
    return w if w is not None else {"gpio": b["pins"][name]}


def _pull(w):
    p = w.get("pull", "none")
    if p == "up":
        return machine.Pin.PULL_UP
    if p == "down":
        return machine.Pin.PULL_DOWN
    return None  # "none", or "external": a resistor on the board


def input_pin(b, name):
    """machine.Pin for an input with the pull its wiring asks for."""
    w = wiring(b, name)
    pull = _pull(w)
    if pull is None:
        return machine.Pin(w["gpio"], machine.Pin.IN)
    return machine.Pin(w["gpio"], machine.Pin.IN, pull)


def nc_input(b, name):
    """An NC contact that opens to act (e-stop, limit and home switches),
    pulled up: closed reads 0, open - pressed, on its switch, or a cut
    wire - reads 1. Anything else is not fail-safe and refused."""
    w = wiring(b, name)
    if w.get("contact", "NC") != "NC" or w.get("pull", "up") not in ("up", "external"):
        raise RuntimeError("board.json: %s must be an NC contact with a pull-up "
                           "(open or a cut wire must read 1)" % name)
    if w.get("pull", "up") == "external":
        return machine.Pin(w["gpio"], machine.Pin.IN)  # the board's resistor
    return machine.Pin(w["gpio"], machine.Pin.IN, machine.Pin.PULL_UP)


def describe(b, name):
    """'name (GPIO n)' for fault texts."""
    return "%s (GPIO %d)" % (name, wiring(b, name)["gpio"])


def _chip(b):
    return parts().get("chips", {}).get(b.get("mcu", ""), {})


def adc(b, name, fs_ma):
    """(read, k, top) for a current sense whose amplifier gives 3.3 V at
    fs_ma: read() returns a raw reading, mA = read() * k >> 16, and a raw
    reading at or above top is the converter's limit, not a current.
    With "atten_db" in the wiring (ESP32) the ADC takes that attenuation
    and reads calibrated microvolts (read_uv); top is the attenuation's
    range from parts.json. Otherwise read_u16 over 0-3.3 V (RP2040)."""
    w = wiring(b, name)
    pin = machine.Pin(w["gpio"])
    db = w.get("atten_db")
    if db is None:
        a = machine.ADC(pin)
        return a.read_u16, fs_ma, _U16_TOP
    att = {0: machine.ADC.ATTN_0DB, 11: machine.ADC.ATTN_11DB}
    if hasattr(machine.ADC, "ATTN_2_5DB"):
        att[2] = att[3] = machine.ADC.ATTN_2_5DB
        att[6] = machine.ADC.ATTN_6DB
    if int(db) not in att:
        raise RuntimeError("board.json: %s atten_db must be 0, 2.5, 6 or 11" % name)
    a = machine.ADC(pin, atten=att[int(db)])
    top_mv = adc_top_mv(b, db)
    # 3.3 V (3 300 000 uV) at fs_ma; the top just under the range's end.
    return a.read_uv, fs_ma * 65536 // 3300000, top_mv * 1000 - 20000


def adc_top_mv(b, db):
    """The highest input (mV) the chip's ADC reads at attenuation db."""
    ranges = _chip(b).get("adc_range_mv", {})
    for k in (str(db), str(int(db))):
        r = ranges.get(k)
        if r is not None:
            return r[1] if isinstance(r, list) else r
    return (950, 1250, 1750, 2450)[(0, 2, 6, 11).index(int(db))] if int(db) in (
        0, 2, 6, 11) else 950


def driver_timing(b, axis):
    """(step high, step low, dir setup) in ns for `axis`'s driver."""
    name = b.get("drivers", {}).get(axis)
    d = parts().get("drivers", {}).get(name, {}) if name else {}
    hi = d.get("step_high_ns", _NS_DEFAULT)
    return (hi, d.get("step_low_ns", hi), d.get("dir_setup_ns", 650))


def slowest_timing(b):
    """The largest of each driver timing over the board's axes, in whole us
    (rounded up): one pulse shape serves every axis."""
    axes = b.get("drivers", {})
    hi = lo = su = 0
    for ax in axes or ("?",):
        t = driver_timing(b, ax)
        hi = max(hi, t[0])
        lo = max(lo, t[1])
        su = max(su, t[2])
    return ((hi + 999) // 1000, (lo + 999) // 1000, (su + 999) // 1000)
