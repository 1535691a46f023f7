"""Load-cell calibration with reference weights, then a check at every reference weight.

Two-point calibration on the board (`CAL point=0` with the pan empty, `CAL
point=1 g=<grams>` with the calibration weight; stored in the board's flash),
then each reference weight is weighed and its error recorded. On a real rig
the operator is asked to place each weight ("place 500 g and press Enter");
on an emulated rig the host puts the weights on the simulated pan (the
load-cell plant's `extra_g`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lunasample.link.client import CommandRejected
from lunasample.preflight import calibrate_scale
from lunasample.rigs.procedure import ProcedureFailed, Result, RigContext, Setting

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "load-cell calibration with reference weights, checked at every weight"
MOVES = False
NEEDS = ("CAL", "WEIGH")
SETTINGS = {
    "settle_s": Setting(2.5, 0.1, 60, "wait after a weight is placed before weighing, s"),
    "timeout_s": Setting(30.0, 1, 600, "longest wait for a settled reading, board s"),
}
LIMITS = {
    "max_error_g": Setting(1.0, 0, 1e6, "worst error at a reference weight, g"),
}


def calibrate(ctx: RigContext, grams: float, timeout_s: float) -> int:
    """Two-point calibration with `grams` on the pan; returns the board's factor k."""
    try:
        return calibrate_scale(ctx.run, ctx.place_weight, grams, timeout_s)
    except CommandRejected as e:
        st = ctx.command("STATUS").fields
        fault = f"; board fault {st.get('flt')}" if st.get("st") == "FAULT" else ""
        raise ProcedureFailed(f"calibration failed: {e.text or e} ({e}{fault})") from None


def weigh(ctx: RigContext, settle_s: float, timeout_s: float) -> float:
    """A settled reading in grams, `settle_s` after the load changed."""
    ctx.wait_board(settle_s, "settling")
    t_end = ctx.board_s() + timeout_s
    while True:
        r = ctx.command("WEIGH")
        if r.int("settled"):
            return r.int("mg") / 1000.0
        if ctx.board_s() > t_end:
            raise ProcedureFailed(
                f"the scale did not settle within {timeout_s:g} s "
                f"(reading {r.int('mg') / 1000.0:g} g)"
            )
        ctx.wait_board(0.2, "settling")


def run(ctx: RigContext) -> Result:
    """Calibrate, then weigh every reference weight; see the module docstring."""
    ctx.require(*NEEDS)
    cell = ctx.rig.loadcell
    cal_g = float(cell["calibration_weight_g"])
    refs = [float(w) for w in cell["reference_weights_g"]]
    settle, timeout = ctx.setting("settle_s"), ctx.setting("timeout_s")
    ctx.progress(f"calibrating with {cal_g:g} g", 0, len(refs) + 1)
    k = calibrate(ctx, cal_g, timeout)
    r = Result(columns=["reference_g", "measured_g", "error_g"])
    for i, w in enumerate([0.0, *refs]):
        ctx.progress(f"checking {w:g} g", i + 1, len(refs) + 2)
        ctx.place_weight(w)
        got = weigh(ctx, settle, timeout)
        r.rows.append([w, round(got, 3), round(got - w, 3)])
    ctx.place_weight(0)
    errs = [abs(row[2]) for row in r.rows]
    r.figure("error_g", max(errs), "g", "worst error at a reference weight")
    r.figure("zero_g", r.rows[0][1], "g", "reading with the pan empty after calibration")
    r.figure(
        "mg_per_count",
        k / (1 << 24),
        "mg",
        "calibration factor stored on the board (mg per HX711 count)",
    )
    r.figure("calibration_g", cal_g, "g", "weight used for the calibration point")

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        ax.plot([row[0] for row in r.rows], [row[2] for row in r.rows], "o-")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("reference weight (g)")
        ax.set_ylabel("error (g)")
        ax.set_title(f"after calibration with {cal_g:g} g")

    r.plots["calibration_error"] = plot
    return r
