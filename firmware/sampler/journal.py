# Sample journal: every sample record goes to flash before the sample is
# reported, so a power cut loses no acknowledged record.
#
# journal.dat holds fixed-size (80 byte) text records:
#     <n>;<t_ms>;<kind>;<site>;<depth_mm>;<mass_mg>;<flags>;<seq>;<sid>|<CRC>  ...\n
# CRC-16/MCRF4XX (proto.crc16) over the text before '|', space padding. A
# record is appended with one write and the file closed (littlefs commits a
# file's new size atomically at close, so a cut mid-write keeps the old
# size); the CRC catches torn or damaged records on any filesystem. At boot
# the file is scanned; if anything is wrong the good records are copied to
# a temp file that replaces the journal (rename), dropping the bad ones.
# Record numbers keep counting across JCLEAR: a marker record (kind X)
# carries the last number cleared.
import os
import time

from micropython import const

from sampler import proto

_FILE = "journal.dat"
_TMP = "journal.tmp"
REC = const(80)
_SEP = const(124)  # '|'
_NL = const(10)
_KIND = {"core": "C", "scoop": "S", "manual": "M"}
F_SETTLED = const(1)  # flags: the mass was a settled reading
F_NOCAL = const(2)  # the scale was not calibrated
F_MANUAL = const(4)  # entered with JADD, not by the sampling sequence


def _word(s, what):
    # site and session id: short, and safe inside a record and a frame field
    s = str(s)
    if len(s) > 8:
        raise ValueError(what + " longer than 8")
    for o in s.encode():  # bytes, not characters: see proto's character loops
        if not _safe(o) and o != 95:
            raise ValueError("bad character in " + what)
    return s


def _sid(s):
    # The host's session id as sent in HELLO, made record-safe; "-": none yet.
    out = bytearray()
    for o in str(s or "-").encode()[:8]:
        out.append(o if _safe(o) else 95)  # '_'
    return out.decode()


def _safe(o):
    # A byte of a site or session id: a digit, a letter or '-'.
    return 48 <= o <= 57 or 97 <= o <= 122 or 65 <= o <= 90 or o == 45


def parse(buf):
    """(n, kind, mass_mg, text) of one record, or None when it is damaged."""
    if len(buf) != REC or buf[REC - 1] != _NL:
        return None
    i = 0
    while i < REC - 5 and buf[i] != _SEP:
        i += 1
    if i == 0 or i >= REC - 5:
        return None
    crc = 0
    for j in range(i + 1, i + 5):
        c = buf[j]
        v = c - 48 if 48 <= c <= 57 else (c - 55 if 65 <= c <= 70 else -1)
        if v < 0:
            return None
        crc = (crc << 4) | v
    if proto.crc16(buf, 0, i) != crc:
        return None
    for j in range(i + 5, REC - 1):
        if buf[j] != 32:
            # Not padding: a good record's head spliced onto another's tail
            # (bytes lost between them), whose loss must be reported.
            return None
    try:
        text = bytes(buf[:i]).decode()
        p = text.split(";")
        return int(p[0]), p[2], int(p[5]), text + "|" + bytes(buf[i + 1:i + 5]).decode()
    except (ValueError, IndexError):
        return None


