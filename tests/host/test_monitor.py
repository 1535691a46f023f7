"""The terminal monitor: 80x25 with units, its keys in --help, a live run."""

from __future__ import annotations

import pytest

from lunasample import dictionary
from lunasample.cli import build_parser, main
from lunasample.commands import monitor_cmd


def _full_tm() -> dict[str, str]:
    tm = {
        t["name"]: str(-123456 if t["name"].startswith("a") else 98765)
        for t in dictionary.load().telemetry
    }
    tm.update(st="FAULT", df="3", flt="4", t="61250")
    return tm


def test_a_full_screen_fits_80x25_with_units() -> None:
    events = [
        f"kind=fault code={i} name=drill_jam t={1000 * i} and more text " * 3 for i in range(20)
    ]
    stats = {"rx": 10**6, "tx": 10**6, "rx_lost": 12, "bad": 3, "retries": 9}
    lines = monitor_cmd.render(_full_tm(), events, stats, "emulated emulator", 100)
    assert len(lines) <= 25 and all(len(ln) <= 80 for ln in lines)
    text = "\n".join(lines)
    for needle in ("-123.456 deg", "98765 mA", "98.765 g", "feed", "encoder_lost", "FAULT"):
        assert needle in text, needle
    # Every field the board sent is on the screen.
    for t in dictionary.load().telemetry:
        if t["name"] not in ("t", "st"):
            assert monitor_cmd._label(t["name"]) in text, t["name"]
    assert lines[-1].startswith("keys:")


def test_help_lists_the_keys(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["monitor", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert monitor_cmd.KEYS_HELP in out
    for key, (_, what) in monitor_cmd.KEYS.items():
        assert (key.strip() or "space") in monitor_cmd.KEYS_HELP and what in monitor_cmd.KEYS_HELP


def test_a_live_run_ends_after_its_duration(capsys) -> None:
    assert main(["monitor", "--duration", "1", "--rate", "20"]) == 0
    assert "TM 20 Hz" in capsys.readouterr().out


def test_a_bad_rate_is_one_line(capsys) -> None:
    assert main(["monitor", "--rate", "500"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
