"""The serial link end to end: emulated board, real firmware, host over the socket URL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.firmware.sampler import proto
from lunasample.link.client import ArgumentRefused, CommandRejected, Link
from lunasample.link.framelog import read_log
from lunasample.link.retry import RetryPolicy


def test_hello_reports_firmware_board_and_protocol(link: Link) -> None:
    h = link.hello
    assert h is not None
    assert h.board == "emulator" and h.protocol == proto.PROTOCOL_VERSION
    assert h.firmware and h.loop_hz == 1000 and "core" in h.caps


def test_unknown_command_and_bad_argument_are_nakked(link: Link) -> None:
    # The board's own checks (the host's dictionary check bypassed)...
    for name, fields, code in (("FLY", {"to": "moon"}, proto.E_UNKNOWN_CMD),
                               ("TMRATE", {"hz": 5000}, proto.E_OUT_OF_RANGE),
                               ("TMRATE", {"hz": "fast"}, proto.E_BAD_ARG)):
        with pytest.raises(CommandRejected) as e:
            link.send_command(name, fields, check=False)
        assert e.value.code == code and not isinstance(e.value, ArgumentRefused)
        # ... and the host's, which sends nothing and names the same error.
        tx = link.stats["tx"]
        with pytest.raises(ArgumentRefused) as e:
            link.command(name, **fields)
        assert e.value.code == code and link.stats["tx"] == tx


def test_repeated_sequence_number_is_answered_from_cache(link: Link) -> None:
    before = link.command("STATUS").int("cmds")
    seq = 4242
    frame = proto.encode(seq, "ARM", {})
    replies = []
    link.subscribe("ACK", lambda f: replies.append(f) if f.int("re") == seq else None)
    for _ in range(3):
        link._write(frame)  # the same frame three times, as a retrying host would
        time.sleep(0.1)
    after = link.command("STATUS")
    assert len(replies) == 3 and all(r.fields["st"] == "ARMED" for r in replies)
    # ARM ran once; the STATUS calls account for the rest.
    assert after.int("cmds") - before == 2
    assert after.int("replays") >= 2


def test_thousand_commands_on_a_noisy_line_execute_exactly_once(tmp_path: Path) -> None:
    """1% of bytes corrupted and 1% of frames dropped, both directions."""
    faults = {"serial_noise": 0.01, "serial_drop": 0.01}
    with EmulatedBoard(speed=0, fs_dir=tmp_path / "fs", faults=faults, seed=3) as board:
        retry = RetryPolicy(ack_timeout_s=0.012, retries=40, backoff=1.2, max_timeout_s=0.1)
        with Link(board.url, retry=retry) as link:
            start = link.command("STATUS").int("cmds")
            for i in range(1000):
                assert link.command("PING", n=i).int("n") == i
            assert board.noise.bytes_corrupted > 100 and board.noise.lines_dropped > 5
            board.inject("serial_noise", 0)
            board.inject("serial_drop", 0)
            st = link.command("STATUS")
            # 1000 PINGs + the final STATUS, each executed once, however often resent.
            assert st.int("cmds") - start == 1001
            assert link.stats["retries"] > 0 and st.int("replays") > 0


def test_link_loss_puts_the_board_in_safe(board: EmulatedBoard) -> None:
    with Link(board.url) as link:
        link.command("HBTO", ms=1000)
        assert link.command("ARM").fields["st"] == "ARMED"
    time.sleep(2.5)  # no host heartbeats for 2.5 s of board time (speed 1)
    events = []
    link2 = Link(board.url)
    link2.subscribe("EV", lambda f: events.append(f.fields))
    try:
        link2.open()
        st = link2.command("STATUS").fields
        assert st["st"] == "SAFE" and st["why"] == "link_lost"
        time.sleep(0.1)
        assert {"kind": "link", "st": "restored", "why": "link_lost"} in events
    finally:
        link2.close()


def test_every_frame_is_logged_and_replayable(link: Link, tmp_path: Path) -> None:
    link.command("PING", n=7)
    frames = list(read_log(tmp_path / "frames.jsonl"))
    assert any(f.direction == "tx" and ",PING,n=7*" in f.raw for f in frames)
    assert any(f.direction == "rx" and ",ACK," in f.raw for f in frames)


def test_wrong_port_is_a_one_line_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such port"):
        Link(str(tmp_path / "ttyNOPE")).open()
    with pytest.raises(UserError, match="refused"):
        Link("socket://127.0.0.1:1").open()


def test_silent_port_is_reported(tmp_path: Path) -> None:
    # A board running no firmware (empty flash): the REPL answers, not HELLO.
    with EmulatedBoard(speed=1, fs_dir=tmp_path / "fs", flash=False) as board:
        link = Link(board.url, retry=RetryPolicy(ack_timeout_s=0.1, retries=2))
        with pytest.raises(UserError, match="no answer from a lunasample board"):
            link.open()
        link.close()


def test_cable_pull_mid_command_reconnects_and_runs_it_once(tmp_path: Path) -> None:
    with EmulatedBoard(speed=1, fs_dir=tmp_path / "fs") as board:
        with Link(board.url, reconnect_s=10) as link:
            link.command("HBTO", ms=20000)
            link.command("ARM")
            before = link.command("STATUS").int("cmds")
            done: list[object] = []

            def home() -> None:
                done.append(link.run("HOME", timeout_board_s=120))

            import threading
            t = threading.Thread(target=home)
            t.start()
            time.sleep(1.0)  # HOME is under way
            board.unplug()
            t.join(timeout=120)
            assert done and done[0].int("ok") == 1  # type: ignore[attr-defined]
            assert link.stats["reconnects"] >= 1
            st = link.command("STATUS")
            # HOME ran once (plus HELLO on reconnect and this STATUS).
            assert st.int("cmds") - before == 3
            assert st.int("replays") >= 1


def test_telemetry_frames_stay_within_the_limit_and_merge(link: Link) -> None:
    frames = []
    link.subscribe("TM", frames.append)
    link.command("TMRATE", hz=20)
    time.sleep(1.0)
    link.command("TMRATE", hz=0)
    assert frames
    by_t: dict[str, dict[str, str]] = {}
    for f in frames:
        assert len(proto.encode(f.seq, "TM", f.fields)) <= proto.MAX_FRAME
        by_t.setdefault(f.fields["t"], {}).update(f.fields)
    # Every sample carries every source's fields, core and subsystems alike.
    keys = set.union(*(set(v) for v in by_t.values()))
    assert {"st", "flt", "ovr", "mem", "mass", "dr", "a1", "cp"} <= keys
    assert set(link.telemetry) >= {"st", "mem"}


def test_host_refuses_a_board_with_another_protocol_version(board: EmulatedBoard,
                                                            monkeypatch) -> None:
    # This host pretends to speak v2; the board (real firmware) speaks v1.
    monkeypatch.setattr(proto, "PROTOCOL_VERSION", proto.PROTOCOL_VERSION + 1)
    link = Link(board.url)
    try:
        with pytest.raises(UserError, match=r"speaks protocol v1, this host speaks v2"):
            link.open()
    finally:
        link.close()