class Journal:
    def __init__(self, ctx):
        self._ctx = ctx
        self.count = 0  # sample records
        self.first = 0  # their first and last numbers (0: none)
        self.last = 0
        self.base = 0  # numbers up to base were cleared
        self.mass_mg = 0  # sum of the recorded masses
        self.dropped = 0  # damaged records dropped at boot
        self.slots = 0  # records in the file, marker included
        self.buf = bytearray(REC)
        self._ev = False  # report dropped records once the link runs
        self._scan()

    def _scan(self):
        try:
            f = open(_FILE, "rb")
        except OSError:
            return
        with f:
            good, bad, gaps = self._walk(f, None)
        self.slots = good
        if bad or gaps:
            # Numbers are consecutive in the file (a cleared journal's marker
            # carries the last number): a gap is records lost, even when the
            # bytes around it read as good records. A gap stays in the file,
            # so it is reported at every boot.
            self.dropped = bad + gaps
            self._ev = True
        if bad:
            # Keep the good records, in order, and replace the file atomically.
            with open(_FILE, "rb") as src, open(_TMP, "wb") as dst:
                self._walk(src, dst)
            os.rename(_TMP, _FILE)

    def _walk(self, f, dst):
        # Good records of f in order (numbers ascending): noted, or copied to
        # dst. On damage, resync at the next newline: it ends either a torn
        # record or a good one shifted by stray bytes. Returns (good, bad,
        # records missing between good ones).
        buf = self.buf
        o = 0
        prev = -1
        bad_at = -1
        tried = -1
        good = 0
        bad = 0
        gaps = 0
        while True:
            f.seek(o)
            n = f.readinto(buf)
            if not n:
                break
            r = parse(buf) if n == REC else None
            if r is not None and r[0] > prev:
                if prev >= 0:
                    gaps += r[0] - prev - 1
                prev = r[0]
                good += 1
                o += REC
                bad_at = -1
                if dst is None:
                    self._note(r)
                else:
                    dst.write(buf)
                continue
            if bad_at < 0:
                bad_at = o
                bad += 1
            j = 0
            while j < n and buf[j] != _NL:
                j += 1
            if j == n:
                o += n
                continue
            c = o + j + 1 - REC
            if c > bad_at and c > tried:  # candidates only move forward: no loop
                tried = c
                o = c
            else:
                o += j + 1
        return good, bad, gaps

    def _note(self, r):
        if r[1] == "X":
            self.base = r[0]
            return
        if not self.first:
            self.first = r[0]
        self.last = r[0]
        self.count += 1
        self.mass_mg += r[2]

    def _record(self, n, kind, site, depth_mm, mass_mg, flags, seq, sid):
        body = "%d;%d;%s;%s;%d;%d;%d;%d;%s" % (n, time.ticks_ms(), kind, site, depth_mm,
                                              mass_mg, flags, seq, sid)
        raw = body.encode()
        line = "%s|%04X" % (body, proto.crc16(raw, 0, len(raw)))
        if len(line) > REC - 1:
            raise ValueError("record too long")
        return (line + " " * (REC - 1 - len(line)) + "\n").encode()

    def _write(self, rec, mode):
        with open(_FILE, mode) as f:
            if f.write(rec) != len(rec):
                raise OSError(28)  # ENOSPC: short write

    def append(self, kind, site, depth_mm, mass_mg, seq, flags=0):
        """Write one sample record to flash; returns its number. Raises
        OSError when it could not be stored (nothing may be reported then),
        ValueError on a bad argument."""
        k = _KIND.get(kind)
        if k is None:
            raise ValueError("kind must be core, scoop or manual")
        if not (0 <= depth_mm <= 99999 and -9999999 <= mass_mg <= 99999999
                and 0 <= seq < proto.SEQ_MOD and 0 <= flags <= 255):
            raise ValueError("field out of range")
        n = (self.last if self.last > self.base else self.base) + 1
        rec = self._record(n, k, _word(site, "site"), depth_mm, mass_mg, flags, seq,
                           _sid(self._ctx.comms.sid))
        self._write(rec, "ab")
        self.slots += 1
        self._note((n, k, mass_mg))
        return n

    def clear(self):
        """Forget every record; numbering carries on after the last one."""
        last = self.last if self.last > self.base else self.base
        rec = self._record(last, "X", "-", 0, 0, 0, 0, "-")
        with open(_TMP, "wb") as f:
            f.write(rec)
        os.rename(_TMP, _FILE)
        self.base = last
        self.count = 0
        self.first = 0
        self.last = 0
        self.mass_mg = 0
        self.slots = 1

    def service(self, now_ms):
        if self._ev:
            self._ev = False
            self._ctx.comms.event((("kind", "journal"), ("dropped", self.dropped),
                                   ("n", self.count), ("last", self.last)))


def make(ctx):
    from sampler import journal_cmds

    j = Journal(ctx)
    sc = ctx.sub.get("scale")
    if sc is not None:
        # The running total survives a reboot: it is what the journal holds.
        sc.total_mg = j.mass_mg
    journal_cmds.register(j, ctx)
    return j
