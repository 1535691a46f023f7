"""Frame logs exported as MCAP (read back with the mcap library) and CSV."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from mcap.reader import make_reader

from lunasample.cli import main
from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import packed, proto
from lunasample.link.client import Link


def _log(path: Path, frames: list[tuple[float, str, bytes]]) -> None:
    with open(path, "w") as f:
        for t, d, raw in frames:
            f.write(json.dumps({"t": t, "dir": d, "raw": raw.decode().rstrip("\n")}) + "\n")


def _mcap(path: Path) -> dict[str, list[tuple[dict, int, int]]]:
    out: dict[str, list[tuple[dict, int, int]]] = {}
    with open(path, "rb") as f:
        reader = make_reader(f)
        for schema, channel, msg in reader.iter_messages():
            assert schema is not None and schema.encoding == "jsonschema"
            json.loads(schema.data)  # a valid JSON schema document
            assert channel.message_encoding == "json"
            out.setdefault(channel.topic, []).append(
                (json.loads(msg.data), msg.log_time, msg.publish_time)
            )
    return out


def test_values_come_out_in_the_dictionarys_units(tmp_path: Path) -> None:
    sel = ">?EHN"  # t, st, di, a1, mass: chr(62 + id)
    log = tmp_path / "frames.jsonl"
    _log(
        log,
        [
            (0.10, "tx", proto.encode(1, "TMRATE", {"hz": 10})),
            (
                0.11,
                "rx",
                proto.encode(5, "TM", {"v": packed.pack([1, 2, 3, 4, 5])}),
            ),  # no layout yet
            (0.12, "rx", proto.encode(6, "ACK", {"re": 1, "ack": "done", "hz": 10, "sel": sel})),
            (
                0.20,
                "rx",
                proto.encode(7, "TM", {"v": packed.pack([2000, 3, 2990, -60000, 412500])}),
            ),
            (
                0.25,
                "rx",
                proto.encode(8, "EV", {"kind": "fault", "code": 1, "name": "estop", "t": 2050}),
            ),
            (0.30, "rx", b"$9,TM,v=broken*0000"),
        ],
    )
    out = tmp_path / "out.mcap"
    assert (
        main(["log", "export", str(log), "--mcap", str(out), "--csv", str(tmp_path / "tm.csv")])
        == 0
    )
    got = _mcap(out)
    ((tm, log_t, pub_t),) = got["/telemetry"]
    assert tm == {
        "board_time": 2.0,
        "st": 3,
        "st_name": "FAULT",
        "di": 2990,
        "a1": -60.0,
        "mass": 412.5,
    }
    assert (log_t, pub_t) == (200_000_000, 2_000_000_000)
    ((ev, _, ev_pub),) = got["/events"]
    assert ev == {"kind": "fault", "fields": {"code": 1, "name": "estop", "t": 2050}}
    assert ev_pub == 2_050_000_000
    rows = list(csv.reader(open(tmp_path / "tm.csv")))
    assert rows[0] == ["host_time [s]", "board_time [s]", "st", "di [mA]", "a1 [deg]", "mass [g]"]
    assert rows[1][1:] == ["2.000", "3", "2990", "-60.0", "412.5"]
    ev_rows = list(csv.reader(open(tmp_path / "tm-events.csv")))
    assert ev_rows[1][1:] == ["fault", "code=1 name=estop t=2050"]


def test_a_real_session_exports_and_reads_back(board: EmulatedBoard, tmp_path: Path) -> None:
    log = tmp_path / "frames.jsonl"
    with Link(board.url, log_path=log) as lk:
        lk.command("TMRATE", hz=50)
        lk.command("ARM")
        time.sleep(0.4)
        lk.command("ESTOP")
        time.sleep(0.2)
        lk.command("TMRATE", hz=0)
    out = tmp_path / "session.mcap"
    assert main(["log", "export", str(log), "--mcap", str(out)]) == 0
    got = _mcap(out)
    tm = [m for m, _, _ in got["/telemetry"]]
    assert len(tm) >= 10
    assert {"st", "dr", "a1", "mass", "mem"} <= set(tm[0])
    names = [m["st_name"] for m in tm]
    assert "ARMED" in names and names[-1] == "FAULT"
    times = [m["board_time"] for m in tm]
    assert times == sorted(times)
    kinds = [m["kind"] for m, _, _ in got["/events"]]
    assert "state" in kinds and "fault" in kinds


@pytest.mark.parametrize("case", ["missing", "no_output", "bad_dir"])
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path, capsys) -> None:
    log = tmp_path / "frames.jsonl"
    log.write_text("")
    argv = {
        "missing": ["log", "export", str(tmp_path / "nope.jsonl"), "--mcap", "x.mcap"],
        "no_output": ["log", "export", str(log)],
        "bad_dir": ["log", "export", str(log), "--mcap", str(tmp_path / "no" / "x.mcap")],
    }[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames.jsonl"]
