"""The `lunasample` command line, run as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lunasample.cli import COMMANDS, build_parser, main
from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lunasample.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_every_subcommand_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    r = cli("--help")
    assert r.returncode == 0 and "Chang'e" in r.stdout
    sub = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert len(sub) == len(COMMANDS)
    for name in sub:
        # In this process: the entry point itself is the subprocess above.
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0, name
        assert len(capsys.readouterr().out.splitlines()) > 4, name


@pytest.mark.parametrize(
    "args, message",
    [
        (("status", "--port", "/dev/ttyNOPE0"), "no such port"),
        (("status", "--port", "socket://127.0.0.1:1"), "connection refused"),
        (("status", "--board", "nosuchboard"), "unknown board 'nosuchboard'"),
        (("monitor", "--replay", "/nonexistent/frames.jsonl"), "cannot read frame log"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args: tuple[str, ...], message: str) -> None:
    r = cli(*args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_missing_micropython_binary_is_named() -> None:
    env = dict(os.environ, LUNASAMPLE_MICROPYTHON="/nonexistent/micropython")
    r = cli("status", env=env)
    assert r.returncode == 2 and "LUNASAMPLE_MICROPYTHON" in r.stderr
    assert "Traceback" not in r.stderr


def test_emulate_takes_control_lines_on_stdin(tmp_path: Path) -> None:
    """`state` prints the plants, an unknown line gets the help, a bad value
    one error line, and `quit` stops the board with exit 0."""
    r = subprocess.run(
        [sys.executable, "-m", "lunasample.cli", "emulate", "--fs", str(tmp_path / "fs")],
        input="state\nbogus\nspeed fast\nquit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "'plants'" in r.stdout and "'drill'" in r.stdout
    assert "? bogus" in r.stderr and "power-cut" in r.stderr
    assert "error: could not convert string to float: 'fast'" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_emulate_prints_the_port_first_and_cleans_up(tmp_path: Path, sig: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lunasample.cli", "emulate", "--fs", str(tmp_path / "fs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        fields = dict(w.split("=", 1) for w in first)
        assert fields["pty"].startswith("/dev/pts/") and fields["url"].startswith("socket://")
        for port in (fields["pty"], fields["url"]):
            with Link(port) as link:
                assert link.hello is not None and link.hello.board == "emulator"
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children, "the micropython board process runs as a child"
        proc.send_signal(sig)  # Ctrl-C, or a service manager stopping it
        assert proc.wait(timeout=20) == 0
        for pid in children:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
            )
    finally:
        proc.kill()
        proc.wait()


def test_flash_installs_firmware_with_mpremote_and_checks_hello(tmp_path: Path) -> None:
    with EmulatedBoard(speed=1, fs_dir=tmp_path / "fs", flash=False) as board:
        assert not (tmp_path / "fs" / "main.py").exists()
        r = cli("flash", "--port", board.url, "--board", "emulator", timeout=300)
        assert r.returncode == 0, r.stderr
        assert "flashed" in r.stdout and "emulator" in r.stdout
        # The package goes on as mpy-cross bytecode for the board's CPU.
        mpy = (tmp_path / "fs" / "sampler" / "proto.mpy").read_bytes()
        assert mpy[:1] == b"M" and not (tmp_path / "fs" / "sampler" / "proto.py").exists()
        with Link(board.url) as link:
            assert link.command("STATUS").fields["st"] == "SAFE"


def test_mpremote_ls_and_cp_against_the_emulated_board(tmp_path: Path) -> None:
    payload = tmp_path / "note.txt"
    payload.write_bytes(bytes(range(32, 127)) * 40)
    with EmulatedBoard(speed=1, fs_dir=tmp_path / "fs") as board:

        def mpremote(*a: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "mpremote", "connect", board.url, *a],
                capture_output=True,
                text=True,
                timeout=60,
            )

        r = mpremote("fs", "ls", ":")
        assert r.returncode == 0, r.stderr
        assert "main.py" in r.stdout and "sampler/" in r.stdout
        r = mpremote("fs", "cp", str(payload), ":note.txt")
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "fs" / "note.txt").read_bytes() == payload.read_bytes()
        r = mpremote("fs", "cp", str(payload), ":note.txt")
        assert "Up to date" in r.stdout  # hash compared on the board, copy skipped
        r = mpremote("fs", "cp", ":board.json", str(tmp_path / "back.json"))
        assert r.returncode == 0 and b'"emulator"' in (tmp_path / "back.json").read_bytes()


def test_monitor_replays_a_frame_log(tmp_path: Path) -> None:
    log = tmp_path / "frames.jsonl"
    with EmulatedBoard(speed=1, fs_dir=tmp_path / "fs") as board:
        with Link(board.url, log_path=log) as link:
            link.command("PING", n=31)
    r = cli("monitor", "--replay", str(log))
    assert r.returncode == 0
    assert "PING  n=31" in r.stdout and "ACK" in r.stdout
