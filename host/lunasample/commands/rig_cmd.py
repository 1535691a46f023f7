"""`lunasample rig`: bench procedures on a physical rig, or unchanged on an emulated board."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lunasample.commands.progress_view import progress_enabled, rich_progress
from lunasample.errors import UserError
from lunasample.rigs import compare, registry, schema
from lunasample.rigs.runner import run_procedure

EPILOG = """\
examples:
  lunasample rig list
  lunasample rig run link_soak                        on an emulated board (rig 'emulator')
  lunasample rig run scale_calibration --rig rp2040_bench --port /dev/ttyACM0
  lunasample rig run drill_step --rig esp32_bench --port /dev/ttyUSB0 --yes
  lunasample rig compare rig-results/A rig-results/B
  lunasample rig check test_rigs/my_rig/rig.toml
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rig",
        help="bench procedures on a test rig (or the emulator)",
        description="Calibration, repeatability, step-response, e-stop and link procedures "
        "for a bench rig described in test_rigs/<rig>/rig.toml. Without --port "
        "the rig's board is emulated and reference weights and faults are set "
        "by the host. Results go to a dated folder with a CSV, summary.md and "
        "plots; `rig run` exits 0 when every limit of the rig file passes, 1 "
        "when one fails.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rs = p.add_subparsers(dest="rig_command", metavar="ACTION")
    lp = rs.add_parser("list", help="list the procedures and rigs")
    lp.set_defaults(run=run)
    rp = rs.add_parser(
        "run", help="run one procedure", description="Run PROCEDURE on a rig and check its limits."
    )
    rp.add_argument("procedure", metavar="PROCEDURE", help="a procedure from `rig list`")
    rp.add_argument(
        "--rig",
        default=schema.DEFAULT_RIG,
        metavar="R",
        help="rig name in test_rigs/ or path of a rig.toml (default: %(default)s)",
    )
    rp.add_argument(
        "--port",
        metavar="P",
        help="serial port or pyserial URL of the rig's board; omit to emulate it",
    )
    rp.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation before moving motors"
    )
    rp.add_argument(
        "--out",
        type=Path,
        default=Path("rig-results"),
        metavar="DIR",
        help="where the results folder goes (default: %(default)s)",
    )
    rp.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="emulator speed factor (default: the rig file's, else as fast as possible)",
    )
    rp.add_argument("--log", type=Path, metavar="FILE", help="log every frame to FILE (JSONL)")
    rp.set_defaults(run=run)
    cp = rs.add_parser("compare", help="show two results folders side by side")
    cp.add_argument("a", type=Path, metavar="A", help="results folder")
    cp.add_argument("b", type=Path, metavar="B", help="results folder")
    cp.set_defaults(run=run)
    kp = rs.add_parser("check", help="validate a rig description")
    kp.add_argument(
        "rig",
        nargs="?",
        default=schema.DEFAULT_RIG,
        metavar="R",
        help="rig name or path of a rig.toml (default: %(default)s)",
    )
    kp.set_defaults(run=run)
    p.set_defaults(run=run, rig_command=None)


def run(args: argparse.Namespace) -> int:
    """Dispatch `lunasample rig ACTION`."""
    con = Console()
    action = args.rig_command
    if action == "list":
        return _list(con)
    if action == "run":
        return _run(con, args)
    if action == "compare":
        cmp, warnings = compare.table(args.a, args.b)
        for w in warnings:
            con.print(f"[yellow]warning:[/] {w}")
        t = Table(title=cmp.title)
        for col in compare.COLUMNS:
            t.add_column(col, justify="left" if col in ("figure", "unit") else "right")
        for row in cmp.rows:
            t.add_row(*row)
        con.print(t)
        return 0
    if action == "check":
        rig = schema.load_rig(args.rig)
        con.print(f"{rig.path}: rig {rig.name} on board {rig.board_name}: ok")
        return 0
    raise UserError("choose an action: list, run, compare or check (see `lunasample rig -h`)")


def _list(con: Console) -> int:
    t = Table(title="procedures (lunasample rig run NAME)")
    t.add_column("procedure")
    t.add_column("moves")
    t.add_column("what it measures")
    for name, p in registry.procedures().items():
        t.add_row(name, "yes" if p.moves else "", p.title)
    con.print(t)
    r = Table(title="rigs (--rig NAME)")
    r.add_column("rig")
    r.add_column("board")
    r.add_column("description")
    for name in schema.rig_names():
        rig = schema.load_rig(name)
        r.add_row(name, rig.board_name, rig.description)
    con.print(r)
    return 0


def _run(con: Console, args: argparse.Namespace) -> int:
    proc = registry.get(args.procedure)
    rig = schema.load_rig(args.rig)
    where = args.port or f"an emulated {rig.board_name}"
    con.print(f"{proc.name} on rig {rig.name} ({where})")
    with rich_progress(progress_enabled(args, con), con) as bars:

        def ask(prompt: str) -> str:
            with bars.paused():
                return input(prompt)

        out = run_procedure(
            rig,
            proc,
            port=args.port,
            yes=args.yes,
            out_dir=args.out,
            speed=args.speed,
            log=args.log,
            ask=ask,
            report=bars,
        )
    t = Table(show_header=True)
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("unit")
    for k, f in out.result.figures.items():
        t.add_row(k, f"{f.value:.4g}", f.unit)
    if out.result.figures:
        con.print(t)
    for c in out.checks:
        mark = {True: "[green]pass[/]", False: "[bold red]FAIL[/]", None: "[dim]n/a[/]"}
        con.print(f"  {mark[c.passed]}  {c.limit}: {c.text}")
    if out.reason:
        con.print(f"[bold red]FAIL:[/] {out.reason}")
    verdict = "[bold green]PASS[/]" if out.passed else "[bold red]FAIL[/]"
    con.print(f"{verdict}  results in {out.path}")
    return 0 if out.passed else 1
