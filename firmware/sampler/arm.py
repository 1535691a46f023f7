# Scoop arm: three stepper joints (j1 yaw, j2 shoulder, j3 elbow) with home
# switches, trapezoidal moves between named poses in a collision-free order
# (j2 lifts above the deck before j1 slews), a scoop servo, and scoop/dump
# sequences. Stall: arm current high while stepping, or a home switch that
# stays closed after its joint was driven away from it.
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
from sampler.drill import J_ABORT, J_NONE, J_OK, J_RUN, abort_reply, chain_stop, check_ready
from sampler.motor import Servo

MDEG_PER_STEP = const(100)
_ISENSE_FS_MA = const(5000)
_KEEP = const(-(1 << 28))  # "leave this joint where it is" in a move
_J2_SAFE = const(30000)  # mdeg: j2 at or above this clears the deck
_DECK_J1 = const(45000)  # mdeg: yaw below this is over the lander deck
_HOME_DPS = const(20)
_BACKOUT = const(30)  # steps a closed home switch is left by before approaching
_SW_FAR = const(20)  # steps from the trip point where a closed switch is wrong
_SUP_HZ = const(250)  # supervision rate at most (the arm's own rate if lower)
_SW_MS = const(20)  # how long a wrongly closed switch is tolerated
_STALL_MS = const(32)  # how long stall current is tolerated
_SERVO_MS = const(600)
# The control step's state lives in one array('i'), Arm._v, so that the
# step loads one attribute for all of it: these words, then from _JW on
# 4 words a joint: its position's index in the step generator's array, its
# lo, hi and trip point (steps).
_MA = const(0)  # arm current, filtered
_STALL_MA = const(1)
_STALL_CNT = const(2)  # supervision periods of stall current so far
_SW_CNT = const(3)  # supervision periods of a wrongly closed switch so far
_SUP = const(4)  # steps to the next supervision
_SUP_DIV = const(5)  # steps a supervision period
_WAIT = const(6)  # steps left of a servo move or a wait
_HJ = const(7)  # joint being homed, -1 none
_BITS = const(8)  # the joints' bits in the step generator's busy
_ACTIVE = const(9)  # state != A_IDLE, kept by _set_state
_HOMED = const(10)  # homed, kept by _set_homed
_SW_N = const(11)  # _SW_MS in supervision periods
_STALL_N = const(12)  # _STALL_MS in supervision periods
_NEXT = const(13)  # the program's next instruction is due (started by service)
_KMA = const(14)  # mA = raw * KMA >> 16 (hw.adc)
_SAT_TOP = const(15)  # a raw reading at or above this is the converter's top
_SAT_CNT = const(16)  # supervision periods in a row at the top
_JW = const(17)
_SAT_MS = const(40)  # how long a reading at the converter's top is tolerated
OPEN = const(0)
CLOSED = const(90)
DUMPED = const(180)

OP_MOVE = const(1)  # j1, j2, j3 targets in steps (or _KEEP)
OP_SERVO = const(2)  # angle
OP_WAIT = const(3)  # ms
OP_HOME = const(4)  # joint index

# Arm states (telemetry "as").
A_IDLE = const(0)
A_HOMING = const(1)
A_MOVING = const(2)
A_SCOOP = const(3)
A_DUMP = const(4)

N_SITES = const(8)
POSES = {
    "stow": (0, 40000, 150000),
    "container": (-60000, 60000, 120000),
    "dump": (-60000, 45000, 100000),
}
_SITE_J2_ABOVE = const(5000)
_SITE_J2_DIG = const(-30000)
_DRAG = const(10000)


def site_pose(n):
    """Pose above surface site n (mdeg): two rows of four, outboard of the deck."""
    return (75000 + (n % 4) * 30000, _SITE_J2_ABOVE, 50000 if n < 4 else 90000)


