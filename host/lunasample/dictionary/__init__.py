"""The command/telemetry dictionary: one machine-readable source for the wire protocol.

`dictionary.toml` (package data) lists every command with its arguments,
preconditions, replies and errors, every telemetry field (unit, scale, rate),
event, error code, fault code and parameter. The firmware's constants, the
host's argument checks, the ground station and docs/protocol.md all come
from it (`lunasample dict --write` regenerates the generated parts).

    from lunasample import dictionary
    d = dictionary.load()
    d.command("SCOOP")["args"]
    dictionary.as_json()["telemetry"]
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from importlib import resources
from typing import Any

from lunasample.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

JSON_KEYS = ("commands", "telemetry", "events", "faults", "params")
TM_ID_BASE = 62  # telemetry id i is the character chr(62 + i) in TMRATE sel
TM_MAX_FIELDS = 64
ARG_TYPES = ("int", "str")
KINDS = ("immediate", "long", "none")

Entry = dict[str, Any]


class DictionaryError(ValueError):
    """The dictionary source breaks one of its own rules."""


class ArgError(UserError):
    """A command's arguments do not match the dictionary. code is the
    protocol error code the board would answer with (bad_arg, out_of_range,
    unknown_cmd)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class Dictionary:
    """The loaded dictionary: lists of entries (plain dicts) and look-ups."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.protocol: Entry = data["protocol"]
        self.enums: dict[str, list[str]] = data["enums"]
        self.errors: list[Entry] = data["errors"]
        self.faults: list[Entry] = data["faults"]
        self.commands: list[Entry] = data["commands"]
        self.telemetry: list[Entry] = sorted(data["telemetry"], key=lambda t: t["id"])
        self.events: list[Entry] = data["events"]
        self.params: list[Entry] = data["params"]
        self._cmd = {c["name"]: c for c in self.commands}
        self._tm = {t["name"]: t for t in self.telemetry}
        self._err = {e["name"]: e for e in self.errors}
        self._param = {p["name"]: p for p in self.params}
        _check(self)

    # -- look-ups ------------------------------------------------------
    def command(self, name: str) -> Entry:
        """The command entry; KeyError if there is none."""
        return self._cmd[name]

    def has_command(self, name: str) -> bool:
        return name in self._cmd

    def tm_field(self, name: str) -> Entry:
        return self._tm[name]

    def param(self, name: str) -> Entry:
        return self._param[name]

    def error_code(self, name: str) -> int:
        return int(self._err[name]["code"])

    def error_name(self, code: int) -> str:
        for e in self.errors:
            if e["code"] == code:
                return str(e["name"])
        return "error"

    def enum(self, name: str) -> list[str]:
        """An enum's names by value; "faults" gives the fault names by code."""
        if name == "faults":
            return [str(f["name"]) for f in sorted(self.faults, key=lambda f: f["code"])]
        return self.enums[name]

    def tm_char(self, name: str) -> str:
        """The telemetry field's one-character id (TMRATE sel)."""
        return chr(TM_ID_BASE + int(self._tm[name]["id"]))

    def tm_by_char(self, c: str) -> Entry | None:
        i = ord(c) - TM_ID_BASE
        for t in self.telemetry:
            if t["id"] == i:
                return t
        return None

    # -- argument checks -------------------------------------------------
    def choices(self, arg: Entry) -> list[str] | None:
        """The values a text argument may take (`choices`, or `choices_from`
        = "params": the parameter names), None when free."""
        if arg.get("choices_from") == "params":
            return [str(p["name"]) for p in self.params]
        c = arg.get("choices")
        return [str(x) for x in c] if c else None

    def arg_range(self, arg: Entry, board: dict[str, Any] | None = None) -> tuple[int, int]:
        """(min, max) of an integer argument or parameter, with the board
        file's own bound when `max_board` names one and the board is known."""
        lo, hi = int(arg.get("min", -(1 << 30))), int(arg.get("max", 1 << 30))
        key = arg.get("max_board")
        if key and board is not None:
            v: Any = board
            for part in str(key).split("."):
                v = v.get(part) if isinstance(v, dict) else None
            if isinstance(v, list) and len(v) == 2:
                lo, hi = int(v[0]), int(v[1])
            elif isinstance(v, int):
                hi = v
                if arg.get("symmetric"):
                    lo = -v
        return lo, hi

    def check_args(
        self, name: str, fields: dict[str, object], board: dict[str, Any] | None = None
    ) -> None:
        """Raise ArgError when `fields` would be refused for bad arguments:
        an unknown command or argument, a required one missing, a value not
        of its type, outside its range or not one of its choices."""
        unknown = self.error_code("unknown_cmd")
        bad, rng = self.error_code("bad_arg"), self.error_code("out_of_range")
        if name not in self._cmd:
            raise ArgError(unknown, f"unknown command {name}")
        cmd = self._cmd[name]
        args = {a["name"]: a for a in cmd["args"]}
        for k in fields:
            if k not in args:
                known = ", ".join(args) or "none"
                raise ArgError(bad, f"{name}: no argument {k!r} (arguments: {known})")
        for a in cmd["args"]:
            k = a["name"]
            if k not in fields or fields[k] is None:
                if not a.get("optional"):
                    raise ArgError(bad, f"{name}: missing {k}")
                continue
            v = fields[k]
            if a["type"] == "int":
                if isinstance(v, bool) or not isinstance(v, int | str):
                    raise ArgError(bad, f"{name}: {k} must be an integer, not {v!r}")
                try:
                    n = int(v)
                except ValueError:
                    raise ArgError(bad, f"{name}: {k} must be an integer, not {v!r}") from None
                lo, hi = self.arg_range(a, board)
                if not lo <= n <= hi:
                    unit = f" {a['unit']}" if a.get("unit") else ""
                    raise ArgError(rng, f"{name}: {k}={n} outside {lo}..{hi}{unit}")
            else:
                s = str(v)
                choices = self.choices(a)
                if choices and s not in choices:
                    raise ArgError(bad, f"{name}: {k}={s!r} not one of {', '.join(choices)}")
                if not s or any(c in "$*,=" or not " " <= c <= "~" for c in s):
                    raise ArgError(bad, f"{name}: {k}={s!r} is not printable text without $*,=")


