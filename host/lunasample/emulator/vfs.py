"""The emulated board's flash: a host directory mounted at "/" on the board."""

from __future__ import annotations

import json
import platform
import tempfile
from pathlib import Path

from lunasample.hardware.loader import board_image, parts_for_board
from lunasample.mpy import install_firmware

# mpy-cross target for the machine the unix port runs on (native code inside).
HOST_ARCH = {"x86_64": "x64", "AMD64": "x64", "i686": "x86", "i386": "x86"}.get(
    platform.machine(), "x64"
)


def flash_image(fs_dir: Path, board: dict) -> None:
    """Copy the firmware and the board file onto an emulated board's flash.

    This is what `lunasample flash` does to a real board with mpremote: the
    package compiled with mpy-cross, here for the emulator's own CPU (x64,
    whatever board it plays).
    Files the firmware wrote (journal, calibration, parameters) are kept.
    """
    fs_dir.mkdir(parents=True, exist_ok=True)
    pkg = fs_dir / "sampler"
    if pkg.is_dir():
        for stale in pkg.glob("*.py"):  # a .py would shadow its .mpy
            stale.unlink()
    install_firmware(fs_dir, HOST_ARCH)
    (fs_dir / "board.json").write_text(json.dumps(board_image(board)))
    (fs_dir / "parts.json").write_text(json.dumps(parts_for_board(board)))


def new_flash_dir(name: str) -> Path:
    """A fresh temporary flash directory for one emulator run."""
    return Path(tempfile.mkdtemp(prefix=f"lunasample-{name}-"))
