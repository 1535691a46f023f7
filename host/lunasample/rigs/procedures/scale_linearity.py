"""Scale linearity, hysteresis and repeatability over the reference weights.

Each cycle loads the pan with the reference weights in ascending order and
unloads it in descending order, weighing a settled reading at every step.
Non-linearity is the worst residual from the least-squares line through all
readings; repeatability the largest spread of the readings at one weight and
direction over the cycles; hysteresis the largest difference between loading
and unloading at one weight. The scale must be calibrated: on a real rig run
`scale_calibration` first; an emulated board starts with an empty flash, so
it is calibrated here with the rig's calibration weight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected
from lunasample.rigs.procedure import ProcedureFailed, Result, RigContext, Setting
from lunasample.rigs.procedures.scale_calibration import calibrate, weigh

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "scale linearity, hysteresis and repeatability over loading/unloading cycles"
MOVES = False
NEEDS = ("CAL", "WEIGH")
SETTINGS = {
    "cycles": Setting(3, 1, 100, "loading/unloading cycles", integer=True),
    "settle_s": Setting(2.5, 0.1, 60, "wait after a weight is placed before weighing, s"),
    "timeout_s": Setting(30.0, 1, 600, "longest wait for a settled reading, board s"),
}
LIMITS = {
    "max_nonlinearity_g": Setting(1.0, 0, 1e6, "worst residual from the best-fit line, g"),
    "max_repeatability_g": Setting(0.5, 0, 1e6, "largest spread at one weight, g"),
    "max_hysteresis_g": Setting(1.0, 0, 1e6, "largest loading/unloading difference, g"),
}


def run(ctx: RigContext) -> Result:
    """Load and unload the reference weights `cycles` times; see the module docstring."""
    ctx.require(*NEEDS)
    cycles = int(ctx.setting("cycles"))
    settle, timeout = ctx.setting("settle_s"), ctx.setting("timeout_s")
    refs = sorted(float(w) for w in ctx.rig.loadcell["reference_weights_g"])
    r = Result(columns=["cycle", "direction", "reference_g", "measured_g", "error_g"])
    try:
        ctx.command("WEIGH")
    except CommandRejected as e:
        if e.code != proto.E_BAD_STATE:
            raise
        if not ctx.emulated:
            raise ProcedureFailed(f"{e.text}: run the scale_calibration procedure first") from None
        cal = float(ctx.rig.loadcell["calibration_weight_g"])
        ctx.progress(f"calibrating with {cal:g} g", 0, 1)
        calibrate(ctx, cal, timeout)
        r.notes.append(f"the emulated board was calibrated first with {cal:g} g")
    steps = [("up", w) for w in [0.0, *refs]] + [("down", w) for w in reversed([0.0, *refs])]
    steps = [s for i, s in enumerate(steps) if i == 0 or s[1] != steps[i - 1][1]]
    total = cycles * len(steps)
    for c in range(cycles):
        for j, (direction, w) in enumerate(steps):
            ctx.progress(f"cycle {c + 1}: {w:g} g", c * len(steps) + j, total)
            ctx.place_weight(w)
            got = weigh(ctx, settle, timeout)
            r.rows.append([c + 1, direction, w, round(got, 3), round(got - w, 3)])
    ctx.place_weight(0)
    ref = np.array([row[2] for row in r.rows])
    got = np.array([row[3] for row in r.rows])
    slope, icept = np.polyfit(ref, got, 1)
    resid = got - (slope * ref + icept)
    spread = 0.0
    hyst = 0.0
    for w in {row[2] for row in r.rows}:
        by_dir = {
            d: [row[3] for row in r.rows if row[2] == w and row[1] == d] for d in ("up", "down")
        }
        for vals in by_dir.values():
            if len(vals) > 1:
                spread = max(spread, max(vals) - min(vals))
        if by_dir["up"] and by_dir["down"]:
            hyst = max(hyst, abs(float(np.mean(by_dir["up"]) - np.mean(by_dir["down"]))))
    cap = float(ctx.rig.loadcell["capacity_g"])
    nonlin = float(np.max(np.abs(resid)))
    r.figure("nonlinearity_g", nonlin, "g", "worst residual from the least-squares line")
    r.figure(
        "nonlinearity_pct_fs",
        100.0 * nonlin / cap,
        "% FS",
        "non-linearity over the cell's capacity",
    )
    if cycles > 1:
        r.figure(
            "repeatability_g",
            spread,
            "g",
            "largest spread of repeated readings at one weight and direction",
        )
    else:
        r.unmeasured["repeatability_g"] = "one cycle has nothing to repeat"
    r.figure("hysteresis_g", hyst, "g", "largest loading/unloading difference at one weight")
    r.figure("error_g", float(np.max(np.abs(got - ref))), "g", "worst error at any weight")
    r.figure("gain", float(slope), "", "slope of the best-fit line (1 = perfect span)")

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        for d, m in (("up", "^"), ("down", "v")):
            sel = [row for row in r.rows if row[1] == d]
            ax.plot([row[2] for row in sel], [row[4] for row in sel], m, label=f"{d}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("reference weight (g)")
        ax.set_ylabel("error (g)")
        ax.set_title(f"scale error over {cycles} cycles")
        ax.legend()

    r.plots["linearity"] = plot
    return r
