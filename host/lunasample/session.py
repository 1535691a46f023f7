"""A link to a board: the real one on --port, or an emulated one started here."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link


def add_board_args(
    p: argparse.ArgumentParser, default_speed: float | None = 0.0, speed_default: str = ""
) -> None:
    """--port/--board/--speed/--log, shared by every command that talks to a board.

    ``default_speed`` None leaves the choice to the command (``speed_default``
    then says what it is, for --help)."""
    p.add_argument(
        "--port",
        metavar="P",
        help="serial port or pyserial URL of a real board (/dev/ttyACM0, COM3, "
        "socket://host:port); omit to run on an emulated board",
    )
    p.add_argument(
        "--board",
        default="emulator",
        metavar="NAME",
        help="board description from boards/ for the emulated board "
        "(emulator, rpi_pico, esp32_devkitc; default: %(default)s)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=default_speed,
        metavar="X",
        help="emulator speed factor: 1 = real time, 10 = ten times faster, "
        f"0 = as fast as possible (default: {speed_default or '%(default)g'})",
    )
    p.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="log every frame to FILE (JSONL; replay with `lunasample monitor --replay FILE`)",
    )


@dataclass
class Session:
    link: Link
    emulator: EmulatedBoard | None  # None on a real board

    @property
    def where(self) -> str:
        """Human-readable name of the board this session talks to."""
        if self.emulator is not None:
            return f"emulated {self.emulator.board['name']}"
        return self.link.port


@contextlib.contextmanager
def open_session(args: argparse.Namespace, **board_kw: object) -> Iterator[Session]:
    """A Session with the HELLO handshake done, to --port or to a new emulated board."""
    log = getattr(args, "log", None)
    if args.port:
        with Link(args.port, log_path=log) as link:
            yield Session(link, None)
        return
    with EmulatedBoard(board=args.board, speed=args.speed, **board_kw) as board:  # type: ignore[arg-type]
        with Link(board.url, log_path=log) as link:
            link.command("HBTO", ms=emulated_hb_timeout_ms(args.speed))
            yield Session(link, board)


def emulated_hb_timeout_ms(speed: float) -> int:
    """The board's link-loss timeout for an emulator at `speed`, in board ms.

    Timeouts scale with the speed factor: 5 s of board time is 50 ms of real
    time at 100x, less than a busy host may take to answer a heartbeat.
    Unpaced (0) boards run at up to a few hundred x; they get the maximum.
    """
    if speed <= 0:
        return 60000
    return int(min(60000, 5000 * max(1.0, speed)))
