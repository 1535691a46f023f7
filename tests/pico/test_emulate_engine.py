"""`lunasample emulate --engine rp2040js`: the emulated Pico behind a serial
port, as the unix engine offers one; bad input is one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import serial

from lunasample.emulator.rp2040js import missing_reason

CLI = [sys.executable, "-m", "lunasample", "emulate", "--engine", "rp2040js"]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--board", "esp32_devkitc"], "not an RP2040 board"),
        (["--speed", "3"], "--speed"),
        (["--board", "nope"], "nope"),
    ],
)
def test_bad_input_is_one_line_exit_2(extra: list[str], says: str) -> None:
    r = subprocess.run(CLI + extra, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_missing_uf2_is_one_line_exit_2() -> None:
    env = {**os.environ, "LUNASAMPLE_PICO_UF2": "/nonexistent/RPI_PICO.uf2"}
    r = subprocess.run(CLI, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2, r
    assert "LUNASAMPLE_PICO_UF2" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.pico
@pytest.mark.skipif(missing_reason() is not None, reason=f"no emulated Pico: {missing_reason()}")
def test_the_pico_serves_micropython_on_its_url() -> None:
    """Unflashed, the Pico boots MicroPython's rp2 port; its REPL answers
    on the printed socket:// URL through pyserial."""
    p = subprocess.Popen(
        [*CLI, "--no-flash"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None and p.stdin is not None
        first = p.stdout.readline().strip()
        assert first.startswith("url=socket://127.0.0.1:"), first
        ser = serial.serial_for_url(first[4:], timeout=0.5)
        got = b""
        end = time.monotonic() + 120
        while b"Raspberry Pi Pico" not in got and time.monotonic() < end:
            ser.write(b"\r\x03\x02")  # Ctrl-C, Ctrl-B: the friendly REPL's banner
            got += ser.read(4096)
        ser.close()
        assert b"Raspberry Pi Pico with RP2040" in got, got[-300:]
        p.stdin.write("quit\n")
        p.stdin.flush()
        assert p.wait(30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
