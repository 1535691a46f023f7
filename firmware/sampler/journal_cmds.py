# Journal commands: JLEN, JGET (resumable download, a few records per ACK),
# JCLEAR, JADD. Separate from sampler/journal.py so each compiles in a
# small heap.
from micropython import const

from sampler import proto
from sampler import safety as S
from sampler.comms import CmdError
from sampler.journal import _FILE, F_MANUAL, F_NOCAL, F_SETTLED, REC, parse

_MAX_WIRE = const(160)  # record text per JGET reply: the ACK stays within proto.MAX_FRAME


def _slot_no(j, f, i):
    f.seek(i * REC)
    f.readinto(j.buf)
    r = parse(j.buf)
    return r[0] if r else -1


def read_from(j, n, limit=_MAX_WIRE):
    """Record texts numbered >= n, oldest first, at most `limit` chars joined."""
    out = []
    if not j.count or n > j.last:
        return out
    with open(_FILE, "rb") as f:
        lo = 0
        hi = j.slots
        while lo < hi:  # first slot numbered >= n (numbers ascend)
            mid = (lo + hi) // 2
            if _slot_no(j, f, mid) < n:
                lo = mid + 1
            else:
                hi = mid
        size = 0
        f.seek(lo * REC)
        while lo < j.slots:
            if f.readinto(j.buf) != REC:
                break
            lo += 1
            r = parse(j.buf)
            if r is None or r[1] == "X":
                continue
            size += len(r[3]) + 1
            if size > limit and out:
                break
            out.append(r[3])
    return out


def register(j, ctx):
    def jlen(seq, f):
        return (("n", j.count), ("first", j.first), ("last", j.last),
                ("mass_mg", j.mass_mg), ("dropped", j.dropped))

    def jget(seq, f):
        try:
            recs = read_from(j, proto.get_int(f, "from", 0, 1 << 30, 1))
        except OSError:
            raise CmdError(proto.E_STORAGE, "cannot read journal")
        return (("r", "/".join(recs)),)

    def jclear(seq, f):
        if proto.get_int(f, "confirm", 0, 1, 0) != 1:
            raise CmdError(proto.E_BAD_ARG, "JCLEAR needs confirm=1")
        if ctx.safety.state == S.BUSY:
            raise CmdError(proto.E_BUSY, "busy")
        try:
            j.clear()
        except OSError:
            raise CmdError(proto.E_STORAGE, "cannot clear journal")
        return (("n", 0), ("base", j.base))

    def jadd(seq, f):
        # A sample handled outside the sampling sequence (rig procedures,
        # manual operations), recorded like any other.
        flags = F_MANUAL
        sc = ctx.sub.get("scale")
        if "mass" in f:
            mass = proto.get_int(f, "mass", -9999999, 99999999)
            if sc is not None and not sc.calibrated:
                flags |= F_NOCAL
        elif sc is not None and sc.calibrated:
            mass = sc.mass_mg
            flags |= F_SETTLED if sc.settled else 0
        else:
            raise CmdError(proto.E_BAD_STATE, "no mass: give mass= or calibrate the scale")
        try:
            n = j.append(f.get("kind", "manual"), f.get("site", "-"),
                         proto.get_int(f, "depth", 0, 99999, 0), mass, seq, flags)
        except ValueError as e:
            raise CmdError(proto.E_BAD_ARG, str(e))
        except OSError:
            raise CmdError(proto.E_STORAGE, "journal write failed")
        return (("n", n), ("mass_mg", mass))

    com = ctx.comms
    # Flash work, nothing the control tick reads: never with the tick held.
    com.register("JLEN", jlen)
    com.register("JGET", jget)
    com.register("JCLEAR", jclear)
    com.register("JADD", jadd)
