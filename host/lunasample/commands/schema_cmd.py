"""`lunasample schema`: the JSON Schema of each file users write, for their editor."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lunasample.errors import UserError


def _board() -> dict[str, Any]:
    from lunasample.hardware.model import BoardFile

    return BoardFile.model_json_schema()


def _rig() -> dict[str, Any]:
    from lunasample.config.rig import rig_model

    return rig_model().model_json_schema()


def _params() -> dict[str, Any]:
    from lunasample.mission.params import params_json_schema

    return params_json_schema()


SCHEMAS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "board": ("boards/NAME.json", _board),
    "rig": ("test_rigs/NAME/rig.toml", _rig),
    "params": ("mission parameters (params.toml, --params FILE)", _params),
}


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one kind of file."""
    title, make = SCHEMAS[kind]
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", **make()}
    out.setdefault("description", title)
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of a board, rig or parameters file",
        description="Print the JSON Schema of a board file (boards/NAME.json), a rig file "
        "(test_rigs/NAME/rig.toml) or a mission parameters file, from the same models "
        "the loaders validate with: units, ranges and allowed values, for an editor's "
        "completion and checks.",
    )
    p.add_argument("kind", choices=sorted(SCHEMAS), help="which file")
    p.add_argument("--out", metavar="FILE", help="write the schema to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = json.dumps(schema(args.kind), indent=2) + "\n"
    if not args.out:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    try:
        out.write_text(text)
    except IsADirectoryError:
        raise UserError(f"--out {out}: is a directory, give a file name") from None
    except OSError as e:
        raise UserError(f"--out {out}: cannot write there ({e.strerror})") from None
    return 0
