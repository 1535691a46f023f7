"""The firmware on MicroPython's rp2 port, on an emulated Pico (rp2040js).

One board boots for the whole file: the firmware goes on as `lunasample
flash` puts it on a Pico (mpy-cross for armv6m, mpremote over the USB
serial), then the host's Link drives it over pyserial. Pin timings are
read on the board's own clock by run.js, which watches the outputs' edges.

The tests not marked slow are the CI subset (one boot and flash, then
under a second of board time); `pytest -m pico` runs all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lunasample import paths
from lunasample.emulator.rp2040js import PicoBoard, missing_reason, outputs_off_after
from lunasample.flashing import flash
from lunasample.hardware.loader import parts_for_board
from lunasample.link.client import CommandRejected, Link

pytestmark = pytest.mark.pico
_WHY = missing_reason()
if _WHY:
    pytestmark = [pytest.mark.pico, pytest.mark.skip(reason=f"no emulated Pico: {_WHY}")]

BOARD = "rpi_pico"
ESTOP_OFF_NS = 1_000_000  # issue 21's goal: e-stop edge to all outputs off <= 1 ms


@pytest.fixture(scope="module")
def pico() -> Iterator[tuple[PicoBoard, Link, dict[str, Any]]]:
    board = paths.load_board(BOARD)
    with PicoBoard(board) as pb:
        hello = flash(pb.url, BOARD)
        assert hello is not None and hello.board == BOARD
        with Link(pb.url) as lk:
            lk.command("HBTO", ms=60000)  # the emulation runs slower than a Pico
            yield pb, lk, board


def wait_for(pred: Callable[[], Any], timeout_s: float) -> Any:
    """Poll pred() until truthy (a wall-clock guard only)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout_s} s")


def board_ms_since(pb: PicoBoard, t0_ns: int) -> float:
    return (pb.stats()["ns"] - t0_ns) / 1e6


def ready(lk: Link) -> None:
    """ARMED and idle, whatever the test before left (a fault told once,
    such as the scale's conversion rate, clears at the next RESET)."""
    for _ in range(20):
        st = lk.command("STATUS").fields
        if st["st"] == "ARMED":
            return
        try:
            if st["st"] == "BUSY":
                lk.command("STOP")
            elif st["st"] == "FAULT":
                lk.command("RESET")
            elif st["st"] == "SAFE":
                lk.command("ARM")
        except CommandRejected:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the board does not get ready: {lk.command('STATUS').fields}")


def test_step_pulses_meet_the_driver_minimums(pico: tuple[PicoBoard, Link, dict]) -> None:
    """Arm homing drives the three joints' STEP pins from PIO: every pulse,
    high and low, and DIR's setup and hold, at least the driver's datasheet
    figures (boards/parts.json); the pulse trains stop whole at STOP."""
    pb, lk, board = pico
    ready(lk)
    pb.clear()
    lk.command("HOME")  # toward switches that stay closed: the joints keep stepping
    t0 = pb.stats()["ns"]
    wait_for(lambda: board_ms_since(pb, t0) > 300, 120)
    t_stop = pb.stats()["ns"]
    lk.command("STOP")
    wait_for(lambda: board_ms_since(pb, t_stop) > 20, 60)
    s = pb.stats()["pins"]
    print(f"STOP sent after {t_stop - t0} ns of homing; {s}")
    drivers = parts_for_board(board)["drivers"]
    stepped = 0
    for axis, part in board["drivers"].items():
        pin = s.get(board["pins"].get(f"{axis}_step", -1))
        if pin is None or pin["rise"] == 0:
            continue
        stepped += 1
        rule = drivers[part]
        assert pin["rise"] == pin["fall"], f"{axis}: a pulse cut short at STOP"
        assert pin["value"] == 0
        assert pin["min_high_ns"] >= rule["step_high_ns"], (axis, pin, part)
        if pin["min_low_ns"] is not None:
            assert pin["min_low_ns"] >= rule["step_low_ns"], (axis, pin, part)
        if pin["min_dir_setup_ns"] is not None:
            assert pin["min_dir_setup_ns"] >= rule["dir_setup_ns"], (axis, pin, part)
        if pin["min_dir_hold_ns"] is not None:
            assert pin["min_dir_hold_ns"] >= rule["dir_hold_ns"], (axis, pin, part)
    assert stepped >= 1, f"no STEP pin moved while homing: {s}"


