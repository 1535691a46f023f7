"""`lunasample mission`: fly a whole sample-return mission; sampling runs on the board."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lunasample.mission.params import load_params
from lunasample.mission.runner import MissionResult, run_mission
from lunasample.mission.sampling import SurrogateSampler
from lunasample.mission.sampling_board import board_sampler
from lunasample.outdir import check_output_dir
from lunasample.preflight import ensure_calibrated
from lunasample.report.outputs import write_outputs
from lunasample.session import add_board_args, open_session


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mission",
        help="fly a full sample-return mission (the main job)",
        description="Fly a Chang'e-6-like mission: launch, transfer, lunar orbit insertion, "
        "descent and landing, surface operations, sampling by the firmware (drill "
        "core + scoops to the 2 kg target, then seal), ascent, rendezvous and "
        "docking, sample transfer, trans-Earth injection, skip re-entry, landing. "
        "Sampling runs on an emulated board by default, on a real one with --port. "
        "Writes timeline.csv/json, report.md and plots to --out.",
    )
    add_board_args(p, default_speed=0.0)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("mission-out"),
        metavar="DIR",
        help="output directory (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    p.add_argument(
        "--params",
        type=Path,
        metavar="FILE",
        help="TOML file overriding mission parameters key by key",
    )
    p.add_argument(
        "--surrogate",
        action="store_true",
        help="sample with the numpy surrogate instead of the firmware",
    )
    p.set_defaults(run=run)


def _summary(result: MissionResult, out: Path, con: Console) -> None:
    t = Table(title="mission timeline")
    for col in ("phase", "status", "key figures"):
        t.add_column(col)
    for ph in result.phases:
        style = {"pass": "green", "fail": "red"}.get(ph.status, "dim")
        figs = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in list(ph.figures.items())[:3]
        )
        t.add_row(ph.name, f"[{style}]{ph.status}[/]", figs)
    con.print(t)
    if result.sampling is not None:
        s = result.sampling
        con.print(
            f"sample: {s.mass_g:.1f} g ({s.scoops} scoops, core {s.core_depth_mm} mm, "
            f"sealed={s.sealed}) from {s.source}"
        )
    verdict = "[green]SUCCESS[/]" if result.success else "[red]FAILED[/]"
    con.print(f"{verdict}: {result.returned_g:.1f} g returned; report in {out}/report.md")


def run(args: argparse.Namespace) -> int:
    con = Console()
    check_output_dir(args.out)
    params = load_params(args.params)
    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=con) as bar:
        task = bar.add_task("mission", total=1.0, detail="")

        def progress(phase: str, fraction: float) -> None:
            bar.update(task, completed=fraction, description=phase)

        if args.surrogate:
            result = run_mission(
                params, SurrogateSampler(params.sampling.surrogate), args.seed, progress
            )
        else:
            bar.update(task, detail="starting board")
            # Unpaced emulated boards run in lockstep with the host, seeded by the
            # mission: the same seed gives the same board time and the same sample.
            emulated = {"lockstep": True, "seed": args.seed} if args.speed <= 0 else {}
            with open_session(args, **emulated) as s:
                if ensure_calibrated(s):
                    bar.update(task, detail="scale calibrated (pre-flight)")
                bar.update(task, detail=f"sampling on {s.where}")
                result = run_mission(params, board_sampler(s, params), args.seed, progress)
        bar.update(task, completed=1.0, description="done", detail="")
    write_outputs(result, args.out)
    _summary(result, args.out, con)
    return 0 if result.success else 1
