"""Board files against their chip's rules: every shipped board passes, and
each rule refuses a board that breaks it, naming the pin, rule and source."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.flashing import flash
from lunasample.hardware.check import check_board
from lunasample.hardware.docs import generated_files
from lunasample.hardware.loader import load_board

ROOT = Path(__file__).resolve().parent.parent.parent


def _raw(name: str) -> dict[str, Any]:
    return json.loads((paths.BOARDS_DIR / f"{name}.json").read_text())


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lunasample", "board", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_shipped_board_passes() -> None:
    r = _cli(
        "check", *[str(p) for p in sorted(paths.BOARDS_DIR.glob("*.json")) if p.stem != "parts"]
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok") == 3


def test_an_output_on_gpio34_of_an_esp32_is_refused(tmp_path: Path) -> None:
    b = _raw("esp32_devkitc")
    b["pins"]["drill_dir"]["gpio"] = 34
    b["pins"]["feed_home"]["gpio"] = 12  # keep 34 for drill_dir alone... 12 is a strap
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(b))
    r = _cli("check", str(f))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert any("pins.drill_dir (GPIO 34)" in x and "input-only" in x for x in lines), lines
    assert any("pins.feed_home (GPIO 12)" in x and "1.8 V" in x for x in lines), lines
    assert all("[" in x and x.endswith("]") for x in lines)  # each names its source


def _refused(raw: dict[str, Any], *words: str) -> list[str]:
    found = check_board(raw, "b.json")
    assert any(all(w in line for w in words) for line in found), found
    return found


@pytest.mark.parametrize(
    "pin, gpio, words",
    [
        ("drill_dir", 7, ("SPI flash",)),
        ("drill_dir", 1, ("REPL's UART",)),
        ("drill_dir", 0, ("strapping pin 0",)),
        ("drill_enc_a", 36, ("spurious edges", "3.11")),
        ("drill_dir", 20, ("has no GPIO 20",)),
    ],
)
def test_esp32_pin_rules(pin: str, gpio: int, words: tuple[str, ...]) -> None:
    b = _raw("esp32_devkitc")
    b["pins"][pin]["gpio"] = gpio
    _refused(b, f"GPIO {gpio}", *words)


def test_step_pins_stay_in_the_one_word_gpio_out_range() -> None:
    b = _raw("esp32_devkitc")
    b["pins"]["j2_step"]["gpio"] = 34 - 2  # GPIO32: a fine output, but above the word
    _refused(b, "pins.j2_step (GPIO 32)", "below GPIO30")


def test_esp32_module_psram_pins_and_adc_attenuation() -> None:
    b = _raw("esp32_devkitc")
    assert check_board(b, "b.json") == []
    b["module"] = "ESP32-WROVER-E"
    _refused(b, "pins.j3_step (GPIO 16)", "PSRAM")
    b = _raw("esp32_devkitc")
    del b["pins"]["drill_isense"]["atten_db"]
    _refused(b, "pins.drill_isense", "~0-1 V")
    b["pins"]["drill_isense"]["atten_db"] = 4
    _refused(b, "atten_db 4")
    b = _raw("esp32_devkitc")
    b["pins"]["j1_home"]["pull"] = "up"  # GPIO35 has no pulls
    _refused(b, "pins.j1_home (GPIO 35)", "no internal pulls")


def test_rp2040_adc_pwm_slices_and_the_picos_own_pins() -> None:
    b = _raw("rpi_pico")
    assert check_board(b, "b.json") == []
    b["pins"]["drill_isense"]["gpio"] = 12
    b["pins"]["hx711_rate"]["gpio"] = 28
    _refused(b, "pins.drill_isense (GPIO 12)", "no usable ADC")
    b = _raw("rpi_pico")
    b["pins"]["scoop_pwm"]["gpio"] = 0
    b["pins"]["led"]["gpio"] = 1
    b["pins"]["drill_pwm"]["gpio"] = 1  # slice 0 twice
    b["pins"]["led"]["gpio"] = 28
    _refused(b, "PWM slice 0")
    b = _raw("rpi_pico")
    b["pins"]["hx711_rate"]["gpio"] = 24
    _refused(b, "pins.hx711_rate (GPIO 24)", "Pico")


def test_switches_drivers_hx711_and_required_pins() -> None:
    b = _raw("emulator")
    b["pins"]["estop"]["contact"] = "NO"
    _refused(b, "pins.estop", "NC contact")
    b = _raw("emulator")
    b["pins"]["j2_home"]["pull"] = "down"
    _refused(b, "pins.j2_home", "cut wire")
    b = _raw("emulator")
    del b["drivers"]["j1"]
    _refused(b, "pins.j1_step", "drivers.j1")
    b = _raw("emulator")
    b["hx711"] = {"rate_sps": 80}
    _refused(b, "rate_pin, or rate_strap high")
    b = _raw("emulator")
    del b["pins"]["arm_isense"]
    _refused(b, "pins.arm_isense: missing", "arm")


def test_a_malformed_board_is_one_line_naming_the_key(tmp_path: Path) -> None:
    b = copy.deepcopy(_raw("emulator"))
    b["pins"]["estop"]["role"] = "inputt"
    f = tmp_path / "b.json"
    f.write_text(json.dumps(b))
    with pytest.raises(UserError, match=r"b\.json: pins\.estop\.role: Input should be"):
        load_board(f)
    r = _cli("check", str(f))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_the_emulator_and_flash_refuse_a_failing_board(tmp_path: Path) -> None:
    b = _raw("esp32_devkitc")
    b["pins"]["drill_dir"]["gpio"] = 34
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(b))
    with pytest.raises(UserError, match="GPIO 34"):
        EmulatedBoard(board=str(f))
    with pytest.raises(UserError, match="GPIO 34"):
        flash("/dev/null-no-such-port", str(f))  # refused before the port is opened


def test_loaded_boards_keep_pin_numbers_and_wiring() -> None:
    b = load_board("esp32_devkitc")
    assert b["pins"]["estop"] == 4 and b["wiring"]["estop"]["contact"] == "NC"


def test_generated_tables_are_current() -> None:
    for path, text in generated_files(ROOT).items():
        assert path.read_text() == text, f"{path} is stale: regenerate its tables"


def test_a_home_switch_plant_must_fit_its_axis() -> None:
    """boards/*.json `homing`: an NC switch on a step axis, its rest, trip
    point and hard stop in the order the axis travels."""
    b = _raw("rpi_pico")
    assert check_board(b, "rpi_pico.json") == []
    b["homing"]["j2"]["stop"] = 880  # short of the trip point at 900
    b["homing"]["feed"]["switch"] = "drill_dir"
    b["homing"]["j9"] = dict(b["homing"]["j1"])
    lines = check_board(b, "rpi_pico.json")
    assert "rpi_pico.json: homing.j2: rest, trip and stop not in travel order" in lines
    assert "rpi_pico.json: homing.feed.switch 'drill_dir': not an NC switch input" in lines
    assert "rpi_pico.json: homing.j9: no j9_step and j9_dir pins" in lines
    assert len(lines) == 3, lines
