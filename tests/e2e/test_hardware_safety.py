"""Fail-safe wiring end to end: the hardwired e-stop loop read back by the
firmware (pressed, wire cut, open at boot), NC home switches (open at boot,
wire cut) and a current sense over its range, on the emulated board through
its fault switches, commanded over the real link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import CommandRejected, Link
from tests.e2e.conftest import wait_until


def status(lk: Link) -> dict[str, str]:
    return lk.command("STATUS").fields


def drill(b: EmulatedBoard) -> dict[str, Any]:
    return b.query()["plants"]["drill"]


@pytest.mark.parametrize("how", ["estop_press", "estop_cut"])
def test_hardware_estop_cuts_outputs_latches_and_needs_reset_with_the_loop_closed(
    tmp_path: Path, how: str
) -> None:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash") as b, Link(b.url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        lk.command("SPIN", rpm=120)
        wait_until(lambda: drill(b)["rpm"] > 100, 30)
        b.inject(how, 1)
        wait_until(lambda: status(lk)["flt"] == "estop_input", 30)
        q = b.query()
        pads = q["pads"]
        # Input edge to every actuator output off, on the board's clock.
        assert 0 <= pads["outputs_off_us"] - pads["estop_edge_us"] <= 1000
        assert q["plants"]["drill"]["duty"] == 0
        # Latched: no RESET while the loop is open, and nothing may ARM.
        with pytest.raises(CommandRejected) as e:
            lk.command("RESET")
        assert "e-stop open" in e.value.text
        with pytest.raises(CommandRejected):
            lk.command("ARM")
        b.inject(how, 0)
        b.query()  # answered once the world has closed the loop
        assert status(lk)["flt"] == "estop_input"  # closing the loop alone clears nothing
        lk.command("RESET")
        lk.command("ARM")
        assert status(lk)["st"] == "ARMED"


def test_estop_open_at_boot_is_its_own_fault(tmp_path: Path) -> None:
    with (
        EmulatedBoard(speed=0, fs_dir=tmp_path / "flash", faults={"estop_cut": 1}) as b,
        Link(b.url) as lk,
    ):
        st = status(lk)
        assert (st["st"], st["flt"]) == ("FAULT", "estop_boot")
        with pytest.raises(CommandRejected):
            lk.command("RESET")
        b.inject("estop_cut", 0)
        b.query()
        lk.command("RESET")
        assert status(lk)["st"] == "SAFE"


def test_feed_switch_open_at_boot_then_homing_finds_its_wire_cut(tmp_path: Path) -> None:
    with (
        EmulatedBoard(speed=0, fs_dir=tmp_path / "flash", faults={"limit_wire_cut": 4}) as b,
        Link(b.url) as lk,
    ):
        lk.command("HBTO", ms=60000)
        assert status(lk)["flt"] == "switch_open"
        with pytest.raises(CommandRejected) as e:
            lk.command("RESET")  # the cause, told once
        assert "feed_home (GPIO" in e.value.text and "open at boot" in e.value.text
        lk.command("RESET")
        lk.command("ARM")
        # Homing backs the carriage off the "open" switch and it stays open.
        with pytest.raises(CommandRejected) as e:
            lk.run("DRILL", 120, depth=50)
        assert e.value.text == "limit_switch"
        assert drill(b)["depth_mm"] < 5  # it went down 4 mm at most


def test_feed_wire_cut_while_drilling_is_a_limit_switch_fault(tmp_path: Path) -> None:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash") as b, Link(b.url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        lk.command("DRILL", depth=200)
        wait_until(lambda: drill(b)["depth_mm"] > 20, 60)
        b.inject("limit_wire_cut", 4)
        wait_until(lambda: status(lk)["flt"] == "limit_switch", 30)
        t = b.query()["fault_on_us"]["limit_wire_cut"]
        q = b.query()
        assert q["plants"]["drill"]["duty"] == 0
        assert q["last_actuation_us"] - t < 50000  # stopped within the detector's 20 ms + a tick


def test_current_sense_over_its_range_is_a_sensor_fault(tmp_path: Path) -> None:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash") as b, Link(b.url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        lk.command("SPIN", rpm=120)
        wait_until(lambda: drill(b)["rpm"] > 100, 30)
        b.inject("adc_overrange", 1)
        wait_until(lambda: status(lk)["flt"] == "adc_range", 30)
        assert drill(b)["duty"] == 0
