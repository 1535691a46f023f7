"""Rich rendering of library progress reports (the CLI edge only)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


def progress_enabled(args: argparse.Namespace, console: Console | None = None) -> bool:
    """Bars only on a terminal, and not under -q."""
    return not getattr(args, "quiet", False) and (console or Console()).is_terminal


class Bars:
    """A ProgressFn drawing one bar per task (none when the view is None)."""

    def __init__(self, view: Progress | None) -> None:
        self._view = view
        self._bars: dict[str, TaskID] = {}

    def __call__(self, task: str, done: float, total: float, detail: str = "") -> None:
        if self._view is None:
            return
        if task not in self._bars:
            self._bars[task] = self._view.add_task(task, total=total, detail=detail)
        self._view.update(self._bars[task], completed=done, total=total, detail=detail)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Take the bars off the screen (a question to the operator) and back."""
        if self._view is None:
            yield
            return
        self._view.stop()
        try:
            yield
        finally:
            self._view.start()


@contextmanager
def rich_progress(enabled: bool = True, console: Console | None = None) -> Iterator[Bars]:
    """Yield a ProgressFn drawing one bar per task; a silent one when not enabled."""
    if not enabled:
        yield Bars(None)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:g}/{task.total:g}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as view:
        yield Bars(view)
