# Drill: speed-controlled DC motor (encoder, current sense), a stepper feed
# with a home switch, and on boards that have one a percussion hammer
# (rotary-percussive, as CE-5/6 drilled). Jam -> back off and retry;
# repeated jams at one depth are a hard layer: the hammer comes on and the
# retries start again. Jams that rotation and percussion together cannot
# get past are rock (ends the core) or, when shallow, a drill_jam fault.
# SEAL winds the core bag shut by turning the bit backwards at home.
#
# The step is viper over one array('i') (Drill._s): word loads and
# machine-word arithmetic for the feed's progress and the speed loop
# (measure, current limit, PI, encoder-loss, jam and phase checks); the
# hardware calls stay Python calls, and the rare turns (phase changes,
# faults) run in Python (Drill._event).
import array
import time

import machine
import micropython
from micropython import const

from sampler import board, hw, proto
from sampler import safety as S
from sampler import stepgen
from sampler.comms import ACCEPTED, CmdError
from sampler.held import Held
from sampler.encoder import CPR, Encoder

STEPS_PER_MM = const(25)  # feed lead screw: 0.04 mm per step
_ISENSE_FS_MA = const(10000)  # drill current at ADC full scale
_DUTY_MAX = const(65535)
_PWM_HZ = const(20000)
_EMAX = const(16383)  # PI error clamp: with gains <= GAIN_MAX each term < 2^28
GAIN_MAX = const(16383)  # PI gains, Q8
_PID_HZ = const(100)  # speed loop rate; the feed steps at the loop rate (stepgen)
_HOME_RATE = const(250)  # steps/s (10 mm/s): homing, back-off
_RETRACT_RATE = const(500)  # steps/s (20 mm/s)
_JAM_TICKS = const(5)  # speed-loop periods of jam evidence (50 ms)
_ENC_TICKS = const(15)  # 150 ms of full duty with no counts and low current
_SPINUP_TICKS = const(100)  # 1 s to reach 90 % speed, else stall
_STALL_TICKS = const(8)  # 80 ms driven, no count, current at its limit: seized
_DEAD_JAM = const(3)  # of a jam's evidence periods with no count: stopped dead, a stall
_SAT_TICKS = const(8)  # 80 ms at the converter's top: the sense, not a current
_SW_TICKS = const(2)  # speed-loop periods the home switch may read open below home
_SW_UNKNOWN = const(1 << 28)  # not homed: the position says nothing yet
_SW_BELOW = const(-25)  # homed: 1 mm below the switch's trip point it must read closed
_SW_FAR = const(125)  # steps (5 mm): "home" found this far down is a cut wire
PARK = const(50)  # steps (2 mm): the park point below the home switch's trip point
_LEAVE = const(100)  # steps (4 mm) down that must close an open home switch
_SEAL_RPM10 = const(300)  # 30 rpm backwards winds the bag
_SEAL_COUNTS = const(6144)  # 1.5 revolutions
_SEAL_TICKS = const(1000)  # 10 s
_NO_PROGRESS = const(50)  # steps (2 mm): a re-jam this close made no progress
_PERC_CLEAR = const(1250)  # steps (50 mm) past where it came on: the hard layer is behind

# Phases (telemetry "df").
P_IDLE = const(0)
P_HOME = const(1)
P_SPINUP = const(2)
P_FEED = const(3)
P_BACKOFF = const(4)
P_RETRACT = const(5)
P_SEAL = const(6)
P_SPIN = const(7)
P_PARK = const(8)

# Job outcome, read by the command's DONE or by the campaign.
J_NONE = const(0)
J_RUN = const(1)
J_OK = const(2)
J_ABORT = const(3)

