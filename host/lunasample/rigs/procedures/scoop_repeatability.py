"""Scoop repeatability: mass per scoop over N scoops (SCOOP digs at a site and dumps into
the container; the scale weighs each scoop as the rise of the container's mass).

The scale must be calibrated (on a real rig run `scale_calibration` first;
an emulated board is calibrated here). On the emulator the true mass each
scoop delivered (the arm plant's container total) is compared with the
weighed one.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected
from lunasample.rigs.procedure import ProcedureFailed, Result, RigContext, Setting
from lunasample.rigs.procedures.scale_calibration import calibrate, weigh

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "scoop repeatability: mass per scoop over N scoops, weighed in the container"
MOVES = True
NEEDS = ("HOME", "SCOOP", "WEIGH")
SETTINGS = {
    "scoops": Setting(8, 2, 100, "scoops to take", integer=True),
    "settle_s": Setting(2.5, 0.1, 60, "wait after a dump before weighing, s"),
    "timeout_s": Setting(300.0, 10, 3600, "longest a HOME or SCOOP may take, board s"),
}
LIMITS = {
    "min_mean_g": Setting(20.0, 0, 1e5, "mean mass per scoop, g"),
    "max_cv_pct": Setting(50.0, 0, 1000, "coefficient of variation of the mass per scoop, %"),
    "max_weigh_error_g": Setting(2.0, 0, 1e5, "weighed vs true mass of a scoop (emulator), g"),
}


def _truth(ctx: RigContext) -> float:
    assert ctx.emulator is not None
    return float(ctx.emulator.query()["plants"]["arm"]["container_g"])


def run(ctx: RigContext) -> Result:
    """Take `scoops` scoops; see the module docstring."""
    ctx.require(*NEEDS)
    n = int(ctx.setting("scoops"))
    settle, timeout = ctx.setting("settle_s"), ctx.setting("timeout_s")
    r = Result(columns=["scoop", "site", "mass_g", "true_g"])
    try:
        ctx.command("WEIGH")
    except CommandRejected as e:
        if e.code != proto.E_BAD_STATE:
            raise
        if not ctx.emulated:
            raise ProcedureFailed(f"{e.text}: run the scale_calibration procedure first") from None
        cal = float(ctx.rig.loadcell["calibration_weight_g"])
        calibrate(ctx, cal, 30.0)
        ctx.place_weight(0)
        r.notes.append(f"the emulated board was calibrated first with {cal:g} g")
    cap = float(ctx.rig.container["capacity_g"])
    ctx.ask("empty the sample container, fill the regolith bed and press Enter")
    ctx.command("ARM")
    ctx.run("HOME", timeout)
    before = weigh(ctx, settle, 60.0)
    start = before
    truth = _truth(ctx) if ctx.emulator is not None else 0.0
    for i in range(n):
        ctx.progress(f"scoop {i + 1} of {n}", i, n)
        site = i % 8
        ctx.run("SCOOP", timeout, site=site)
        after = weigh(ctx, settle, 60.0)
        true: object = ""
        if ctx.emulator is not None:
            t = _truth(ctx)
            true, truth = round(t - truth, 3), t
        r.rows.append([i + 1, site, round(after - before, 3), true])
        before = after
        if after - start > cap * 0.9:
            r.notes.append(f"stopped after {i + 1} scoops: the container is nearly full")
            break
    masses = [row[2] for row in r.rows]
    mean = statistics.fmean(masses)
    sd = statistics.stdev(masses) if len(masses) > 1 else 0.0
    r.figure("mean_g", mean, "g", "mean mass per scoop")
    r.figure("sd_g", sd, "g", "standard deviation of the mass per scoop")
    r.figure(
        "cv_pct", 100.0 * sd / mean if mean else float("nan"), "%", "coefficient of variation"
    )
    r.figure("total_g", sum(masses), "g", "mass delivered to the container")
    if ctx.emulator is not None:
        r.figure(
            "weigh_error_g",
            max(abs(row[2] - float(row[3])) for row in r.rows),
            "g",
            "worst weighed-vs-true scoop mass",
        )
    else:
        r.unmeasured["weigh_error_g"] = "the true scoop mass is known only on the emulator"

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        ax.bar([row[0] for row in r.rows], masses)
        ax.axhline(mean, color="grey", ls="--", lw=0.8, label=f"mean {mean:.1f} g")
        ax.set_xlabel("scoop")
        ax.set_ylabel("mass (g)")
        ax.set_title("mass per scoop")
        ax.legend()

    r.plots["scoop_mass"] = plot
    return r
