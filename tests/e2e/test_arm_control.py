"""Scoop-arm control end to end: the real firmware on the emulated board with
the arm plant, over the real link."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Link
from tests.e2e.test_drill_control import LOOP_US, TICKS_MASK, us_after, wait_for

LIMITS = json.loads((paths.BOARDS_DIR / "emulator.json").read_text())["limits"]



def arm_plant(b: EmulatedBoard) -> dict[str, Any]:
    return b.query()["plants"]["arm"]


def test_motion_needs_armed_and_homed(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    for cmd, kw in (("MOVE", {"pose": "stow"}), ("SCOOP", {"site": 0}), ("DUMP", {})):
        with pytest.raises(CommandRejected) as e:
            lk.command(cmd, **kw)
        assert e.value.code == proto.E_NOT_HOMED
    lk.command("DISARM")
    with pytest.raises(CommandRejected) as e:
        lk.command("HOME")
    assert e.value.code == proto.E_NOT_ARMED
    lk.command("ARM")
    seq = lk.command("HOME").int("re")
    with pytest.raises(CommandRejected) as e:
        lk.command("MOVE", pose="stow")
    assert e.value.code == proto.E_BUSY
    assert seq >= 0


def test_home_then_scoop_delivers_regolith(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    assert lk.run("HOME", 120).fields["pos"] == "0/40000/150000"  # homed and stowed
    st = lk.command("ASTAT").fields
    assert st["homed"] == "1"
    assert lk.run("SCOOP", 300, site=5).int("site") == 5
    p = arm_plant(b)
    assert p["scoops"] == 1 and p["dumps"] == 1
    assert p["container_g"] > 0 and p["spilled_g"] == 0 and p["scoop_g"] == 0
    assert p["deck_hits"] == 0  # j2 never went below deck clearance over the deck
    assert p["mdeg"] == [0, 40000, 150000] and p["stall_pulses"] == 0


def test_targets_beyond_limits_or_into_the_deck_are_rejected(
    rig: tuple[EmulatedBoard, Link],
) -> None:
    b, lk = rig
    lk.run("HOME", 120)
    bad = [{"j1": LIMITS["j1_mdeg"][1] + 100}, {"j2": LIMITS["j2_mdeg"][0] - 1},
           {"j3": -5000}, {"pose": "8"}, {"j1": 0, "j2": 0}]
    for kw in bad:
        with pytest.raises(CommandRejected) as e:
            lk.send_command("MOVE", kw, check=False)  # the board's checks
        assert e.value.code == proto.E_OUT_OF_RANGE, kw
    with pytest.raises(CommandRejected) as e:
        lk.send_command("MOVE", {"pose": "moon"}, check=False)
    assert e.value.code == proto.E_BAD_ARG
    assert arm_plant(b)["mdeg"] == [0, 40000, 150000]


def test_stalled_joint_faults_and_needs_homing_again(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    lk.run("HOME", 120)
    b.inject("arm_stall", 1)
    with pytest.raises(CommandRejected) as e:
        lk.run("MOVE", 120, pose="container")
    assert e.value.code == proto.E_FAULT_ACTIVE and e.value.text == "arm_stall"
    assert lk.command("STATUS").fields["flt"] == "arm_stall"
    b.inject("arm_stall", 0)
    lk.command("RESET")
    lk.command("ARM")
    with pytest.raises(CommandRejected) as e:
        lk.command("MOVE", pose="stow")
    assert e.value.code == proto.E_NOT_HOMED
    lk.run("HOME", 120)
    assert lk.run("MOVE", 120, pose="container").fields["pos"] == "-60000/60000/120000"


def test_stuck_home_switch_is_a_limit_switch_fault(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    b.inject("limit_switch_stuck", 2)
    with pytest.raises(CommandRejected) as e:
        lk.run("HOME", 120)
    assert e.value.text == "limit_switch"
    # Stuck after homing: moving j2 away leaves its switch "closed".
    b.inject("limit_switch_stuck", 0)
    lk.command("RESET")
    lk.command("ARM")
    lk.run("HOME", 120)
    b.inject("limit_switch_stuck", 3)
    with pytest.raises(CommandRejected) as e:
        lk.run("MOVE", 120, pose="dump")
    assert e.value.text == "limit_switch"


@pytest.mark.parametrize("what", ["home", "move", "scoop"])
def test_estop_stops_the_arm_within_one_loop_period(tmp_path: Path, what: str) -> None:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash") as b, Link(b.url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        if what != "home":
            lk.run("HOME", 120)
        b.set_speed(1)
        t0 = arm_plant(b)["last_step_us"]
        if what == "home":
            lk.command("HOME")
        elif what == "move":
            lk.command("MOVE", pose="3")
        else:
            lk.command("SCOOP", site=6)
        wait_for(lambda: arm_plant(b)["last_step_us"] != t0, 10)
        time.sleep(0.2)
        lk.command("ESTOP")
        stop_us = lk.command("ASTAT").int("stop_us")
        p1 = arm_plant(b)
        last = max(p1["last_step_us"])
        assert us_after(last & TICKS_MASK, stop_us) <= LOOP_US
        time.sleep(0.3)
        p2 = arm_plant(b)
        assert p2["mdeg"] == p1["mdeg"] and p2["last_step_us"] == p1["last_step_us"]
        assert lk.command("STATUS").fields["flt"] == "estop"


def test_estop_in_idle_states_is_accepted(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    lk.command("DISARM")
    assert lk.command("ESTOP").fields["st"] == "FAULT"  # from SAFE
    assert lk.command("ESTOP").fields["st"] == "FAULT"  # and again from FAULT
    lk.command("RESET")
    lk.command("ARM")
    assert lk.command("ESTOP").fields["st"] == "FAULT"  # from ARMED
    q = b.query()["plants"]
    assert q["drill"]["duty"] == 0 and q["arm"]["stall_pulses"] == 0
