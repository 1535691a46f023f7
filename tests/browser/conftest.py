"""Browser tests of the ground station: Playwright driving Debian's chromium.

Playwright's own browser download cannot work offline, so the system
chromium is launched through executable_path. One emulated board, one
ground station and one browser serve a whole module.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.gds.catalog import load_dictionary
from lunasample.gds.chromium import CHROMIUM, CHROMIUM_ARGS
from lunasample.gds.server import ThreadedServer
from lunasample.gds.station import Station

TOKEN = "test-token-0123"


@dataclass
class Gds:
    board: EmulatedBoard
    station: Station
    server: ThreadedServer

    @property
    def url(self) -> str:
        return self.server.url


def start_gds(
    board: EmulatedBoard, token: str | None = TOKEN, timeline: Path | None = None
) -> Gds:
    """A ground station (link thread + web server) for a running board."""
    station = Station(
        board.url,
        load_dictionary(),
        token=token,
        tm_hz=10,
        hb_timeout_ms=5000,
        timeline_path=timeline,
    )
    station.start()
    return Gds(board, station, ThreadedServer(station).start())


def stop_gds(g: Gds) -> None:
    g.server.stop()
    g.station.stop()


@pytest.fixture(scope="module")
def gds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gds]:
    """An emulated board at 1x with a ground station that wants TOKEN and
    shows a timeline.json that does not exist yet."""
    with EmulatedBoard(speed=1.0, fs_dir=tmp_path_factory.mktemp("flash")) as board:
        g = start_gds(board, timeline=tmp_path_factory.mktemp("mission") / "timeline.json")
        try:
            yield g
        finally:
            stop_gds(g)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[object]:
    """A headless chromium with a fresh profile, for the whole module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="lunasample-chromium-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
