# Simulated `time` for the emulated board: the firmware's clock is the
# emulator's virtual clock, so sleeps cost no real time beyond the pacing
# that the speed factor asks for. Shadows the built-in module on MICROPYPATH.

import utime
import simworld as _w

_TICKS_PERIOD = 1 << 29
_TICKS_MAX = _TICKS_PERIOD - 1
_EPOCH_S = 0  # seconds since 2000-01-01 at this board's power-on


def ticks_us():
    return _w.now_us() & _TICKS_MAX


def ticks_ms():
    return (_w.now_us() // 1000) & _TICKS_MAX


def ticks_cpu():
    return ticks_us()


def ticks_add(t, delta):
    return (t + delta) & _TICKS_MAX


def ticks_diff(a, b):
    return ((a - b + (_TICKS_PERIOD >> 1)) & _TICKS_MAX) - (_TICKS_PERIOD >> 1)


def sleep_us(us):
    _w.advance(int(us))


def sleep_ms(ms):
    _w.advance(int(ms) * 1000)


def sleep(s):
    _w.advance(int(s * 1000000))


def time():
    return _EPOCH_S + _w.now_us() // 1000000


def time_ns():
    return (_EPOCH_S * 1000000 + _w.now_us()) * 1000


def gmtime(secs=None):
    return utime.gmtime(time() if secs is None else secs)


localtime = gmtime
mktime = utime.mktime