class _Axis:
    # One joint: its stepgen axis (profile, pulses), home switch and limits.
    def __init__(self, sg, step_pin, dir_pin, sw, lim, home_hi):
        self.k = sg.n * stepgen.W + stepgen.POS  # its position in sg._q
        m = sg.axis(step_pin, dir_pin)
        self.pos = m.pos
        self.set_pos = m.set_pos
        self.hold = m.hold
        self.target = m.target
        self.limits = m.limits
        self.m = m
        self.sw = sw
        sg.switch(m, sw)
        self.lo = lim[0] // MDEG_PER_STEP
        self.hi = lim[1] // MDEG_PER_STEP
        self.trip = self.hi if home_hi else self.lo
        self.hdir = 1 if home_hi else -1


class Arm:
    def __init__(self, ctx):
        self._ctx = ctx
        self._saf = ctx.safety
        b = ctx.board
        pins = b["pins"]
        lim = b["limits"]
        self._hz = b["loop_hz"]  # the step generator's rate: profile units
        # The arm's own step (sequencing, homing, supervision) runs at its
        # board rate (step_hz), the pulses at the loop rate.
        self._rate = board.step_hz(b, "arm")
        div = self._rate // _SUP_HZ
        self.lims = (lim.get("j1_mdeg", (-90000, 180000)), lim.get("j2_mdeg", (-45000, 90000)),
                     lim.get("j3_mdeg", (0, 160000)))
        sg = stepgen.of(ctx)
        self._sg = sg
        self._axes = tuple(
            _Axis(sg, pins["j%d_step" % j], pins["j%d_dir" % j], hw.nc_input(b, "j%d_home" % j),
                  self.lims[j - 1], j > 1) for j in (1, 2, 3))
        # Stowed, every joint rests off its switch: one open at boot is a
        # cut wire, or a joint left on its switch.
        self.boot_open = ""
        for j in (1, 2, 3):
            if self._axes[j - 1].sw.value():
                self.boot_open = hw.describe(b, "j%d_home" % j)
                self._saf.trip(S.F_SWITCH_OPEN)
        self._q = sg._q  # the joint positions, read by the step
        v = [0] * _JW
        v[_STALL_MA] = 1500
        v[_SUP] = 1
        div = div if div > 0 else 1
        v[_SUP_DIV] = div
        # The tolerances in supervision periods (at least one, rounded up):
        # the same time at any board rate.
        sup_hz = self._rate // div
        v[_SW_N] = (_SW_MS * sup_hz + 999) // 1000
        v[_STALL_N] = (_STALL_MS * sup_hz + 999) // 1000
        self._sat_n = (_SAT_MS * sup_hz + 999) // 1000
        v[_HJ] = -1
        v[_BITS] = self._axes[0].m.bit | self._axes[1].m.bit | self._axes[2].m.bit
        for ax in self._axes:
            v += (ax.k, ax.lo, ax.hi, ax.trip)
        self._v = array.array("i", v)
        # The supervision's hardware reads, bound once: the current sense,
        # then the home switches.
        read, kma, top = hw.adc(b, "arm_isense", _ISENSE_FS_MA)
        self._v[_KMA] = kma
        self._v[_SAT_TOP] = top
        self._hw = (read,) + tuple(ax.sw.value for ax in self._axes)
        self._servo = Servo(pins["scoop_pwm"])
        p = ctx.params
        dps_max = lim.get("arm_dps_max", 60)
        p.declare("arm_dps", 30, 1, dps_max)
        p.declare("arm_dps2", 90, 5, 1000)
        p.declare("arm_stall_ma", 1500, 200, _ISENSE_FS_MA)
        # state and homed change through _set_state and _set_homed, which
        # keep the step's copies in _v (0, as here, when it is made).
        self.state = A_IDLE
        self.job = J_NONE
        self.owner = -1
        self.homed = 0
        self.site = -1
        self.stop_us = 0
        self._prog = ()
        self._pc = 0
        self._hphase = 0
        self._hmask = 0  # joints homed so far
        self._a = 39
        self._vm_run = 19660
        self._vm_home = 13107

    # -- planning (command handlers; may allocate) ----------------------
    def _load_params(self):
        g = self._ctx.params.get
        hz = self._hz
        # deg/s -> steps per tick, Q16; deg/s^2 -> steps per tick^2, Q16
        # At most one step per tick per joint: run() emits one pulse a tick.
        self._vm_run = min(g("arm_dps") * 10 * 65536 // hz, 65536)
        self._vm_home = min(_HOME_DPS * 10 * 65536 // hz, 65536)
        a = g("arm_dps2") * 10 * 65536 // (hz * hz)
        self._a = a
        self._v[_STALL_MA] = g("arm_stall_ma")

    def check_pose(self, pose):
        """Joint limits and the deck rule; CmdError(out_of_range) if violated."""
        for i in range(3):
            lo, hi = self.lims[i]
            if not lo <= pose[i] <= hi:
                raise CmdError(proto.E_OUT_OF_RANGE, "j%d=%d outside %d..%d" % (
                    i + 1, pose[i], lo, hi))
        if pose[0] < _DECK_J1 and pose[1] < _J2_SAFE:
            raise CmdError(proto.E_OUT_OF_RANGE, "j2 below deck clearance over the deck")

    def position(self):
        return [a.pos() * MDEG_PER_STEP for a in self._axes]

    def _plan_move(self, prog, cur, tgt):
        # Collision-free order: lift j2 to deck clearance before any slew,
        # slew j1 with j3 (j2 not below clearance), lower j2 last.
        s = MDEG_PER_STEP
        if tgt[0] != cur[0]:
            if cur[1] < _J2_SAFE:
                prog += (OP_MOVE, _KEEP, _J2_SAFE // s, _KEEP)
            mid = tgt[1] if tgt[1] > _J2_SAFE else _J2_SAFE
            prog += (OP_MOVE, tgt[0] // s, mid // s, tgt[2] // s)
        prog += (OP_MOVE, tgt[0] // s, tgt[1] // s, tgt[2] // s)
        cur[0], cur[1], cur[2] = tgt[0], tgt[1], tgt[2]

    def _dump_seq(self, prog, cur):
        self._plan_move(prog, cur, POSES["container"])
        self._plan_move(prog, cur, POSES["dump"])
        prog += (OP_SERVO, DUMPED, OP_WAIT, _SERVO_MS, OP_SERVO, CLOSED)
        self._plan_move(prog, cur, POSES["container"])

    def plan_scoop(self, n):
        cur = self.position()
        prog = []
        above = site_pose(n)
        self._plan_move(prog, cur, above)
        prog += (OP_SERVO, OPEN)
        self._plan_move(prog, cur, (above[0], _SITE_J2_DIG, above[2]))
        # Drag the scoop toward the lander through the regolith, then close.
        self._plan_move(prog, cur, (above[0], _SITE_J2_DIG, above[2] - _DRAG))
        prog += (OP_SERVO, CLOSED)
        self._plan_move(prog, cur, (above[0], _SITE_J2_ABOVE, above[2] - _DRAG))
        self._dump_seq(prog, cur)
        self._plan_move(prog, cur, POSES["stow"])
        return prog

    def plan_dump(self):
        cur = self.position()
        prog = []
        self._dump_seq(prog, cur)
        return prog

    def plan_to(self, pose):
        prog = []
        self._plan_move(prog, self.position(), pose)
        return prog

    def plan_home(self):
        # Elbow and shoulder first (folding up, away from deck and ground),
        # then the slew, which the raised j2 makes safe; end stowed.
        prog = [OP_HOME, 2, OP_HOME, 1, OP_HOME, 0]
        cur = [a.trip * MDEG_PER_STEP for a in self._axes]
        self._plan_move(prog, cur, POSES["stow"])
        return prog

    def start(self, owner, state, prog, site=-1):
        self._load_params()
        self._prog = tuple(prog)
        self._pc = 0
        v = self._v
        v[_WAIT] = 0
        v[_HJ] = -1
        v[_NEXT] = 0
        v[_STALL_CNT] = 0
        v[_SW_CNT] = 0
        self.site = site
        self.owner = owner
        self._set_state(state)
        self.job = J_RUN
        if state == A_HOMING:
            self._set_homed(0)
            self._hmask = 0
        self._next()

    # -- control step --------------------------------------------------
    def stop(self):
        for a in self._axes:
            a.hold()
        self._v[_HJ] = -1
        self._v[_NEXT] = 0
        self._set_state(A_IDLE)
        if self.job == J_RUN:
            self.job = J_ABORT
        if self._saf.cut:
            self._servo.off()
        self.stop_us = time.ticks_us()

    def _set_state(self, state):
        self.state = state
        self._v[_ACTIVE] = 0 if state == A_IDLE else 1

    def _set_homed(self, homed):
        self.homed = homed
        self._v[_HOMED] = homed

    def _trip(self, code):
        self._set_homed(0)  # positions are no longer trusted
        self._saf.trip(code)

    def _next(self):
        # Start program instructions until one that takes time.
        prog = self._prog
        while self._pc < len(prog):
            op = prog[self._pc]
            if op == OP_MOVE:
                vm = self._vm_run
                ts = [prog[self._pc + 1 + i] for i in range(3)]
                for i in range(3):
                    ax = self._axes[i]
                    # Never beyond the joint limits, whatever the plan says.
                    if ts[i] != _KEEP:
                        ts[i] = min(max(ts[i], ax.lo), ax.hi)
                # Handed to the control tick whole: held off only for the
                # writes.
                irq = machine.disable_irq()
                for i in range(3):
                    if ts[i] != _KEEP:
                        self._axes[i].target(ts[i])
                for ax in self._axes:
                    ax.limits(self._a, vm)
                self._v[_NEXT] = 0  # with the writes: the tick flags the next one after them
                machine.enable_irq(irq)
                self._pc += 4
                return
            if op == OP_SERVO:
                self._servo.set(prog[self._pc + 1])
                w = _SERVO_MS * self._rate // 1000
                irq = machine.disable_irq()
                self._v[_WAIT] = w
                self._v[_NEXT] = 0
                machine.enable_irq(irq)
                self._pc += 2
                return
            if op == OP_WAIT:
                w = prog[self._pc + 1] * self._rate // 1000
                irq = machine.disable_irq()
                self._v[_WAIT] = w
                self._v[_NEXT] = 0
                machine.enable_irq(irq)
                self._pc += 2
                return
            if op == OP_HOME:
                j = prog[self._pc + 1]
                self._pc += 2
                ax = self._axes[j]
                irq = machine.disable_irq()
                ax.set_pos(0)
                self._v[_HJ] = j
                ax.limits(self._a, self._vm_home)
                if ax.sw.value():
                    self._hphase = 1  # on the switch: leave it first
                    ax.target(-ax.hdir * _BACKOUT)
                else:
                    self._approach(ax, 0)
                self._v[_NEXT] = 0
                machine.enable_irq(irq)
                return
        self._v[_NEXT] = 0
        self._set_state(A_IDLE)
        self.job = J_OK

    # Viper, its state in _v: word loads and machine-word arithmetic; what
    # stays a Python call is the hardware reads, the step generator's busy
    # and the rarer turns (homing, a trip); the next instruction is flagged
    # for the soft loop to start.
    @micropython.viper
    def step(self, now_us):
        v = ptr32(self._v)
        if not v[_ACTIVE]:
            return
        # ptr32 loads are zero-extended on 64-bit ports: sign-extend by hand
        # (a no-op on 32-bit ports), as stepgen.advance does.
        sx = 1
        sx <<= 31
        moving = int(self._sg.busy) & v[_BITS]
        hj = (v[_HJ] ^ sx) - sx
        if hj >= 0:
            self._homing(self._axes[hj], moving)
            return
        n = int(v[_SUP]) - 1
        if n > 0:
            v[_SUP] = n
        else:
            # At _SUP_HZ: current, limits and home switches.
            v[_SUP] = v[_SUP_DIV]
            ma = int(v[_MA])
            hw = self._hw
            raw = int(hw[0]())
            if raw >= int(v[_SAT_TOP]):
                n = int(v[_SAT_CNT]) + 1
                v[_SAT_CNT] = n
                if n >= int(self._sat_n):
                    self._trip(S.F_ADC_RANGE)  # the sense, not a current
                    return
            else:
                v[_SAT_CNT] = 0
            ma += ((raw * int(v[_KMA]) >> 16) - ma) >> 1
            v[_MA] = ma
            if moving and ma > int(v[_STALL_MA]):
                n = int(v[_STALL_CNT]) + 1
                v[_STALL_CNT] = n
                if n >= int(v[_STALL_N]):
                    self._trip(S.F_ARM_STALL)
                    return
            else:
                v[_STALL_CNT] = 0
            if v[_HOMED]:
                q = ptr32(self._q)
                far = 0  # bit j: joint j is far from its switch's trip point
                j = 0
                while j < 3:
                    b = _JW + j * 4
                    pos = (q[v[b]] ^ sx) - sx
                    if pos < (v[b + 1] ^ sx) - sx or pos > (v[b + 2] ^ sx) - sx:
                        self._trip(S.F_JOINT_LIMIT)
                        return
                    d = pos - ((v[b + 3] ^ sx) - sx)
                    if d > _SW_FAR or d < 0 - _SW_FAR:
                        far |= 1 << j
                    j += 1
                # Only those joints' switches are read, up to the first closed.
                if (far & 1 and hw[1]()) or (far & 2 and hw[2]()) or (far & 4 and hw[3]()):
                    if self._switch_stuck():
                        return
                else:
                    v[_SW_CNT] = 0
        if moving:
            return
        n = int(v[_WAIT])
        if n > 0:
            v[_WAIT] = n - 1
            return
        v[_NEXT] = 1

    def _switch_stuck(self):
        # A home switch closed far from its trip point. True if tripped.
        v = self._v
        v[_SW_CNT] += 1
        if v[_SW_CNT] < v[_SW_N]:
            return False
        # Driven away yet still on the switch: a joint that did not move
        # draws stall current; otherwise the switch itself is wrong.
        self._trip(S.F_ARM_STALL if v[_MA] > (v[_STALL_MA] >> 1) else S.F_LIMIT_SWITCH)
        return True

    def _homing(self, ax, moving):
        closed = ax.sw.value()
        if self._hphase == 2:
            if ax.m.hit or closed:
                ax.set_pos(ax.trip)
                v = self._v
                self._hmask |= 1 << v[_HJ]
                if self._hmask == 7:
                    self._set_homed(1)
                v[_HJ] = -1
                v[_NEXT] = 1
            elif not moving:
                self._trip(S.F_LIMIT_SWITCH)  # full travel and the switch never closed
        elif not moving:
            if closed:
                self._trip(S.F_LIMIT_SWITCH)  # left the switch and it stays closed
            else:
                self._approach(ax, ax.pos())

    def _approach(self, ax, pos):
        # Toward the switch over the full travel; the step generator stops
        # the joint on the tick the switch closes.
        self._hphase = 2
        ax.target(pos + ax.hdir * (ax.hi - ax.lo + 100))
        self._sg.watch(ax.m, True)

    # -- soft loop -----------------------------------------------------
    def service(self, now_ms):
        v = self._v
        if v[_NEXT]:
            # Starting an instruction (targets, limits, the servo) is Python
            # calls, ~0.4 ms on an RP2040: here, not in the control tick,
            # which flags it when the last one is over; _next holds the
            # tick off only while it writes (and clears the flag there).
            if v[_ACTIVE]:
                self._next()
            else:
                v[_NEXT] = 0
        if self.job < J_OK or self.owner < 0:
            return
        seq = self.owner
        if self.job == J_OK:
            if self.state == A_IDLE and self.site >= 0:
                self._ctx.comms.done(seq, (("site", self.site),))
            else:
                self._ctx.comms.done(seq, (("pos", "%d/%d/%d" % tuple(self.position())),))
            self._saf.idle()
        else:
            abort_reply(self._ctx, seq)
        self.job = J_NONE
        self.owner = -1

    def telemetry(self, out):
        ax = self._axes
        out.append(("a1", ax[0].pos() * MDEG_PER_STEP))
        out.append(("a2", ax[1].pos() * MDEG_PER_STEP))
        out.append(("a3", ax[2].pos() * MDEG_PER_STEP))
        out.append(("ah", self.homed))
        out.append(("as", self.state))

    def fault_active(self):
        if self.boot_open:
            # Told once: HOME backs a joint off its switch and trips
            # limit_switch if it stays open.
            w = self.boot_open
            self.boot_open = ""
            return ("%s open at boot: a cut wire, or the joint on its switch; RESET again "
                    "to go on (HOME then checks the switch)" % w)
        return None  # positions are re-found by HOME after any arm fault


def make(ctx):
    arm = Arm(ctx)
    saf = ctx.safety

    def ready():
        check_ready(saf)
        if not arm.homed:
            raise CmdError(proto.E_NOT_HOMED, "HOME first")

    def begin(seq, kind, plan, site=-1):
        # Planned before, pre-emptible; checked again and handed over held.
        with Held():
            check_ready(saf)
            arm.start(seq, kind, plan, site)
            saf.busy()
        return ACCEPTED

    def home_cmd(seq, f):
        check_ready(saf)
        return begin(seq, A_HOMING, arm.plan_home())

    def move_cmd(seq, f):
        if "pose" in f:
            name = f["pose"]
            if name.isdigit():
                n = int(name)
                if n >= N_SITES:
                    raise CmdError(proto.E_OUT_OF_RANGE, "site 0..%d" % (N_SITES - 1))
                pose = site_pose(n)
            elif name in POSES:
                pose = POSES[name]
            else:
                raise CmdError(proto.E_BAD_ARG, "pose: stow, container, dump or a site")
        else:
            cur = arm.position()
            pose = []
            for i in range(3):
                k = "j%d" % (i + 1)
                pose.append(proto.get_int(f, k, -(1 << 29), 1 << 29, cur[i]))
        arm.check_pose(pose)
        ready()
        return begin(seq, A_MOVING, arm.plan_to(pose))

    def scoop_cmd(seq, f):
        n = proto.get_int(f, "site", 0, N_SITES - 1)
        ready()
        return begin(seq, A_SCOOP, arm.plan_scoop(n), n)

    def dump_cmd(seq, f):
        ready()
        return begin(seq, A_DUMP, arm.plan_dump())

    def astat_cmd(seq, f):
        p = arm.position()
        return (("j1", p[0]), ("j2", p[1]), ("j3", p[2]), ("homed", arm.homed),
                ("as", arm.state), ("ma", arm._v[_MA]), ("scoop", arm._servo.angle),
                ("stop_us", arm.stop_us))

    com = ctx.comms
    com.register("HOME", home_cmd)
    com.register("MOVE", move_cmd)
    com.register("SCOOP", scoop_cmd)
    com.register("DUMP", dump_cmd)
    com.register("ASTAT", astat_cmd)
    chain_stop(ctx, arm.stop)
    com.tm_sources.append(arm.telemetry)
    return arm
