# Scale calibration and commands: cal.json in flash (temp file + rename,
# CRC-16 over the values), reloaded at boot; a missing, corrupt or
# implausible file is reported (EV kind=cal, SCALE calst, TM mcal=0) and
# never used. TARE and CAL finish (DONE) on a settled reading taken after
# the command. Commands: WEIGH, TARE, CAL, SCALE.
import json
import os
import time

from micropython import const

from sampler import filters, proto
from sampler import safety as S
from sampler.scale import EARTH_MM_S2
from sampler.comms import ACCEPTED, CmdError

_FILE = "cal.json"
_TMP = "cal.tmp"
_TARE = const(1)
_CAL0 = const(2)
_CAL1 = const(3)


def _crc(z, r0, r1, mg, gain, grav=None):
    # Files from before the gravity was stored carry no grav (made at 1 g).
    if grav is None:
        s = "%d,%d,%d,%d,%d" % (z, r0, r1, mg, gain)
    else:
        s = "%d,%d,%d,%d,%d,%d" % (z, r0, r1, mg, gain, grav)
    s = s.encode()
    return proto.crc16(s, 0, len(s))


class Cal:
    def __init__(self, sc, ctx):
        self.sc = sc
        self._ctx = ctx
        ctx.params.declare("sc_wait_ms", 15000, 1000, 120000)  # TARE/CAL settle wait
        self.state = "missing"
        self._r0 = 0
        self._r1 = 0
        self._ref = 0
        self._cal0 = None  # empty reading from CAL point=0, waiting for point=1
        self._op = 0
        self._seq = 0
        self._n0 = 0
        self._t0 = 0
        self._mg = 0
        self._ev = True  # report a bad calibration once the link runs
        self.load()
        com = ctx.comms
        # The scale is soft-loop state (and CAL writes flash): tick-free.
        com.register("WEIGH", self.cmd_weigh)
        com.register("TARE", self.cmd_tare)
        com.register("CAL", self.cmd_cal)
        com.register("SCALE", self.cmd_scale)

    def load(self):
        try:
            with open(_FILE) as f:
                d = json.load(f)
        except OSError:
            self.state = "missing"
            return
        except ValueError:
            self.state = "corrupt"
            return
        try:
            z, r0, r1, mg, g = d["zero"], d["raw0"], d["raw1"], d["ref_mg"], d["gain"]
            grav = d.get("grav")
            ok = _crc(z, r0, r1, mg, g, grav) == d["crc"]
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            self.state = "corrupt"
            return
        if grav is None:
            grav = EARTH_MM_S2
        k = filters.cal_factor(r0, r1, mg)
        if k is None or g != self.sc.drv.gain or not 1000 <= grav <= 25000:
            self.state = "implausible"
            return
        self._use(z, r0, r1, mg, k, grav)

    def _use(self, z, r0, r1, mg, k, grav):
        sc = self.sc
        sc.zero = z
        sc.k_cal = k
        sc.cal_grav = grav
        self._r0 = r0
        self._r1 = r1
        self._ref = mg
        self.state = "ok"
        sc.refresh()  # the local factor, and thresholds in counts, depend on k
        if not sc.calibrated:
            self.state = "implausible"  # out of range at this gravity

    def save(self):
        sc = self.sc
        z = sc.zero
        g = sc.drv.gain
        grav = sc.cal_grav
        d = {"zero": z, "raw0": self._r0, "raw1": self._r1, "ref_mg": self._ref, "gain": g,
             "grav": grav, "crc": _crc(z, self._r0, self._r1, self._ref, g, grav)}
        with open(_TMP, "w") as f:
            json.dump(d, f)
        os.rename(_TMP, _FILE)

    def service(self, now_ms):
        com = self._ctx.comms
        sc = self.sc
        if self._ev:
            self._ev = False
            if not sc.calibrated:
                com.event((("kind", "cal"), ("st", self.state)))
        op = self._op
        if not op:
            return
        f = sc.f
        if sc.timed_out or sc.stuck:
            self._op = 0
            com.failed(self._seq, proto.E_FAULT_ACTIVE, "hx711 not responding")
        elif f.count - self._n0 >= f.window and f.settled:
            self._op = 0
            try:
                com.done(self._seq, self._finish(op, f.value))
            except CmdError as e:
                com.failed(self._seq, e.args[0], e.args[1])
            except OSError:
                com.failed(self._seq, proto.E_STORAGE, "cannot write cal.json")
        elif time.ticks_diff(now_ms, self._t0) > self._ctx.params.get("sc_wait_ms"):
            self._op = 0
            com.failed(self._seq, proto.E_BUSY, "scale not settled")

    def _finish(self, op, v):
        sc = self.sc
        if op == _TARE:
            sc.zero = v
            self.save()
            return (("zero", v),)
        if op == _CAL0:
            self._cal0 = v
            return (("point", 0), ("raw", v))
        r0 = self._cal0
        k = filters.cal_factor(r0, v, self._mg)
        if k is None:
            raise CmdError(proto.E_OUT_OF_RANGE,
                           "implausible: %d counts for %d mg" % (v - r0, self._mg))
        # The reference mass weighed at the local gravity: the calibration carries it.
        self._use(r0, r0, v, self._mg, k, self._ctx.params.get("grav_mm_s2"))
        self.save()
        self._cal0 = None
        sc.mass_mg = filters.mg_from_counts(v - r0, sc.k)
        return (("point", 1), ("raw", v), ("k", k), ("grav", sc.cal_grav))

    def _start(self, seq, op):
        sc = self.sc
        if self._op:
            raise CmdError(proto.E_BUSY, "TARE or CAL in progress")
        if sc.timed_out or sc.stuck:
            raise CmdError(proto.E_FAULT_ACTIVE, "hx711 not responding")
        if sc.in_sample:
            raise CmdError(proto.E_BAD_STATE, "sample in progress")
        self._op = op
        self._seq = seq
        self._n0 = sc.f.count
        self._t0 = time.ticks_ms()
        return ACCEPTED

    def cmd_weigh(self, seq, f):
        sc = self.sc
        if not sc.calibrated:
            raise CmdError(proto.E_BAD_STATE, "scale not calibrated (" + self.state + ")")
        return (("mg", sc.mass_mg), ("settled", 1 if sc.settled else 0),
                ("total_mg", sc.total_mg))

    def cmd_tare(self, seq, f):
        if not self.sc.calibrated:
            raise CmdError(proto.E_BAD_STATE, "scale not calibrated: CAL point=0 first")
        return self._start(seq, _TARE)

    def cmd_cal(self, seq, f):
        if self._ctx.safety.state == S.BUSY:
            raise CmdError(proto.E_BUSY, "busy")
        if proto.get_int(f, "point", 0, 1) == 0:
            return self._start(seq, _CAL0)
        if self._cal0 is None:
            raise CmdError(proto.E_BAD_STATE, "CAL point=0 first (empty pan)")
        self._mg = proto.get_int(f, "g", 1, 100000) * 1000
        return self._start(seq, _CAL1)

    def cmd_scale(self, seq, f):
        sc = self.sc
        if "pwr" in f:
            sc.powered(proto.get_int(f, "pwr", 0, 1))
        fl = sc.f
        return (("raw", sc.raw), ("filt", fl.value), ("zero", sc.zero), ("k", sc.k),
                ("cal_grav", sc.cal_grav),
                ("cal", 1 if sc.calibrated else 0), ("calst", self.state),
                ("drv", sc.drv_name), ("gain", sc.drv.gain),
                ("pwr", 1 if sc.drv.powered else 0), ("per_us", sc.per_us),
                ("spikes", fl.spikes), ("tmo", sc.timeouts), ("win", fl.n_avg))
