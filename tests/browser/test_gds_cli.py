"""`lunasample gds` as a user runs it: bad options, and the page it serves."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest

from lunasample.cli import main


@pytest.mark.parametrize(
    "args, message",
    [
        (("--bind", "0.0.0.0"), "--bind needs --token"),
        (("--token", "short"), "--token must be at least 8"),
        (("--http-port", "70000"), "--http-port 70000 is not a TCP port"),
        (("--tm-rate", "0"), "--tm-rate 0 is outside 1..100 Hz"),
        (("--timeline", "/nonexistent/timeline.json"), "no such file"),
        (("--params", "/nonexistent/params.toml"), "--params needs --mission"),
        (("--mission", "--params", "/nonexistent/params.toml"), "params.toml: file not found"),
        (("--mission", "--timeline", __file__), "--timeline and --mission both"),
        (("--speed", "-1"), "--speed -1 must be 0"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.delenv("LUNASAMPLE_GDS_TOKEN", raising=False)
    rc = main(["gds", "--no-browser", *args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_busy_http_port_is_refused_before_the_board_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LUNASAMPLE_GDS_TOKEN", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        rc = main(["gds", "--no-browser", "--http-port", str(port)])
    out = capsys.readouterr()
    assert rc == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out.err
    assert "ground station on" not in out.out


@pytest.mark.browser
def test_gds_serves_a_page_chromium_renders(browser_context: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LUNASAMPLE_GDS_TOKEN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lunasample.cli", "gds", "--http-port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ground station on http://127.0.0.1:"), line
        url = line.split()[3]
        assert "emulated emulator board" in line
        page = browser_context.new_page()
        page.set_default_timeout(15000)
        try:
            page.goto(url)
            page.wait_for_selector('#link-state[data-state="up"]')
            assert page.locator("#estop").is_visible()
            page.wait_for_function("window.gds.lastTmAt > 0")
        finally:
            page.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "ground station stopped" in err and "Traceback" not in err


@pytest.mark.browser
@pytest.mark.slow
def test_gds_mission_fills_the_timeline(browser_context: Any) -> None:
    """A whole mission (~30 s) with its sampling campaign on the emulated board."""
    env = {k: v for k, v in os.environ.items() if k != "LUNASAMPLE_GDS_TOKEN"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lunasample.cli",
            "gds",
            "--mission",
            "--http-port",
            "0",
            "--no-browser",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[3]
        page = browser_context.new_page()
        try:
            page.goto(url)
            page.wait_for_selector("#timeline-note >> text=running:", timeout=30000)
            page.wait_for_selector("#timeline-note >> text=success", timeout=300000)
            rows = page.locator("#timeline-table tbody tr")
            assert rows.count() >= 10
            sampling = page.locator('#timeline-table tr[data-phase="sampling"]')
            assert sampling.locator("td").nth(1).inner_text() == "pass"
            # the campaign's samples reached the event log and the mass bar
            assert page.locator("#event-log tr[data-kind='ev-sample']").count() >= 1
            assert float(page.inner_text("#ro-mass").split()[0]) > 1500
        finally:
            page.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
