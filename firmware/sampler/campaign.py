# Sampling campaign (SAMPLE): drill a core (stopping at rock) and SEAL it into
# the container, as Chang'e-5 packed its core first; then scoop surface sites
# in turn until the container (core included) reaches the mass target or the
# time budget is spent. Each sample is
# weighed (scale: settled mass before/after), journalled to flash, and only
# then reported. Runs in the soft loop; the drill and arm do the motion.
# Stepped (SAMPLE step=1), the campaign holds after each step (the core
# drilled, the core sealed and weighed, each scoop weighed) until SSTEP runs
# the next one: a ground in the loop looks at each result before the next
# step, as on the Moon, and decides when to stop (SSTEP end=1).
import time

import machine
from micropython import const

from sampler import proto
from sampler import safety as S
from sampler.comms import ACCEPTED, CmdError
from sampler.held import Held
from sampler.arm import A_SCOOP, N_SITES
from sampler.drill import (J_NONE, J_OK, STEPS_PER_MM, abort_reply, chain_stop,
                            check_ready)

# Phases (telemetry "cp").
C_IDLE = const(0)
C_DRILL = const(1)
C_PRE = const(2)  # waiting for a settled scale before a scoop
C_SCOOP = const(3)
C_WEIGH = const(4)
C_SEAL_PRE = const(5)
C_SEAL = const(6)
C_SEAL_WEIGH = const(7)
C_HOLD = const(8)  # stepped: between steps, waiting for SSTEP
C_FINISH = const(9)  # stepped: the next step seals the container and ends
_SETTLE_MIN_MS = const(1000)  # let the pan ring down after the arm stops
_SETTLE_MAX_MS = const(20000)  # then weigh anyway (flagged in the note)


