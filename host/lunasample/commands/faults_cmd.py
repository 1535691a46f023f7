"""`lunasample faults`: the fault-injection campaign on emulated boards."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lunasample.commands.progress_view import progress_enabled, rich_progress
from lunasample.faults.campaign import ms, run_campaign, summary_line, write_results
from lunasample.faults.scenarios import SAFE_LIMIT_MS, SCENARIOS
from lunasample.outdir import check_output_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "faults",
        help="fault-injection campaign on emulated boards",
        description="Run sampling campaigns on fresh emulated boards and break them: drill "
        "jam, motor stall, encoder loss, HX711 timeout and stuck value, arm stall, "
        "stuck limit switch, e-stop, power cuts (mid-scoop, mid-journal-write), "
        "cable cut, host crash, garbage on the line. Each scenario passes when "
        f"motion stops within {SAFE_LIMIT_MS:g} ms of virtual time, the board "
        "reports why, and every acknowledged sample record is in the journal "
        "exactly once. Prints a table and `scenarios=N failed=F records_lost=L`.",
    )
    p.add_argument("action", choices=("run", "list"), help="run the campaign, or list scenarios")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run just these scenarios")
    p.add_argument("--seed", type=int, default=1, help="seed of the first board (default: 1)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("faults-out"),
        metavar="DIR",
        help="results directory (default: %(default)s)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    con = Console()
    if args.action == "list":
        for name, (desc, _) in SCENARIOS.items():
            con.print(f"{name:28} {desc}")
        return 0
    check_output_dir(args.out)
    with rich_progress(progress_enabled(args, con), con) as report:

        def progress(name: str, i: int, n: int) -> None:
            report("faults", i, n, name)

        results = run_campaign(args.only, args.seed, progress)
    t = Table(title="fault-injection campaign")
    for col in ("scenario", "detect ms", "safe ms", "reported", "acked", "recovered", "result"):
        t.add_column(col)
    for r in results:
        verdict = "[green]pass[/]" if r.passed else f"[red]FAIL[/] {r.why}"
        t.add_row(
            r.scenario,
            ms(r.detect_ms),
            ms(r.safe_ms),
            r.reported,
            str(r.acked),
            str(r.recovered),
            verdict,
        )
    con.print(t)
    write_results(results, args.out)
    line = summary_line(results)
    print(line)
    return 0 if all(r.passed for r in results) else 1
