"""The emulated board's flash: a host directory mounted at "/" on the board."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from lunasample import paths


def flash_image(fs_dir: Path, board: dict) -> None:
    """Copy the firmware and the board file onto an emulated board's flash.

    This is what `lunasample flash` does to a real board with mpremote.
    Files the firmware wrote (journal, calibration, parameters) are kept.
    """
    fs_dir.mkdir(parents=True, exist_ok=True)
    for rel in paths.firmware_files():
        dst = fs_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.FIRMWARE_DIR / rel, dst)
    (fs_dir / "board.json").write_text(json.dumps(board, indent=1))


def new_flash_dir(name: str) -> Path:
    """A fresh temporary flash directory for one emulator run."""
    return Path(tempfile.mkdtemp(prefix=f"lunasample-{name}-"))
