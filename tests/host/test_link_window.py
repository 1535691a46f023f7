"""A window of commands in flight: replies matched by seq, in order, a NAK
in the middle returned in its place, bad arguments refused before sending."""

from __future__ import annotations

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import ArgumentRefused, CommandRejected, Frame, Link


def test_a_window_of_commands_is_answered_in_order(fast_board: EmulatedBoard) -> None:
    with Link(fast_board.url) as lk:
        before = lk.command("STATUS").int("cmds")
        cmds: list[tuple[str, dict[str, object]]] = [("PING", {"n": i}) for i in range(40)]
        cmds[17] = ("PARAM", {"name": "no_such_param"})  # NAK bad_arg from the board
        out = lk.command_window(cmds, window=8, check=False)
        assert len(out) == 40
        for i, r in enumerate(out):
            if i == 17:
                assert isinstance(r, CommandRejected) and r.code == proto.E_BAD_ARG
            else:
                assert isinstance(r, Frame) and r.int("n") == i
        # Each executed once, retries or not.
        assert lk.command("STATUS").int("cmds") == before + 41
        tx = lk.stats["tx"]
        with pytest.raises(ArgumentRefused):
            lk.command_window([("PING", {"n": 1}), ("SCOOP", {"site": 99})])
        assert lk.stats["tx"] == tx  # nothing sent
