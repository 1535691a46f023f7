"""Copying the firmware onto a board with mpremote, then checking it answers."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lunasample import paths
from lunasample.errors import UserError
from lunasample.hardware.loader import board_image, parts_for_board
from lunasample.link.client import Hello, Link, LinkError
from lunasample.link.transport import open_port
from lunasample.mpy import compiled_firmware

# Make sampler/ and drop sources left by an older install: a .py shadows its .mpy.
_PREPARE = (
    "import os\ntry:\n os.mkdir('sampler')\nexcept OSError:\n pass\n"
    "for f in os.listdir('sampler'):\n if f.endswith('.py'):\n"
    "  os.remove('sampler/' + f)"
)


def mpremote_args(port: str, board: dict, staging: Path) -> list[str]:
    """The single mpremote invocation that installs the firmware.

    The package is compiled with mpy-cross for the board's CPU (`mpy_arch` in
    the board file); mpremote's `fs cp` compares SHA-256 on the board and
    skips unchanged files.
    """
    (staging / "board.json").write_text(json.dumps(board_image(board)))
    # The drivers' timings and the chip's ADC ranges the firmware reads at boot.
    (staging / "parts.json").write_text(json.dumps(parts_for_board(board)))
    top, pkg = [str(staging / "board.json"), str(staging / "parts.json")], []
    for src, rel in compiled_firmware(board["mpy_arch"]):
        named = staging / rel  # mpremote names the copy after the source file
        named.parent.mkdir(parents=True, exist_ok=True)
        named.write_bytes(src.read_bytes())
        (top if rel.parent == Path(".") else pkg).append(str(named))
    return [
        sys.executable,
        "-m",
        "mpremote",
        "connect",
        port,
        "exec",
        _PREPARE,
        "+",
        "fs",
        "cp",
        *top,
        ":",
        "+",
        "fs",
        "cp",
        *pkg,
        ":sampler/",
    ]


def flash(port: str, board_name: str, verify: bool = True) -> Hello | None:
    """Install firmware + board file on the board at `port`; return its HELLO."""
    board = paths.load_board(board_name)
    # Fail fast with our own message if the port is wrong or busy.
    open_port(port).close()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = mpremote_args(port, board, Path(tmp))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()
        raise UserError(f"mpremote failed on {port}: {tail[-1] if tail else 'no output'}")
    if not verify:
        return None
    return wake_and_hello(port)


def wake_and_hello(port: str, attempts: int = 3) -> Hello:
    """Leave the REPL with a soft reset so main.py starts, then HELLO."""
    for _ in range(attempts):
        ser = open_port(port)
        ser.write(b"\r\x02\x04")  # Ctrl-B: friendly REPL; Ctrl-D: soft reset, runs main.py
        ser.close()
        time.sleep(0.5)
        link = Link(port)
        try:
            return link.open()
        except LinkError:
            continue
        finally:
            link.close()
    raise UserError(f"firmware copied to {port} but the board does not answer HELLO")
