"""SAMPLE step=1: the campaign holds after each step until SSTEP runs the
next one, so the ground can look at every result; SSTEP end=1 seals early."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Link
from tests.e2e.test_campaign_sample import calibrate


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[EmulatedBoard, Link]]:
    with (
        EmulatedBoard(speed=0, fs_dir=tmp_path / "flash", seed=5, lockstep=True) as b,
        Link(b.url) as lk,
    ):
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        lk.run("HOME", 120)
        calibrate(b, lk)
        lk.command("PARAM", name="drill_depth_mm", value=60)
        yield b, lk


def test_steps_hold_between_and_add_up(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    with pytest.raises(CommandRejected) as e:
        lk.command("SSTEP")
    assert e.value.code == proto.E_BAD_STATE  # no stepped SAMPLE yet
    assert lk.command("SAMPLE", target=300, budget=3000, step=1).fields["mode"] == "step"
    assert lk.command("STATUS").fields["st"] == "ARMED"  # holding: nothing moves
    steps = []
    while True:
        t0 = b.wait_held()
        r = lk.run("SSTEP", 3000)
        steps.append(r.fields)
        # The step's own board time, as the firmware counted it, fits in
        # the quanta the board was let run for it.
        assert 0 <= int(r.fields["ms"]) * 1000 <= b.wait_held() - t0
        assert lk.command("STATUS").fields["st"] == "ARMED"
        if r.fields["step"] == "end":
            break
    kinds = [s["step"] for s in steps]
    assert kinds[:2] == ["drill", "core"] and kinds[-1] == "end"
    assert set(kinds[2:-1]) == {"scoop"} and len(kinds) - 3 == int(steps[-1]["scoops"]) >= 2
    assert int(steps[0]["depth"]) == 60 and steps[0]["rock"] == "0"
    masses = [int(s["mg"]) for s in steps[1:-1]]
    assert [int(s["total"]) for s in steps[1:-1]] == [
        sum(masses[: i + 1]) for i in range(len(masses))
    ]
    assert int(steps[-1]["mg"]) == sum(masses) >= 300_000 > sum(masses[:-1])
    assert [s["more"] for s in steps[1:-1]] == ["1"] * (len(masses) - 1) + ["0"]
    assert lk.command("JLEN").int("n") == len(masses)
    with pytest.raises(CommandRejected):
        lk.command("SSTEP")  # the campaign is over


def test_end_seals_early(rig: tuple[EmulatedBoard, Link]) -> None:
    _, lk = rig
    lk.command("SAMPLE", target=2000, budget=3000, step=1)
    assert lk.run("SSTEP", 3000).fields["step"] == "drill"
    assert lk.run("SSTEP", 3000).fields["step"] == "core"
    r = lk.run("SSTEP", 3000, end=1)
    assert r.fields["step"] == "end" and r.int("scoops") == 0 and r.int("sealed") == 1
    assert lk.command("JLEN").int("n") == 1
