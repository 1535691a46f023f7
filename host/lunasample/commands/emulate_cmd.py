"""`lunasample emulate`: run the firmware on an emulated board behind a serial port."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.emulator.rp2040js import PicoBoard
from lunasample.errors import UserError
from lunasample.flashing import flash

HELP_LINES = """\
commands on stdin:
  fault NAME [VALUE]   inject a fault (VALUE 0 clears): fault drill_jam, fault serial_noise 0.01
  plant NAME VALUE     change a plant parameter, e.g. plant rock_depth_mm 500
  power-cut            cut power; the board boots again from its flash
  speed X              change the speed factor (0 = as fast as possible)
  state                print the plants' true state
  quit                 stop the board"""

PICO_HELP_LINES = """\
commands on stdin (--engine rp2040js):
  pin GPIO 0|1         drive an input pin, e.g. pin 22 1 opens the e-stop loop
  stats                print the watched output pins' edges (board clock, ns)
                       and the homed axes' positions (steps)
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
        "mpremote connect URL, pyserial. Runs until Ctrl-C.\n\n"
        "--engine rp2040js runs MicroPython's rp2 port on an emulated Raspberry Pi "
        "Pico (rp2040js under Node.js) instead, flashed with the firmware as "
        "`lunasample flash` does, and prints url=socket://127.0.0.1:PORT (its USB "
        "serial; no pty). UF2 and bootrom: LUNASAMPLE_PICO_UF2, "
        "LUNASAMPLE_PICO_BOOTROM (default ../shared/rp2040/).\n\n"
        + HELP_LINES
        + "\n\n"
        + PICO_HELP_LINES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--engine",
        choices=("unix", "rp2040js"),
        default="unix",
        help="unix: the MicroPython unix port with simulated hardware; rp2040js: the rp2 "
        "port on an emulated Pico (default: %(default)s)",
    )
    p.add_argument(
        "--board",
        default=None,
        metavar="NAME",
        help="board description from boards/ (default: emulator; rpi_pico for rp2040js)",
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


def _serve_stdin(
    handle: Callable[[list[str]], bool | None],
    help_lines: str,
    errors: tuple[type[Exception], ...],
    done: threading.Event,
) -> None:
    """Control lines from stdin until its end or handle(words) returns None
    (quit); False is a line it does not know, answered with the help."""
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            known = handle(words)
            if known is None:
                done.set()
                return
            if not known:
                print(f"? {line.strip()}\n{help_lines}", file=sys.stderr, flush=True)
        except errors as e:
            print(f"error: {e}", file=sys.stderr, flush=True)


def _stdin_commands(board: EmulatedBoard, done: threading.Event) -> None:
    def handle(words: list[str]) -> bool | None:
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
            return None
        else:
            return False
        return True

    _serve_stdin(handle, HELP_LINES, (ValueError, TimeoutError), done)


def _pico_commands(board: PicoBoard, done: threading.Event) -> None:
    def handle(words: list[str]) -> bool | None:
        if words[0] == "pin" and len(words) == 3 and words[2] in ("0", "1"):
            print(f"at {board.set_input(int(words[1]), int(words[2]))} ns", flush=True)
        elif words == ["stats"]:
            print(board.stats(), flush=True)
        elif words == ["quit"]:
            return None
        else:
            return False
        return True

    _serve_stdin(handle, PICO_HELP_LINES, (ValueError, RuntimeError), done)


def _run_pico(args: argparse.Namespace, done: threading.Event) -> int:
    name = args.board or "rpi_pico"
    unused = [
        opt
        for opt, given in (
            ("--speed", args.speed != 1.0),
            ("--fs", args.fs is not None),
            ("--fault", bool(args.fault)),
            ("--plant", bool(args.plant)),
            ("--seed", args.seed != 0),
        )
        if given
    ]
    if unused:
        raise UserError(f"emulate --engine rp2040js: {', '.join(unused)}: unix engine only")
    board = paths.load_board(name)
    if board.get("mcu") != "RP2040":
        raise UserError(f"emulate --engine rp2040js: board {name} is not an RP2040 board")
    pico = PicoBoard(board, port=args.tcp_port)
    try:
        pico.start()
        if not args.no_flash:
            print(f"flashing the firmware for {name} ...", file=sys.stderr, flush=True)
            flash(pico.url, name)
        print(f"url={pico.url}", flush=True)
        print(
            f"emulated Raspberry Pi Pico (rp2040js, board {name}); Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        threading.Thread(target=_pico_commands, args=(pico, done), daemon=True).start()
        while not done.wait(0.5):
            if not pico.alive:
                raise UserError("the emulated Pico stopped")
    except KeyboardInterrupt:
        pass
    finally:
        pico.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    done = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C stops it too, also when started with SIGINT ignored (a
    # background job of a script, where Python raises no KeyboardInterrupt).
    signal.signal(signal.SIGINT, on_term)
    if args.engine == "rp2040js":
        return _run_pico(args, done)
    board = EmulatedBoard(
        board=args.board or "emulator",
        speed=args.speed,
        fs_dir=args.fs,
        flash=not args.no_flash,
        seed=args.seed,
        faults=dict(args.fault),
        plant=dict(args.plant),
        tcp_port=args.tcp_port,
    )
    try:
        board.start()
        print(f"pty={board.pty_path} url={board.url}", flush=True)
        print(
            f"emulated {args.board or 'emulator'} board, flash in {board.fs_dir}, speed "
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
