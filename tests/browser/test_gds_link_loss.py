"""Losing the board shows on the page, and the link comes back by itself."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lunasample.emulator.board import EmulatedBoard
from tests.browser.conftest import TOKEN, start_gds, stop_gds

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_lost_board_shows_and_reconnects(browser_context: Any, tmp_path: Any) -> None:
    port = _free_port()
    flash = tmp_path / "flash"
    board = EmulatedBoard(speed=1.0, fs_dir=flash, tcp_port=port).start()
    g = start_gds(board)
    page = browser_context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(g.url + f"#token={TOKEN}")
        page.wait_for_selector('#link-state[data-state="up"]')
        assert page.locator("#banner").is_hidden()
        board.stop()  # the board is gone: its port closes, no frame comes
        page.wait_for_selector('#link-state[data-state="lost"]')
        banner = page.locator("#banner")
        assert banner.is_visible() and "BOARD LOST" in banner.inner_text()
        assert page.locator("#estop").is_visible()
        # the last safety state heard is no longer shown as current
        assert page.get_attribute("#safety-state", "data-state") == "unknown"
        assert page.inner_text("#safety-state").startswith("last seen ")
        # the board comes back on the same port: the link reconnects unasked
        board = EmulatedBoard(speed=1.0, fs_dir=flash, tcp_port=port).start()
        page.wait_for_selector('#link-state[data-state="up"]')
        assert banner.is_hidden()
        page.wait_for_selector('#safety-state[data-state="SAFE"]')
        assert g.station.link.connects + g.station.link.link.stats["reconnects"] >= 2
        # and telemetry flows again from the new board, which was asked for it anew
        page.wait_for_function(
            "window.gds.tm.t !== undefined && performance.now() - window.gds.lastTmAt < 500"
        )
        page.wait_for_timeout(1000)
        assert page.evaluate("performance.now() - window.gds.lastTmAt") < 500
    finally:
        page.close()
        stop_gds(g)
        board.stop()


def test_page_survives_a_server_restart(browser_context: Any, tmp_path: Any) -> None:
    from lunasample.gds.server import ThreadedServer

    with EmulatedBoard(speed=1.0, fs_dir=tmp_path / "flash") as board:
        g = start_gds(board)
        page = browser_context.new_page()
        page.set_default_timeout(15000)
        try:
            page.goto(g.url + f"#token={TOKEN}")
            page.wait_for_selector('#link-state[data-state="up"]')
            port = g.server.sock.getsockname()[1]
            g.server.stop()
            page.wait_for_selector('#link-state[data-state="server"]')
            assert "server unreachable" in page.inner_text("#banner")
            g.server = ThreadedServer(g.station, port=port).start()
            # the page reconnects by itself, with the token it kept
            page.wait_for_selector('#link-state[data-state="up"]')
            page.wait_for_function("performance.now() - window.gds.lastTmAt < 500")
        finally:
            page.close()
            stop_gds(g)