@pytest.mark.slow
def test_encoder_counts_follow_the_motor(pico: tuple[PicoBoard, Link, dict]) -> None:
    """The drill's speed loop closes through the PIO quadrature counter on
    the plant's encoder edges: SPIN settles near the set speed, both ways."""
    pb, lk, _ = pico
    for rpm in (90, -60):
        ready(lk)
        lk.command("SPIN", rpm=rpm)
        t0 = pb.stats()["ns"]
        wait_for(lambda: board_ms_since(pb, t0) > 1500, 180)  # noqa: B023
        got = lk.command("DSTAT").int("rpm")
        assert abs(got - rpm) <= max(3, abs(rpm) // 10), (rpm, got)
    lk.command("STOP")


def test_estop_edge_cuts_every_output(pico: tuple[PicoBoard, Link, dict]) -> None:
    """The e-stop contact opens while the drill runs: within 1 ms of the
    edge on the board's clock every watched output is low and stays low, and
    the board reports the e-stop fault."""
    pb, lk, board = pico
    ready(lk)
    lk.command("SPIN", rpm=120)
    t0 = pb.stats()["ns"]
    wait_for(lambda: board_ms_since(pb, t0) > 300, 120)
    pwm = board["pins"]["drill_pwm"]
    assert pb.stats()["pins"][pwm]["rise"] > 0, "the drill PWM never ran"
    estop = board["pins"]["estop"]
    t_edge = pb.set_input(estop, 1)
    try:
        wait_for(lambda: board_ms_since(pb, t_edge) > 50, 60)
        s = pb.stats()
        off_ns = outputs_off_after(board, s, t_edge)
        assert off_ns is not None, f"an output still high 50 ms after the e-stop: {s}"
        print(f"estop_to_outputs_off_us={off_ns / 1000:.1f}")
        assert off_ns <= ESTOP_OFF_NS, f"outputs off {off_ns / 1000:.0f} us after the edge"
        assert lk.command("STATUS").fields["flt"] == "estop_input"
    finally:
        pb.set_input(estop, 0)
    lk.command("RESET")
    assert lk.command("STATUS").fields["flt"] == "none"


@pytest.mark.slow  # issue 21's goal, not met yet: worst 1077 us, 2 overruns (homing, spin)
def test_control_step_fits_the_period(pico: tuple[PicoBoard, Link, dict]) -> None:
    """STATUS `worst`: the longest control step since boot, on the board's
    clock (through the homing and spinning of the tests before, when run
    with them), is shorter than the loop period."""
    _, lk, board = pico
    st = lk.command("STATUS").fields
    period_us = 1_000_000 // board["loop_hz"]
    print(f"pico STATUS ovr={st['ovr']} worst={st['worst']} us")
    assert 0 < int(st["worst"]) < period_us, st


@pytest.mark.slow
def test_no_overruns_while_drilling(pico: tuple[PicoBoard, Link, dict]) -> None:
    """Issue 21's goal: no control period overruns in 2 s of spinning drill
    at 100 Hz telemetry (STATUS `ovr` unchanged)."""
    pb, lk, _ = pico
    ready(lk)
    lk.command("TMRATE", hz=100)
    lk.command("SPIN", rpm=150)
    t0 = pb.stats()["ns"]
    wait_for(lambda: board_ms_since(pb, t0) > 300, 120)
    before = lk.command("STATUS").int("ovr")
    t1 = pb.stats()["ns"]
    wait_for(lambda: board_ms_since(pb, t1) > 2000, 600)
    after = lk.command("STATUS").int("ovr")
    lk.command("STOP")
    lk.command("TMRATE", hz=0)
    print(f"pico overruns in 2 s of drilling: {after - before}")
    assert after == before, f"{after - before} overruns in 2000 control periods"
