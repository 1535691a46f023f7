"""Fixtures and helpers for end-to-end tests on emulated boards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[EmulatedBoard]:
    """An unpaced emulated board (as fast as it runs), flash in tmp_path."""
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash", seed=4) as b:
        yield b


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[EmulatedBoard, Link]]:
    """An unpaced emulated board with a link, ARMED."""
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash") as b, Link(b.url) as lk:
        # Unpaced, a board second is a few ms of wall time: a long heartbeat
        # timeout keeps a busy test machine from tripping the link-loss failsafe.
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        yield b, lk


def wait_until(pred: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll pred() until it is truthy (returned) or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)
