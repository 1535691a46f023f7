"""Lockstep: the emulated board's clock runs while a command is in progress,
so what the firmware does no longer depends on how fast the host answers."""

from __future__ import annotations

import time
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.emulator.lockstep import QUANTUM_US, CommandGate
from lunasample.firmware.sampler import proto
from lunasample.link.client import Link
from lunasample.preflight import ensure_calibrated
from lunasample.session import Session


def _session(tmp: Path, pause_s: float) -> list[tuple[str, ...]]:
    """Calibrate, then PING and WEIGH with the host pausing `pause_s` between them."""
    out = []
    with (
        EmulatedBoard(speed=0, lockstep=True, seed=5, fs_dir=tmp / "flash") as b,
        Link(b.url) as link,
    ):
        link.command("HBTO", ms=60000)
        ensure_calibrated(Session(link, b))
        for i in range(3):
            time.sleep(pause_s)
            out.append(("PING", link.command("PING", n=i).fields["t"]))
            w = link.command("WEIGH").fields
            out.append(("WEIGH", w["mg"], w["settled"]))
        out.append(("held", str(b.wait_held())))
    return out


def test_same_seed_same_board_times_and_readings(tmp_path: Path) -> None:
    fast = _session(tmp_path / "a", 0.0)
    slow = _session(tmp_path / "b", 0.3)  # at ~30x, 0.3 s is ~9 board seconds unheld
    assert fast == slow
    # Held between commands: the board's clock moved in whole quanta only.
    assert int(fast[-1][1]) % QUANTUM_US == 0


def test_gate_tracks_commands_to_their_final_reply() -> None:
    g = CommandGate()
    g.host_sent(proto.encode(7, "SAMPLE", {"target": 2000})[:10])
    assert not g.busy  # half a frame is not a command yet
    g.host_sent(proto.encode(7, "SAMPLE", {"target": 2000})[10:] + proto.encode(8, "HB"))
    assert g.pending == {7}  # a heartbeat is not
    g.board_sent(proto.encode(1, "ACK", {"re": 7, "ack": "acc"}))
    assert g.busy  # accepted: runs until DONE
    g.board_sent(proto.encode(2, "DONE", {"re": 7, "ok": 1}))
    assert not g.busy
    g.host_sent(proto.encode(9, "PING"))
    g.board_sent(proto.encode(3, "NAK", {"re": 9, "err": 1}))
    assert not g.busy
