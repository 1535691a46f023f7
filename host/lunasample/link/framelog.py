"""A log of every frame on the link, one JSON object per line, for replay."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lunasample.errors import UserError


@dataclass(frozen=True)
class LoggedFrame:
    t: float  # seconds since the log started
    direction: str  # "tx" (host to board) or "rx"
    raw: str  # the line as it crossed the wire, without the newline


class FrameLog:
    """Appends frames to a JSONL file; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered: a crash loses no frame that was logged.
        self._f: IO[str] = open(  # noqa: SIM115
            self.path, "a", buffering=1, encoding="ascii", errors="backslashreplace"
        )
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    def write(self, direction: str, raw: bytes) -> None:
        rec = {
            "t": round(time.monotonic() - self._t0, 6),
            "dir": direction,
            "raw": raw.rstrip(b"\r\n").decode("ascii", "backslashreplace"),
        }
        with self._lock:
            self._f.write(json.dumps(rec) + "\n")

    def close(self) -> None:
        with self._lock:
            self._f.close()


def read_log(path: Path) -> Iterator[LoggedFrame]:
    """Frames of a log written by FrameLog; a damaged line is a one-line UserError."""
    try:
        f = open(path, encoding="ascii", errors="replace")  # noqa: SIM115
    except OSError as e:
        raise UserError(f"cannot read frame log {path}: {e.strerror}") from None
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                yield LoggedFrame(float(rec["t"]), str(rec["dir"]), str(rec["raw"]))
            except (ValueError, KeyError, TypeError):
                raise UserError(f"{path}:{n}: not a frame-log line") from None
