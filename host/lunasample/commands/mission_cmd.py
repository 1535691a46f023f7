"""`lunasample mission`: fly a whole sample-return mission; sampling runs on the board."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lunasample.commands.progress_view import progress_enabled, rich_progress
from lunasample.mission.flight import PHASES
from lunasample.mission.params import load_params
from lunasample.mission.runner import MissionResult, run_mission
from lunasample.mission.sampling import SurrogateSampler
from lunasample.mission.sampling_board import board_sampler
from lunasample.outdir import check_output_dir
from lunasample.preflight import ensure_calibrated
from lunasample.report.outputs import write_outputs
from lunasample.session import add_board_args, open_session

logger = logging.getLogger(__name__)


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
    with rich_progress(progress_enabled(args, con), con) as report:
        n = len(PHASES)

        def progress(phase: str, fraction: float) -> None:
            report("mission", round(fraction * n, 2), n, phase)

        if args.surrogate:
            result = run_mission(
                params, SurrogateSampler(params.sampling.surrogate), args.seed, progress
            )
        else:
            report("mission", 0, n, "starting board")
            # Unpaced emulated boards run in lockstep with the host, seeded by the
            # mission: the same seed gives the same board time and the same sample.
            emulated = {"lockstep": True, "seed": args.seed} if args.speed <= 0 else {}
            with open_session(args, **emulated) as s:
                if ensure_calibrated(s):
                    logger.info("scale calibrated (pre-flight)")
                report("mission", 0, n, f"sampling on {s.where}")
                sampler = board_sampler(s, params, report)
                result = run_mission(params, sampler, args.seed, progress)
    write_outputs(result, args.out)
    _summary(result, args.out, con)
    return 0 if result.success else 1
