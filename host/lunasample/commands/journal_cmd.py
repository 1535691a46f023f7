"""`lunasample journal`: download a board's sample journal, checked, to CSV."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from lunasample import journal
from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.link.client import Link


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `journal` subcommand."""
    p = sub.add_parser(
        "journal",
        help="download the sample journal (CSV)",
        description="Download every sample record from the board's journal, each checked "
        "against its checksum. With --out, only the records after the last one "
        "already in the file are fetched, so an interrupted download resumes.",
    )
    p.add_argument(
        "--port",
        metavar="P",
        help="serial port or pyserial URL of the board (/dev/ttyACM0, socket://host:port)",
    )
    p.add_argument(
        "--emulate", action="store_true", help="read the journal of an emulated board started here"
    )
    p.add_argument(
        "--flash",
        type=Path,
        metavar="DIR",
        help="with --emulate: the emulated board's flash directory (keeps its "
        "journal between runs)",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE.csv",
        help="CSV file to create or bring up to date (default: CSV on stdout)",
    )
    p.add_argument(
        "--clear",
        action="store_true",
        help="after a complete download to --out, clear the board's journal",
    )
    p.set_defaults(run=run)


@contextlib.contextmanager
def _link(args: argparse.Namespace) -> Iterator[Link]:
    if args.port and args.emulate:
        raise UserError("give either --port or --emulate, not both")
    if args.port:
        with Link(args.port) as link:
            yield link
        return
    if not args.emulate:
        raise UserError("no board: give --port P (or --emulate for an emulated board)")
    with EmulatedBoard(speed=0, fs_dir=args.flash) as board, Link(board.url) as link:
        yield link


def run(args: argparse.Namespace) -> int:
    """Download (or resume into --out); returns the exit status."""
    if args.clear and not args.out:
        raise UserError("--clear needs --out: records are cleared only once saved")
    with _link(args) as link:
        if "journal" not in (link.hello.caps if link.hello else []):
            raise UserError(
                f"the board on {link.port} keeps no journal (no journal "
                "subsystem in its board file)"
            )
        if args.out is None:
            journal.to_csv(sys.stdout, journal.download(link))
            return 0
        new, total = journal.sync_csv(link, args.out)
        print(f"{args.out}: {new} new record(s), {total} in all", file=sys.stderr)
        if args.clear:
            last = link.command("JLEN").int("last")
            held = journal.read_csv(args.out)
            if held and held[-1].n >= last:
                link.command("JCLEAR", confirm=1)
                print("board journal cleared", file=sys.stderr)
            else:
                raise UserError("new records arrived during the download: not cleared")
    return 0
