"""SAMPLE end to end: core, scoops to the mass target, seal; every sample
weighed, journalled and reported. Runs against the scale and journal
subsystems when the board has them, and without them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Link
from tests.e2e.test_drill_control import wait_for


def calibrate(b: EmulatedBoard, lk: Link) -> None:
    lk.run("CAL", 60, point=0)
    b.set_plant(extra_g=500.0)
    lk.run("CAL", 60, point=1, g=500)
    b.set_plant(extra_g=0.0)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[EmulatedBoard, Link]]:
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash", seed=5) as b, Link(b.url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        yield b, lk


def test_sample_reaches_the_mass_target_and_seals(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    assert lk.hello is not None and {"scale", "journal"} <= set(lk.hello.caps)
    with pytest.raises(CommandRejected) as e:
        lk.command("SAMPLE", target=300, budget=600)
    assert e.value.code == proto.E_NOT_HOMED
    lk.run("HOME", 120)
    with pytest.raises(CommandRejected) as e:
        lk.command("SAMPLE", target=300, budget=600)
    assert e.value.code == proto.E_BAD_STATE  # the scale is not calibrated yet
    calibrate(b, lk)
    lk.command("PARAM", name="drill_depth_mm", value=60)
    events: list[dict[str, str]] = []
    lk.subscribe(
        "EV", lambda f: events.append(f.fields) if f.fields.get("kind") == "sample" else None
    )
    r = lk.run("SAMPLE", 3000, target=300, budget=3000)
    samples = events
    assert r.int("sealed") == 1 and r.int("depth") == 60 and r.int("rock") == 0
    assert "note" not in r.fields
    scoops = [e for e in samples if e["kind2"] == "scoop"]
    cores = [e for e in samples if e["kind2"] == "core"]
    assert len(scoops) == r.int("scoops") >= 2 and len(cores) == 1
    assert [int(e["site"]) for e in scoops] == list(range(len(scoops)))
    # The core goes into the container first (sealed), then the scoops.
    assert samples[0] is cores[0] and int(cores[0]["depth"]) == 60
    # Journal numbers are consecutive and the running total adds up.
    assert [int(e["n"]) for e in samples] == list(range(1, len(samples) + 1))
    assert int(samples[-1]["total"]) == r.int("mg") == sum(int(e["mg"]) for e in samples)
    # The scoops stopped once the container (core included) held the target.
    assert sum(int(e["mg"]) for e in samples) >= 300_000
    assert sum(int(e["mg"]) for e in samples[:-1]) < 300_000
    # What the scale measured is what the plants put in the container.
    p = b.query()["plants"]
    true_mg = (p["arm"]["container_g"] + p["drill"]["container_g"]) * 1000
    assert r.int("mg") == pytest.approx(true_mg, rel=0.02, abs=2000)
    assert int(cores[0]["mg"]) == pytest.approx(p["drill"]["container_g"] * 1000, abs=2000)
    assert lk.command("JLEN").int("n") == len(samples)
    assert lk.command("STATUS").fields["st"] == "ARMED"


def test_sample_without_scale_and_journal_runs_to_the_budget(tmp_path: Path) -> None:
    b = EmulatedBoard(speed=0, fs_dir=tmp_path / "flash")
    b.board["subsystems"] = ["drill", "arm", "campaign"]
    with b, Link(b.url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        lk.run("HOME", 120)
        lk.command("PARAM", name="drill_depth_mm", value=30)
        events: list[dict[str, str]] = []
        lk.subscribe(
            "EV", lambda f: events.append(f.fields) if f.fields.get("kind") == "sample" else None
        )
        r = lk.run("SAMPLE", 600, target=2000, budget=60)
        assert r.fields["note"] == "no_scale+no_journal"
        assert r.int("mg") == 0 and r.int("sealed") == 1
        # A scoop takes ~25 s of board time: the 60 s budget allows three starts.
        assert 2 <= r.int("scoops") <= 3
        assert len(events) == r.int("scoops") + 1
        assert b.query()["plants"]["arm"]["container_g"] > 0


def test_stop_aborts_the_campaign(rig: tuple[EmulatedBoard, Link]) -> None:
    b, lk = rig
    lk.run("HOME", 120)
    calibrate(b, lk)
    dones: dict[int, dict[str, str]] = {}
    lk.subscribe("DONE", lambda f: dones.__setitem__(f.int("re"), f.fields))
    seq = lk.command("SAMPLE", target=500, budget=600).int("re")
    wait_for(lambda: b.query()["plants"]["drill"]["depth_mm"] >= 10)
    assert lk.command("STOP").fields["st"] == "ARMED"
    wait_for(lambda: seq in dones)
    assert dones[seq]["ok"] == "0" and dones[seq]["msg"] == "stopped"
    assert b.query()["plants"]["drill"]["duty"] == 0
