"""The sample journal end to end: emulated board, power cuts, torn writes,
host download to CSV and the `lunasample journal` command."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import pytest

from lunasample import journal
from lunasample.commands import journal_cmd
from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Frame, Link
from tests.e2e.conftest import wait_until

REC = 80



_wait = wait_until


def _add(link: Link, i: int) -> tuple[int, int]:
    """JADD one scoop record; (record number, command seq)."""
    r = link.command("JADD", kind="scoop", site=f"s{i % 12}", depth=0, mass=150_000 + i)
    return r.int("n"), r.int("re")


def test_every_acknowledged_record_survives_power_cuts(fast: EmulatedBoard) -> None:
    acked: dict[int, int] = {}
    stop = threading.Event()
    with Link(fast.url) as link:

        def writer() -> None:
            i = 0
            while not stop.is_set():
                try:
                    n, _ = _add(link, i)
                except UserError:
                    continue  # no reply across the cut: not acknowledged
                acked[n] = 150_000 + i
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        for k in range(3):
            _wait(lambda k=k: len(acked) >= 10 * (k + 1))
            fast.power_cut()
            _wait(lambda k=k: fast.restarts == k + 1)
        stop.set()
        t.join(30)
        assert fast.restarts == 3
        recs = journal.download(link)
    by_n = {r.n: r for r in recs}
    assert set(acked) <= set(by_n)
    assert all(by_n[n].mass_mg == m for n, m in acked.items())
    assert [r.n for r in recs] == sorted(by_n)


def test_torn_write_is_dropped_at_boot_and_reported(fast: EmulatedBoard) -> None:
    events: list[dict[str, str]] = []
    with Link(fast.url) as link:
        link.subscribe("EV", lambda f: events.append(f.fields))
        for i in range(5):
            _add(link, i)
        path = fast.fs_dir / "journal.dat"
        whole = path.read_bytes()
        assert len(whole) == 5 * REC
        # A write cut by a brownout: half a record at the tail.
        path.write_bytes(whole + whole[-REC:][: REC // 2].replace(b"5;", b"6;", 1))
        fast.power_cut()
        _wait(lambda: any(e.get("kind") == "journal" for e in events))
        ev = [e for e in events if e.get("kind") == "journal"][0]
        assert ev["dropped"] == "1" and ev["n"] == "5" and ev["last"] == "5"
        assert path.read_bytes() == whole  # the good records, rewritten in place
        info = link.command("JLEN").fields
        assert info["n"] == "5" and info["dropped"] == "1"
        assert _add(link, 5)[0] == 6


def test_power_cut_in_the_middle_of_a_journal_write(fast: EmulatedBoard) -> None:
    events: list[dict[str, str]] = []
    with Link(fast.url) as link:
        link.subscribe("EV", lambda f: events.append(f.fields))
        for i in range(4):
            _add(link, i)
        fast.inject("power_cut_on_write", 1)
        # The switch must not follow the board through the reboot it causes,
        # or the recovery's own write would be cut too.
        fast._faults.pop("power_cut_on_write")
        assert "power_cut_on_write" in fast.query()["faults"]  # the board has it now
        n, seq = _add(link, 4)  # cut mid-write; the retry runs on the rebooted board
        assert fast.restarts == 1
        ev = [e for e in events if e.get("kind") == "journal"]
        assert ev and ev[0]["dropped"] == "1" and ev[0]["n"] == "4"
        recs = journal.download(link)
    assert [r.n for r in recs] == [1, 2, 3, 4, 5] and n == 5
    # Records carry the session id, the retried one too: the link saw the
    # board's boot event and said HELLO again before resending.
    assert journal.find_command(recs, link.sid, recs[0].seq) == recs[0]
    again = [r for r in recs if r.seq == seq]
    assert len(again) == 1 and again[0].mass_mg == 150_004
    assert journal.find_command(recs, link.sid, seq) == again[0]


def test_download_resumes_into_csv_and_clear_keeps_numbering(fast: EmulatedBoard,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "journal.csv"
    with Link(fast.url) as link:
        seqs = [_add(link, i)[1] for i in range(50)]
        assert journal.sync_csv(link, out) == (50, 50)
        for i in range(50, 57):
            _add(link, i)
        seen: list[tuple[int, int]] = []
        assert journal.sync_csv(link, out, lambda d, last: seen.append((d, last))) == (7, 57)
        assert seen[-1] == (57, 57) and seen[0][0] > 50
        rows = journal.read_csv(out)
        assert [r.n for r in rows] == list(range(1, 58))
        assert [r.seq for r in rows[:50]] == seqs and all(r.sid == link.sid for r in rows)
        with pytest.raises(CommandRejected) as e:
            link.send_command("JCLEAR", {}, check=False)  # the board's check
        assert e.value.code == proto.E_BAD_ARG
        assert link.command("JCLEAR", confirm=1).int("base") == 57
        assert link.command("JLEN").int("n") == 0
        assert _add(link, 99)[0] == 58
        assert journal.sync_csv(link, out) == (1, 58)


def test_bad_records_and_requests_are_refused(fast: EmulatedBoard) -> None:
    with Link(fast.url) as link:
        for fields in ({"kind": "drill", "mass": 1}, {"kind": "core", "site": "x" * 9, "mass": 1},
                       {"kind": "core"}):
            with pytest.raises(CommandRejected) as e:
                link.send_command("JADD", fields, check=False)
            assert e.value.code in (proto.E_BAD_ARG, proto.E_BAD_STATE)
        assert link.command("JLEN").int("n") == 0
        assert link.command("JGET", **{"from": 1}).fields["r"] == ""
    with pytest.raises(journal.JournalError):
        journal.parse_record("1;2;S;s1;0;5;0;7;ab|0000")


def _args(**kw: object) -> argparse.Namespace:
    base = {"port": None, "emulate": False, "flash": None, "out": None, "clear": False}
    base.update(kw)
    return argparse.Namespace(**base)


def test_journal_command_downloads_resumes_and_clears(fast: EmulatedBoard, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with Link(fast.url) as link:
        for i in range(8):
            _add(link, i)
    out = tmp_path / "j.csv"
    assert journal_cmd.run(_args(port=fast.url, out=out)) == 0
    assert len(journal.read_csv(out)) == 8
    assert journal_cmd.run(_args(port=fast.url)) == 0
    assert capsys.readouterr().out.count("scoop") == 8
    assert journal_cmd.run(_args(port=fast.url, out=out, clear=True)) == 0
    with Link(fast.url) as link:
        assert link.command("JLEN").int("n") == 0
    with pytest.raises(UserError):
        journal_cmd.run(_args())
    with pytest.raises(UserError):
        journal_cmd.run(_args(port=fast.url, clear=True))


def test_journal_command_on_an_emulated_board(tmp_path: Path) -> None:
    flash = tmp_path / "flash"
    with EmulatedBoard(speed=0, fs_dir=flash) as b, Link(b.url) as link:
        _add(link, 1)
    out = tmp_path / "e.csv"
    assert journal_cmd.run(_args(emulate=True, flash=flash, out=out)) == 0
    assert [r.mass_mg for r in journal.read_csv(out)] == [150_001]


def test_download_is_checked_record_by_record(fast: EmulatedBoard) -> None:
    frames: list[Frame] = []
    with Link(fast.url) as link:
        for i in range(6):
            _add(link, i)
        link.subscribe("ACK", frames.append)
        recs = journal.download(link)
    texts = [t for f in frames for t in f.fields.get("r", "").split("/") if t]
    assert [journal.parse_record(t) for t in texts] == recs
    assert all(len(proto.encode(f.seq, f.mtype, f.fields)) <= proto.MAX_FRAME for f in frames)
