"""Argument checks against the command dictionary.

The page runs the same rules (static/app.js, `checkArgs`) before it sends;
the server checks again, so a command posted by any other client is held to
the dictionary too before it reaches the board.
"""

from __future__ import annotations

import math
from typing import Any

_INT = {"int", "integer", "u8", "u16", "u32", "i32", "uint", "bool"}
_NUM = {"float", "number", "num", "real"}


def _optional(arg: dict[str, Any]) -> bool:
    if "required" in arg:
        return not arg["required"]
    return bool(arg.get("optional", False))


def check_args(cmd: dict[str, Any], args: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """The command's fields as wire strings, or an error naming the argument.

    Unknown arguments, missing required ones, values of the wrong type and
    values outside [min, max] are refused.
    """
    spec = {a["name"]: a for a in cmd.get("args", [])}
    out: dict[str, str] = {}
    for name in args:
        if name not in spec:
            return {}, f"{cmd['name']}: no argument {name!r}"
    for name, arg in spec.items():
        raw = args.get(name)
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if _optional(arg):
                continue
            return {}, f"{cmd['name']}: {name} is required"
        value, err = _check_one(arg, raw)
        if err:
            return {}, f"{cmd['name']}: {name} {err}"
        out[name] = value
    return out, None


def _check_one(arg: dict[str, Any], raw: Any) -> tuple[str, str | None]:
    kind = str(arg.get("type", "int")).lower()
    choices = arg.get("choices") or arg.get("values") or arg.get("enum")
    text = str(raw).strip()
    if choices and text in [str(c) for c in choices]:
        return text, None
    if kind in _INT or kind in _NUM:
        try:
            num = float(text)
        except ValueError:
            return "", f"must be a number, got {text!r}"
        if not math.isfinite(num):
            return "", f"must be a finite number, got {text!r}"
        if kind in _INT and num != int(num):
            return "", f"must be a whole number, got {text!r}"
        lo, hi = arg.get("min"), arg.get("max")
        unit = f" {arg['unit']}" if arg.get("unit") else ""
        if lo is not None and num < lo:
            return "", f"{_fmt(num)} is below the minimum {_fmt(lo)}{unit}"
        if hi is not None and num > hi:
            return "", f"{_fmt(num)} is above the maximum {_fmt(hi)}{unit}"
        return (str(int(num)) if kind in _INT else _fmt(num)), None
    if choices:
        return "", f"must be one of {', '.join(str(c) for c in choices)}, got {text!r}"
    if not text.isprintable() or any(c in text for c in "$*,=\n"):
        return "", f"may not contain $ * , = or control characters: {text!r}"
    return text, None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else repr(float(x))