def _check(d: Dictionary) -> None:
    """The dictionary's own rules: unique names and numbers, known types,
    references that resolve."""

    def unique(items: list[Entry], key: str, what: str) -> None:
        seen: set[object] = set()
        for it in items:
            if it[key] in seen:
                raise DictionaryError(f"{what}: {key} {it[key]!r} twice")
            seen.add(it[key])

    for items, what in ((d.errors, "errors"), (d.faults, "faults")):
        unique(items, "code", what)
        unique(items, "name", what)
    unique(d.commands, "name", "commands")
    unique(d.commands, "id", "commands")
    unique(d.telemetry, "name", "telemetry")
    unique(d.telemetry, "id", "telemetry")
    unique(d.events, "name", "events")
    unique(d.params, "name", "params")
    errs = {e["name"] for e in d.errors}
    enums = set(d.enums) | {"faults"}
    for c in d.commands:
        if c["kind"] not in KINDS:
            raise DictionaryError(f"command {c['name']}: kind {c['kind']!r}")
        for e in c["errors"]:
            if e not in errs:
                raise DictionaryError(f"command {c['name']}: unknown error {e!r}")
        unique(c["args"], "name", f"command {c['name']} args")
        for a in c["args"]:
            if a["type"] not in ARG_TYPES:
                raise DictionaryError(f"command {c['name']}: arg {a['name']} type {a['type']}")
        for r in c["replies"]:
            if r["type"] == "enum" and r.get("values") not in enums:
                raise DictionaryError(f"command {c['name']}: reply {r['name']} enum")
    ids = [t["id"] for t in d.telemetry]
    if ids != list(range(len(ids))) or len(ids) > TM_MAX_FIELDS:
        raise DictionaryError(f"telemetry ids must run 0..{len(ids) - 1} (at most 64)")
    for t in d.telemetry:
        if len(t.get("label", "")) > 18 or not t.get("label"):
            raise DictionaryError(f"telemetry {t['name']}: label missing or over 18 characters")
        if t.get("enum") and t["enum"] not in enums:
            raise DictionaryError(f"telemetry {t['name']}: unknown enum {t['enum']}")
    for p in d.params:
        if not p["min"] <= p["default"] <= p["max"]:
            raise DictionaryError(f"param {p['name']}: default outside min..max")


def source_text() -> str:
    """The dictionary's TOML source."""
    return resources.files(__name__).joinpath("dictionary.toml").read_text(encoding="utf-8")


@functools.cache
def _loaded() -> Dictionary:
    try:
        data = tomllib.loads(source_text())
    except tomllib.TOMLDecodeError as e:
        raise DictionaryError(f"dictionary.toml: {e}") from None
    return Dictionary(data)


def load() -> Dictionary:
    """The dictionary (parsed and checked once per process)."""
    return _loaded()


def as_json() -> dict[str, Any]:
    """The dictionary as JSON-able data: commands, telemetry, events, faults,
    params, plus errors, enums and protocol."""
    d = load()
    out: dict[str, Any] = {k: copy.deepcopy(getattr(d, k)) for k in JSON_KEYS}
    out["errors"] = copy.deepcopy(d.errors)
    out["enums"] = copy.deepcopy(d.enums)
    out["protocol"] = copy.deepcopy(d.protocol)
    for t in out["telemetry"]:
        t["char"] = chr(TM_ID_BASE + t["id"])
    for c in out["commands"]:
        for a in c["args"]:
            choices = d.choices(a)
            if choices is not None:
                a["choices"] = choices
            a.setdefault("unit", "")
            a.setdefault("min", None)
            a.setdefault("max", None)
            a.setdefault("optional", False)
    return out


def dumps() -> str:
    """as_json() as indented JSON text."""
    return json.dumps(as_json(), indent=2)
