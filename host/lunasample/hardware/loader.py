"""Loading board files: parsed, validated against the model, flattened."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lunasample import paths
from lunasample.config import validation_error
from lunasample.errors import UserError
from lunasample.hardware.model import BoardFile


@cache
def load_parts() -> dict[str, Any]:
    """boards/parts.json: the chip, board and part rules, with their sources."""
    return json.loads((paths.BOARDS_DIR / "parts.json").read_text())


def board_path(name_or_path: str | Path) -> Path:
    """boards/NAME.json for a board name, else the path itself."""
    p = Path(name_or_path)
    if p.suffix == ".json" or p.parent != Path("."):
        return p
    return paths.BOARDS_DIR / f"{name_or_path}.json"


def read_board(path: Path) -> dict[str, Any]:
    """The board file as written (pins as objects), validated: one-line UserError."""
    if not path.is_file():
        if path.parent == paths.BOARDS_DIR:
            names = ", ".join(paths.board_names())
            raise UserError(f"unknown board {path.stem!r}: choose one of {names}")
        raise UserError(f"{path}: no such board file")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
    try:
        BoardFile.model_validate(raw)
    except ValidationError as e:
        raise validation_error(path, e) from None
    return raw


def flatten(raw: dict[str, Any]) -> dict[str, Any]:
    """As the firmware's sampler/board.flatten: pins as name -> GPIO, the
    pin objects as "wiring"."""
    board = dict(raw)
    board["wiring"] = {n: dict(w) for n, w in raw["pins"].items()}
    board["pins"] = {n: w["gpio"] for n, w in raw["pins"].items()}
    return board


def load_board(name_or_path: str | Path, check: bool = True) -> dict[str, Any]:
    """A board by name or path, validated and (unless check=False) checked
    against the chip rules; a violation is a one-line UserError."""
    path = board_path(name_or_path)
    raw = read_board(path)
    if check:
        from lunasample.hardware.check import check_board

        problems = check_board(raw, str(path))
        if problems:
            more = f" ({len(problems) - 1} more: lunasample board check {path})"
            raise UserError(problems[0] + (more if len(problems) > 1 else ""))
    return flatten(raw)


def board_image(board: dict[str, Any]) -> dict[str, Any]:
    """The board.json that goes onto a board: pins as objects (the firmware
    flattens them at boot) without the notes, which are for people and would
    only take the board's heap."""
    image = {k: v for k, v in board.items() if k != "wiring"}
    wiring = board.get("wiring") or {n: {"gpio": g} for n, g in board["pins"].items()}
    image["pins"] = {n: {k: v for k, v in w.items() if k != "note"} for n, w in wiring.items()}
    return image


# What the emulated board's pads apply at run time (sim/pads.py): the rest
# of parts.json would only crowd the heap it shares with the firmware.
_PAD_RULES = ("gpio", "absent", "flash", "input_only", "adc_range_mv")


def parts_for_emulator(board: dict[str, Any]) -> dict[str, Any]:
    """The board's chip's pad rules (with their sources, for the messages)
    and its drivers' timings: the part of parts.json the emulator applies."""
    parts = load_parts()
    chip = parts["chips"].get(board["mcu"], {})
    used = set(board.get("drivers", {}).values())
    return {
        "chips": {board["mcu"]: {k: chip[k] for k in _PAD_RULES if k in chip}},
        "drivers": {n: d for n, d in parts["drivers"].items() if n in used},
    }


def parts_for_board(board: dict[str, Any]) -> dict[str, Any]:
    """The part of parts.json a board reads at boot (its drivers' timings and
    its chip's ADC ranges), small enough for its heap."""
    parts = load_parts()
    chip = parts["chips"].get(board["mcu"], {})
    used = set(board.get("drivers", {}).values())
    ranges = {k: v for k, v in chip.get("adc_range_mv", {}).items() if k != "source"}
    return {
        "chips": {board["mcu"]: {"adc_range_mv": ranges}},
        "drivers": {
            n: {k: v for k, v in d.items() if k != "source"}
            for n, d in parts["drivers"].items()
            if n in used
        },
    }
