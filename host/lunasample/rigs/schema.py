"""Rig descriptions (test_rigs/<rig>/rig.toml): the schema, the loader and its checks.

Every mistake is one UserError line naming the file and the bad key, e.g.
`test_rigs/x/rig.toml: [loadcell] capacity_g: expected a number > 0, got -5`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lunasample import paths
from lunasample.errors import UserError
from lunasample.rigs import registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

RIGS_DIR = paths.RIGS_DIR
DEFAULT_RIG = "emulator"
MOTOR_NAMES = ("drill", "feed", "j1", "j2", "j3", "scoop")
_NAME = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class Key:
    """One key of a table: its kind ('str', 'int', 'num', 'bool', 'nums'), range, choices."""

    kind: str
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] = ()
    lo_open: bool = False  # lo itself is not allowed (a strictly positive number)


def _pos(kind: str = "num", required: bool = False) -> Key:
    return Key(kind, required, lo=0, lo_open=True)


TABLES: dict[str, dict[str, Key]] = {
    "rig": {
        "name": Key("str", True),
        "description": Key("str"),
        "board": Key("str", True),
        "emulated": Key("bool"),
    },
    "motor": {
        "kind": Key("str", True, choices=("dc", "stepper", "servo")),
        "rated_rpm": _pos(),
        "rated_current_ma": _pos(),
        "encoder_cpr": _pos("int"),
        "steps_per_rev": _pos("int"),
        "microsteps": _pos("int"),
        "gear_ratio": _pos(),
        "steps_per_mm": _pos(),
        "range_deg": _pos(),
    },
    "loadcell": {
        "capacity_g": _pos(required=True),
        "sensitivity_mv_v": _pos(),
        "amplifier": Key("str", choices=("hx711",)),
        "rate_sps": Key("int", choices=(10, 80)),
        "reference_weights_g": Key("nums", True, lo=0, lo_open=True),
        "calibration_weight_g": _pos(required=True),
    },
    "container": {
        "name": Key("str"),
        "tare_g": Key("num", lo=0),
        "capacity_g": _pos(required=True),
    },
    "safety": {
        "max_drill_rpm": _pos(required=True),
        "max_drill_current_ma": _pos(),
        "max_depth_mm": _pos(required=True),
        "max_scoop_g": _pos(),
    },
    "emulator": {
        "seed": Key("int", lo=0),
        "speed": Key("num", lo=0),
        "plant": Key("table"),
        "faults": Key("table"),
    },
}
TOP = ("rig", "wiring", "motors", "loadcell", "container", "safety", "procedure", "emulator")


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


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, msg: str) -> UserError:
        return UserError(f"{self.path}: {where}: {msg}")

    def value(self, where: str, key: Key, v: Any) -> Any:
        kind = key.kind
        if kind == "str":
            if not isinstance(v, str) or not v:
                raise self.fail(where, f"expected a non-empty string, got {v!r}")
        elif kind == "bool":
            if not isinstance(v, bool):
                raise self.fail(where, f"expected true or false, got {v!r}")
        elif kind == "table":
            if not isinstance(v, dict):
                raise self.fail(where, f"expected a table, got {v!r}")
            for k, x in v.items():
                if not _NAME.match(k):
                    raise self.fail(f"{where}.{k}", "names are lower-case letters, digits, _")
                self.value(f"{where}.{k}", Key("num"), x)
        elif kind == "nums":
            if not isinstance(v, list) or not v:
                raise self.fail(where, f"expected a list of numbers, got {v!r}")
            for x in v:
                self.value(where, Key("num", lo=key.lo, lo_open=key.lo_open), x)
        else:
            ok = isinstance(v, int) if kind == "int" else isinstance(v, (int, float))
            if isinstance(v, bool) or not ok:
                what = "an integer" if kind == "int" else "a number"
                raise self.fail(where, f"expected {what}, got {v!r}")
            if key.lo is not None and (v < key.lo or (key.lo_open and v == key.lo)):
                rel = ">" if key.lo_open else ">="
                raise self.fail(where, f"expected a number {rel} {key.lo:g}, got {v!r}")
            if key.hi is not None and v > key.hi:
                raise self.fail(where, f"expected a number <= {key.hi:g}, got {v!r}")
        if key.choices and v not in key.choices:
            raise self.fail(
                where, f"expected one of {', '.join(map(str, key.choices))}, got {v!r}"
            )
        return v

    def table(self, where: str, spec: dict[str, Key], data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(f"[{where}]", "expected a table")
        for k in data:
            if k not in spec:
                raise self.fail(
                    f"[{where}] {k}", f"unknown key (expected one of {', '.join(spec)})"
                )
        out = {}
        for k, key in spec.items():
            if k not in data:
                if key.required:
                    raise self.fail(f"[{where}] {k}", "missing required key")
                continue
            out[k] = self.value(f"[{where}] {k}", key, data[k])
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


def load_rig(name_or_path: str | Path) -> Rig:
    """Read and validate a rig description; every mistake is a one-line UserError."""
    path = find_rig(str(name_or_path))
    c = _Checker(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML: {e}") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror}") from None
    for k in data:
        if k not in TOP:
            raise c.fail(f"[{k}]", f"unknown table (expected one of {', '.join(TOP)})")
    for k in ("rig", "loadcell", "container", "safety"):
        if k not in data:
            raise c.fail(f"[{k}]", "missing required table")
    rig = c.table("rig", TABLES["rig"], data["rig"])
    try:
        board = paths.load_board(rig["board"])
    except UserError as e:
        raise c.fail("[rig] board", str(e)) from None
    wiring = _wiring(c, data.get("wiring", {}), board)
    motors = {}
    mdata = data.get("motors", {})
    if not isinstance(mdata, dict):
        raise c.fail("[motors]", "expected a table of [motors.<name>] tables")
    for name, m in mdata.items():
        if name not in MOTOR_NAMES:
            raise c.fail(
                f"[motors.{name}]", f"unknown motor (expected one of {', '.join(MOTOR_NAMES)})"
            )
        motors[name] = c.table(f"motors.{name}", TABLES["motor"], m)
    cell = c.table("loadcell", TABLES["loadcell"], data["loadcell"])
    for w in [*cell["reference_weights_g"], cell["calibration_weight_g"]]:
        if w > cell["capacity_g"]:
            raise c.fail(
                "[loadcell] reference_weights_g",
                f"{w:g} g is over the cell's capacity_g {cell['capacity_g']:g}",
            )
    hx = board.get("hx711") or {}
    if "rate_sps" in cell and hx.get("rate_sps", cell["rate_sps"]) != cell["rate_sps"]:
        raise c.fail(
            "[loadcell] rate_sps",
            f"{cell['rate_sps']} SPS, but boards/{board['name']}.json selects "
            f"{hx['rate_sps']} SPS with the HX711's RATE pin",
        )
    container = c.table("container", TABLES["container"], data["container"])
    if container.get("tare_g", 0) + container["capacity_g"] > cell["capacity_g"]:
        raise c.fail(
            "[container] capacity_g",
            "a full container (tare_g + capacity_g) is over the load cell's capacity_g",
        )
    safety = c.table("safety", TABLES["safety"], data["safety"])
    _cross_check(c, safety, motors, board)
    procs = _procedures(c, data.get("procedure", {}))
    emu = c.table("emulator", TABLES["emulator"], data.get("emulator", {}))
    return Rig(
        path=path,
        name=rig["name"],
        description=rig.get("description", ""),
        board_name=rig["board"],
        board=board,
        emulated=rig.get("emulated", False),
        wiring=wiring,
        motors=motors,
        loadcell=cell,
        container=container,
        safety=safety,
        procedure=procs,
        emulator=emu,
    )


def _wiring(c: _Checker, data: Any, board: dict[str, Any]) -> dict[str, int]:
    if not isinstance(data, dict):
        raise c.fail("[wiring]", "expected a table of <pin name> = <GPIO>")
    pins = board["pins"]
    out = {}
    for k, v in data.items():
        if k not in pins:
            raise c.fail(
                f"[wiring] {k}",
                f"no pin {k!r} on board {board['name']} (boards/{board['name']}.json)",
            )
        c.value(f"[wiring] {k}", Key("int", lo=0), v)
        if v != pins[k]:
            raise c.fail(
                f"[wiring] {k}",
                f"wired to GPIO {v} but boards/{board['name']}.json puts {k} on GPIO {pins[k]}",
            )
        out[k] = v
    return out


def _cross_check(
    c: _Checker, safety: dict[str, float], motors: dict[str, dict[str, Any]], board: dict[str, Any]
) -> None:
    drill = motors.get("drill", {})
    if "rated_rpm" in drill and safety["max_drill_rpm"] > drill["rated_rpm"]:
        raise c.fail(
            "[safety] max_drill_rpm",
            f"{safety['max_drill_rpm']:g} rpm is over the "
            f"drill motor's rated_rpm {drill['rated_rpm']:g}",
        )
    cur = safety.get("max_drill_current_ma")
    if cur is not None and "rated_current_ma" in drill and cur > drill["rated_current_ma"]:
        raise c.fail(
            "[safety] max_drill_current_ma",
            f"{cur:g} mA is over the drill motor's rated_current_ma",
        )
    lim = board.get("limits", {}).get("drill_depth_mm")
    if lim is not None and safety["max_depth_mm"] > lim:
        raise c.fail(
            "[safety] max_depth_mm",
            f"{safety['max_depth_mm']:g} mm is deeper than the board's limit drill_depth_mm {lim}",
        )


def _procedures(c: _Checker, data: Any) -> dict[str, dict[str, float]]:
    if not isinstance(data, dict):
        raise c.fail("[procedure]", "expected [procedure.<name>] tables")
    known = registry.procedures()
    out: dict[str, dict[str, float]] = {}
    for name, table in data.items():
        if name not in known:
            raise c.fail(
                f"[procedure.{name}]", f"unknown procedure (expected one of {', '.join(known)})"
            )
        spec = {
            k: Key("int" if s.integer else "num", lo=s.lo, hi=s.hi)
            for k, s in known[name].keys.items()
        }
        out[name] = {k: float(v) for k, v in c.table(f"procedure.{name}", spec, table).items()}
    return out