class Campaign:
    def __init__(self, ctx):
        self._ctx = ctx
        ctx.params.declare("sample_max_scoops", 40, 1, 200)
        self.phase = C_IDLE
        self.seq = -1
        self.aborted = 0
        self.target_mg = 0
        self.budget_ms = 0
        self.t0 = 0
        self.t_wait = 0
        self.scoops = 0
        self.site = 0
        self.depth = 0
        self.rock = 0
        self.total = 0
        self.n = 0
        self.unsettled = 0
        self.notes = ""
        self.stepped = 0
        self.resume = C_IDLE  # stepped: the phase SSTEP starts
        self.t_step = 0
        self.last_mg = 0

    def _scale(self):
        return self._ctx.sub.get("scale")

    def start(self, seq, target_g, budget_s, now_ms, stepped=0):
        sub = self._ctx.sub
        self.seq = -1 if stepped else seq
        self.stepped = stepped
        self.aborted = 0
        self.target_mg = target_g * 1000
        self.budget_ms = budget_s * 1000
        self.t0 = now_ms
        self.scoops = 0
        self.site = 0
        self.total = 0
        self.n = 0
        self.unsettled = 0
        notes = []
        if "scale" not in sub:
            notes.append("no_scale")
        if "journal" not in sub:
            notes.append("no_journal")
        self.notes = "+".join(notes)
        if stepped:
            self.resume = C_DRILL
            self.phase = C_HOLD
            return
        sub["drill"].start_drill(-1, self._ctx.params.get("drill_depth_mm"))
        self.phase = C_DRILL

    def run_step(self, seq, end, now_ms):
        """Stepped: run the next step (or, with end, go to the seal)."""
        self.seq = seq
        self.t_step = now_ms
        self.t_wait = now_ms
        ph = C_FINISH if end else self.resume
        if ph == C_DRILL:
            self._ctx.sub["drill"].start_drill(-1, self._ctx.params.get("drill_depth_mm"))
        self.phase = ph

    def _pause(self, resume, fields, now_ms):
        # Stepped: the step is done; report it and hold until the next SSTEP.
        self.resume = resume
        self.phase = C_HOLD
        f = [("step", fields[0])]
        f.extend(fields[1:])
        f.append(("total", self.total))
        f.append(("ms", time.ticks_diff(now_ms, self.t_step)))
        seq = self.seq
        self.seq = -1
        self._ctx.comms.done(seq, f)
        self._ctx.safety.idle()

    def stop(self):
        if self.phase == C_HOLD:
            self.phase = C_IDLE  # nothing moves between steps: the campaign just ends
        elif self.phase != C_IDLE:
            self.aborted = 1

    # -- weighing --------------------------------------------------------
    def _begin_weigh(self, now_ms):
        sc = self._scale()
        if sc is not None:
            sc.begin_sample()
        self.t_wait = now_ms

    def _settled(self, now_ms):
        dt = time.ticks_diff(now_ms, self.t_wait)
        if dt < _SETTLE_MIN_MS:
            return False
        sc = self._scale()
        if sc is None or sc.settled:
            return True
        if dt >= _SETTLE_MAX_MS:
            self.unsettled += 1
            return True
        return False

    def _record(self, kind, site, depth):
        # Weigh, journal, then report: a sample is never reported unstored.
        sc = self._scale()
        mg = sc.end_sample() if sc is not None else 0
        j = self._ctx.sub.get("journal")
        if j is not None:
            self.n = j.append(kind, site, depth, mg, self.seq)
        else:
            self.n += 1
        self.total += mg
        self.last_mg = mg
        self._ctx.comms.event((("kind", "sample"), ("n", self.n), ("kind2", kind),
                               ("site", site), ("depth", depth), ("mg", mg),
                               ("total", self.total)))

    def _more_scoops(self, now_ms):
        sc = self._scale()
        mass = sc.mass_mg if sc is not None else 0
        if sc is not None and mass >= self.target_mg:
            return False
        if self.scoops >= self._ctx.params.get("sample_max_scoops"):
            return False
        if self.stepped:
            return True  # the ground keeps the time between steps (SSTEP end=1)
        return time.ticks_diff(now_ms, self.t0) < self.budget_ms

    # -- soft loop -------------------------------------------------------
    def service(self, now_ms):
        ph = self.phase
        if ph == C_IDLE:
            return
        ctx = self._ctx
        drill = ctx.sub["drill"]
        arm = ctx.sub["arm"]
        if self.aborted:
            self.phase = C_IDLE
            drill.job = J_NONE
            arm.job = J_NONE
            if self.seq >= 0:
                abort_reply(ctx, self.seq)
            return
        try:
            self._advance(ph, now_ms, drill, arm)
        except OSError as e:
            # The journal could not store a sample: stop, report nothing more.
            self.phase = C_IDLE
            ctx.comms.failed(self.seq, proto.E_STORAGE, "journal: " + str(e))
            ctx.safety.trip(S.F_STORAGE)

    def _advance(self, ph, now_ms, drill, arm):
        if ph == C_DRILL:
            if drill.job == J_OK:
                drill.job = J_NONE
                self.depth = drill.max_pos // STEPS_PER_MM
                self.rock = drill.rock
                self.t_wait = now_ms
                self.phase = C_SEAL_PRE
                if self.stepped:
                    self._pause(C_SEAL_PRE, ("drill", ("depth", self.depth), ("rock", self.rock),
                                             ("jams", drill.jams), ("perc", drill.perc_n)), now_ms)
        elif ph == C_PRE:
            if self._settled(now_ms):
                self._begin_weigh(now_ms)
                plan = arm.plan_scoop(self.site)
                irq = machine.disable_irq()  # a job is handed to the tick whole
                arm.start(-1, A_SCOOP, plan, self.site)
                machine.enable_irq(irq)
                self.phase = C_SCOOP
        elif ph == C_SCOOP:
            if arm.job == J_OK:
                arm.job = J_NONE
                self.t_wait = now_ms
                self.phase = C_WEIGH
        elif ph == C_WEIGH:
            if self._settled(now_ms):
                self._record("scoop", self.site, 0)
                self.scoops += 1
                self.site = (self.site + 1) % N_SITES
                if self.stepped:
                    self._step_done(("scoop", ("site", (self.site - 1) % N_SITES),
                                     ("n", self.n), ("mg", self.last_mg)), now_ms)
                else:
                    self._next_scoop(now_ms)
        elif ph == C_SEAL_PRE:
            if self._settled(now_ms):
                self._begin_weigh(now_ms)
                irq = machine.disable_irq()
                drill.start_seal(-1)
                machine.enable_irq(irq)
                self.phase = C_SEAL
        elif ph == C_SEAL:
            if drill.job == J_OK:
                drill.job = J_NONE
                self.t_wait = now_ms
                self.phase = C_SEAL_WEIGH
        elif ph == C_SEAL_WEIGH:
            if self._settled(now_ms):
                self._record("core", -1, self.depth)
                if self.stepped:
                    self._step_done(("core", ("depth", self.depth), ("n", self.n),
                                     ("mg", self.last_mg)), now_ms)
                else:
                    self._next_scoop(now_ms)
        elif ph == C_FINISH:
            self._finish()

    def _step_done(self, fields, now_ms):
        more = self._more_scoops(now_ms)
        self._pause(C_PRE if more else C_FINISH, fields + (("more", 1 if more else 0),),
                    now_ms)

    def _next_scoop(self, now_ms):
        self.t_wait = now_ms
        if self._more_scoops(now_ms):
            self.phase = C_PRE
        else:
            self._finish()

    def _finish(self):
        ctx = self._ctx
        self.phase = C_IDLE
        f = [("mg", self.total), ("scoops", self.scoops), ("depth", self.depth),
             ("rock", self.rock), ("sealed", 1)]
        notes = self.notes
        if self.unsettled:
            notes += ("+" if notes else "") + "unsettled"
        if notes:
            f.append(("note", notes))
        if self.stepped:
            f.insert(0, ("step", "end"))
            f.append(("ms", time.ticks_diff(time.ticks_ms(), self.t_step)))
        ctx.comms.done(self.seq, f)
        ctx.safety.idle()

    def telemetry(self, out):
        out.append(("cp", self.phase))


