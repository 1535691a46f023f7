"""E-stop latency: spin the drill, send ESTOP, time until the drive is cut and the bit stops.

Emulated rig: from the plant's truth (`EmulatedBoard.query()`): the virtual
time just before ESTOP is sent (the emulator runs at 0.05x for that moment,
so the host's own delay counts for little), the instant the drill PWM went to
zero, and the first instant the shaft turns slower than `stop_rpm` (polled
at 1x; 5 ms resolution: the emulator answers queries every 5 ms of board
time).
Real rig: from telemetry at 100 Hz (10 ms resolution); the drive cut is not
visible there, so only the stop time is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lunasample.rigs.procedure import (
    SEND_SPEED,
    ProcedureFailed,
    Result,
    RigContext,
    Setting,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "e-stop latency: time from ESTOP to drive cut and to the drill standing still"
MOVES = True
NEEDS = ("SPIN",)
SETTINGS = {
    "repetitions": Setting(5, 1, 100, "e-stops to time", integer=True),
    "rpm": Setting(
        100, 10, 1000, "drill speed when ESTOP is sent (capped by the rig's safety max_drill_rpm)"
    ),
    "stop_rpm": Setting(1.0, 0.0, 50, "the bit counts as stopped below this speed"),
}
LIMITS = {
    "max_cut_ms": Setting(10.0, 0, 10000, "worst time from ESTOP to the drive cut (emulator)"),
    "max_stop_ms": Setting(500.0, 0, 60000, "worst time from ESTOP to the bit standing still"),
}
_TM_HZ = 100
_SPINUP_S = 5.0  # board seconds for the drill to reach speed
_COAST_S = 10.0  # board seconds for the bit to stop after ESTOP


def run(ctx: RigContext) -> Result:
    """Time `repetitions` e-stops; see the module docstring."""
    ctx.require(*NEEDS)
    reps = int(ctx.setting("repetitions"))
    rpm = min(ctx.setting("rpm"), float(ctx.rig.safety["max_drill_rpm"]))
    stop_rpm = ctx.setting("stop_rpm")
    r = Result(columns=["rep", "rpm_at_estop", "cut_ms", "stop_ms"])
    if rpm < ctx.setting("rpm"):
        r.notes.append(f"drill speed capped at the rig's max_drill_rpm {rpm:g}")
    traces: list[list[tuple[float, float]]] = []
    with ctx.telemetry(_TM_HZ) as frames:
        for rep in range(reps):
            ctx.progress(f"e-stop {rep + 1} of {reps}", rep, reps)
            if rep:
                ctx.command("RESET")
            ctx.command("ARM")
            ctx.command("SPIN", rpm=int(rpm))
            if ctx.emulator is not None:
                got, cut, stop, trace = _emulated(ctx, rpm, stop_rpm)
            else:
                got, cut, stop, trace = _real(ctx, rpm, stop_rpm, frames)
            r.rows.append(
                [rep + 1, round(got, 1), "" if cut is None else round(cut, 2), round(stop, 2)]
            )
            traces.append(trace)
    ctx.command("RESET")
    cuts = [row[2] for row in r.rows if row[2] != ""]
    stops = [row[3] for row in r.rows]
    if cuts:
        r.figure("cut_ms", max(cuts), "ms", "worst time from ESTOP to the drive cut")
        r.figure("cut_ms_mean", sum(cuts) / len(cuts), "ms", "mean time to the drive cut")
    else:
        r.unmeasured["cut_ms"] = "the drive cut is not in telemetry"
    r.figure("stop_ms", max(stops), "ms", f"worst time from ESTOP to below {stop_rpm:g} rpm")
    r.figure("stop_ms_mean", sum(stops) / len(stops), "ms", "mean time to standstill")
    r.figure("rpm", rpm, "rpm", "drill speed when ESTOP was sent")

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        for i, tr in enumerate(traces):
            ax.plot([p[0] for p in tr], [p[1] for p in tr], lw=1, label=f"e-stop {i + 1}")
        ax.axvline(0, color="red", lw=0.8)
        ax.set_xlabel("time since ESTOP sent (ms)")
        ax.set_ylabel("drill speed (rpm)")
        ax.set_title("coast-down after ESTOP")
        ax.legend(fontsize="small")

    r.plots["coastdown"] = plot
    return r


def _emulated(
    ctx: RigContext, rpm: float, stop_rpm: float
) -> tuple[float, float, float, list[tuple[float, float]]]:
    emu = ctx.emulator
    assert emu is not None
    t_end = emu.query()["t_us"] + _SPINUP_S * 1e6
    while True:
        q = emu.query()
        d = q["plants"]["drill"]
        if d["rpm"] >= 0.9 * rpm:
            break
        if q["t_us"] > t_end:
            raise ProcedureFailed(
                f"the drill reached only {d['rpm']:.0f} of {rpm:g} rpm in {_SPINUP_S:g} s"
            )
    speed = emu.speed
    # The moment of sending must be sharp in board time: at 1/20 of real time
    # the host's own delay (scheduling, a busy machine) shrinks twentyfold.
    emu.set_speed(SEND_SPEED)
    try:
        q0 = emu.query()
        ctx.command("ESTOP")
        emu.set_speed(1.0)
        t0 = q0["t_us"]
        trace = [(0.0, q0["plants"]["drill"]["rpm"])]
        while True:
            q = emu.query()
            d = q["plants"]["drill"]
            trace.append(((q["t_us"] - t0) / 1000.0, d["rpm"]))
            if abs(d["rpm"]) <= stop_rpm:
                break
            if q["t_us"] - t0 > _COAST_S * 1e6:
                raise ProcedureFailed(
                    f"the drill still turns at {d['rpm']:.1f} rpm {_COAST_S:g} s after ESTOP"
                )
    finally:
        emu.set_speed(speed)
    cut = max(0.0, (d["pwm_zero_us"] - t0) / 1000.0)
    return q0["plants"]["drill"]["rpm"], cut, trace[-1][0], trace


def _real(
    ctx: RigContext, rpm: float, stop_rpm: float, frames: list[tuple[float, dict[str, str]]]
) -> tuple[float, None, float, list[tuple[float, float]]]:
    def speed_at(i: int) -> float:
        return abs(float(frames[i][1].get("dr", "nan")))

    t_end = ctx.board_s() + _SPINUP_S
    while not frames or not speed_at(-1) >= 0.9 * rpm:
        if ctx.board_s() > t_end:
            got = speed_at(-1) if frames else 0.0
            raise ProcedureFailed(
                f"the drill reached only {got:.0f} of {rpm:g} rpm in {_SPINUP_S:g} s"
            )
        ctx.wait_board(0.02, "spin-up")
    got = speed_at(-1)
    n0 = len(frames)
    _, t0 = ctx.timed("ESTOP")
    t_end = t0 + _COAST_S
    i = n0
    while True:
        while i < len(frames):
            if frames[i][0] >= t0 and speed_at(i) <= stop_rpm:
                trace = [
                    ((t - t0) * 1000.0, abs(float(f.get("dr", "nan"))))
                    for t, f in frames[n0 - 1 : i + 1]
                ]
                return got, None, (frames[i][0] - t0) * 1000.0, trace
            i += 1
        if ctx.board_s() > t_end:
            raise ProcedureFailed(
                f"the drill still turns at {speed_at(-1):.1f} rpm {_COAST_S:g} s after ESTOP"
            )
        ctx.wait_board(0.02, "the coast-down")
