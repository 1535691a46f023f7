"""The emulated board itself: power cuts, flash persistence, torn writes, speed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import Link


def _wait_restart(board: EmulatedBoard, restarts: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while board.restarts < restarts:
        assert time.monotonic() < deadline, "board did not come back after the power cut"
        time.sleep(0.05)


def test_power_cut_reboots_from_flash_and_keeps_parameters(tmp_path: Path) -> None:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "fs") as board:
        with Link(board.url) as link:
            link.command("PARAM", name="hb_timeout_ms", value=7000)
            board.power_cut()
            _wait_restart(board, 1)
            hello = link.handshake()
            assert hello.reset_cause == 1  # power-on
            assert link.command("PARAM", name="hb_timeout_ms").fields["value"] == "7000"
            assert link.command("STATUS").fields["why"] == "boot"
        assert board.events[0]["event"] == "power_cut"


def test_power_cut_in_the_middle_of_a_flash_write_loses_nothing_committed(tmp_path: Path) -> None:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "fs") as board:
        with Link(board.url) as link:
            link.command("PARAM", name="hb_timeout_ms", value=6000)
            board.inject("power_cut_on_write", 1)  # the next flash write is torn
            time.sleep(0.2)
            # Sent once, not retried: a retry would (rightly) run it again on the
            # rebooted board, since the torn attempt never committed.
            link._write(proto.encode(777, "PARAM", {"name": "hb_timeout_ms", "value": 9000}))
            _wait_restart(board, 1)
            board.inject("power_cut_on_write", 0)
            link.handshake()
            # The torn write never replaced the committed file: the old value survives.
            assert link.command("PARAM", name="hb_timeout_ms").fields["value"] == "6000"
            saved = json.loads((tmp_path / "fs" / "params.json").read_text())
            assert saved["hb_timeout_ms"] == 6000
            link.command("PARAM", name="hb_timeout_ms", value=9000)
            assert (
                json.loads((tmp_path / "fs" / "params.json").read_text())["hb_timeout_ms"] == 9000
            )


def test_faults_are_visible_in_the_simulated_world(tmp_path: Path) -> None:
    with EmulatedBoard(speed=1, fs_dir=tmp_path / "fs", faults={"hx711_stuck": 1}) as board:
        assert board.query()["faults"] == {"hx711_stuck": 1}
        board.inject("drill_jam", 1)
        board.inject("hx711_stuck", 0)
        assert board.query()["faults"] == {"drill_jam": 1}


def test_virtual_time_runs_at_the_speed_factor(tmp_path: Path) -> None:
    with EmulatedBoard(speed=4, fs_dir=tmp_path / "fs") as board:
        t0, v0 = time.monotonic(), board.query()["t_us"]
        time.sleep(1.0)
        t1, v1 = time.monotonic(), board.query()["t_us"]
    ratio = (v1 - v0) / 1e6 / (t1 - t0)
    # Paced, never ahead of 4x; the tolerance is for the query round trips.
    assert 2.5 < ratio < 4.5
