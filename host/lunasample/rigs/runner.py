"""Run one procedure on a rig: the real board on --port, or the rig's board emulated.

Safety on a real rig: a procedure that moves anything asks for confirmation
(unless `yes`), every run starts from SAFE (STOP / DISARM, RESET a fault whose
cause is gone, refuse to start when it persists, saying why), and Ctrl-C sends
ESTOP before anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lunasample.errors import UserError
from lunasample.link.client import CommandRejected, Link, LinkError
from lunasample.progress import ProgressFn, null_progress
from lunasample.rigs import results
from lunasample.rigs.procedure import BASE_TM_HZ, ProcedureFailed, Result, RigContext
from lunasample.rigs.registry import Procedure
from lunasample.rigs.schema import Rig
from lunasample.session import open_session

EMULATED_HBTO_MS = 60000
logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """How a run ended and where its results are."""

    path: Path
    passed: bool
    reason: str | None
    checks: list[results.Check]
    result: Result


def emulator_kwargs(rig: Rig) -> dict[str, Any]:
    """EmulatedBoard arguments that make the emulated plant look like the rig."""
    plant: dict[str, Any] = {"cell_cap_g": float(rig.loadcell["capacity_g"])}
    if "tare_g" in rig.container:
        plant["tare_g"] = float(rig.container["tare_g"])
    if "rate_sps" in rig.loadcell:
        plant["hx711_sps"] = rig.loadcell["rate_sps"]
    plant.update(rig.emulator.get("plant", {}))
    return {
        "seed": int(rig.emulator.get("seed", 0)),
        "plant": plant,
        "faults": dict(rig.emulator.get("faults", {})),
    }


def start_safe(link: Link) -> None:
    """Bring the board to SAFE before a run; refuse (UserError) when it cannot be."""
    st = link.command("STATUS").fields
    state = st.get("st")
    if state == "FAULT":
        try:
            link.command("RESET")
        except CommandRejected as e:
            raise UserError(
                f"board is in FAULT ({st.get('flt', '?')}) and the cause persists "
                f"({e.text}): clear it, then run again"
            ) from None
    elif state == "BUSY":
        with contextlib.suppress(CommandRejected):
            link.command("STOP")
    if link.command("STATUS").fields.get("st") != "SAFE":
        link.command("DISARM")


def _finish_safe(link: Link, moves: bool) -> None:
    # Leave the rig still and disarmed, whatever happened; best effort.
    with contextlib.suppress(UserError):
        if moves:
            with contextlib.suppress(CommandRejected):
                link.command("STOP")
            with contextlib.suppress(CommandRejected):
                link.command("DISARM")
        link.command("TMRATE", hz=0)


def _estop(link: Link) -> None:
    with contextlib.suppress(Exception):
        link.command("ESTOP")


def _answered(ask: Callable[[str], str]) -> Callable[[str], str]:
    """``ask``, with a closed stdin (a script, CI, ``< /dev/null``) a user error."""

    def answer(prompt: str) -> str:
        try:
            return ask(prompt)
        except EOFError:
            what = prompt.strip().rstrip(":")
            if "type yes" in what:
                hint = "run it at a terminal, or pass --yes to start without the question"
            else:
                hint = "the operator's hands are needed: run it at a terminal"
            raise UserError(f"no answer to {what!r}: stdin is closed; {hint}") from None

    return answer


def run_procedure(
    rig: Rig,
    proc: Procedure,
    *,
    port: str | None = None,
    yes: bool = False,
    out_dir: Path = Path("rig-results"),
    speed: float | None = None,
    log: Path | None = None,
    ask: Callable[[str], str] = input,
    report: ProgressFn = null_progress,
) -> Outcome:
    """Run `proc` on `rig` and write its results folder; see the module docstring.

    Progress goes to ``report(procedure, done, total, what)``; questions to the
    operator go to ``ask`` (the caller pauses any progress display around it)."""
    settings = rig.settings_for(proc)
    ask = _answered(ask)
    if speed is None:
        speed = float(rig.emulator.get("speed", 0.0))
    args = argparse.Namespace(port=port, board=rig.board_name, speed=speed, log=log)
    board_kw = {} if port else emulator_kwargs(rig)
    started = datetime.now()
    with open_session(args, **board_kw) as s:
        hello = s.link.hello
        assert hello is not None
        if port and hello.board != rig.board["name"]:
            raise UserError(
                f"rig {rig.name} is built on board {rig.board['name']}, but the "
                f"board on {port} says it is {hello.board}"
            )
        if port and proc.moves and not yes:
            warning = (
                f"{proc.name} moves the rig's motors on {port}. "
                "Keep hands clear; the e-stop must be within reach; type yes to start: "
            )
            if ask(warning).strip().lower() != "yes":
                raise UserError("not confirmed: nothing was moved")
        start_safe(s.link)
        if s.emulator is not None:
            # Link-loss timeout in board time: an emulator running 40x faster
            # than real time would call a 0.2 s pause of this host a lost link.
            s.link.command("HBTO", ms=EMULATED_HBTO_MS)
        s.link.command("TMRATE", hz=BASE_TM_HZ)
        reason: str | None = None
        result = Result()

        def progress(what: str, done: float, total: float) -> None:
            report(proc.name, done, total, what)

        def operator(text: str) -> str:
            return ask(f"{text} ")

        ctx = RigContext(s, rig, proc.name, settings, progress, operator)
        try:
            result = proc.run(ctx)
        except KeyboardInterrupt:
            _estop(s.link)
            logger.warning("interrupted: ESTOP sent")
            raise
        except (ProcedureFailed, CommandRejected, LinkError) as e:
            reason = str(e)
        except Exception:
            _finish_safe(s.link, proc.moves)  # a bug must not leave the rig moving
            raise
        _finish_safe(s.link, proc.moves)
        meta = {
            "rig": rig.name,
            "procedure": proc.name,
            "title": proc.title,
            "board": hello.board,
            "firmware": hello.firmware,
            "where": s.where,
            "emulated": s.emulator is not None,
            "rig_file": str(rig.path),
            "settings": settings,
        }
    checks = results.evaluate(result, settings, list(proc.limits))
    path = results.write(out_dir, started, meta, result, checks, reason)
    passed = reason is None and all(c.passed is not False for c in checks)
    return Outcome(path, passed, reason, checks, result)
