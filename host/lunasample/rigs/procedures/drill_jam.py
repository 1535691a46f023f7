"""Drill jam recovery: drill a hole with a jam on the way; the drill must back off and go on.

Emulated rig: once the bit is `jam_at_mm` deep, the host injects the
`drill_jam` fault (a torque spike that clears after `jam_backoffs`
back-offs). Real rig: the operator puts a jam fixture (a hard inclusion the
bit binds on) in the test bed at that depth. Recovery time is taken from
telemetry: from the first back-off (phase `df`=4) to the bit feeding again
below the jam depth.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from lunasample.link.client import CommandRejected, Frame
from lunasample.rigs.procedure import ProcedureFailed, Result, RigContext, Setting

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "drill jam recovery: back-off and continue past an injected or fixture jam"
MOVES = True
NEEDS = ("DRILL",)
SETTINGS = {
    "depth_mm": Setting(
        40, 5, 2000, "hole depth, mm (capped by the rig's max_depth_mm)", integer=True
    ),
    "jam_at_mm": Setting(15, 1, 2000, "depth of the jam, mm", integer=True),
    "jam_backoffs": Setting(1, 1, 10, "back-offs the emulated jam needs to clear", integer=True),
    "timeout_s": Setting(120.0, 10, 3600, "longest the hole may take, board s"),
}
LIMITS = {
    "min_jams": Setting(1, 0, 100, "jams the firmware must have detected", integer=True),
    "max_recovery_ms": Setting(
        5000.0, 0, 1e6, "time from the first back-off to feeding past the jam depth, ms"
    ),
    "min_depth_ratio": Setting(0.95, 0, 1, "depth reached / depth asked"),
}
_TM_HZ = 50
_P_FEED = 3
_P_BACKOFF = 4


def run(ctx: RigContext) -> Result:
    """Drill through a jam; see the module docstring."""
    ctx.require(*NEEDS)
    depth = int(min(ctx.setting("depth_mm"), ctx.rig.safety["max_depth_mm"]))
    jam_at = int(ctx.setting("jam_at_mm"))
    if jam_at >= depth:
        raise ProcedureFailed(f"jam_at_mm {jam_at} is not above the hole depth {depth} mm")
    r = Result(columns=["board_s", "depth_mm", "rpm", "current_ma", "phase"])
    if depth < ctx.setting("depth_mm"):
        r.notes.append(f"hole depth capped at the rig's max_depth_mm {depth}")
    ctx.ask(f"put the jam fixture in the test bed {jam_at} mm under the bit's tip and press Enter")
    emu = ctx.emulator
    ctx.command("ARM")
    outcome: list[object] = []
    timeout = ctx.setting("timeout_s")

    def drill() -> None:
        try:
            outcome.append(ctx.run("DRILL", timeout, depth=depth))
        except Exception as e:  # handed to the main thread
            outcome.append(e)

    jam_depth = float(jam_at)
    with ctx.telemetry(_TM_HZ) as frames:
        worker = threading.Thread(target=drill, name="rig-drill", daemon=True)
        worker.start()
        injected = emu is None
        while worker.is_alive():
            dd = int(frames[-1][1].get("dd", 0)) if frames else 0
            ctx.progress(f"{dd} of {depth} mm", dd, depth)
            if not injected and emu is not None:
                now = emu.query()["plants"]["drill"]["depth_mm"]
                if now >= jam_at:
                    emu.inject("drill_jam", int(ctx.setting("jam_backoffs")))
                    injected = True
                    jam_depth = now
                    continue
            worker.join(0.02)
    if emu is not None:
        emu.inject("drill_jam", 0)
    for t, f in frames:
        r.rows.append(
            [round(t, 3), f.get("dd", ""), f.get("dr", ""), f.get("di", ""), f.get("df", "")]
        )
    res = outcome[0]
    if isinstance(res, CommandRejected):
        st = ctx.command("STATUS").fields
        raise ProcedureFailed(
            f"the drill did not recover from the jam at {jam_depth:.0f} mm: "
            f"{res} (board state {st.get('st')}, fault {st.get('flt')})"
        )
    if isinstance(res, BaseException):
        raise res
    assert isinstance(res, Frame)
    got = res.int("depth")
    jams = res.int("jams")
    if ctx.command("STATUS").fields.get("st") == "FAULT":
        ctx.command("RESET")
    backoff = next((t for t, f in frames if f.get("df") == str(_P_BACKOFF)), None)
    recovered = None
    if backoff is not None:
        recovered = next(
            (
                t
                for t, f in frames
                if t > backoff and f.get("df") == str(_P_FEED) and int(f.get("dd", 0)) > jam_depth
            ),
            None,
        )
    r.figure("jams", jams, "", "jams the firmware detected (DONE jams)")
    r.figure("depth_mm", got, "mm", "depth reached (DONE depth)")
    r.figure("depth_ratio", got / depth, "", "depth reached / depth asked")
    r.figure("rock", res.int("rock"), "", "1 when the firmware called the refusal rock")
    r.figure("jam_depth_mm", jam_depth, "mm", "where the jam struck")
    if backoff is None:
        r.notes.append("no back-off seen in telemetry")
    if backoff is not None and recovered is not None:
        r.figure(
            "recovery_ms",
            (recovered - backoff) * 1000.0,
            "ms",
            "first back-off to feeding past the jam depth",
        )

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        ax.plot([t for t, _ in frames], [int(f.get("dd", 0)) for _, f in frames], lw=1)
        ax.axhline(jam_depth, color="red", ls="--", lw=0.8, label="jam")
        ax.invert_yaxis()
        ax.set_xlabel("board time (s)")
        ax.set_ylabel("bit depth (mm)")
        ax.set_title(f"drilling to {depth} mm through a jam")
        ax.legend()

    r.plots["jam_recovery"] = plot
    return r
