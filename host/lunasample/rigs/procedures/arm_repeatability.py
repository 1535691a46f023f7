"""Arm homing and pose repeatability: HOME, then visit the container pose and a surface
site, `repetitions` times.

Emulated rig: the joints' true angles come from the arm plant; figures are
the spread of the true angles at each pose over the repetitions and the
worst difference between the true angles and the firmware's belief (ASTAT).
Real rig: at every visit of the container pose the operator reads a dial
indicator touching the scoop and types the reading; the figure is its spread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lunasample.rigs.procedure import Result, RigContext, Setting

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "arm homing and pose repeatability (container pose and a surface site)"
MOVES = True
NEEDS = ("HOME", "MOVE", "ASTAT")
SETTINGS = {
    "repetitions": Setting(3, 2, 100, "HOME + pose visits", integer=True),
    "site": Setting(0, 0, 7, "surface site visited as the second pose", integer=True),
    "timeout_s": Setting(120.0, 5, 3600, "longest a HOME or MOVE may take, board s"),
}
LIMITS = {
    "max_pose_spread_mdeg": Setting(
        100.0, 0, 1e6, "largest spread of a joint's true angle at one pose (emulator), mdeg"
    ),
    "max_pose_error_mdeg": Setting(
        100.0, 0, 1e6, "largest true-vs-firmware angle difference (emulator), mdeg"
    ),
    "max_indicator_spread_mm": Setting(
        0.5, 0, 1000, "spread of the dial indicator readings at the container pose (real rig), mm"
    ),
    "max_home_s": Setting(60.0, 0, 3600, "longest HOME, board s"),
}


def run(ctx: RigContext) -> Result:
    """HOME and visit two poses `repetitions` times; see the module docstring."""
    ctx.require(*NEEDS)
    reps = int(ctx.setting("repetitions"))
    site = str(int(ctx.setting("site")))
    timeout = ctx.setting("timeout_s")
    r = Result(
        columns=[
            "rep",
            "pose",
            "fw_j1",
            "fw_j2",
            "fw_j3",
            "true_j1",
            "true_j2",
            "true_j3",
            "indicator_mm",
        ]
    )
    home_s: list[float] = []
    ctx.command("ARM")
    for rep in range(reps):
        ctx.progress(f"repetition {rep + 1} of {reps}", rep, reps)
        t0 = ctx.board_now()
        ctx.run("HOME", timeout)
        home_s.append(ctx.board_now() - t0)
        for pose in ("container", site):
            ctx.run("MOVE", timeout, pose=pose)
            a = ctx.command("ASTAT")
            fw = [a.int("j1"), a.int("j2"), a.int("j3")]
            true: list[object] = ["", "", ""]
            ind: object = ""
            if ctx.emulator is not None:
                true = list(ctx.emulator.query()["plants"]["arm"]["mdeg"])
            elif pose == "container":
                ind = ctx.ask_number("read the dial indicator at the scoop (mm) and type it:")
            r.rows.append([rep + 1, pose, *fw, *true, ind])
    ctx.run("MOVE", timeout, pose="stow")
    r.figure("home_s", max(home_s), "s", "longest HOME (board time)")
    if ctx.emulator is not None:
        spread = err = 0.0
        for pose in ("container", site):
            rows = [row for row in r.rows if row[1] == pose]
            for j in range(3):
                vals = [float(row[5 + j]) for row in rows]
                spread = max(spread, max(vals) - min(vals))
                err = max(err, max(abs(float(row[5 + j]) - row[2 + j]) for row in rows))
        r.figure(
            "pose_spread_mdeg", spread, "mdeg", "largest spread of a true joint angle at one pose"
        )
        r.figure("pose_error_mdeg", err, "mdeg", "largest true-vs-firmware joint angle difference")
        r.unmeasured["indicator_spread_mm"] = "no dial indicator on an emulated rig"
    else:
        vals = [float(row[8]) for row in r.rows if row[8] != ""]
        r.figure(
            "indicator_spread_mm",
            max(vals) - min(vals),
            "mm",
            "spread of the dial indicator readings at the container pose",
        )
        r.unmeasured["pose_spread_mdeg"] = "true joint angles are known only on the emulator"
        r.unmeasured["pose_error_mdeg"] = "true joint angles are known only on the emulator"

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        ax.plot(range(1, len(home_s) + 1), home_s, "o-")
        ax.set_xlabel("repetition")
        ax.set_ylabel("HOME duration (board s)")
        ax.set_title("homing")

    r.plots["homing"] = plot
    return r
