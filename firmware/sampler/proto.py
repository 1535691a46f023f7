# Wire codec shared by the firmware (MicroPython) and the host (CPython).
#
# One frame is one printable-ASCII line, so the USB REPL, Ctrl-C and mpremote
# keep working on the same port:
#
#     $<seq>,<TYPE>[,<key>=<value>]...*<CRC>\n
#
# seq is decimal 0..65535 (wraps), TYPE is [A-Z0-9_]+, keys are [a-z0-9_]+,
# values are printable ASCII without '$', '*', ',' or '='. CRC is
# CRC-16/MCRF4XX (MAVLink v2's X.25 checksum) over the bytes between '$' and
# '*', written as four upper-case hex digits. See docs/protocol.md.
#
# This file must stay importable, unchanged, by both interpreters: no
# f-strings with format specs the unix port lacks, no typing, no dataclasses.

try:
    import micropython
    from micropython import const

    _CPYTHON = False
except ImportError:  # CPython: the decorators and const() are no-ops
    _CPYTHON = True

    class micropython:  # noqa: N801 - stands in for the MicroPython module
        @staticmethod
        def native(f):
            return f

        viper = native

    def const(x):
        return x

    ptr8 = bytes  # a viper annotation; only evaluated here


PROTOCOL_VERSION = const(1)
MAX_FRAME = const(200)  # bytes, '$' to '\n' inclusive
FRAME_BUF = const(216)  # a frame buffer: MAX_FRAME and room for one field past it
SEQ_MOD = const(65536)

# NAK error codes. Numbers are part of the protocol: never renumber.
E_BAD_CRC = const(1)
E_BAD_FRAME = const(2)
E_TOO_LONG = const(3)
E_UNKNOWN_CMD = const(4)
E_BAD_ARG = const(5)
E_OUT_OF_RANGE = const(6)
E_BUSY = const(7)
E_NOT_ARMED = const(8)
E_FAULT_ACTIVE = const(9)
E_BAD_STATE = const(10)
E_NOT_HOMED = const(11)
E_STORAGE = const(12)
E_INTERNAL = const(13)

ERROR_NAMES = {
    E_BAD_CRC: "bad_crc",
    E_BAD_FRAME: "bad_frame",
    E_TOO_LONG: "too_long",
    E_UNKNOWN_CMD: "unknown_cmd",
    E_BAD_ARG: "bad_arg",
    E_OUT_OF_RANGE: "out_of_range",
    E_BUSY: "busy",
    E_NOT_ARMED: "not_armed",
    E_FAULT_ACTIVE: "fault_active",
    E_BAD_STATE: "bad_state",
    E_NOT_HOMED: "not_homed",
    E_STORAGE: "storage",
    E_INTERNAL: "internal",
}

_DOLLAR = const(36)
_STAR = const(42)
_COMMA = const(44)
_EQUALS = const(61)
_NL = const(10)
_CR = const(13)


# The character loops below walk a str's bytes (ints), never its
# characters: MicroPython interns each 1-character string a str iteration
# yields, and a new qstr can make it grow its qstr pool, several KB in one
# block, which a fragmented heap may not have hours into a run (a
# MemoryError in the middle of a NAK).


class FrameError(Exception):
    """A received line is not a valid frame. args: (code, text, seq or -1)."""


@micropython.viper
def crc16(data: ptr8, start: int, end: int) -> int:
    """CRC-16/MCRF4XX of data[start:end] (init 0xFFFF, reflected 0x1021)."""
    crc = 0xFFFF
    i = start
    while i < end:
        tmp = int(data[i]) ^ (crc & 0xFF)
        tmp = (tmp ^ (tmp << 4)) & 0xFF
        crc = ((crc >> 8) ^ (tmp << 8) ^ (tmp << 3) ^ (tmp >> 4)) & 0xFFFF
        i += 1
    return crc


def clean(text, limit=60):
    """Make free text safe as a field value: no separators, printable, short."""
    out = bytearray()
    for o in str(text).encode():
        if len(out) >= limit:
            break
        if o == _EQUALS:
            o = 58  # ':'
        elif o == _DOLLAR or o == _STAR or o == _COMMA:
            o = 59  # ';'
        elif o < 32 or o > 126:
            o = 63  # '?'
        out.append(o)
    return out.decode()


@micropython.viper
def _bad_at(s: ptr8, n: int) -> int:
    # The first of s[0:n] that cannot stand in a token or value, or -1.
    i = 0
    while i < n:
        o = int(s[i])
        if o < 32 or o > 126 or o == _DOLLAR or o == _STAR or o == _COMMA or o == _EQUALS:
            return i
        i += 1
    return -1


def _check_token(s, what):
    # A MicroPython str is its UTF-8 bytes, and len() counts characters: a
    # non-ASCII character's first byte falls within the first len(s) bytes,
    # so scanning those finds it.
    if _bad_at(s.encode() if _CPYTHON else s, len(s)) >= 0:
        raise ValueError("bad character in " + what + ": " + repr(s))


