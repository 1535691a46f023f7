"""Checks and set-up before a board samples: the scale must be calibrated."""

from __future__ import annotations

from collections.abc import Callable

from lunasample.errors import UserError
from lunasample.link.client import Link
from lunasample.session import Session

# Board seconds allowed for one TARE/CAL step (the scale waits to settle).
_CAL_TIMEOUT_S = 180.0


def calibrate_scale(link: Link, place: Callable[[float], None], ref_g: float) -> int:
    """Two-point calibration: empty pan, then `ref_g` on it. Returns counts per kg.

    `place(g)` puts g grams on the pan (0 = empty it): a prompt on a real rig,
    a plant parameter on the emulated board.
    """
    place(0.0)
    link.run("CAL", timeout_board_s=_CAL_TIMEOUT_S, point=0)
    place(ref_g)
    done = link.run("CAL", timeout_board_s=_CAL_TIMEOUT_S, point=1, g=int(round(ref_g)))
    place(0.0)
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
        raise UserError(
            f"the scale on {link.port} is not calibrated: run "
            f"`lunasample rig run calibration --port {link.port}` with reference weights"
        )
    calibrate_scale(link, lambda g: emu.set_plant(extra_g=g), ref_g)
    return True
