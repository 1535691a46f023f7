"""Checks and set-up before a board samples: the scale must be calibrated."""

from __future__ import annotations

from collections.abc import Callable

from lunasample.errors import UserError
from lunasample.link.client import Frame
from lunasample.session import Session

# Board seconds allowed for one TARE/CAL step (the scale waits to settle).
_CAL_TIMEOUT_S = 180.0


def calibrate_scale(
    run: Callable[..., Frame],
    place: Callable[[float], None],
    ref_g: float,
    timeout_s: float = _CAL_TIMEOUT_S,
) -> int:
    """Two-point calibration: empty pan, then `ref_g` on it (left there). Returns
    the board's factor k.

    `run` is Link.run (or a rig context's run); `place(g)` puts g grams on the
    pan (0 = empty it): a prompt on a real rig, a plant parameter on the
    emulated board.
    """
    place(0.0)
    run("CAL", timeout_s, point=0)
    place(ref_g)
    done = run("CAL", timeout_s, point=1, g=int(round(ref_g)))
    return done.int("k")


def ensure_calibrated(session: Session, ref_g: float = 500.0) -> bool:
    """Make sure the board's scale holds a calibration; True if one was made now.

    An emulated board is calibrated automatically with a simulated reference
    mass; a real board must have been calibrated on its rig.
    """
    link = session.link
    if link.hello is None or "scale" not in link.hello.caps:
        return False
    if link.command("SCALE").int("cal") == 1:
        return False
    emu = session.emulator
    if emu is None:
        board = link.hello.board
        rig = next(iter(rigs_on(board)), "RIG")
        raise UserError(
            f"the scale on {link.port} ({board}) is not calibrated: run `lunasample rig run "
            f"scale_calibration --rig {rig} --port {link.port}` with reference weights at hand"
        )
    calibrate_scale(link.run, lambda g: emu.set_plant(extra_g=g), ref_g)
    emu.set_plant(extra_g=0.0)
    return True


def rigs_on(board: str) -> list[str]:
    """The shipped rigs built on board ``board`` (by its name in the board file)."""
    from lunasample.rigs.schema import load_rig, rig_names

    return [name for name in rig_names() if load_rig(name).board["name"] == board]
