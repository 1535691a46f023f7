# Drill: speed-controlled DC motor (encoder, current sense) and a stepper
# feed with a home switch. Jam -> back off and retry; repeated jams at one
# depth are rock (ends the core) or, when shallow, a drill_jam fault.
# SEAL winds the core bag shut by turning the bit backwards at home.
import time

import machine
import micropython
from micropython import const

from sampler import board, proto
from sampler import safety as S
from sampler import stepgen
from sampler.comms import ACCEPTED, CmdError
from sampler.encoder import CPR, Encoder
from sampler.motor import DCMotor
from sampler.pid import GAIN_MAX, PID

STEPS_PER_MM = const(25)  # feed lead screw: 0.04 mm per step
_ISENSE_FS_MA = const(10000)  # drill current at ADC full scale
_DUTY_MAX = const(65535)
_PID_HZ = const(100)  # speed loop rate; the feed steps at the loop rate (stepgen)
_HOME_RATE = const(250)  # steps/s (10 mm/s): homing, back-off
_RETRACT_RATE = const(500)  # steps/s (20 mm/s)
_JAM_TICKS = const(5)  # speed-loop periods of jam evidence (50 ms)
_ENC_TICKS = const(50)  # 0.5 s of full duty with no counts and low current
_SPINUP_TICKS = const(100)  # 1 s to reach 90 % speed, else stall
_SEAL_RPM10 = const(300)  # 30 rpm backwards winds the bag
_SEAL_COUNTS = const(6144)  # 1.5 revolutions
_SEAL_TICKS = const(1000)  # 10 s
_NO_PROGRESS = const(50)  # steps (2 mm): a re-jam this close made no progress

# Phases (telemetry "df").
P_IDLE = const(0)
P_HOME = const(1)
P_SPINUP = const(2)
P_FEED = const(3)
P_BACKOFF = const(4)
P_RETRACT = const(5)
P_SEAL = const(6)
P_SPIN = const(7)

# Job outcome, read by the command's DONE or by the campaign.
J_NONE = const(0)
J_RUN = const(1)
J_OK = const(2)
J_ABORT = const(3)


