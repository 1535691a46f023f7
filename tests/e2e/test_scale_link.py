"""The scale end to end: emulated board (real firmware, emulated load cell and
HX711), host over the real link."""

from __future__ import annotations

import json
import threading
import time

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Frame, Link
from tests.e2e.conftest import wait_until

_wait = wait_until


def _calibrate(board: EmulatedBoard, link: Link) -> None:
    board.set_plant(extra_g=0.0)
    link.run("CAL", 60, point=0)
    board.set_plant(extra_g=1000.0)
    r = link.run("CAL", 60, point=1, g=1000)
    assert r.int("k") > 0
    board.set_plant(extra_g=0.0)


def _weigh_settled(link: Link, after_board_s: float = 5.0) -> int:
    t0 = link.command("PING").int("t")
    _wait(lambda: link.command("PING").int("t") - t0 > after_board_s * 1000)
    for _ in range(200):
        r = link.command("WEIGH")
        if r.int("settled") == 1:
            return r.int("mg")
        time.sleep(0.02)
    raise AssertionError("never settled")


def test_tare_calibrate_and_weigh_a_known_mass(fast: EmulatedBoard) -> None:
    with Link(fast.url) as link:
        with pytest.raises(CommandRejected) as e:
            link.command("WEIGH")
        assert e.value.code == proto.E_BAD_STATE
        with pytest.raises(CommandRejected):
            link.command("CAL", point=1, g=1000)  # point 0 (empty pan) comes first
        _calibrate(fast, link)
        assert link.command("SCALE").fields["calst"] == "ok"
        fast.set_plant(extra_g=432.0)
        mg = _weigh_settled(link)
        true_g = fast.query()["plants"]["loadcell"]["mass_g"]
        assert true_g == 432.0
        assert abs(mg - 432_000) < 500  # the 0.5 g goal
        # TARE with the 432 g on the pan: it becomes the new zero.
        z = link.run("TARE", 60).int("zero")
        assert abs(z - link.command("SCALE").int("zero")) <= 3  # zero tracking: slow
        fast.set_plant(extra_g=532.0)
        assert abs(_weigh_settled(link) - 100_000) < 500


def test_weighing_while_the_drill_spins(fast: EmulatedBoard) -> None:
    # The emulated drill shakes the pan (plant_loadcell: 30 g per 1000 rpm at
    # the turn rate, percussion impacts); the scale reads the drill's measured
    # speed and averages over whole turns: 40 conversions at 120 rpm, 80 SPS.
    with Link(fast.url) as link:
        link.command("HBTO", ms=60000)  # unpaced: a board second is a few ms
        _calibrate(fast, link)
        assert link.command("SCALE").int("win") == 16  # drill stopped: sc_avg
        link.command("ARM")
        link.command("SPIN", rpm=120)
        _wait(lambda: link.command("SCALE").int("win") == 40)
        assert fast.query()["plants"]["loadcell"]["rpm"] > 100
        link.run("TARE", 60)
        fast.set_plant(extra_g=432.0)
        mg = _weigh_settled(link, after_board_s=2.0)
        assert abs(mg - 432_000) < 500  # the 0.5 g goal, drill running
        assert link.command("SCALE").int("win") == 40
        link.command("STOP")
        _wait(lambda: link.command("SCALE").int("win") == 16)


def test_weighing_at_lunar_gravity(fast: EmulatedBoard, tmp_path) -> None:
    # Calibrated on Earth, weighing on the Moon: the cell sees a sixth of the
    # force; the calibration carries the gravity it was made at and the
    # board converts by the ratio once told the local one (grav_mm_s2).
    with Link(fast.url) as link:
        link.command("HBTO", ms=60000)
        _calibrate(fast, link)
        assert link.command("SCALE").int("cal_grav") == 9807
        saved = json.loads((tmp_path / "flash" / "cal.json").read_text())
        assert saved["grav"] == 9807
        fast.set_plant(gravity_m_s2=1.62)
        link.run("TARE", 60)
        fast.set_plant(extra_g=432.0)
        untold = _weigh_settled(link)
        assert abs(untold - 432_000 * 1.62 / 9.80665) < 2000  # a sixth: the physics
        k_earth = link.command("SCALE").int("k")
        link.command("PARAM", name="grav_mm_s2", value=1620)
        fast.set_plant(extra_g=0.0)
        link.run("TARE", 60)
        fast.set_plant(extra_g=432.0)
        mg = _weigh_settled(link)
        assert abs(mg - 432_000) < 500  # the 0.5 g goal at lunar gravity
        assert link.command("SCALE").int("cal_grav") == 9807  # made on Earth
        # The factor at the local gravity: 9807/1620 mg per count more.
        assert link.command("SCALE").int("k") * 1620 // 9807 == pytest.approx(k_earth, rel=1e-6)


