# Packed values (a TM frame's v=), the reading side of proto.put_z, which
# has the format. The board only writes them, so this module stays off its
# heap: the host and the tests import it, the firmware does not.
try:
    from sampler import proto
except ImportError:  # CPython: the firmware is the package lunasample.firmware
    from lunasample.firmware.sampler import proto

_MAX = 0x3FFFFFFF  # what put_z takes: ints that are machine words on every port


def pack(values):
    """A list of ints (|v| < 2^30) as packed text."""
    buf = bytearray(7 * len(values))
    n = 0
    for v in values:
        if not -_MAX <= v <= _MAX:
            raise ValueError("packed value out of range: %d" % v)
        n = proto.put_z(buf, n, v)
    return bytes(buf[:n]).decode()


def unpack(s):
    """Packed text (str or bytes) back to its list of ints; ValueError if malformed."""
    out = []
    z = 0
    shift = 0
    for c in s.encode() if isinstance(s, str) else s:
        if proto.Z_MORE <= c < proto.Z_MORE + 32:
            z |= (c - proto.Z_MORE) << shift
            shift += 5
            if shift > 30:
                raise ValueError("packed value too long")
        elif proto.Z_LAST <= c < proto.Z_LAST + 32:
            if shift and c == proto.Z_LAST:
                # a zero top digit after others: an overlong spelling the
                # writer never makes, refused so each value has one spelling
                raise ValueError("packed value has a zero top digit")
            z |= (c - proto.Z_LAST) << shift
            out.append(-((z + 1) >> 1) if z & 1 else z >> 1)
            z = 0
            shift = 0
        else:
            raise ValueError("not a packed digit: %d" % c)
    if shift:
        raise ValueError("packed value cut short")
    return out
