"""Soak: a long emulated run with telemetry on, watching for heap growth,
loop overruns and lost frames."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.link.client import Link
from lunasample.session import emulated_hb_timeout_ms


@dataclass
class SoakResult:
    board_s: float
    tm_frames: int
    frames_lost: int
    overruns: int
    worst_step_us: int
    mem_free: list[tuple[float, int]] = field(default_factory=list)  # (board s, bytes)

    @property
    def heap_drift_bytes(self) -> int:
        """Free heap at the end minus at half time (negative = growth in use).

        The first minutes are warm-up (caches, interned strings, buffers
        reaching their size), so the trend is read over the second half.
        """
        if len(self.mem_free) < 3:
            return 0
        return self.mem_free[-1][1] - self.mem_free[len(self.mem_free) // 2][1]

    def line(self) -> str:
        """The one-line summary benchmarks print."""
        return (
            f"soak_hours={self.board_s / 3600:.2f} heap_drift_bytes={self.heap_drift_bytes} "
            f"frames_lost={self.frames_lost} overruns={self.overruns}"
        )


def soak(
    board_seconds: float,
    tm_hz: int = 10,
    sample_every_s: float = 60.0,
    progress: Callable[[float], None] | None = None,
) -> SoakResult:
    """Run an emulated board for `board_seconds` of its time, drill spinning
    every other minute, telemetry at `tm_hz`; heap checked after a GC."""
    with tempfile.TemporaryDirectory(prefix="lunasample-soak-") as tmp:
        with EmulatedBoard(speed=0, fs_dir=Path(tmp) / "flash") as board, Link(board.url) as link:
            link.command("HBTO", ms=emulated_hb_timeout_ms(0))
            tm = [0]
            link.subscribe("TM", lambda f: tm.__setitem__(0, tm[0] + 1))
            link.command("TMRATE", hz=tm_hz)
            link.command("ARM")
            res = SoakResult(0.0, 0, 0, 0, 0)
            start = link.clock.board_ms / 1000.0
            next_sample = 0.0
            spinning = False
            while True:
                now = link.clock.board_ms / 1000.0 - start
                if now >= next_sample:
                    st = link.command("STATUS")
                    res.mem_free.append((now, st.int("mem")))
                    res.overruns = st.int("ovr")
                    res.worst_step_us = st.int("worst")
                    next_sample += sample_every_s
                    # Alternate a minute of drilling with a minute idle.
                    if spinning:
                        link.command("STOP")
                    else:
                        link.command("SPIN", rpm=60)
                    spinning = not spinning
                    if progress:
                        progress(min(1.0, now / board_seconds))
                if now >= board_seconds:
                    break
                time.sleep(0.02)
            if spinning:
                link.command("STOP")
            link.command("TMRATE", hz=0)
            res.board_s = link.clock.board_ms / 1000.0 - start
            res.tm_frames = tm[0]
            res.frames_lost = link.stats["rx_lost"]
    return res
