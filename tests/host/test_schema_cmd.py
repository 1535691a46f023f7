"""`lunasample schema board|rig|params`: the JSON Schema each file is checked
against by an editor accepts every shipped file and rejects a broken one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lunasample import paths
from lunasample.cli import main
from lunasample.mission.params import DEFAULT_PARAMS
from lunasample.rigs.schema import tomllib

RIGS = sorted(paths.RIGS_DIR.glob("*/rig.toml"))
BOARDS = sorted(p for p in paths.BOARDS_DIR.glob("*.json") if p.name != "parts.json")


def _schema(kind: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"{kind}.schema.json"
    assert main(["schema", kind, "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _toml(p: Path) -> dict[str, Any]:
    return tomllib.loads(p.read_text())


@pytest.mark.parametrize(
    "kind, files, read",
    [
        ("board", BOARDS, lambda p: json.loads(p.read_text())),
        ("rig", RIGS, _toml),
        ("params", [DEFAULT_PARAMS], _toml),
    ],
)
def test_schema_accepts_every_shipped_file(kind: str, files: list[Path], read, tmp_path) -> None:
    schema = _schema(kind, tmp_path)
    assert files
    for f in files:
        jsonschema.validate(read(f), schema)


def test_schema_rejects_what_the_loader_rejects(tmp_path: Path) -> None:
    rig = _toml(paths.RIGS_DIR / "emulator" / "rig.toml")
    rig["loadcell"]["capacity_g"] = -5
    with pytest.raises(jsonschema.ValidationError, match="minimum of 0"):
        jsonschema.validate(rig, _schema("rig", tmp_path))
    params = _toml(DEFAULT_PARAMS)
    params["launch"]["failure_prob"] = 1.5
    with pytest.raises(jsonschema.ValidationError, match="maximum of 1"):
        jsonschema.validate(params, _schema("params", tmp_path))
    rig = _toml(paths.RIGS_DIR / "emulator" / "rig.toml")
    rig["procedure"]["link_soak"]["minuts"] = 3
    with pytest.raises(jsonschema.ValidationError, match="minuts"):
        jsonschema.validate(rig, _schema("rig", tmp_path))


def test_schema_to_stdout_and_bad_out_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["schema", "board"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "BoardFile"
    assert main(["schema", "rig", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a directory" in err
    assert list(tmp_path.iterdir()) == []
    assert main(["schema", "rig", "--out", str(tmp_path / "no" / "x.json")]) == 2
    assert "cannot write there" in capsys.readouterr().err
