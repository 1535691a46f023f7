"""`lunasample emulate`: run the firmware on an emulated board behind a serial port."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError

HELP_LINES = """\
commands on stdin:
  fault NAME [VALUE]   inject a fault (VALUE 0 clears): fault drill_jam, fault serial_noise 0.01
  plant NAME VALUE     change a plant parameter, e.g. plant rock_depth_mm 500
  power-cut            cut power; the board boots again from its flash
  speed X              change the speed factor (0 = as fast as possible)
  state                print the plants' true state
  quit                 stop the board"""


def _kv(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        return name, float(value) if sep else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emulate",
        help="run the firmware on an emulated board behind a serial port",
        description="Start the real firmware in the MicroPython unix port with simulated "
        "hardware and print, on the first stdout line, the serial port to open:\n"
        "  pty=/dev/pts/N url=socket://127.0.0.1:PORT\n"
        "Any tool that opens a serial port works with it: lunasample --port, "
        "mpremote connect URL, pyserial. Runs until Ctrl-C.\n\n" + HELP_LINES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--board",
        default="emulator",
        metavar="NAME",
        help="board description from boards/ (default: %(default)s)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="virtual seconds per real second; 0 = as fast as possible (default: %(default)g)",
    )
    p.add_argument(
        "--tcp-port",
        type=int,
        default=0,
        metavar="N",
        help="TCP port for socket:// (default: any free port)",
    )
    p.add_argument(
        "--fs",
        type=Path,
        metavar="DIR",
        help="the board's flash directory (default: a new temporary one); "
        "files the firmware writes persist there between runs",
    )
    p.add_argument(
        "--no-flash",
        action="store_true",
        help="do not copy firmware/ onto the flash first (to test `lunasample "
        "flash` or mpremote against an empty board)",
    )
    p.add_argument(
        "--fault",
        type=_kv,
        action="append",
        default=[],
        metavar="NAME=V",
        help="fault switched on at power-on (repeatable)",
    )
    p.add_argument(
        "--plant",
        type=_kv,
        action="append",
        default=[],
        metavar="NAME=V",
        help="plant parameter, e.g. rock_depth_mm=500 (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the plants' randomness")
    p.set_defaults(run=run)


def _stdin_commands(board: EmulatedBoard, done: threading.Event) -> None:
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            cmd = words[0]
            if cmd == "fault" and len(words) in (2, 3):
                board.inject(words[1], float(words[2]) if len(words) == 3 else 1.0)
            elif cmd == "plant" and len(words) == 3:
                board.set_plant(**{words[1]: float(words[2])})
            elif cmd == "power-cut":
                board.power_cut()
            elif cmd == "speed" and len(words) == 2:
                board.set_speed(float(words[1]))
            elif cmd == "state":
                print(board.query(), flush=True)
            elif cmd == "quit":
                done.set()
                return
            else:
                print(f"? {line.strip()}\n{HELP_LINES}", file=sys.stderr, flush=True)
        except (ValueError, TimeoutError) as e:
            print(f"error: {e}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    board = EmulatedBoard(
        board=args.board,
        speed=args.speed,
        fs_dir=args.fs,
        flash=not args.no_flash,
        seed=args.seed,
        faults=dict(args.fault),
        plant=dict(args.plant),
        tcp_port=args.tcp_port,
    )
    done = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C stops it too, also when started with SIGINT ignored (a
    # background job of a script, where Python raises no KeyboardInterrupt).
    signal.signal(signal.SIGINT, on_term)
    try:
        board.start()
        print(f"pty={board.pty_path} url={board.url}", flush=True)
        print(
            f"emulated {args.board} board, flash in {board.fs_dir}, speed "
            f"{args.speed:g}x; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        threading.Thread(target=_stdin_commands, args=(board, done), daemon=True).start()
        while not done.wait(0.5):
            if not board.alive and board.restarts > 1000:
                raise UserError("the emulated board keeps dying: " + board.stderr_tail(300))
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    return 0
