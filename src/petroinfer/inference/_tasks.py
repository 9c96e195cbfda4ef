"""Mapping independent tasks (chains, ensemble members) serially or through ``petroinfer.parallel``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from petroinfer.errors import ModelError, PetroinferError, format_value

__all__ = ["map_independent", "task_scheduler"]


def map_independent(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    n_jobs: int | None = 1,
    scheduler: Any = None,
    progress: bool = False,
    description: str | None = None,
) -> list[Any]:
    """Apply ``fn`` to every item, in order.

    Serial when ``n_jobs`` is 1 (or ``None``) and no ``scheduler`` is given; otherwise through
    :func:`petroinfer.parallel.map_tasks` (Dask: an embedded local cluster, or the scheduler address /
    client given). The results are identical either way because every task carries its own random
    stream.
    """
    if n_jobs is not None and (
        not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1
    ):
        raise ModelError(
            f"n_jobs must be a positive int or -1 (all cores), got {format_value(n_jobs)}"
        )
    items = list(items)
    if (n_jobs in (None, 1) and scheduler is None) or len(items) <= 1:
        return [fn(item) for item in items]
    from petroinfer.parallel import map_tasks

    n_workers = None if n_jobs in (None, -1) else min(int(n_jobs), len(items))
    try:
        # worker processes: chains and forward models are usually pure-Python, GIL-bound work
        return list(
            map_tasks(
                fn,
                items,
                scheduler=scheduler,
                progress=progress,
                n_workers=n_workers,
                processes=True,
                description=description,
            )
        )
    except PetroinferError as exc:
        # re-raise our own error from inside the task (clear message) rather than the wrapper
        cause = exc.__cause__
        if isinstance(cause, PetroinferError):
            raise cause from None
        raise


@contextlib.contextmanager
def task_scheduler(n_jobs: int | None = 1, scheduler: Any = None) -> Iterator[Any]:
    """Yield what :func:`map_independent` should use for several maps in a row.

    Serial (``None``) when no parallelism is asked for; otherwise one Dask client (embedded local
    cluster of worker processes, or the given scheduler/client) kept open for the whole block so
    that repeated maps (ES-MDA iterations) do not restart a cluster each time.
    """
    if (n_jobs in (None, 1)) and scheduler is None:
        yield None
        return
    from petroinfer.parallel import get_client

    n_workers = None if n_jobs in (None, -1, 1) else int(n_jobs)
    with get_client(scheduler, n_workers=n_workers, processes=True) as client:
        yield client