# Frames are built in a bytearray by small viper writers, not by joining
# strings: a telemetry frame costs a few calls a field, not a handful of
# string objects. On CPython they run as plain Python.
_SMALL = const(0x3FFFFFFF)  # ints within +-this are machine words everywhere
_HEX = b"0123456789ABCDEF"


@micropython.viper
def _put_int(buf: ptr8, n: int, v: int) -> int:
    # v in decimal at buf[n] (|v| <= _SMALL: at most 11 bytes); the new end.
    if v < 0:
        buf[n] = 45
        n += 1
        v = 0 - v
    i = n
    while True:
        buf[i] = 48 + v % 10
        v = v // 10
        i += 1
        if v == 0:
            break
    j = i - 1
    while n < j:  # the digits came out lowest first
        c = buf[n]
        buf[n] = buf[j]
        buf[j] = c
        n += 1
        j -= 1
    return i


@micropython.viper
def _put(buf: ptr8, n: int, src: ptr8, m: int) -> int:
    # src[0:m] at buf[n]; the new end.
    i = 0
    while i < m:
        buf[n + i] = src[i]
        i += 1
    return n + m


def _put_text(buf, n, s):
    if _CPYTHON:
        s = s.encode()  # a MicroPython str is already a byte buffer
    return _put(buf, n, s, len(s))


# A frame is built with its body from _BODY on, and sealed (seq in front,
# CRC behind) when it is sent: a frame built over several ticks takes its
# seq when it goes out, so the seqs on the wire stay in order.
_BODY = const(7)  # room for '$65535,'
FRAME_ROOM = const(194)  # MAX_FRAME - 6: a body end that fits any seq


def frame_open(buf, mtype):
    """Start a frame's body, 'TYPE', in buf (FRAME_BUF bytes: a bytearray or a
    memoryview of one); returns its end. ValueError if mtype cannot go on the
    wire."""
    _check_token(mtype, "type")
    if len(mtype) > FRAME_ROOM - _BODY:
        raise ValueError("frame longer than %d bytes" % MAX_FRAME)
    return _put_text(buf, _BODY, mtype)


def frame_add(buf, n, k, v, limit=FRAME_ROOM):
    """Append ',<k>=<v>' to the body ending at n. Returns the new end, or -1
    (the body as it was) if that would pass `limit` (by default, where any
    seq still fits MAX_FRAME). Values may be int or str; a value that
    cannot go on the wire raises ValueError."""
    if type(v) is int and -_SMALL <= v <= _SMALL:
        # An int is digits and '-': nothing to check.
        if n + len(k) + 13 > FRAME_BUF:
            return -1
        m = _put_text(buf, n + 1, k)
        buf[m] = _EQUALS
        m = _put_int(buf, m + 1, v)
    else:
        s = str(v)
        if type(v) is not int:
            _check_token(s, "value")
        if n + len(k) + len(s) + 2 > FRAME_BUF:
            return -1
        m = _put_text(buf, n + 1, k)
        buf[m] = _EQUALS
        m = _put_text(buf, m + 1, s)
    if m > limit:
        return -1
    buf[n] = _COMMA
    return m


def _seq_digits(seq):
    return 1 if seq < 10 else 2 if seq < 100 else 3 if seq < 1000 else 4 if seq < 10000 else 5


def frame_seal(buf, n, seq):
    """Seal the body ending at n as frame seq: '$<seq>,' in front, '*<CRC>\\n'
    behind. Returns where the frame starts; it ends at n + 6."""
    if seq < 0 or seq >= SEQ_MOD:
        raise ValueError("seq out of range")
    i = _BODY - 2 - _seq_digits(seq)
    buf[i] = _DOLLAR
    buf[_put_int(buf, i + 1, seq)] = _COMMA
    crc = crc16(buf, i + 1, n)
    buf[n] = _STAR
    buf[n + 1] = _HEX[crc >> 12]
    buf[n + 2] = _HEX[(crc >> 8) & 15]
    buf[n + 3] = _HEX[(crc >> 4) & 15]
    buf[n + 4] = _HEX[crc & 15]
    buf[n + 5] = _NL
    return i


def encode_into(buf, seq, mtype, fields=None):
    """Build one frame in buf (FRAME_BUF bytes, as for frame_open) from seq, TYPE
    and a dict/list of fields; returns (start, end) of the frame in buf.
    ValueError if a value cannot go on the wire or the frame would pass
    MAX_FRAME."""
    if seq < 0 or seq >= SEQ_MOD:
        raise ValueError("seq out of range")
    limit = FRAME_ROOM + 5 - _seq_digits(seq)  # this seq's own room
    n = frame_open(buf, mtype)
    if fields:
        for k, v in fields.items() if isinstance(fields, dict) else fields:
            n = frame_add(buf, n, k, v, limit)
            if n < 0:
                raise ValueError("frame longer than %d bytes" % MAX_FRAME)
    return frame_seal(buf, n, seq), n + 6


