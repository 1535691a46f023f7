"""Procedure discovery: every module in lunasample.rigs.procedures is one procedure."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from lunasample.errors import UserError
from lunasample.rigs import procedures as _pkg
from lunasample.rigs.procedure import Result, RigContext, Setting


@dataclass(frozen=True)
class Procedure:
    """One bench procedure (a module of lunasample.rigs.procedures)."""

    name: str
    title: str
    moves: bool
    needs: tuple[str, ...]
    settings: dict[str, Setting]
    limits: dict[str, Setting]
    run: Callable[[RigContext], Result]

    @property
    def keys(self) -> dict[str, Setting]:
        """Every key a rig file may set under [procedure.<name>]."""
        return {**self.settings, **self.limits}


def _load(mod: ModuleType, name: str) -> Procedure:
    for attr in ("TITLE", "MOVES", "NEEDS", "SETTINGS", "LIMITS", "run"):
        if not hasattr(mod, attr):
            raise TypeError(f"procedure module {mod.__name__} has no {attr}")
    for key in mod.LIMITS:
        if not key.startswith(("max_", "min_")):
            raise TypeError(f"procedure {name}: limit {key} must start with max_ or min_")
    return Procedure(
        name,
        mod.TITLE,
        bool(mod.MOVES),
        tuple(mod.NEEDS),
        dict(mod.SETTINGS),
        dict(mod.LIMITS),
        mod.run,
    )


def procedures() -> dict[str, Procedure]:
    """Every procedure, by name, sorted."""
    out = {}
    for info in sorted(pkgutil.iter_modules(_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{_pkg.__name__}.{info.name}")
        out[info.name] = _load(mod, info.name)
    return out


def get(name: str) -> Procedure:
    """The procedure `name`, or a one-line UserError listing the known ones."""
    procs = procedures()
    if name not in procs:
        raise UserError(f"unknown procedure {name!r}: choose one of {', '.join(procs)}")
    return procs[name]
