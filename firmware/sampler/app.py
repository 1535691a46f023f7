# The sampler application: builds the subsystems named in board.json, wires
# commands, starts the control tick on its timer interrupt and runs the soft
# loop beside it until interrupted (docs/control.md, "Hard and soft").
import gc
import time

import machine
import micropython

from sampler import board as _board
from sampler import proto
from sampler import safety as S
from sampler.comms import ACCEPTED, CmdError, Comms  # noqa: F401 - re-exported
from sampler.config import Params
from sampler.console import Console
from sampler.held import Held
from sampler.loop import Loop

VERSION = "0.1.0"


class Context:
    """What every subsystem gets: board, safety, link, parameters, peers."""

    def __init__(self, board, safety, comms, params):
        self.board = board
        self.safety = safety
        self.comms = comms
        self.params = params
        self.sub = {}
        self.boot_cause = machine.reset_cause()


def _cmd_hello(ctx):
    def hello(seq, f):
        # The version first: a host speaking another one changes nothing here.
        v = proto.get_int(f, "proto", 1, 255)
        if v not in proto.PROTOCOL_VERSIONS:
            have = "+".join([str(x) for x in proto.PROTOCOL_VERSIONS])
            raise CmdError(proto.E_BAD_VERSION, "protocol %d not spoken here" % v,
                           (("proto", have),))
        sid = f.get("sid")
        if not sid:
            raise CmdError(proto.E_BAD_ARG, "missing sid")
        ctx.comms.hello(sid)
        caps = "+".join(["core"] + sorted(ctx.sub))
        return (("fw", VERSION), ("board", ctx.board["name"]), ("proto", v),
                ("caps", caps), ("cause", ctx.boot_cause), ("rate", ctx.board["loop_hz"]))
    return hello


