"""Progress reporting for long work.

Library code reports progress through a plain callback so it stays free of any
terminal library; only the CLI renders it (with rich). A callback is called as
``progress(task, done, total, detail)``: ``task`` names the work ("montecarlo",
"sampling"), ``done`` and ``total`` are in the task's own unit (runs, grams,
millimetres), ``detail`` is a short free-text note ("scoop 2 of 5").
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, float, float, str], None]


def null_progress(task: str, done: float, total: float, detail: str = "") -> None:
    """Default callback: report nothing."""


class RecordingProgress:
    """Callback that keeps every report; for tests and for summaries after a run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float, str]] = []

    def __call__(self, task: str, done: float, total: float, detail: str = "") -> None:
        self.calls.append((task, done, total, detail))

    def last(self, task: str) -> tuple[float, float, str] | None:
        """The latest (done, total, detail) reported for ``task``, or None."""
        for t, done, total, detail in reversed(self.calls):
            if t == task:
                return done, total, detail
        return None