# Words of the state array. Every value stays far below 2^30.
_PH = const(0)  # phase
_FEEDING = const(1)  # a feed move is under way
_FEED_DIR = const(2)  # of that move: 1 down, -1 up
_GOAL = const(3)  # its goal, steps
_MAX_POS = const(4)  # deepest feed position of the job, steps (>= 0)
_MAX_STEPS = const(5)  # depth limit, steps
_DIV = const(6)  # steps left to the next speed-loop period
_PID_DIV = const(7)  # steps per speed-loop period
_KQ = const(8)  # rpm*10 = counts per period * KQ >> 8
_LAST = const(9)  # encoder count at the last period
_RPM10 = const(10)  # measured speed, 0.1 rpm
_MA = const(11)  # measured current, mA (>= 0)
_IMAX = const(12)  # current limit, mA
_CAP = const(13)  # duty ceiling left by the current limit (>= 0)
_SP = const(14)  # speed set-point, 0.1 rpm
_KP = const(15)  # PI gains, Q8
_KI = const(16)
_INTEG = const(17)  # PI integrator, Q8 duty
_DUTY = const(18)  # signed duty the motor is set to
_T = const(19)  # speed-loop periods in this phase
_JAM_N = const(20)  # speed-loop periods of jam evidence so far
_ENC_N = const(21)  # and of encoder-loss evidence
_JAM_MA = const(22)  # jam current, mA
_SEAL_N = const(23)  # counts wound backwards while sealing
_POS_K = const(24)  # index of the feed's position in the step generator's array
_DEAD = const(25)  # speed-loop periods in a row driven with no encoder count
_SAT_N = const(26)  # and with the current sense at the converter's top
_KMA = const(27)  # mA = raw * KMA >> 16 (hw.adc)
_SAT_TOP = const(28)  # a raw reading at or above this is the converter's top
_SW_N = const(29)  # periods the home switch has read open below home
_SW_AT = const(30)  # below this position the home switch must read closed
_WORDS = const(31)

