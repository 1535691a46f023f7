"""Run one function over a list of jobs: in this process, a local process pool,
or a Dask cluster. Results come back in job order; ``progress(done, total)``
follows them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from lunasample.errors import UserError

T = TypeVar("T")
Progress = Callable[[int, int], None]


def run_tasks(
    fn: Callable[..., T],
    jobs: list[tuple[Any, ...]],
    *,
    workers: int | None = None,
    dask_address: str | None = None,
    progress: Progress | None = None,
) -> Iterator[T]:
    """``fn(*job)`` for every job: on the Dask scheduler at ``dask_address``, else
    in ``workers`` local processes (default: one per core; 1 runs here)."""
    if dask_address:
        return _on_dask(fn, jobs, dask_address, progress)
    return _on_pool(fn, jobs, workers or os.cpu_count() or 1, progress)


def _on_pool(
    fn: Callable[..., T], jobs: list[tuple[Any, ...]], workers: int, progress: Progress | None
) -> Iterator[T]:
    total = len(jobs)
    if workers == 1 or total <= 1:
        for i, job in enumerate(jobs):
            yield fn(*job)
            if progress is not None:
                progress(i + 1, total)
        return
    with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
        futures = [pool.submit(fn, *job) for job in jobs]
        for i, fut in enumerate(futures):
            yield fut.result()
            if progress is not None:
                progress(i + 1, total)


def _on_dask(
    fn: Callable[..., T], jobs: list[tuple[Any, ...]], address: str, progress: Progress | None
) -> Iterator[T]:
    try:
        from dask.distributed import Client
    except ImportError:
        raise UserError("Dask support is not installed: pip install lunasample[dask]") from None
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise UserError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        futures = [client.submit(fn, *job, pure=False) for job in jobs]
        for i, fut in enumerate(futures):
            yield fut.result()
            if progress is not None:
                progress(i + 1, len(jobs))
    finally:
        client.close()