class Drill:
    def __init__(self, ctx):
        self._ctx = ctx
        self._saf = ctx.safety
        b = ctx.board
        pins = b["pins"]
        lim = b["limits"]
        hz = b["loop_hz"]
        self._hz = hz  # the step generator's rate
        # The drill's own step (speed loop, phases, feed supervision) runs at
        # its board rate (step_hz), the feed's pulses at the loop rate.
        rate = board.step_hz(b, "drill")
        self.rpm_max = lim.get("drill_rpm_max", 200)
        self._imax = lim.get("drill_current_ma", 6000)
        self.depth_max = lim.get("drill_depth_mm", 2000)
        self._max_steps = self.depth_max * STEPS_PER_MM
        self._motor = DCMotor(pins["drill_pwm"], pins["drill_dir"])
        self._enc = Encoder(pins["drill_enc_a"], pins["drill_enc_b"])
        self._adc = machine.ADC(machine.Pin(pins["drill_isense"]))
        sg = stepgen.of(ctx)
        self._sg = sg
        self._feed = sg.axis(pins["feed_step"], pins["feed_dir"], rate=True)
        self._home = machine.Pin(pins["feed_home"], machine.Pin.IN)
        sg.switch(self._feed, self._home)
        div = rate // _PID_HZ
        self._pid_div = div if div > 0 else 1
        period_us = self._pid_div * (1000000 // rate)
        # rpm*10 = counts per period * _kq >> 8
        self._kq = (600000000 << 8) // (CPR * period_us)
        p = ctx.params
        p.declare("drill_kp", 13000, 0, GAIN_MAX)
        p.declare("drill_ki", 2200, 0, GAIN_MAX)
        p.declare("drill_rpm", 120, 10, self.rpm_max)
        p.declare("drill_feed_ums", 4000, 100, 20000)
        p.declare("drill_depth_mm", min(2000, self.depth_max), 1, self.depth_max)
        p.declare("jam_current_ma", 4500, 500, self._imax)
        p.declare("jam_retries", 3, 0, 10)
        p.declare("drill_backoff_mm", 5, 1, 50)
        p.declare("drill_rock_min_mm", 200, 0, self.depth_max)
        self._pid = PID(13000, 2200, 0, _DUTY_MAX)
        self.phase = P_IDLE
        self.job = J_NONE
        self.owner = -1  # command seq, or -1 when the campaign runs the job
        self.ma = 0
        self.rpm10 = 0
        self.homed = 0
        self.max_pos = 0
        self.jams = 0
        self.rock = 0
        self.sealed = 0
        self.stop_us = 0
        self._sp = 0
        self._rpm10 = 1200
        self._cap = _DUTY_MAX
        self._div = 1
        self._last = 0
        self._d = 0
        self._t = 0
        self._jam_n = 0
        self._enc_n = 0
        self._jam_ma = 4500
        self._retries = 3
        self._backoff = 125
        self._rock_min = 5000
        self._stuck = 0
        self._jam_pos = 0
        self._target = 0
        self._feeding = 0  # a feed move is under way
        self._feed_ums = 4000
        self._feed_dir = 1
        self._goal = 0
        self._found = 0
        self._after = P_IDLE
        self._seal_n = 0

    # -- jobs (started from command handlers or the campaign) ----------
    def _load_params(self):
        g = self._ctx.params.get
        pid = self._pid
        pid.kp = g("drill_kp")
        pid.ki = g("drill_ki")
        pid.reset()
        self._rpm10 = g("drill_rpm") * 10
        self._feed_ums = g("drill_feed_ums")
        self._jam_ma = g("jam_current_ma")
        self._retries = g("jam_retries")
        self._backoff = g("drill_backoff_mm") * STEPS_PER_MM
        self._rock_min = g("drill_rock_min_mm") * STEPS_PER_MM

    def _begin(self, owner, after):
        # Every job starts by finding the feed's home switch (it may have
        # been stopped anywhere), then runs phase `after`.
        self._load_params()
        self._enc.zero()
        self._last = 0
        self._cap = _DUTY_MAX
        self._jam_n = 0
        self._enc_n = 0
        self.owner = owner
        self.job = J_RUN
        self._after = after
        self._home_phase()

    def start_drill(self, owner, depth_mm):
        self._target = depth_mm * STEPS_PER_MM
        self.max_pos = 0
        self.jams = 0
        self.rock = 0
        self._stuck = 0
        self._jam_pos = -(1 << 20)
        self._begin(owner, P_SPINUP)

    def start_seal(self, owner):
        self._seal_n = 0
        self._begin(owner, P_SEAL)

    def start_spin(self, owner, rpm):
        self._begin(owner, P_SPIN)
        self._feed.hold()  # spin in place, wherever the bit is
        self._feeding = 0
        self._rpm10 = rpm * 10
        self._to(P_SPIN)

    def result(self):
        """DONE fields of the last drill job."""
        return (("depth", self.max_pos // STEPS_PER_MM), ("rock", self.rock),
                ("jams", self.jams))

    # -- control step --------------------------------------------------
    def stop(self):
        self._motor.set(0)
        self._feed.hold()
        self._feeding = 0
        self._sp = 0
        self.phase = P_IDLE
        if self.job == J_RUN:
            self.job = J_ABORT
        self.stop_us = time.ticks_us()

    @micropython.native
    def step(self, now_us):
        idle = self.phase == P_IDLE
        if self._feeding and not idle:
            self._feed_check()
        self._div -= 1
        if self._div <= 0:
            self._div = self._pid_div
            if idle:
                # Keep measuring at rest: speed and current in telemetry must
                # show the bit spinning down after STOP or ESTOP.
                self._measure()
            else:
                self._control()

    @micropython.native
    def _feed_check(self):
        # The feed's progress, between the step generator's pulses.
        f = self._feed
        pos = f.pos()
        if self._feed_dir > 0:
            if pos > self.max_pos:
                self.max_pos = pos
                if pos > self._max_steps:
                    f.hold()
                    self._feeding = 0
                    self._saf.trip(S.F_DEPTH_LIMIT)
                    return
            if pos >= self._goal:
                self._feeding = 0
        elif f.hit:
            f.set_pos(0)
            self.homed = 1
            self._found = 1
            self._feeding = 0
        elif pos <= self._goal:
            self._feeding = 0

    def _move_feed(self, d, rate, goal):
        self._feed_dir = d
        self._goal = goal
        self._found = 0
        self._feed.rate(rate * 65536 // self._hz)
        self._feed.target(goal)
        self._sg.watch(self._feed, d < 0)  # moving up: stop on the home switch
        self._feeding = 1

    def _to(self, ph):
        self.phase = ph
        self._t = 0
        self._jam_n = 0
        self._enc_n = 0
        if ph == P_SPINUP or ph == P_SPIN:
            self._sp = self._rpm10
        elif ph == P_FEED:
            self._move_feed(1, self._feed_ums * STEPS_PER_MM // 1000, self._target)
        elif ph == P_BACKOFF:
            self._sp = -(self._rpm10 >> 1)
            self._move_feed(-1, _HOME_RATE, self._feed.pos() - self._backoff)
        elif ph == P_RETRACT:
            self._sp = 0
            self._move_feed(-1, _RETRACT_RATE, self._feed.pos() - self._max_steps)
        elif ph == P_SEAL:
            self._sp = -_SEAL_RPM10

    def _home_phase(self):
        self.phase = P_HOME
        self._sp = 0
        self._t = 0
        self._move_feed(-1, _HOME_RATE, self._feed.pos() - self._max_steps - 250)

    def _finish(self):
        self._motor.set(0)
        self._sp = 0
        self._feed.hold()
        self._feeding = 0
        self.phase = P_IDLE
        self.job = J_OK

    @micropython.native
    def _measure(self):
        c = self._enc.count()
        d = c - self._last
        self._last = c
        self._d = d
        self.rpm10 = (d * self._kq) >> 8
        raw = self._adc.read_u16()
        self.ma = self.ma + (((raw * _ISENSE_FS_MA >> 16) - self.ma) >> 1)

    @micropython.native
    def _control(self):
        self._measure()
        rpm10 = self.rpm10
        ma = self.ma
        # Current (torque) limit: shrink the duty ceiling while over the limit.
        cap = self._cap
        if ma > self._imax:
            cap -= (ma - self._imax) << 3
            if cap < 0:
                cap = 0
        elif cap < _DUTY_MAX:
            cap += 2000
            if cap > _DUTY_MAX:
                cap = _DUTY_MAX
        self._cap = cap
        sp = self._sp
        u = 0
        if sp != 0:
            u = self._pid.update(sp - rpm10, cap)
            self._motor.set(u)
            # Encoder lost: full duty, no counts, yet the motor draws little
            # current (a stalled motor would draw a lot).
            if (u > 60000 or u < -60000) and -20 < rpm10 < 20 and ma < self._jam_ma:
                self._enc_n += 1
                if self._enc_n >= _ENC_TICKS:
                    self._saf.trip(S.F_ENCODER)
                    return
            else:
                self._enc_n = 0
        elif self._motor.duty:
            self._motor.set(0)
            self._pid.reset()
        self._t += 1
        ph = self.phase
        if ph == P_FEED:
            if ma > self._jam_ma and rpm10 < (sp * 4) // 10:
                self._jam_n += 1
                if self._jam_n >= _JAM_TICKS:
                    self._on_jam()
                return
            self._jam_n = 0
            if self._feeding == 0:
                self._to(P_RETRACT)
        elif ph == P_SPINUP:
            if rpm10 * 10 >= sp * 9:
                self._to(P_FEED)
            elif self._t >= _SPINUP_TICKS:
                self._saf.trip(S.F_DRILL_STALL)
        elif ph == P_BACKOFF:
            if self._feeding == 0:
                self._to(P_SPINUP)
        elif ph == P_HOME or ph == P_RETRACT:
            if self._feeding == 0:
                if not self._found:
                    self._saf.trip(S.F_LIMIT_SWITCH)
                elif ph == P_RETRACT:
                    self._finish()
                else:
                    self._to(self._after)
        elif ph == P_SEAL:
            self._seal_n -= self._d
            if self._seal_n >= _SEAL_COUNTS:
                self.sealed = 1
                self._finish()
            elif self._t >= _SEAL_TICKS:
                self._saf.trip(S.F_DRILL_STALL)

    def _on_jam(self):
        self.jams += 1
        pos = self._feed.pos()
        jp = self._jam_pos
        if jp - _NO_PROGRESS <= pos <= jp + _NO_PROGRESS:
            self._stuck += 1
        else:
            self._stuck = 1
        self._jam_pos = pos
        if self._stuck > self._retries:
            if pos >= self._rock_min:
                self.rock = 1  # refusal at depth: rock; keep the core
                self._to(P_RETRACT)
            else:
                self._saf.trip(S.F_DRILL_JAM)
            return
        self._to(P_BACKOFF)

    # -- service phase -------------------------------------------------
    def service(self, now_ms):
        if self.job < J_OK or self.owner < 0:
            return
        seq = self.owner
        com = self._ctx.comms
        if self.job == J_OK:
            if self._after == P_SEAL:
                com.done(seq, (("sealed", 1),))
            else:
                com.done(seq, self.result())
            self._saf.idle()
        else:
            abort_reply(self._ctx, seq)
        self.job = J_NONE
        self.owner = -1

    def telemetry(self, out):
        out.append(("dr", self.rpm10 // 10))
        out.append(("di", self.ma))
        out.append(("dd", self._feed.pos() // STEPS_PER_MM))
        out.append(("df", self.phase))

    def status(self):
        return (("rpm", self.rpm10 // 10), ("ma", self.ma),
                ("depth", self._feed.pos() // STEPS_PER_MM),
                ("maxd", self.max_pos // STEPS_PER_MM), ("ph", self.phase),
                ("jams", self.jams), ("homed", self.homed), ("duty", self._motor.duty),
                ("stop_us", self.stop_us))


def abort_reply(ctx, seq):
    """Finish command `seq` that motion-stop cut short, saying why."""
    saf = ctx.safety
    if saf.state == S.FAULT:
        ctx.comms.failed(seq, proto.E_FAULT_ACTIVE, S.FAULT_NAMES[saf.fault])
    elif saf.state == S.SAFE:
        ctx.comms.failed(seq, proto.E_BAD_STATE, "stopped: " + S.REASON_NAMES[saf.reason])
    else:
        ctx.comms.failed(seq, proto.E_BAD_STATE, "stopped")


def check_ready(saf):
    """NAK a motion command unless the board is ARMED and idle."""
    if saf.state == S.BUSY:
        raise CmdError(proto.E_BUSY, "busy")
    if saf.state != S.ARMED:
        raise CmdError(proto.E_NOT_ARMED, "ARM first")


def chain_stop(ctx, fn):
    """Register STOP so it runs fn() and then any STOP registered before."""
    prev = ctx.comms.handlers.get("STOP")

    def stop_cmd(seq, f):
        fn()
        if prev is not None:
            return prev(seq, f)
        ctx.safety.idle()
        return (("st", S.STATE_NAMES[ctx.safety.state]),)
    ctx.comms.register("STOP", stop_cmd)


def make(ctx):
    d = Drill(ctx)
    saf = ctx.safety

    def drill_cmd(seq, f):
        depth = proto.get_int(f, "depth", 1, d.depth_max)
        check_ready(saf)
        d.start_drill(seq, depth)
        saf.busy()
        return ACCEPTED

    def seal_cmd(seq, f):
        check_ready(saf)
        d.start_seal(seq)
        saf.busy()
        return ACCEPTED

    def spin_cmd(seq, f):
        rpm = proto.get_int(f, "rpm", -d.rpm_max, d.rpm_max)
        check_ready(saf)
        d.start_spin(seq, rpm)
        saf.busy()
        return ACCEPTED

    def dstat_cmd(seq, f):
        return d.status()

    ctx.comms.register("DRILL", drill_cmd)
    ctx.comms.register("SEAL", seal_cmd)
    ctx.comms.register("SPIN", spin_cmd)
    ctx.comms.register("DSTAT", dstat_cmd)
    chain_stop(ctx, d.stop)
    ctx.comms.tm_sources.append(d.telemetry)
    return d