def make(ctx):
    c = Campaign(ctx)
    saf = ctx.safety

    def sample_cmd(seq, f):
        target = proto.get_int(f, "target", 1, 5000)
        budget = proto.get_int(f, "budget", 1, 86400)
        stepped = proto.get_int(f, "step", 0, 1, 0)
        check_ready(saf)
        arm = ctx.sub.get("arm")
        if "drill" not in ctx.sub or arm is None:
            raise CmdError(proto.E_BAD_STATE, "needs drill and arm")
        if not arm.homed:
            raise CmdError(proto.E_NOT_HOMED, "HOME first")
        sc = ctx.sub.get("scale")
        if sc is not None and not getattr(sc, "calibrated", True):
            raise CmdError(proto.E_BAD_STATE, "scale not calibrated")
        with Held():
            check_ready(saf)
            c.start(seq, target, budget, time.ticks_ms(), stepped)
            if not stepped:
                saf.busy()
        return (("mode", "step"),) if stepped else ACCEPTED

    def sstep_cmd(seq, f):
        end = proto.get_int(f, "end", 0, 1, 0)
        if c.phase != C_HOLD:
            raise CmdError(proto.E_BAD_STATE, "no stepped SAMPLE holding")
        with Held():
            check_ready(saf)
            c.run_step(seq, end, time.ticks_ms())
            saf.busy()
        return ACCEPTED

    ctx.comms.register("SAMPLE", sample_cmd)
    ctx.comms.register("SSTEP", sstep_cmd)
    chain_stop(ctx, c.stop)
    ctx.comms.tm_sources.append(c.telemetry)
    return c
