"""`lunasample flash`: install the firmware on a board with mpremote."""

from __future__ import annotations

import argparse

from lunasample import paths
from lunasample.flashing import flash


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "flash",
        help="copy the firmware to a board (mpremote) and check it answers",
        description="Copy firmware/ and the board description onto a MicroPython board with "
        "mpremote (unchanged files are skipped by hash), soft-reset it and check "
        "that it answers HELLO. The board must already run MicroPython "
        "(RP2040: UF2 from micropython.org; ESP32: esptool).",
    )
    p.add_argument(
        "--port",
        required=True,
        metavar="P",
        help="serial port or URL (/dev/ttyACM0, COM3, socket://127.0.0.1:PORT)",
    )
    p.add_argument(
        "--board",
        required=True,
        choices=paths.board_names(),
        help="board description to install as board.json",
    )
    p.add_argument("--no-verify", action="store_true", help="do not soft-reset and HELLO")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    hello = flash(args.port, args.board, verify=not args.no_verify)
    if hello is None:
        print(f"firmware copied to {args.port}")
    else:
        print(
            f"flashed {args.port}: firmware {hello.firmware} on {hello.board}, "
            f"protocol v{hello.protocol}, {hello.loop_hz} Hz loop"
        )
    return 0
