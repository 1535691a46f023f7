"""`lunasample`: the command line. One module per subcommand in lunasample.commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lunasample import __version__
from lunasample.commands import (
    board_cmd,
    dict_cmd,
    emulate_cmd,
    faults_cmd,
    flash_cmd,
    gds_cmd,
    journal_cmd,
    log_cmd,
    mission_cmd,
    monitor_cmd,
    montecarlo_cmd,
    ports_cmd,
    rig_cmd,
    schema_cmd,
    status_cmd,
)
from lunasample.errors import UserError

COMMANDS = (
    mission_cmd,
    montecarlo_cmd,
    emulate_cmd,
    monitor_cmd,
    gds_cmd,
    status_cmd,
    journal_cmd,
    rig_cmd,
    schema_cmd,
    faults_cmd,
    flash_cmd,
    board_cmd,
    ports_cmd,
    dict_cmd,
    log_cmd,
)

DESCRIPTION = """\
Lunar sample-return sampling controller, after Chang'e-5/6.

The board (RP2040 or ESP32, or an emulated one running the same firmware in
the MicroPython unix port) drills a core, scoops regolith and weighs it; this
host simulates the rest of the mission and commands the board over serial.
Without --port every command runs on an emulated board."""

EPILOG = """\
examples:
  lunasample mission                      full mission, emulated board, report in ./mission-out/
  lunasample mission --port /dev/ttyACM0  the same, sampling on a real board
  lunasample emulate --speed 10           an emulated board for other tools (mpremote, monitor)
  lunasample monitor --port socket://127.0.0.1:PORT
  lunasample flash --port /dev/ttyACM0 --board rpi_pico
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = argparse.ArgumentParser(
        prog="lunasample",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"lunasample {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logs (-vv: debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on the terminal")
    p.add_argument("--log-file", metavar="PATH", help="also write debug-level logs to PATH")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMANDS:
        before = set(sub.choices)
        mod.add_parser(sub)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(run=mod.run)
    return p


def setup_logging(verbose: int, quiet: bool, log_file: str | None) -> None:
    """Terminal level from -v/-q (default: warnings); --log-file gets everything."""
    level = logging.ERROR if quiet else max(logging.DEBUG, logging.WARNING - 10 * verbose)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if log_file else level)
    term = logging.StreamHandler(sys.stderr)
    term.setLevel(level)
    term.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(term)
    if log_file:
        try:
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as e:
            raise UserError(f"--log-file {log_file}: {e.strerror or e}") from None
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one subcommand; user errors print one line and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        setup_logging(args.verbose, args.quiet, args.log_file)
        return int(args.run(args) or 0)
    except UserError as e:
        print(f"lunasample {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lunasample {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