def test_hx711_timeout_faults_the_board_until_the_chip_answers(fast: EmulatedBoard) -> None:
    events: list[dict[str, str]] = []
    got_fault = threading.Event()

    def on_ev(f: Frame) -> None:
        events.append(f.fields)
        if f.fields.get("kind") == "fault":
            got_fault.set()

    with Link(fast.url) as link:
        link.subscribe("EV", on_ev)
        link.command("ARM")
        fast.inject("hx711_timeout", 1)
        assert got_fault.wait(30)
        st = link.command("STATUS").fields
        assert st["st"] == "FAULT" and st["flt"] == "scale_timeout"
        assert _has(events, kind="fault", code="5", name="scale_timeout")
        with pytest.raises(CommandRejected) as e:
            link.command("RESET")
        assert e.value.code == proto.E_FAULT_ACTIVE and "hx711" in e.value.text
        fast.inject("hx711_timeout", 0)
        _wait(lambda: link.command("SCALE").int("tmo") == 1 and _reset_ok(link))
        assert link.command("STATUS").fields["st"] == "SAFE"


def _has(events: list[dict[str, str]], **want: str) -> bool:
    """Some event carries all the `want` fields (events have more, e.g. a time)."""
    return any(all(e.get(k) == v for k, v in want.items()) for e in events)


def _reset_ok(link: Link) -> bool:
    try:
        link.command("RESET")
    except CommandRejected:
        return False
    return True


def test_stuck_reading_is_a_fault(fast: EmulatedBoard) -> None:
    with Link(fast.url) as link:
        fast.inject("hx711_stuck", 1)
        # 50 identical readings at 80 SPS: about 0.6 s of board time.
        _wait(lambda: link.command("STATUS").fields["flt"] == "scale_stuck", 60)


def test_corrupt_calibration_is_reported_and_never_used(fast: EmulatedBoard) -> None:
    events: list[dict[str, str]] = []
    with Link(fast.url) as link:
        _calibrate(fast, link)
        link.subscribe("EV", lambda f: events.append(f.fields))
        (fast.fs_dir / "cal.json").write_text('{"zero": 12, "raw0": 3')  # torn write
        fast.power_cut()
        _wait(lambda: _has(events, kind="cal", st="corrupt"))
        sc = link.command("SCALE").fields
        assert sc["cal"] == "0" and sc["calst"] == "corrupt"
        with pytest.raises(CommandRejected) as e:
            link.command("WEIGH")
        assert e.value.code == proto.E_BAD_STATE and "corrupt" in e.value.text
        link.command("TMRATE", hz=20)
        _wait(lambda: link.telemetry.get("mcal") == "0" and "mass" in link.telemetry)
        # A valid file whose CRC does not match its values is just as corrupt.
        cal = (fast.fs_dir / "cal.json").read_text()
        assert "crc" not in cal
        _calibrate(fast, link)
        good = (fast.fs_dir / "cal.json").read_text()
        (fast.fs_dir / "cal.json").write_text(good.replace('"zero": ', '"zero": 1'))
        events.clear()
        fast.power_cut()
        _wait(lambda: _has(events, kind="cal", st="corrupt"))
        # Restored intact, it is used again after the next boot.
        (fast.fs_dir / "cal.json").write_text(good)
        events.clear()
        fast.power_cut()
        _wait(lambda: any(e.get("kind") == "boot" for e in events))
        _wait(lambda: link.command("SCALE").fields["calst"] == "ok")
