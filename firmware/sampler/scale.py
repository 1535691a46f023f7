# Regolith scale: HX711 under the sample container. Polls the chip in the
# soft loop (never waits): weighing is not control, so it stays off the
# control tick. Filters
# (sampler/filters.py), converts to mg with the two-point calibration
# (sampler/scale_cal.py: flash file, TARE/CAL/WEIGH/SCALE commands), flags a
# settled reading, tracks slow zero drift while idle and empty, and keeps
# per-container accounting toward the target.
# While the drill turns, the filter's average spans whole turns (the drill's
# measured speed and the measured conversion period), which cancels the
# vibration it shakes into the pan.
# Split in two modules so each compiles in a small heap.
import time

import micropython
from micropython import const

from sampler import filters, hx711
from sampler import safety as S

GAIN = const(128)
_STUCK_MS = const(700)  # identical 24-bit readings this long: noise makes that impossible
_RATE_N = const(8)  # conversions per check of the conversion rate
_FLOAT_N = const(3)  # reads in a row with DOUT low after the last pulse: it floats
_SAT_HI = const(0x7FFFFF)
_SAT_LO = const(-0x800000)
_PER_N = const(128)  # conversions per measurement of the conversion period (1.6 s)
_ZTRK_N = const(8)  # conversions per count of zero tracking: ~12 mg/s at 80 SPS
_FIT_N = const(4)  # conversions per fit of the window to the drill's turns (50 ms at 80 SPS)
EARTH_MM_S2 = const(9807)  # standard gravity, where rigs calibrate unless told otherwise


