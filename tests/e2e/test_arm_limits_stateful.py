"""Random command sequences never drive a joint beyond its limits, never
through the lander deck, and leave the firmware's idea of the joints equal
to the plant's (hypothesis stateful test against the emulated board)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Link

LIMITS = json.loads((paths.BOARDS_DIR / "emulator.json").read_text())["limits"]
JOINT_LIMITS = [LIMITS["j1_mdeg"], LIMITS["j2_mdeg"], LIMITS["j3_mdeg"]]
ACCEPTABLE = {proto.E_OUT_OF_RANGE, proto.E_BAD_ARG, proto.E_NOT_HOMED, proto.E_BAD_STATE}


def joint_value(j: int) -> st.SearchStrategy[int]:
    lo, hi = JOINT_LIMITS[j]
    # Mostly inside, sometimes just outside or far outside the limits.
    return st.one_of(
        st.integers(lo, hi),
        st.integers(lo - 20000, hi + 20000),
        st.sampled_from([lo, hi, lo - 100, hi + 100]),
    )


class ArmCommands(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="arm-stateful-"))
        self.board = EmulatedBoard(speed=0, fs_dir=self.dir / "flash").start()
        self.link = Link(self.board.url).__enter__()
        self.link.command("HBTO", ms=60000)
        self.link.command("ARM")
        self.link.run("HOME", 120)

    def teardown(self) -> None:
        self.link.close()
        self.board.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, name: str, **fields: object) -> None:
        try:
            self.link.run(name, 300, **fields)
        except CommandRejected as e:
            assert e.code in ACCEPTABLE, e

    @rule(j1=joint_value(0), j2=joint_value(1), j3=joint_value(2))
    def move_joints(self, j1: int, j2: int, j3: int) -> None:
        self._run("MOVE", j1=j1, j2=j2, j3=j3)

    @rule(pose=st.sampled_from(["stow", "container", "dump", "0", "3", "4", "7", "8", "x"]))
    def move_pose(self, pose: str) -> None:
        self._run("MOVE", pose=pose)

    @rule(site=st.integers(-1, 9))
    def scoop(self, site: int) -> None:
        self._run("SCOOP", site=site)

    @rule()
    def dump(self) -> None:
        self._run("DUMP")

    @rule(j1=joint_value(0))
    def move_then_stop(self, j1: int) -> None:
        try:
            self.link.command("MOVE", j1=j1)
        except CommandRejected as e:
            assert e.code in ACCEPTABLE
        assert self.link.command("STOP").fields["st"] == "ARMED"

    def _plant(self) -> dict[str, Any]:
        return self.board.query()["plants"]["arm"]

    @invariant()
    def within_limits_and_clear_of_the_deck(self) -> None:
        p = self._plant()
        for j, (lo, hi) in enumerate(JOINT_LIMITS):
            assert lo <= p["lo_seen"][j] and p["hi_seen"][j] <= hi, (j, p)
        assert p["deck_hits"] == 0 and p["stall_pulses"] == 0
        a = self.link.command("ASTAT").fields
        assert [int(a["j1"]), int(a["j2"]), int(a["j3"])] == p["mdeg"]
        assert self.link.command("STATUS").fields["st"] == "ARMED"


TestArmCommands = ArmCommands.TestCase
TestArmCommands.settings = settings(
    max_examples=8,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
