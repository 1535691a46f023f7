"""`lunasample montecarlo`: fly many dispersed missions and summarise them."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from lunasample.commands.progress_view import progress_enabled, rich_progress
from lunasample.errors import UserError
from lunasample.mission.firmware_mc import MAX_FIRMWARE_RUNS, run_firmware_montecarlo
from lunasample.mission.montecarlo import CHUNK_RUNS, MAX_RUNS, run_montecarlo
from lunasample.mission.params import load_params
from lunasample.outdir import check_output_dir
from lunasample.paths import load_board
from lunasample.report.montecarlo_report import write_firmware_comparison, write_montecarlo

DESCRIPTION = f"""\
Fly N missions with dispersed engines, landing site, regolith, relay phase,
docking errors and entry angle, vectorised with numpy in chunks of {CHUNK_RUNS} runs.
Chunks run on the local cores by default, or on an existing Dask cluster with
--dask. Results depend only on --seed and -n, not on the number of workers.

Writes runs.csv (one row per run), summary.md (success per phase with 95 %
Wilson intervals, failure causes, anomalies, key figures) and
mass_histogram.png into --out.

With --firmware, each run's sampling phase runs on the real firmware (a fresh
emulated board per run, in lockstep with the host) as one task on the local
cores or the Dask cluster; the other phases fly vectorised. The same draws are
flown with the numpy surrogate too: surrogate_vs_firmware.md gives its error
run by run, before and after fitting its constants to the firmware's steps
(surrogate_fit.toml, usable with --params); firmware_runs.csv lists the runs.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``montecarlo`` subcommand."""
    p = subparsers.add_parser(
        "montecarlo",
        help="Monte Carlo over mission dispersions",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-n",
        type=int,
        default=None,
        metavar="N",
        help=f"number of missions to fly, 1..{MAX_RUNS} (default: 10000; "
        f"with --firmware 1..{MAX_FIRMWARE_RUNS}, default 4)",
    )
    p.add_argument(
        "--firmware",
        action="store_true",
        help="run each mission's sampling on the firmware (an emulated board per run)",
    )
    p.add_argument(
        "--board",
        default="emulator",
        metavar="NAME",
        help="board description for the emulated boards with --firmware (default: emulator)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="W",
        help="local worker processes (default: one per core; 1 = in process)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDR",
        default=None,
        help="run on the Dask scheduler at ADDR, e.g. tcp://10.0.0.5:8786 "
        "(needs: pip install lunasample[dask])",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("montecarlo-out"),
        metavar="DIR",
        help="output directory (default: ./montecarlo-out/)",
    )
    p.add_argument(
        "--params",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML file overriding mission parameters key by key",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the campaign and write its outputs; 0 on completion."""
    limit = MAX_FIRMWARE_RUNS if args.firmware else MAX_RUNS
    n = args.n if args.n is not None else (4 if args.firmware else 10_000)
    if n < 1 or n > limit:
        raise UserError(f"-n must be between 1 and {limit}, got {n}")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    check_output_dir(args.out)
    params = load_params(args.params)
    if args.firmware:
        load_board(args.board)  # a bad board fails here, before any run
    console = Console(stderr=True)
    unit = "runs on the firmware" if args.firmware else "chunks"
    with rich_progress(progress_enabled(args, console), console) as report:

        def on_done(done: int, total: int) -> None:
            report("montecarlo", done, total, unit)

        if args.firmware:
            fmc = run_firmware_montecarlo(
                params,
                n,
                args.seed,
                board=args.board,
                workers=args.workers,
                dask_address=args.dask,
                progress=on_done,
            )
            result = fmc.firmware
        else:
            result = run_montecarlo(
                params,
                n,
                args.seed,
                workers=args.workers,
                dask_address=args.dask,
                progress=on_done,
            )
    paths = write_montecarlo(result, args.out)
    if args.firmware:
        paths += write_firmware_comparison(fmc, args.out)
    ok = int(result.success.sum())
    console.print(
        f"{ok}/{result.n} missions succeeded ({ok / result.n:.2%}); "
        f"wrote {', '.join(str(p) for p in paths)}"
    )
    return 0