def _core_commands(ctx, loop):
    saf = ctx.safety
    com = ctx.comms

    def ping(seq, f):
        return (("n", proto.get_int(f, "n", 0, 1 << 30, 0)), ("t", time.ticks_ms()))

    def arm(seq, f):
        with Held():
            armed = saf.arm()
        if not armed:
            raise CmdError(proto.E_FAULT_ACTIVE, S.FAULT_NAMES[saf.fault])
        return (("st", S.STATE_NAMES[saf.state]),)

    def disarm(seq, f):
        with Held():
            if saf.state == S.BUSY:
                raise CmdError(proto.E_BUSY, "STOP first")
            saf.disarm()
        return (("st", S.STATE_NAMES[saf.state]),)

    def estop(seq, f):
        with Held():
            saf.estop()
        return (("st", S.STATE_NAMES[saf.state]), ("t", time.ticks_ms()))

    def reset_fault(seq, f):
        if saf.state != S.FAULT:
            raise CmdError(proto.E_BAD_STATE, "no fault")
        for s in ctx.sub.values():
            why = s.fault_active() if hasattr(s, "fault_active") else None
            if why:
                raise CmdError(proto.E_FAULT_ACTIVE, why)
        with Held():
            saf.clear()
        return (("st", S.STATE_NAMES[saf.state]),)

    def status(seq, f):
        gc.collect()  # free heap means live data, so a leak shows as a trend
        out = [("st", S.STATE_NAMES[saf.state]), ("flt", S.FAULT_NAMES[saf.fault]),
               ("why", S.REASON_NAMES[saf.reason]), ("ovr", loop.overruns),
               ("worst", loop.worst_us), ("mem", gc.mem_free()), ("cmds", com.executed),
               ("replays", com.replays), ("rxerr", com.rx_errors)]
        return out

    def tmrate(seq, f):
        if "hz" in f:
            hz = proto.get_int(f, "hz", 0, 100)
            com.tm_period_ms = 1000 // hz if hz else 0
        if "sel" in f:
            try:
                com.tm_select(f["sel"])
            except ValueError as e:
                raise CmdError(proto.E_BAD_ARG, str(e))
        p = com.tm_period_ms
        return (("hz", 1000 // p if p else 0), ("sel", com.tm_selected()))

    def hbto(seq, f):
        com.hb_timeout_ms = proto.get_int(f, "ms", 500, 60000)
        return (("ms", com.hb_timeout_ms),)

    def param(seq, f):
        name = f.get("name")
        if name is None:
            raise CmdError(proto.E_BAD_ARG, "missing name")
        spec = ctx.params.spec(name)
        if spec is None:
            raise CmdError(proto.E_BAD_ARG, "unknown parameter")
        if "value" in f:
            if saf.state == S.BUSY:
                raise CmdError(proto.E_BUSY, "busy")
            v = proto.get_int(f, "value", spec[1], spec[2])
            err = ctx.params.set(name, v)
            if err:
                raise CmdError(proto.E_STORAGE, err)
        return (("name", name), ("value", ctx.params.get(name)), ("lo", spec[1]),
                ("hi", spec[2]))

    def params(seq, f):
        i = proto.get_int(f, "i", 0, 1000, 0)
        names = ctx.params.names()
        if i >= len(names):
            return (("n", len(names)),)
        return (("n", len(names)), ("name", names[i]), ("value", ctx.params.get(names[i])))

    for name, fn in (("ARM", arm), ("DISARM", disarm), ("ESTOP", estop),
                     ("RESET", reset_fault), ("PARAM", param), ("HELLO", _cmd_hello(ctx)),
                     ("PING", ping), ("STATUS", status), ("TMRATE", tmrate), ("HBTO", hbto),
                     ("PARAMS", params)):
        com.register(name, fn)

    mem = [0, time.ticks_add(time.ticks_ms(), -1000)]  # free heap; when measured (ms)

    def core_tm(out):
        out.append(("st", saf.state))
        out.append(("flt", saf.fault))
        out.append(("ovr", loop.overruns))
        out.append(("wst", loop.worst_us))
        now = time.ticks_ms()
        if time.ticks_diff(now, mem[1]) >= 1000:
            # mem_free() walks the whole heap's allocation table, ~8 ms on
            # an RP2040: once a second (the control tick pre-empts it).
            mem[0] = gc.mem_free()
            mem[1] = now
        out.append(("mem", mem[0]))
    com.tm_sources.append(core_tm)


def build():
    """Construct everything; returns (ctx, loop). Separate from run() for tests."""
    from sampler import estop

    gc.collect()  # the imports' garbage, before the objects that stay for good
    b = _board.load()
    saf = S.Safety()
    comms = Comms(Console(), saf)
    params = Params()
    ctx = Context(b, saf, comms, params)
    if "estop" in b["pins"]:
        # First, so that its check leads every tick's control step.
        ctx.sub["estop"] = estop.make(ctx)
    for name in b.get("subsystems", ()):
        mod = __import__("sampler." + name, None, None, ("make",))
        ctx.sub[name] = mod.make(ctx)
    params.declare("hb_timeout_ms", 5000, 500, 60000)
    params.load()
    comms.hb_timeout_ms = params.get("hb_timeout_ms")
    movers = [s for s in ctx.sub.values() if hasattr(s, "stop")]
    saf.set_movers(movers)
    # The ESP32 port's timer callbacks are scheduled, never hard.
    loop = Loop(b["loop_hz"], hard=b.get("mcu") != "ESP32")
    _core_commands(ctx, loop)
    return ctx, loop


def _one_call(row):
    """A tick's steps as one callable, None for none: the empty tick of a
    board whose work is spread (the RP2040's) costs a look-up, not a call."""
    if not row:
        return None
    if len(row) == 1:
        return row[0]
    row = tuple(row)

    @micropython.native
    def each(now_us):
        for f in row:
            f(now_us)

    return each


def schedule(ctx, wdt, alive=None):
    """The hard part: an allocation-free table of one callable (or None)
    per tick of a cycle, walked by Loop's timer interrupt: each subsystem's
    step at its rate, and the watchdog (wdt[0], once started) once a cycle.

    Subsystems named in the board's "step_hz" run every loop_hz // rate
    ticks, each on its own tick of that cycle, so the slower work (the
    drill's and the arm's supervision, the step generator's batches on a PIO
    board) spreads over the ticks; the rest run every tick. A tick costs the
    loop one look-up and, on a tick with work, one call."""
    hz = ctx.board["loop_hz"]
    subs = [(n, s) for n, s in ctx.sub.items() if hasattr(s, "step")]
    divs = {}
    cycle = 1
    for name, sub in subs:
        # A subsystem may fix its own rate (the step generator without its
        # PIO steps every tick); else the board file's step_hz.
        d = hz // (getattr(sub, "rate_hz", 0) or _board.step_hz(ctx.board, name))
        if d > 1:
            divs[name] = d
            c = cycle
            while c % d:
                c += cycle  # the least common multiple of all the dividers
            cycle = c
    # Each divided subsystem takes the offset in its cycle whose ticks carry
    # the fewest divided steps so far: the slow work spreads over the ticks.
    load = [0] * cycle
    offset = {}
    for name in divs:
        d = divs[name]
        best = 0
        best_load = cycle + 1
        for o in range(d):
            worst = max(load[t] for t in range(o, cycle, d))
            if worst < best_load:
                best, best_load = o, worst
        offset[name] = best
        for t in range(best, cycle, d):
            load[t] += 1
    if cycle * 1000 // hz > ctx.board.get("watchdog_ms", 500) // 4:
        raise RuntimeError("board.json: step_hz cycle of %d ticks is too long for the watchdog"
                           % cycle)

    watch = alive is not None
    alive = alive or [1]

    def feed(now_us):
        # Fed only while the soft loop also runs (it sets alive[0] each
        # pass): a hung soft loop must reset the board as a hung tick does.
        w = wdt[0]
        if w is not None and alive[0]:
            if watch:
                alive[0] = 0
            w.feed()

    table = []
    for t in range(cycle):
        row = [feed] if t == load.index(min(load)) else []
        for name, sub in subs:
            d = divs.get(name, 1)
            if d == 1 or t % d == offset[name]:
                row.append(sub.step)
        table.append(_one_call(row))
    return tuple(table)


def soft_step(ctx, wdt, alive):
    """The soft part, one pass (may allocate, no deadline): every
    subsystem's service, then the link (commands answered as they arrive,
    events, heartbeat, telemetry when due); starts the watchdog (wdt[0]) at
    the first ARM. True when the link had bytes to read."""
    comms = ctx.comms
    saf = ctx.safety
    # A service hands a job to the control tick with the tick held off
    # (machine.disable_irq), so the tick never sees one half set up, nor a
    # stop undone by the rest of a start; the rest of it runs pre-emptible.
    services = tuple(s.service for s in ctx.sub.values() if hasattr(s, "service"))

    def soft():
        now_ms = time.ticks_ms()
        for service in services:
            service(now_ms)
        busy = comms.service(now_ms)
        alive[0] = 1
        if wdt[0] is None and saf.state != S.SAFE:
            # The watchdog starts at the first ARM: once running it cannot be
            # stopped, and a board sitting at the REPL must not reset.
            wdt[0] = machine.WDT(timeout=ctx.board.get("watchdog_ms", 500))
        return busy

    return soft


def main():
    ctx, loop = build()
    wdt = [None]
    alive = [1]
    table = schedule(ctx, wdt, alive)
    soft = soft_step(ctx, wdt, alive)
    ctx.comms.event((("kind", "boot"), ("cause", ctx.boot_cause), ("fw", VERSION)))
    loop.start(table)
    try:
        loop.run(soft)
    finally:
        loop.stop()
        ctx.safety.stop_all()
