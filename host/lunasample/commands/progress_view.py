"""Rich rendering of library progress reports (the CLI edge only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lunasample.progress import ProgressFn


@contextmanager
def rich_progress(enabled: bool = True) -> Iterator[ProgressFn]:
    """Yield a ProgressFn drawing one bar per task; a silent one when not enabled."""
    if not enabled:
        yield lambda task, done, total, detail="": None
        return
    bars: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:g}/{task.total:g}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        transient=True,
    ) as view:

        def report(task: str, done: float, total: float, detail: str = "") -> None:
            if task not in bars:
                bars[task] = view.add_task(task, total=total, detail=detail)
            view.update(bars[task], completed=done, total=total, detail=detail)

        yield report