class Scale:
    def __init__(self, ctx):
        self._ctx = ctx
        self._saf = ctx.safety
        p = ctx.params
        p.declare("sc_med", 5, 1, 9)  # median window, readings
        p.declare("sc_avg", 16, 1, filters.N_MAX)  # first average; the shortest when turn-matched
        p.declare("sc_sm", 8, 1, 32)  # second average, and the outputs the settled test spans
        p.declare("sc_turns", 1, 0, 1)  # 1: first average spans whole drill turns
        p.declare("sc_band_mg", 500, 1, 100000)  # settled: output spread within
        p.declare("sc_step_mg", 5000, 0, 1000000)  # load change restarting the average
        p.declare("sc_spike_mg", 10000, 0, 1000000)  # lone reading this far off: dropped
        p.declare("sc_ztrk_mg", 1000, 0, 10000)  # zero tracking while idle and within
        p.declare("sc_tmo_ms", 1000, 100, 10000)  # no conversion for this long: fault
        p.declare("sc_target_mg", 2000000, 0, 100000000)  # sample mass target
        # Local gravity: the cell weighs mass x gravity, so a calibration made
        # at one gravity converts at another by their ratio (Moon: 1620).
        p.declare("grav_mm_s2", EARTH_MM_S2, 1000, 25000)
        self.drv, self.drv_name = hx711.make(ctx.board, GAIN)
        sps = hx711.rate_sps(ctx.board)
        # The RATE pin's period, and the identical readings that make a
        # stuck chip at that rate (at least 5: within 1 s at 10 SPS).
        self._per_set = 1000000 // sps
        self._stuck_n = max(5, _STUCK_MS * sps // 1000)
        self._t_rate = 0
        self._n_rate = 0
        self.bad_rate = 0
        self.mass_mg = 0
        self.settled = False
        self.total_mg = 0
        self.raw = 0
        self.zero = 0
        self.k = 0  # mg per count at the local gravity, Q24; 0 = not calibrated
        self.k_cal = 0  # mg per count where the calibration was made, Q24
        self.cal_grav = EARTH_MM_S2  # the gravity there, mm/s^2
        self.calibrated = False
        self.f = None
        self._cfg = None
        self._seen = None  # (parameter store version, k) the filter was set up for
        self._tmo_us = 1000000
        self._ztrk = 0
        self._zt_n = 0
        self._t_last = time.ticks_us()
        self.timed_out = False
        self.stuck = False
        self.timeouts = 0
        self._same = 0
        self.per_us = 0
        self._t_per = 0
        self._n_per = 0
        self._per_ok = False
        self.in_sample = False
        self._base_mg = 0
        self._target_sent = False
        self.cal = None
        self._rpm16 = 0  # drill speed (0.1 rpm) x16, averaged over conversions
        self._n_seen = 0
        self._fit = 0  # conversions to the next window fit

    def refresh(self):
        # Parameters may change at any time (PARAM) and are loaded after
        # make(): re-read them here, outside the control step.
        p = self._ctx.params
        if self._seen is not None and self._seen[0] == p.version and self._seen[1] == self.k_cal:
            return  # every loop tick: nothing changed (no tuple built)
        self._seen = (p.version, self.k_cal)
        k = 0
        if self.k_cal:
            k = filters.local_factor(self.k_cal, self.cal_grav, p.get("grav_mm_s2")) or 0
        self.k = k
        self.calibrated = k != 0
        cfg = (p.get("sc_med"), p.get("sc_avg"), p.get("sc_band_mg"), p.get("sc_step_mg"),
               p.get("sc_ztrk_mg"), p.get("sc_tmo_ms"), self.k, p.get("sc_spike_mg"),
               p.get("sc_sm"), p.get("sc_turns"))
        if cfg == self._cfg:
            return
        k = self.k
        # Thresholds are set in mg; the filter works in counts. Uncalibrated,
        # 1 mg per count is near enough (a 5 kg cell gives 1.16 mg/count).
        # The settled band is a mass precision: at the local gravity. Step
        # and spike tell a load change from vibration and impacts, which are
        # forces: at the calibration's gravity, or on the Moon the drill's
        # shaking (the same force, six times the mass) restarts the filter.
        kf = self.k_cal if k else 0
        band = filters.counts_for_mg(cfg[2], k) if k else cfg[2]
        step = (filters.counts_for_mg(cfg[3], kf) if kf else cfg[3]) if cfg[3] else 0
        spike = (filters.counts_for_mg(cfg[7], kf) if kf else cfg[7]) if cfg[7] else 0
        n_max = filters.N_MAX if cfg[9] else cfg[1]
        f = self.f
        if f is None or f.n_med != cfg[0] or f.n_sm != cfg[8] or f.n_max != n_max:
            self.f = filters.MassFilter(cfg[0], cfg[1], cfg[8], step, band, spike, n_max)
        else:
            f.band = band
            f.step = step
            f.spike = spike
        self._ztrk = filters.counts_for_mg(cfg[4], k) if cfg[4] and k else 0
        self._tmo_us = cfg[5] * 1000
        self._cfg = cfg
        self._fit = 0  # a new filter or settings: fit the window now
        self._turns()

    def _turns(self):
        # Once per conversion: average the drill's measured speed (its
        # encoder count per 10 ms is coarse, +-0.7 % at 200 rpm); every
        # _FIT_N, keep the first average at a whole number of turns (sc_avg
        # when stopped). The average moves over 16 conversions, and a fit
        # costs ~0.4 ms on an RP2040: fitting every one would gain nothing.
        f = self.f
        if f.count == self._n_seen:
            return
        self._n_seen = f.count
        cfg = self._cfg
        d = self._ctx.sub.get("drill") if cfg[9] else None
        r = d.rpm10 if d is not None else 0
        self._rpm16 += (r if r > 0 else -r) - (self._rpm16 >> 4)
        self._fit -= 1
        if self._fit > 0:
            return
        self._fit = _FIT_N
        r = self._rpm16 >> 4
        n = filters.turn_window(self.per_us, r, cfg[1], f.n_max, f.n_avg)
        turns = d is not None and r >= 10 and n < f.n_max
        f.set_window(n, turns)
        # Without the drill's speed, or with a turn longer than the window,
        # nothing cancels the vibration: the settled test spans the window,
        # and at least SPAN_BLIND readings, so a slow swing shows.
        blind = n if n > filters.SPAN_BLIND else filters.SPAN_BLIND
        f.set_span(f.n_sm if turns or (d is not None and r < 10) else blind)

    # -- the poll (allocation-free) ------------------------------------------
    def poll(self, now_us):
        """Read a conversion, if one is ready, and filter it."""
        if self._read(now_us):
            self._filter()

    @micropython.native
    def _read(self, now_us):
        # True when a conversion waits in .raw for _filter().
        drv = self.drv
        if not drv.poll():
            if drv.powered and time.ticks_diff(now_us, self._t_last) > self._tmo_us:
                if not self.timed_out:
                    self.timed_out = True
                    self._n_per = 0
                    self.timeouts += 1
                    self._saf.trip(S.F_SCALE_TIMEOUT)
            return False
        dt = time.ticks_diff(now_us, self._t_last)
        self._t_last = now_us
        if getattr(drv, "backlog", 0):
            # Drained from the PIO's queue after a stall (a flash write, a
            # collection): read back to back, so their spacing says nothing
            # of the chip's rate. The spans start again after the queue.
            self._n_per = 0
        # The period over _PER_N conversions: each one is seen on a poll,
        # so a single interval is off by up to a poll interval (40 % at 80
        # SPS with a poll every 5 ms), too coarse to fit a window to
        # whole drill turns; over 128 it is within 0.3 %.
        n = self._n_per
        if n == 0:
            self._t_per = now_us  # after boot, wake-up or a timeout: not a period
            self._t_rate = now_us
            self._n_rate = -1  # this conversion starts the rate's span
        elif n == _PER_N:
            self.per_us = time.ticks_diff(now_us, self._t_per) // _PER_N
            self._per_ok = True
            self._t_per = now_us
            n = 0
        elif not self._per_ok:
            p = self.per_us  # a first estimate until then
            self.per_us = dt if p == 0 else p + ((dt - p) >> 2)
        self._n_per = n + 1
        # Every _RATE_N conversions, their span against the RATE pin's
        # period: under 0.6 of it DOUT floats (a cut wire: "readings" at the
        # poll rate) or the chip runs at 80 SPS for 10; over 4 times, at 10
        # for 80 (a RATE pin not driven, or wired wrong). A loop that polls
        # late misses some conversions: up to 3 in 4 pass.
        nr = self._n_rate + 1
        if nr == _RATE_N:
            span = time.ticks_diff(now_us, self._t_rate)
            self._t_rate = now_us
            nr = 0
            per = self._per_set * _RATE_N
            if span * 10 < per * 6 or span > per * 4:
                self.bad_rate = span // _RATE_N
                self._saf.trip(S.F_SCALE_RATE)
        self._n_rate = nr
        if getattr(drv, "float_n", 0) >= _FLOAT_N:
            # DOUT floats: these are not conversions. Not responding.
            drv.float_n = 0
            if not self.timed_out:
                self.timed_out = True
                self.timeouts += 1
                self._saf.trip(S.F_SCALE_TIMEOUT)
            return False
        self.timed_out = False
        x = drv.raw
        if x == self.raw:
            self._same += 1
            if self._same == self._stuck_n:
                self.stuck = True
                self._saf.trip(S.F_SCALE_STUCK)
        else:
            self._same = 0
            self.stuck = False
        self.raw = x
        # Not while settling after a gain change, nor from a saturated
        # (broken) bridge.
        return drv.valid and x != _SAT_HI and x != _SAT_LO

    @micropython.native
    def _filter(self):
        f = self.f
        v = f.push(self.raw)
        self.settled = f.settled
        if self.k:
            d = v - self.zero
            z = self._ztrk
            if (z and f.settled and not self.in_sample and -z <= d <= z and d
                    and self._saf.state != S.BUSY):
                # Follow slow drift of the empty scale, one count per _ZTRK_N
                # readings: far slower than any sample arriving.
                self._zt_n += 1
                if self._zt_n >= _ZTRK_N:
                    self._zt_n = 0
                    self.zero += 1 if d > 0 else -1
                    d = v - self.zero
            self.mass_mg = filters.mg_from_counts(d, self.k)

    def powered(self, on):
        if on and not self.drv.powered:
            self._t_last = time.ticks_us()  # the timeout counts from the wake-up
            self._n_per = 0  # the chip settles first: not a conversion period
            self.drv.power_up()
        elif not on:
            self.drv.power_down()

    def fault_active(self):
        if self.timed_out:
            return "scale: hx711 not responding"
        if self.stuck:
            return "scale: hx711 reading stuck"
        if self.bad_rate:
            b = self.bad_rate
            self.bad_rate = 0  # told once: the next conversions check again
            return "scale: hx711 conversions every %d us, its RATE pin one every %d us" % (
                b, self._per_set)
        if self._saf.fault == S.F_CALIBRATION and not self.calibrated:
            return "scale: not calibrated (CAL point=0 then point=1)"
        return None

    # -- accounting (campaign interface) ----------------------------------
    def begin_sample(self):
        """Start filling the container: remember the present mass. False, and
        a calibration fault, when the scale cannot weigh."""
        if not self.calibrated:
            self._saf.trip(S.F_CALIBRATION)
            return False
        self.in_sample = True
        self._base_mg = self.mass_mg
        return True

    def end_sample(self):
        """Mass added since begin_sample(), in mg; added to total_mg."""
        if not self.in_sample:
            return 0
        self.in_sample = False
        got = self.mass_mg - self._base_mg
        self.total_mg += got
        tgt = self._ctx.params.get("sc_target_mg")
        if tgt and self.total_mg >= tgt and not self._target_sent:
            self._target_sent = True
            self._ctx.comms.event((("kind", "target"), ("total_mg", self.total_mg),
                                   ("target_mg", tgt)))
        return got

    def service(self, now_ms):
        self.poll(time.ticks_us())
        self.refresh()
        self._turns()
        self.cal.service(now_ms)

    def tm(self, out):
        out.append(("mass", self.mass_mg))
        out.append(("mstl", 1 if self.settled else 0))
        out.append(("mraw", self.raw))
        out.append(("mcal", 1 if self.calibrated else 0))


def make(ctx):
    from sampler import scale_cal

    s = Scale(ctx)
    s.cal = scale_cal.Cal(s, ctx)
    s.refresh()
    ctx.comms.tm_sources.append(s.tm)
    return s
