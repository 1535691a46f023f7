"""E-stop latency on the emulated board's own clock: the hardwired loop is
opened (the e-stop input's edge) at seeded random moments while the drill
turns, and the simulated world notes when every actuator output is off.

With `cpu_scale` the firmware's compute is charged to the board's clock
(this host's time x the factor), so the figure includes the IRQ handler's
and the stop chain's own cost, not only where the edge falls in the loop.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link


def _null_progress(task: str, done: float, total: float, detail: str) -> None:
    pass


def estop_latency_us(
    presses: int = 20,
    seed: int = 1,
    cpu_scale: int = 0,
    progress: Callable[[str, float, float, str], None] = _null_progress,
) -> list[int]:
    """Input edge to all outputs off, board us, for each of `presses` presses."""
    rng = random.Random(seed)
    out: list[int] = []
    with (
        tempfile.TemporaryDirectory(prefix="lunasample-estop-") as tmp,
        EmulatedBoard(speed=0, fs_dir=Path(tmp) / "flash", seed=seed, cpu_scale=cpu_scale) as b,
        Link(b.url) as lk,
    ):
        lk.command("HBTO", ms=60000)
        for i in range(presses):
            progress("estop", i, presses, "")
            lk.command("ARM")
            lk.command("SPIN", rpm=rng.randrange(40, 160))
            t0 = b.query()["t_us"]
            # A random moment 0.2-0.7 s into the spin: anywhere in the loop's tick.
            wait = rng.uniform(0.2, 0.7) * 1e6
            deadline = time.monotonic() + 60
            while b.query()["t_us"] - t0 < wait:
                if time.monotonic() > deadline:
                    raise TimeoutError("board time does not advance")
                time.sleep(0.002)
            b.inject("estop_press", 1)
            deadline = time.monotonic() + 60
            while True:
                pads = b.query()["pads"]
                if pads["outputs_off_us"] >= pads["estop_edge_us"] >= 0:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("outputs never went off after the e-stop")
                time.sleep(0.002)
            out.append(pads["outputs_off_us"] - pads["estop_edge_us"])
            b.inject("estop_press", 0)
            b.query()  # answered after the release: the loop is closed again
            lk.command("RESET")
    progress("estop", presses, presses, "")
    return out
