"""Shared fixtures: emulated boards, links, and running code under micropython."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lunasample import paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link

ROOT = Path(__file__).resolve().parent.parent
_LITTER_BEFORE = pytest.StashKey[set[str]]()


def run_micropython(
    script: str,
    heap_kb: int = 64,
    extra_path: tuple[Path, ...] = (),
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `script` (source text) in the micropython unix port with the
    firmware and the simulated machine/time on MICROPYPATH, in `cwd` (the
    firmware directory by default)."""
    path = [str(p) for p in extra_path] + [str(paths.SIM_DIR), str(paths.FIRMWARE_DIR)]
    env = dict(os.environ, MICROPYPATH=":".join(path))
    return subprocess.run(
        [paths.micropython_binary(), "-X", f"heapsize={heap_kb}K", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=str(cwd or paths.FIRMWARE_DIR),
        stdin=subprocess.DEVNULL,  # the same with or without a terminal (CI has none)
    )


@pytest.fixture
def board(tmp_path: Path) -> Iterator[EmulatedBoard]:
    """An emulated board at 1x speed, with its flash in tmp_path."""
    with EmulatedBoard(speed=1.0, fs_dir=tmp_path / "flash") as b:
        yield b


@pytest.fixture
def fast_board(tmp_path: Path) -> Iterator[EmulatedBoard]:
    """An emulated board running as fast as it can."""
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "flash") as b:
        yield b


@pytest.fixture
def link(board: EmulatedBoard, tmp_path: Path) -> Iterator[Link]:
    """A link to `board`, HELLO done, frames logged to tmp_path/frames.jsonl."""
    with Link(board.url, log_path=tmp_path / "frames.jsonl") as lk:
        yield lk


# -- no litter: the suite leaves no lunasample-* entry in the temp directory --
def _litter() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("lunasample-*")}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_LITTER_BEFORE] = _litter()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller checks once, after all of them
    left = sorted(_litter() - session.config.stash.get(_LITTER_BEFORE, set()))
    if left:
        print(f"\nthe tests left {len(left)} temporary entries: {', '.join(left[:10])}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
