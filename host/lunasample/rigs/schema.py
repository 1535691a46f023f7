"""Rig descriptions (test_rigs/<rig>/rig.toml): found, parsed, validated against the
model (lunasample.config.rig) and checked against the board they are wired to.

Every mistake is one UserError line naming the file, the key path and the rule, e.g.
`test_rigs/x/rig.toml: loadcell.capacity_g: Input should be greater than 0, got -5`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lunasample import paths
from lunasample.config import validation_error
from lunasample.config.rig import MOTOR_NAMES, rig_model
from lunasample.errors import UserError
from lunasample.rigs import registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["DEFAULT_RIG", "MOTOR_NAMES", "RIGS_DIR", "Rig", "find_rig", "load_rig", "rig_names"]

RIGS_DIR = paths.RIGS_DIR
DEFAULT_RIG = "emulator"


@dataclass
class Rig:
    """A validated rig description."""

    path: Path
    name: str
    description: str
    board_name: str
    board: dict[str, Any]
    emulated: bool
    wiring: dict[str, int]
    motors: dict[str, dict[str, Any]]
    loadcell: dict[str, Any]
    container: dict[str, Any]
    safety: dict[str, float]
    procedure: dict[str, dict[str, float]] = field(default_factory=dict)
    emulator: dict[str, Any] = field(default_factory=dict)

    def settings_for(self, proc: registry.Procedure) -> dict[str, float]:
        """The procedure's settings and limits: the rig file's values over the defaults."""
        out = {k: s.default for k, s in proc.keys.items()}
        out.update(self.procedure.get(proc.name, {}))
        return out


def rig_names() -> list[str]:
    """Names of the rigs in test_rigs/."""
    return sorted(p.parent.name for p in RIGS_DIR.glob("*/rig.toml"))


def find_rig(name_or_path: str) -> Path:
    """The rig.toml for a rig name (test_rigs/NAME), a rig directory or a .toml file."""
    p = Path(name_or_path)
    if p.suffix == ".toml":
        if not p.is_file():
            raise UserError(f"{p}: no such rig file")
        return p
    if p.is_dir() and (p / "rig.toml").is_file():
        return p / "rig.toml"
    cand = RIGS_DIR / name_or_path / "rig.toml"
    if cand.is_file():
        return cand
    raise UserError(
        f"unknown rig {name_or_path!r}: choose one of {', '.join(rig_names())} "
        "or give the path of a rig.toml"
    )


def _set(d: dict[str, Any]) -> dict[str, Any]:
    """A model's dump without the keys the file left out."""
    return {k: v for k, v in d.items() if v is not None}


def load_rig(name_or_path: str | Path) -> Rig:
    """Read and validate a rig description; every mistake is a one-line UserError."""
    path = find_rig(str(name_or_path))
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML: {e}") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror}") from None
    try:
        m = rig_model().model_validate(data)
    except ValidationError as e:
        raise validation_error(path, e) from None
    try:
        board = paths.load_board(m.rig.board)
    except UserError as e:
        raise UserError(f"{path}: rig.board: {e}") from None
    _against_board(path, m, board)
    procs = {
        name: {k: float(v) for k, v in _set(t.model_dump()).items()}
        for name, t in m.procedure
        if t is not None
    }
    return Rig(
        path=path,
        name=m.rig.name,
        description=m.rig.description,
        board_name=m.rig.board,
        board=board,
        emulated=m.rig.emulated,
        wiring=dict(m.wiring),
        motors={n: _set(x.model_dump()) for n, x in m.motors.items()},
        loadcell=_set(m.loadcell.model_dump()),
        container=_set(m.container.model_dump(exclude_unset=True)),
        safety=_set(m.safety.model_dump()),
        procedure=procs,
        emulator=m.emulator.model_dump(),
    )


def _against_board(path: Path, m: Any, board: dict[str, Any]) -> None:
    """The rules that need the board file: wiring, HX711 RATE, drill depth."""
    name = board["name"]
    pins = board["pins"]
    for k, v in m.wiring.items():
        if k not in pins:
            raise UserError(
                f"{path}: wiring.{k}: no pin {k!r} on board {name} (boards/{name}.json)"
            )
        if v != pins[k]:
            raise UserError(
                f"{path}: wiring.{k}: wired to GPIO {v} but boards/{name}.json "
                f"puts {k} on GPIO {pins[k]}"
            )
    hx = board.get("hx711") or {}
    rate = m.loadcell.rate_sps
    if rate is not None and hx.get("rate_sps", rate) != rate:
        raise UserError(
            f"{path}: loadcell.rate_sps: {rate} SPS, but boards/{name}.json selects "
            f"{hx['rate_sps']} SPS with the HX711's RATE pin"
        )
    lim = board.get("limits", {}).get("drill_depth_mm")
    if lim is not None and m.safety.max_depth_mm > lim:
        raise UserError(
            f"{path}: safety.max_depth_mm: {m.safety.max_depth_mm:g} mm is deeper than "
            f"the board's limit drill_depth_mm {lim}"
        )
