# Online trapezoidal velocity profiles for step/dir axes, all axes in one
# viper call per control tick: native machine-word arithmetic on a shared
# int32 array, no attribute look-ups, no allocation. The caller emits the
# step pulses the returned mask asks for.
#
# State: array('i') with W words per axis, Q16 fixed point:
#   [PQ] commanded position (steps << 16), [VQ] velocity (steps/tick << 16),
#   [TQ] target position (steps << 16), [POS] motor position (whole steps).
# Bounds that keep every intermediate below 2^31 on 32-bit ports: positions
# within +-32767 steps, vm <= 65536 (one step a tick), a >= 3.
import micropython
from micropython import const

W = const(4)
PQ = const(0)
VQ = const(1)
TQ = const(2)
POS = const(3)
MOVING = const(0x10000)  # in advance()'s result: some axis was still moving
NEG = const(8)  # in advance()'s result: bit (i + NEG) = axis i steps backwards


@micropython.viper
def advance(s: ptr32, n: int, a: int, vm: int) -> int:
    """One tick of n axes; bit i of the result asks axis i for one step."""
    # ptr32 loads are zero-extended on 64-bit ports: sign-extend by hand
    # (a no-op on 32-bit ports). Shifted at run time: a folded 1 << 31 would
    # be a long-int object on 32-bit ports.
    sx = 1
    sx <<= 31
    out = 0
    i = 0
    while i < n:
        b = i * 4
        p = (s[b] ^ sx) - sx
        v = (s[b + 1] ^ sx) - sx
        t = (s[b + 2] ^ sx) - sx
        if v != 0 or p != t:
            out |= 0x10000
            d = t - p
            av = v if v >= 0 else 0 - v
            stop = (av * (av // a + 1)) >> 1  # distance needed to stop from |v|
            if d > 0:
                if v < 0 or d > stop:
                    v += a
                    if v > vm:
                        v = vm
                else:
                    v -= a
                    if v < a:
                        v = a
                p += v
                if p >= t:
                    p = t
                    v = 0
            elif d < 0:
                if v > 0 or 0 - d > stop:
                    v -= a
                    if v < 0 - vm:
                        v = 0 - vm
                else:
                    v += a
                    if v > 0 - a:
                        v = 0 - a
                p += v
                if p <= t:
                    p = t
                    v = 0
            else:
                v = 0
            s[b] = p
            s[b + 1] = v
        pos = (s[b + 3] ^ sx) - sx
        want = (p + 32768) >> 16
        if pos < want:
            s[b + 3] = pos + 1
            out |= 1 << i
        elif pos > want:
            s[b + 3] = pos - 1
            out |= (1 << i) | (1 << (i + 8))
        i += 1
    return out