def encode(seq, mtype, fields=None):
    """Build one frame (bytes, ending in '\\n') from seq, TYPE and a dict/list of fields.

    Values may be int or str; a value that cannot go on the wire raises ValueError.
    """
    buf = bytearray(FRAME_BUF)
    start, end = encode_into(buf, seq, mtype, fields)
    return bytes(buf[start:end])


def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    return -1


def _best_seq(line, end):
    # The seq of a damaged frame, if its first field still parses: lets the
    # sender retry at once instead of waiting for its timeout.
    i = 1
    n = 0
    while i < end and 48 <= line[i] <= 57 and i < 7:
        n = n * 10 + line[i] - 48
        i += 1
    if i == 1 or i >= end or line[i] != _COMMA or n >= SEQ_MOD:
        return -1
    return n


def decode(line):
    """Parse one received line (bytes, with or without '\\n').

    Returns (seq, TYPE, fields_dict) with str values, or raises FrameError
    (code, text, seq-or--1). Never raises anything else on any input.
    """
    end = len(line)
    while end and (line[end - 1] == _NL or line[end - 1] == _CR):
        end -= 1
    if end + 1 > MAX_FRAME:
        raise FrameError(E_TOO_LONG, "frame too long", -1)
    if end < 9 or line[0] != _DOLLAR or line[end - 5] != _STAR:
        raise FrameError(E_BAD_FRAME, "not a frame", -1)
    crc = 0
    for i in range(end - 4, end):
        v = _hexval(line[i])
        if v < 0:
            raise FrameError(E_BAD_FRAME, "bad crc digits", _best_seq(line, end - 5))
        crc = (crc << 4) | v
    if crc16(line, 1, end - 5) != crc:
        raise FrameError(E_BAD_CRC, "crc mismatch", _best_seq(line, end - 5))
    for i in range(1, end - 5):
        c = line[i]
        if c < 32 or c > 126 or c == _DOLLAR or c == _STAR:
            raise FrameError(E_BAD_FRAME, "bad byte", -1)
    try:
        body = bytes(line[1 : end - 5]).decode()
    except Exception:
        raise FrameError(E_BAD_FRAME, "not ascii", -1)
    parts = body.split(",")
    if len(parts) < 2:
        raise FrameError(E_BAD_FRAME, "no type", -1)
    s = parts[0]
    if not s or len(s) > 5 or not s.isdigit() or int(s) >= SEQ_MOD:
        raise FrameError(E_BAD_FRAME, "bad seq", -1)
    seq = int(s)
    mtype = parts[1]
    if not mtype or not _is_name(mtype, True):
        raise FrameError(E_BAD_FRAME, "bad type", seq)
    fields = {}
    for p in parts[2:]:
        k, eq, v = p.partition("=")
        if not eq or not k or not _is_name(k, False) or k in fields:
            raise FrameError(E_BAD_FRAME, "bad field", seq)
        fields[k] = v
    return seq, mtype, fields


def _is_name(s, upper):
    for o in s.encode():
        if 48 <= o <= 57 or o == 95:  # digits, '_'
            continue
        if upper and 65 <= o <= 90:
            continue
        if not upper and 97 <= o <= 122:
            continue
        return False
    return True


def get_int(fields, key, lo, hi, default=None):
    """Integer field within [lo, hi]; FrameError(E_BAD_ARG/E_OUT_OF_RANGE) otherwise."""
    v = fields.get(key)
    if v is None:
        if default is None:
            raise FrameError(E_BAD_ARG, "missing " + key, -1)
        return default
    neg = v[:1] == "-"
    digits = v[1:] if neg else v
    if not digits or len(digits) > 10 or not digits.isdigit():
        raise FrameError(E_BAD_ARG, key + " not an integer", -1)
    n = int(v)
    if n < lo or n > hi:
        raise FrameError(E_OUT_OF_RANGE, "%s=%d outside %d..%d" % (key, n, lo, hi), -1)
    return n


class LineReader:
    """Assembles received bytes into lines with a hard length cap.

    feed() returns a complete line (bytes) or None. A line longer than
    MAX_FRAME is discarded up to its newline and reported once as b"" so the
    caller can NAK it; it is never buffered without bound.
    """

    def __init__(self):
        self._buf = bytearray(MAX_FRAME)
        self._n = 0
        self._overflow = False

    def feed(self, b):
        if b == _NL:
            if self._overflow:
                self._overflow = False
                self._n = 0
                return b""
            n = self._n
            self._n = 0
            if n == 0:
                return None
            return bytes(self._buf[:n])
        if b == _DOLLAR and not self._overflow:
            self._n = 0  # a frame start resyncs after line noise
        if self._overflow:
            return None
        if self._n >= MAX_FRAME - 1:
            self._overflow = True
            return None
        self._buf[self._n] = b
        self._n += 1
        return None
