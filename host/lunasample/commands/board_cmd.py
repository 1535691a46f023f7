"""`lunasample board`: check board files against their chip's rules; wiring tables."""

from __future__ import annotations

import argparse
import sys

from lunasample import paths
from lunasample.errors import UserError
from lunasample.hardware.check import check_board
from lunasample.hardware.docs import generated_files
from lunasample.hardware.loader import board_path, read_board
from lunasample.hardware.tables import wiring_table

EPILOG = """\
examples:
  lunasample board check boards/*.json
  lunasample board check my_board.json
  lunasample board wiring esp32_devkitc

The rules (ESP32 flash, strapping and input-only pins, the GPIO36/39 errata,
ADC channels and attenuation, RP2040 PWM slices, the Pico's own pins, the
step drivers' timings, the HX711's RATE pin, fail-safe switch wiring) live
in boards/parts.json with their datasheet sources; docs/hardware.md lists
them. A violation prints one line (file, pin, GPIO, rule, source); any
violation exits 2.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "board",
        help="check board files against their chip's rules",
        description="Check board files; print a board's wiring table.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bs = p.add_subparsers(dest="board_command", metavar="ACTION")
    c = bs.add_parser("check", help="lint board files (names or paths)")
    c.add_argument("files", nargs="*", metavar="FILE", help="board files (default: all shipped)")
    w = bs.add_parser("wiring", help="print a board's wiring table (Markdown)")
    w.add_argument("board", metavar="BOARD", help="board name or file")
    d = bs.add_parser(
        "docs", help="rewrite docs/hardware.md and the rig READMEs' tables (source checkout)"
    )
    d.add_argument("--check", action="store_true", help="exit 1 if any is stale, write nothing")
    p.set_defaults(run=run, board_command=None)


def run(args: argparse.Namespace) -> int:
    if args.board_command == "check":
        files = args.files or [str(paths.BOARDS_DIR / f"{n}.json") for n in paths.board_names()]
        problems: list[str] = []
        for f in files:
            path = board_path(f)
            try:
                raw = read_board(path)
            except UserError as e:
                problems.append(str(e))
                continue
            found = check_board(raw, str(path))
            problems += found
            if not found:
                print(f"{path}: ok")
        for line in problems:
            print(line, file=sys.stderr)
        return 2 if problems else 0
    if args.board_command == "wiring":
        raw = read_board(board_path(args.board))
        print(wiring_table(raw), end="")
        return 0
    if args.board_command == "docs":
        root = paths.FIRMWARE_DIR.resolve().parent
        if not (root / "docs").is_dir():
            raise UserError(f"no docs/ beside {paths.FIRMWARE_DIR}: run this in a source checkout")
        stale = [p for p, text in generated_files(root).items() if p.read_text() != text]
        if args.check:
            for p in stale:
                print(f"{p}: stale (lunasample board docs)", file=sys.stderr)
            return 1 if stale else 0
        for p, text in generated_files(root).items():
            if p in stale:
                p.write_text(text)
                print(f"wrote: {p}")
        return 0
    raise UserError("choose an action: check, wiring or docs (see `lunasample board -h`)")
