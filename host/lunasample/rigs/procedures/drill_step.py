"""Drill speed step response: from standstill to a set speed in free air (`SPIN rpm=`).

The speed and current come from telemetry at 100 Hz (the board's own
measurement, the same on a real rig and the emulator). Figures: delay to
10 %, rise time 10-90 %, overshoot, settling time into a +-5 % band, and
the steady-state error over the second half of the hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lunasample.rigs.procedure import ProcedureFailed, Result, RigContext, Setting

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "drill step response: rise time, overshoot, settling, steady-state error"
MOVES = True
NEEDS = ("SPIN", "STOP")
SETTINGS = {
    "rpm": Setting(100, 10, 1000, "speed step, rpm (capped by the rig's max_drill_rpm)"),
    "hold_s": Setting(2.0, 0.5, 60, "time at speed, board s"),
    "repetitions": Setting(2, 1, 20, "steps to record", integer=True),
    "band_pct": Setting(5.0, 0.5, 50, "settling band, % of the step"),
}
LIMITS = {
    "max_rise_ms": Setting(400.0, 0, 1e5, "rise time 10-90 %, ms"),
    "max_overshoot_pct": Setting(10.0, 0, 1000, "overshoot, % of the step"),
    "max_settling_ms": Setting(800.0, 0, 1e5, "time to stay within the band, ms"),
    "max_ss_error_pct": Setting(2.0, 0, 100, "mean steady-state error, % of the step"),
}
_TM_HZ = 100
_SPINDOWN_S = 10.0


def _metrics(trace: list[tuple[float, float]], sp: float, band: float) -> dict[str, float]:
    """Step metrics of a (ms since the command, rpm) trace."""

    def first(pred: float) -> float:
        for t, v in trace:
            if v >= pred:
                return t
        return float("nan")

    t10, t90 = first(0.1 * sp), first(0.9 * sp)
    peak = max(v for _, v in trace)
    settle = 0.0
    for t, v in trace:
        if abs(v - sp) > band * sp / 100.0:
            settle = t
    hold = trace[-1][0]
    tail = [v for t, v in trace if t >= hold / 2]
    return {
        "delay_ms": t10,
        "rise_ms": t90 - t10,
        "overshoot_pct": max(0.0, peak - sp) / sp * 100.0,
        "settling_ms": settle,
        "ss_error_pct": abs(sum(tail) / len(tail) - sp) / sp * 100.0,
    }


def run(ctx: RigContext) -> Result:
    """Record `repetitions` speed steps; see the module docstring."""
    ctx.require(*NEEDS)
    sp = min(ctx.setting("rpm"), float(ctx.rig.safety["max_drill_rpm"]))
    hold = ctx.setting("hold_s")
    reps = int(ctx.setting("repetitions"))
    band = ctx.setting("band_pct")
    r = Result(columns=["rep", "t_ms", "rpm", "current_ma"])
    if sp < ctx.setting("rpm"):
        r.notes.append(f"speed step capped at the rig's max_drill_rpm {sp:g}")
    per: list[dict[str, float]] = []
    traces = []
    peak_ma = 0
    ctx.command("ARM")
    with ctx.telemetry(_TM_HZ) as frames:
        for rep in range(reps):
            ctx.progress(f"step {rep + 1} of {reps}", rep, reps)
            n0 = len(frames)
            _, t0 = ctx.timed("SPIN", rpm=int(sp))
            ctx.wait_board(hold, "the step")
            ctx.command("STOP")
            tr = [
                ((t - t0) * 1000.0, float(f.get("dr", "nan")), int(f.get("di", 0)))
                for t, f in frames[n0:]
                if 0.0 <= t - t0 <= hold
            ]
            if len(tr) < 10:
                raise ProcedureFailed(f"only {len(tr)} telemetry frames during the step")
            if "dr" not in frames[-1][1]:
                raise ProcedureFailed("telemetry has no drill speed (dr)")
            per.append(_metrics([(t, v) for t, v, _ in tr], sp, band))
            traces.append(tr)
            peak_ma = max(peak_ma, max(i for _, _, i in tr))
            r.rows += [[rep + 1, round(t, 1), v, i] for t, v, i in tr]
            _spin_down(ctx, frames)
    for k, unit, doc in (
        ("rise_ms", "ms", "worst rise time 10-90 %"),
        ("overshoot_pct", "%", "worst overshoot"),
        ("settling_ms", "ms", f"worst time to stay within +-{band:g} %"),
        ("ss_error_pct", "%", "worst mean steady-state error"),
        ("delay_ms", "ms", "worst delay from command to 10 %"),
    ):
        r.figure(k, max(m[k] for m in per), unit, doc)
    r.figure("peak_current_ma", peak_ma, "mA", "highest drill current during the steps")
    r.figure("rpm", sp, "rpm", "speed step")

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        for i, tr in enumerate(traces):
            ax.plot([p[0] for p in tr], [p[1] for p in tr], lw=1, label=f"step {i + 1}")
        ax.axhline(sp, color="grey", ls="--", lw=0.8)
        ax.set_xlabel("time since SPIN (ms)")
        ax.set_ylabel("drill speed (rpm)")
        ax.set_title(f"step response to {sp:g} rpm")
        ax.legend(fontsize="small")

    r.plots["step_response"] = plot
    return r


def drill_rpm(ctx: RigContext, frames: list[tuple[float, dict[str, str]]]) -> float:
    """The drill's speed now: the plant's truth when emulated, else the last telemetry."""
    if ctx.emulator is not None:
        return float(ctx.emulator.query()["plants"]["drill"]["rpm"])
    return float(frames[-1][1].get("dr", "nan")) if frames else float("nan")


def _spin_down(ctx: RigContext, frames: list[tuple[float, dict[str, str]]]) -> None:
    t_end = ctx.board_s() + _SPINDOWN_S
    while not abs(drill_rpm(ctx, frames)) < 0.5:
        if ctx.board_s() > t_end:
            raise ProcedureFailed(f"the drill still turns {_SPINDOWN_S:g} s after STOP")
        ctx.wait_board(0.05, "spin-down")