# The step's rare turns, handled in Python (_event).
_A_JAM = const(1)
_A_ENCODER = const(2)
_A_STALL = const(3)
_A_SPUN_UP = const(4)
_A_SEALED = const(5)
_A_FEED_DONE = const(6)  # the phase's feed move has ended
_A_DEPTH = const(7)  # the feed passed the depth limit
_A_HOME = const(8)  # the home switch stopped the feed
_A_SATURATED = const(9)  # the current sense sits at its converter's top
_A_SWITCH = const(10)  # the home switch reads open far below home


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
        imax = lim.get("drill_current_ma", 6000)
        self.depth_max = lim.get("drill_depth_mm", 2000)
        # The motor: PWM and a direction pin (1: the cutting way).
        self._dir = machine.Pin(pins["drill_dir"], machine.Pin.OUT, value=1)
        pwm = machine.PWM(machine.Pin(pins["drill_pwm"]), freq=_PWM_HZ, duty_u16=0)
        self._enc = Encoder(pins["drill_enc_a"], pins["drill_enc_b"])
        # The hammer: off at boot, and with every stop (_halt).
        h = pins.get("drill_hammer")
        self._hammer = None if h is None else machine.Pin(h, machine.Pin.OUT, value=0)
        self.percussion = 0  # the hammer is on
        self.perc_n = 0  # times it came on in this job
        self.perc_mm = 0  # depth it last came on at
        self._perc_pos = 0
        read, kma, top = hw.adc(b, "drill_isense", _ISENSE_FS_MA)
        # The speed loop's hardware, bound once: encoder, current sense, PWM,
        # home switch.
        self._home = hw.nc_input(b, "feed_home")
        self._hw = (self._enc.count, read, pwm.duty_u16, self._home.value)
        sg = stepgen.of(ctx)
        self._sg = sg
        pos_k = sg.n * stepgen.W + stepgen.POS  # the feed's position in sg._q
        self._feed = sg.axis(pins["feed_step"], pins["feed_dir"], rate=True)
        self._q = sg._q  # the feed's position, read by the step
        sg.switch(self._feed, self._home)
        s = array.array("i", [0] * _WORDS)
        self._s = s
        s[_POS_K] = pos_k
        s[_MAX_STEPS] = self.depth_max * STEPS_PER_MM
        s[_IMAX] = imax
        div = rate // _PID_HZ
        div = div if div > 0 else 1
        s[_PID_DIV] = div
        s[_DIV] = 1
        period_us = div * (1000000 // rate)
        s[_KQ] = (600000000 << 8) // (CPR * period_us)
        s[_CAP] = _DUTY_MAX
        s[_KP] = 13000
        s[_KI] = 2200
        s[_JAM_MA] = 4500
        s[_FEED_DIR] = 1
        s[_KMA] = kma
        s[_SAT_TOP] = top
        s[_SW_AT] = _SW_UNKNOWN
        # Parked, the carriage rests 2 mm below its home switch: open at
        # boot is a cut wire, or a carriage stopped at the top.
        self.boot_open = 0
        self._leaving = 0
        self._sw_name = hw.describe(b, "feed_home")
        if self._home.value():
            self.boot_open = 1
            self._saf.trip(S.F_SWITCH_OPEN)
        p = ctx.params
        p.declare("drill_kp", 13000, 0, GAIN_MAX)
        p.declare("drill_ki", 2200, 0, GAIN_MAX)
        p.declare("drill_rpm", 120, 10, self.rpm_max)
        p.declare("drill_feed_ums", 4000, 100, 20000)
        p.declare("drill_depth_mm", min(2000, self.depth_max), 1, self.depth_max)
        p.declare("jam_current_ma", 4500, 500, imax)
        p.declare("jam_retries", 3, 0, 10)
        p.declare("drill_backoff_mm", 5, 1, 50)
        p.declare("drill_rock_min_mm", 200, 0, self.depth_max)
        self.job = J_NONE
        self.owner = -1  # command seq, or -1 when the campaign runs the job
        self.homed = 0
        self.jams = 0
        self.rock = 0
        self.sealed = 0
        self.stop_us = 0
        self._rpm10 = 1200
        self._retries = 3
        self._backoff = 125
        self._rock_min = 5000
        self._stuck = 0
        self._jam_pos = 0
        self._target = 0
        self._feed_ums = 4000
        self._found = 0
        self._after = P_IDLE
        self._then = P_IDLE

    # Read from the state array (telemetry, status, the scale, the campaign).
    @property
    def phase(self):
        return self._s[_PH]

    @property
    def rpm10(self):
        return self._s[_RPM10]

    @property
    def ma(self):
        return self._s[_MA]

    @property
    def max_pos(self):
        return self._s[_MAX_POS]

    # -- jobs (started from command handlers or the campaign) ----------
    def _load_params(self):
        g = self._ctx.params.get
        s = self._s
        s[_KP] = g("drill_kp")
        s[_KI] = g("drill_ki")
        s[_INTEG] = 0
        self._rpm10 = g("drill_rpm") * 10
        self._feed_ums = g("drill_feed_ums")
        s[_JAM_MA] = g("jam_current_ma")
        self._retries = g("jam_retries")
        self._backoff = g("drill_backoff_mm") * STEPS_PER_MM
        self._rock_min = g("drill_rock_min_mm") * STEPS_PER_MM

    def _begin(self, owner, after):
        # Every job starts by finding the feed's home switch (it may have
        # been stopped anywhere), then runs phase `after`.
        self._load_params()
        self._enc.zero()
        s = self._s
        s[_LAST] = 0
        s[_CAP] = _DUTY_MAX
        s[_JAM_N] = 0
        s[_ENC_N] = 0
        self.owner = owner
        self.job = J_RUN
        self._after = after
        self._home_phase()

    def start_drill(self, owner, depth_mm):
        self._target = depth_mm * STEPS_PER_MM
        self._s[_MAX_POS] = 0
        self.jams = 0
        self.rock = 0
        self.perc_n = 0
        self._stuck = 0
        self._jam_pos = -(1 << 20)
        self._begin(owner, P_SPINUP)

    def start_seal(self, owner):
        self._s[_SEAL_N] = 0
        self._begin(owner, P_SEAL)

    def start_spin(self, owner, rpm):
        self._begin(owner, P_SPIN)
        self._feed.hold()  # spin in place, wherever the bit is
        self._s[_FEEDING] = 0
        self._rpm10 = rpm * 10
        self._to(P_SPIN)

    def result(self):
        """DONE fields of the last drill job."""
        return (("depth", self.max_pos // STEPS_PER_MM), ("rock", self.rock),
                ("jams", self.jams), ("perc", self.perc_n))

    # -- control step --------------------------------------------------
    def _halt(self, job):
        # Motor and hammer off, feed held, idle.
        s = self._s
        self._drive(0)
        self._percuss(0)
        s[_SP] = 0
        self._feed.hold()
        s[_FEEDING] = 0
        s[_PH] = P_IDLE
        self.job = job

    def _drive(self, duty):
        # Signed duty; positive turns the bit the cutting way.
        s = self._s
        fwd = 1 if duty >= 0 else 0
        if fwd != (1 if s[_DUTY] >= 0 else 0):
            self._dir.value(fwd)
        self._hw[2](duty if fwd else -duty)
        s[_DUTY] = duty

    def stop(self):
        self._leaving = 0
        self._halt(J_ABORT if self.job == J_RUN else self.job)
        self.stop_us = time.ticks_us()

    # Viper, its state in _s: word loads and machine-word arithmetic; what
    # stays a Python call is the hardware (encoder, current sense, motor)
    # and the rare turns (_event: phase changes, faults).
    @micropython.viper
    def step(self, now_us):
        s = ptr32(self._s)
        # ptr32 loads are zero-extended on 64-bit ports: sign-extend by hand
        # (shifted at run time: a folded 1 << 31 is a long int on 32-bit ports).
        sx = 1
        sx <<= 31
        if s[_FEEDING] and s[_PH] != P_IDLE:
            # The feed's progress, between the step generator's pulses.
            pos = (ptr32(self._q)[s[_POS_K]] ^ sx) - sx
            goal = (s[_GOAL] ^ sx) - sx
            if s[_FEED_DIR] == 1:
                if pos > int(s[_MAX_POS]):
                    s[_MAX_POS] = pos
                    if pos > int(s[_MAX_STEPS]):
                        s[_FEEDING] = 0
                        self._event(_A_DEPTH)
                if s[_FEEDING] and pos >= goal:
                    s[_FEEDING] = 0
            elif self._feed.hit:
                s[_FEEDING] = 0
                self._event(_A_HOME)
            elif pos <= goal:
                s[_FEEDING] = 0
        n = int(s[_DIV]) - 1
        if n > 0:
            s[_DIV] = n
            return
        s[_DIV] = s[_PID_DIV]
        # The speed loop: speed and current, measured at rest too (telemetry
        # shows the bit spinning down after STOP or ESTOP).
        hw = self._hw
        c = int(hw[0]())
        d = c - ((s[_LAST] ^ sx) - sx)
        s[_LAST] = c
        rpm10 = (d * int(s[_KQ])) >> 8
        s[_RPM10] = rpm10
        raw = int(hw[1]())
        if raw >= int(s[_SAT_TOP]):
            n = int(s[_SAT_N]) + 1
            s[_SAT_N] = n
            if n >= _SAT_TICKS:
                s[_SAT_N] = 0
                self._event(_A_SATURATED)
                return
        else:
            s[_SAT_N] = 0
        ma = int(s[_MA])
        ma += ((raw * int(s[_KMA]) >> 16) - ma) >> 1
        s[_MA] = ma
        # Once homed, the home switch must read closed below its trip point,
        # parked too (a cut wire reads open, as the switch at the top does).
        if (ptr32(self._q)[s[_POS_K]] ^ sx) - sx > (s[_SW_AT] ^ sx) - sx and hw[3]():
            n = int(s[_SW_N]) + 1
            s[_SW_N] = n
            if n >= _SW_TICKS:
                s[_SW_N] = 0
                self._event(_A_SWITCH)
                return
        else:
            s[_SW_N] = 0
        ph = int(s[_PH])
        if ph == P_IDLE:
            return
        # Current (torque) limit: shrink the duty ceiling while over the limit.
        cap = int(s[_CAP])
        imax = int(s[_IMAX])
        if ma > imax:
            cap -= (ma - imax) << 3
            if cap < 0:
                cap = 0
        elif cap < _DUTY_MAX:
            cap += 2000
            if cap > _DUTY_MAX:
                cap = _DUTY_MAX
        s[_CAP] = cap
        sp = (s[_SP] ^ sx) - sx
        jam_ma = int(s[_JAM_MA])
        # Driven with no count at all: a seized drive train when the
        # current is near its limit now (else the encoder, below). Not "the
        # limiter engaged": a motor whose encoder died speeds up at full
        # duty, over the limit at first, then its back-EMF drops the current.
        dead = int(s[_DEAD])
        if sp != 0 and d == 0:
            dead += 1
            if dead >= _STALL_TICKS and ph != P_BACKOFF and (ma * 4 >= imax * 3 or ma > jam_ma):
                self._event(_A_STALL)
                return
        else:
            dead = 0
        s[_DEAD] = dead
        if sp != 0:
            # PI: Q8 gains, conditional integration plus a
            # clamped integrator as anti-windup.
            err = sp - rpm10
            if err > _EMAX:
                err = _EMAX
            elif err < 0 - _EMAX:
                err = 0 - _EMAX
            i = (s[_INTEG] ^ sx) - sx
            u = (int(s[_KP]) * err + i) >> 8
            # Integrate only when that does not push further into saturation.
            if u > cap:
                u = cap
                if err < 0:
                    i += int(s[_KI]) * err
            elif u < 0 - cap:
                u = 0 - cap
                if err > 0:
                    i += int(s[_KI]) * err
            else:
                i += int(s[_KI]) * err
            if i > _DUTY_MAX << 8:
                i = _DUTY_MAX << 8
            elif i < 0 - (_DUTY_MAX << 8):
                i = 0 - (_DUTY_MAX << 8)
            s[_INTEG] = i
            duty = (s[_DUTY] ^ sx) - sx
            if u != duty:
                if (u ^ duty) >= 0:  # same sign: the direction pin stays
                    s[_DUTY] = u
                    hw[2](u if u >= 0 else 0 - u)
                else:
                    self._drive(u)  # and the direction pin
            # Encoder lost: full duty, no counts, yet the motor draws little
            # current (a stalled motor would draw a lot).
            if (u > 60000 or u < -60000) and -20 < rpm10 < 20 and ma < jam_ma:
                n = int(s[_ENC_N]) + 1
                s[_ENC_N] = n
                if n >= _ENC_TICKS:
                    self._event(_A_ENCODER)
                    return
            else:
                s[_ENC_N] = 0
        elif s[_DUTY]:
            s[_INTEG] = 0
            self._drive(0)
        t = int(s[_T]) + 1
        s[_T] = t
        if ph == P_FEED:
            if ma > jam_ma and rpm10 < (sp * 4) // 10:
                n = int(s[_JAM_N]) + 1
                s[_JAM_N] = n
                if n >= _JAM_TICKS and dead < _DEAD_JAM:
                    # A jam slows the bit over its torque margin. One that
                    # stopped it dead within the evidence is a seized train
                    # or a dead encoder: the stall rule (the current stays at
                    # its limit) or the encoder's (it falls) tells which.
                    self._event(_A_JAM)
                return
            s[_JAM_N] = 0
            if s[_FEEDING] == 0:
                self._event(_A_FEED_DONE)
        elif ph == P_SPINUP:
            if rpm10 * 10 >= sp * 9:
                self._event(_A_SPUN_UP)
            elif t >= _SPINUP_TICKS:
                self._event(_A_STALL)
        elif ph == P_BACKOFF or ph == P_HOME or ph == P_RETRACT or ph == P_PARK:
            if s[_FEEDING] == 0:
                self._event(_A_FEED_DONE)
        elif ph == P_SEAL:
            n = int(s[_SEAL_N]) - d
            s[_SEAL_N] = n
            if n >= _SEAL_COUNTS:
                self._event(_A_SEALED)
            elif t >= _SEAL_TICKS:
                self._event(_A_STALL)

    def _event(self, a):
        if a == _A_JAM:
            self._on_jam()
        elif a == _A_ENCODER:
            self._saf.trip(S.F_ENCODER)
        elif a == _A_STALL:
            self._saf.trip(S.F_DRILL_STALL)
        elif a == _A_SPUN_UP:
            self._to(P_FEED)
        elif a == _A_SEALED:
            self.sealed = 1
            self._halt(J_OK)
        elif a == _A_DEPTH:
            self._feed.hold()
            self._saf.trip(S.F_DEPTH_LIMIT)
        elif a == _A_HOME:
            if self.homed and self._feed.pos() > _SW_FAR:
                # "Home" far below where home is: the switch's wire is cut.
                self.homed = 0
                self._s[_SW_AT] = _SW_UNKNOWN
                self._saf.trip(S.F_LIMIT_SWITCH)
                return
            self._feed.set_pos(-PARK)
            self.homed = 1
            self._s[_SW_AT] = _SW_BELOW
            self._found = 1
        elif a == _A_SATURATED:
            self._saf.trip(S.F_ADC_RANGE)
        elif a == _A_SWITCH:
            self.homed = 0
            self._s[_SW_AT] = _SW_UNKNOWN  # the next job homes again
            self._saf.trip(S.F_LIMIT_SWITCH)
        else:  # _A_FEED_DONE
            ph = self.phase
            if ph == P_FEED:
                self._to(P_RETRACT)
            elif ph == P_BACKOFF:
                self._to(P_SPINUP)
            elif ph == P_HOME and self._leaving:
                # Moved down off an open home switch: it must close now.
                self._leaving = 0
                self._s[_MAX_POS] = 0
                if self._home.value():
                    self._saf.trip(S.F_LIMIT_SWITCH)  # still open: its wire is cut
                else:
                    self._home_phase()
            elif ph == P_PARK:
                if self._home.value():
                    self._saf.trip(S.F_LIMIT_SWITCH)  # parked, and the switch stays open
                elif self._then == P_IDLE:
                    self._halt(J_OK)
                else:
                    self._to(self._then)
            elif not self._found:
                self._saf.trip(S.F_LIMIT_SWITCH)
            elif ph == P_RETRACT:
                self._park(P_IDLE)
            else:
                self._park(self._after)

    def _move_feed(self, d, rate, goal):
        s = self._s
        s[_FEED_DIR] = d
        s[_GOAL] = goal
        self._found = 0
        self._feed.rate(rate * 65536 // self._hz)
        self._feed.target(goal)
        self._sg.watch(self._feed, d < 0)  # moving up: stop on the home switch
        s[_FEEDING] = 1

    def _to(self, ph):
        s = self._s
        s[_PH] = ph
        s[_T] = 0
        s[_JAM_N] = 0
        s[_ENC_N] = 0
        if ph == P_SPINUP or ph == P_SPIN:
            s[_SP] = self._rpm10
        elif ph == P_FEED:
            self._move_feed(1, self._feed_ums * STEPS_PER_MM // 1000, self._target)
        elif ph == P_BACKOFF:
            s[_SP] = -(self._rpm10 >> 1)
            self._move_feed(-1, _HOME_RATE, self._feed.pos() - self._backoff)
        elif ph == P_RETRACT:
            s[_SP] = 0
            self._percuss(0)
            self._move_feed(-1, _RETRACT_RATE, self._feed.pos() - s[_MAX_STEPS])
        elif ph == P_SEAL:
            s[_SP] = -_SEAL_RPM10

    def _home_phase(self):
        s = self._s
        s[_PH] = P_HOME
        s[_SP] = 0
        s[_T] = 0
        if self._home.value():
            # On the switch, or its wire cut: down off it first (the move
            # ends; _A_FEED_DONE checks that it closed).
            self._leaving = 1
            self._move_feed(1, _HOME_RATE, self._feed.pos() + _LEAVE)
            s[_MAX_POS] = self._feed.pos() + _LEAVE  # no depth is made up here
            return
        self._move_feed(-1, _HOME_RATE, self._feed.pos() - s[_MAX_STEPS] - 250)

    def _park(self, then):
        # From the home switch's trip point down to the park point, where
        # the switch must read closed.
        s = self._s
        s[_PH] = P_PARK
        s[_SP] = 0
        s[_T] = 0
        self._then = then
        self._move_feed(1, _HOME_RATE, 0)

    def _percuss(self, on):
        if self._hammer is not None and self.percussion != on:
            self._hammer.value(on)
            self.percussion = on

    def _on_jam(self):
        self.jams += 1
        pos = self._feed.pos()
        jp = self._jam_pos
        if jp - _NO_PROGRESS <= pos <= jp + _NO_PROGRESS:
            self._stuck += 1
        else:
            self._stuck = 1
        self._jam_pos = pos
        if self._stuck > self._retries and self._hammer is not None and not self.percussion:
            # Rotation alone makes no progress: a hard layer. Hammer it.
            self._percuss(1)
            self.perc_n += 1
            self.perc_mm = pos // STEPS_PER_MM
            self._perc_pos = pos
            self._stuck = 1
        elif self._stuck > self._retries:
            if pos >= self._rock_min:
                self.rock = 1  # refusal at depth: rock; keep the core
                self._to(P_RETRACT)
            else:
                self._saf.trip(S.F_DRILL_JAM)
            return
        self._to(P_BACKOFF)

    # -- soft loop -----------------------------------------------------
    def service(self, now_ms):
        if self.percussion and self._feed.pos() > self._perc_pos + _PERC_CLEAR:
            # Through the hard layer: rotation alone again. The tick may halt
            # the drill meanwhile: it is held off while the hammer's state changes.
            irq = machine.disable_irq()
            self._percuss(0)
            machine.enable_irq(irq)
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

    def fault_active(self):
        if self.boot_open:
            # Told once: the carriage may rest at the top, which only a
            # move can show; the next job's homing moves down off the
            # switch and trips limit_switch if it does not close.
            self.boot_open = 0
            return ("%s open at boot: a cut wire, or the carriage at the top; RESET again "
                    "to go on (homing then checks the switch)" % self._sw_name)
        return None

    def telemetry(self, out):
        out.append(("dr", self.rpm10 // 10))
        out.append(("di", self.ma))
        out.append(("dd", self._feed.pos() // STEPS_PER_MM))
        out.append(("df", self.phase))
        out.append(("dp", self.percussion))

    def status(self):
        return (("rpm", self.rpm10 // 10), ("ma", self.ma),
                ("depth", self._feed.pos() // STEPS_PER_MM),
                ("maxd", self.max_pos // STEPS_PER_MM), ("ph", self.phase),
                ("jams", self.jams), ("perc", self.percussion), ("homed", self.homed),
                ("duty", self._s[_DUTY]),
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
        with Held():  # held again by the STOP before: harmless, and short
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
        with Held():
            check_ready(saf)
            d.start_drill(seq, depth)
            saf.busy()
        return ACCEPTED

    def seal_cmd(seq, f):
        with Held():
            check_ready(saf)
            d.start_seal(seq)
            saf.busy()
        return ACCEPTED

    def spin_cmd(seq, f):
        rpm = proto.get_int(f, "rpm", -d.rpm_max, d.rpm_max)
        with Held():
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
