"""The dictionary: its own rules, the JSON shape other tools build on, the argument checks."""

from __future__ import annotations

import json

import pytest

from lunasample import dictionary
from lunasample.cli import main
from lunasample.dictionary import ArgError, Dictionary, DictionaryError
from lunasample.firmware.sampler import proto


def test_json_has_the_agreed_keys_and_ten_commands_with_arguments(capsys) -> None:
    assert main(["dict", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in dictionary.JSON_KEYS:
        assert d[key], key
    with_args = [c for c in d["commands"] if c["args"]]
    assert len(with_args) >= 10
    for c in d["commands"]:
        assert set(c) >= {"name", "id", "args", "pre", "replies", "errors", "doc"}
        for a in c["args"]:
            assert set(a) >= {"name", "type", "unit", "min", "max", "doc"}
    for p in d["params"]:
        assert set(p) >= {"name", "unit", "default", "min", "max", "doc"}
    for t in d["telemetry"]:
        assert set(t) >= {"name", "id", "unit", "scale", "rate", "doc"}


def test_human_tables_name_every_command(capsys) -> None:
    assert main(["dict"]) == 0
    out = capsys.readouterr().out
    for c in dictionary.load().commands:
        assert c["name"] in out


def test_a_duplicate_number_is_refused() -> None:
    data = json.loads(json.dumps(dictionary.load().data))
    data["faults"][2]["code"] = 1
    with pytest.raises(DictionaryError, match="code 1"):
        Dictionary(data)


def test_an_unknown_error_name_is_refused() -> None:
    data = json.loads(json.dumps(dictionary.load().data))
    data["commands"][0]["errors"].append("no_such_error")
    with pytest.raises(DictionaryError, match="no_such_error"):
        Dictionary(data)


@pytest.mark.parametrize(
    ("name", "fields", "code"),
    [
        ("NOPE", {}, proto.E_UNKNOWN_CMD),
        ("SCOOP", {}, proto.E_BAD_ARG),
        ("SCOOP", {"site": 8}, proto.E_OUT_OF_RANGE),
        ("SCOOP", {"site": "x"}, proto.E_BAD_ARG),
        ("SCOOP", {"site": 1, "speed": 3}, proto.E_BAD_ARG),
        ("MOVE", {"pose": "moon"}, proto.E_BAD_ARG),
        ("MOVE", {"j1": 180001}, proto.E_OUT_OF_RANGE),
        ("TMRATE", {"hz": 101}, proto.E_OUT_OF_RANGE),
        ("HELLO", {"sid": "a,b", "proto": 1}, proto.E_BAD_ARG),
        ("PARAM", {"name": "no_such_param"}, proto.E_BAD_ARG),
    ],
)
def test_bad_arguments_are_refused_with_the_boards_code(
    name: str, fields: dict[str, object], code: int
) -> None:
    with pytest.raises(ArgError) as e:
        dictionary.load().check_args(name, fields)
    assert e.value.code == code


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("SCOOP", {"site": 7}),
        ("MOVE", {"pose": "stow"}),
        ("MOVE", {"j1": -90000}),
        ("TMRATE", {}),
        ("PING", {"n": "5"}),
        ("HELLO", {"sid": "0a1b2c3d", "proto": 1}),
        ("PARAM", {"name": "drill_rpm", "value": 100}),
    ],
)
def test_good_arguments_pass(name: str, fields: dict[str, object]) -> None:
    dictionary.load().check_args(name, fields)


def test_a_board_files_limit_replaces_the_nominal_one() -> None:
    d = dictionary.load()
    board = {"limits": {"drill_rpm_max": 150, "j1_mdeg": [-10000, 10000]}}
    d.check_args("SPIN", {"rpm": -150}, board)
    with pytest.raises(ArgError):
        d.check_args("SPIN", {"rpm": 151}, board)
    with pytest.raises(ArgError):
        d.check_args("MOVE", {"j1": -10001}, board)
