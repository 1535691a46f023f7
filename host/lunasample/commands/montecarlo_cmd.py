"""`lunasample montecarlo`: fly many dispersed missions and summarise them."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lunasample.errors import UserError
from lunasample.mission.montecarlo import CHUNK_RUNS, MAX_RUNS, run_montecarlo
from lunasample.mission.params import load_params
from lunasample.outdir import check_output_dir
from lunasample.report.montecarlo_report import write_montecarlo

DESCRIPTION = f"""\
Fly N missions with dispersed engines, landing site, regolith, relay phase,
docking errors and entry angle, vectorised with numpy in chunks of {CHUNK_RUNS} runs.
Chunks run on the local cores by default, or on an existing Dask cluster with
--dask. Results depend only on --seed and -n, not on the number of workers.

Writes runs.csv (one row per run), summary.md (success per phase with 95 %
Wilson intervals, failure causes, anomalies, key figures) and
mass_histogram.png into --out.
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
        default=10_000,
        metavar="N",
        help=f"number of missions to fly, 1..{MAX_RUNS} (default: 10000)",
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
    if args.n < 1 or args.n > MAX_RUNS:
        raise UserError(f"-n must be between 1 and {MAX_RUNS}, got {args.n}")
    check_output_dir(args.out)
    params = load_params(args.params)
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]Monte Carlo"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("chunks", total=None)

        def on_chunk(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_montecarlo(
            params,
            args.n,
            args.seed,
            workers=args.workers,
            dask_address=args.dask,
            progress=on_chunk,
        )
    paths = write_montecarlo(result, args.out)
    ok = int(result.success.sum())
    console.print(
        f"{ok}/{result.n} missions succeeded ({ok / result.n:.2%}); "
        f"wrote {', '.join(str(p) for p in paths)}"
    )
    return 0
