"""Dask-backed batch execution (DESIGN.md §6).

:func:`map_tasks` applies a function to independent items (samples, garnets, CV folds, bootstrap
replicates, map tiles ...) on a Dask distributed cluster and returns the results in input order.
By default an embedded :class:`distributed.LocalCluster` is started for the call and closed afterwards;
``scheduler="tcp://host:8786"`` (or the environment variable ``PETROINFER_SCHEDULER``) runs the same
work on an existing cluster, and an open :class:`distributed.Client` can be passed to reuse one
cluster for several maps (see :func:`get_client`).

There is no module-level state: every call either creates and closes its own client or uses the one
it is given.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from petroinfer.errors import InputError, ModelError, TaskError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["SCHEDULER_ENV", "get_client", "map_tasks"]

#: Environment variable holding the address of an existing Dask scheduler.
SCHEDULER_ENV = "PETROINFER_SCHEDULER"

T = TypeVar("T")
R = TypeVar("R")

_MAX_REPR = 200


def _short_repr(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _resolve_scheduler(scheduler: Any) -> Any:
    """``None``/empty -> the environment variable (or ``None`` for an embedded cluster)."""
    if scheduler is None or (isinstance(scheduler, str) and not scheduler.strip()):
        env = os.environ.get(SCHEDULER_ENV, "").strip()
        return env or None
    return scheduler.strip() if isinstance(scheduler, str) else scheduler


def _check_n_workers(n_workers: int | None) -> int:
    if n_workers is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ModelError(f"n_workers must be a positive int or None, got {n_workers!r}")
    return n_workers


@contextlib.contextmanager
def get_client(
    scheduler: str | Client | None = None,
    *,
    n_workers: int | None = None,
    processes: bool = False,
    timeout: float = 30.0,
) -> Iterator[Client]:
    """Context manager yielding a Dask :class:`distributed.Client`.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        ``None`` (default): the address in ``$PETROINFER_SCHEDULER`` if set, else an embedded
        :class:`distributed.LocalCluster` created for the block and closed at its end.
        A string such as ``"tcp://10.0.0.5:8786"``: connect to that running scheduler (the cluster
        is left running; only the connection is closed). An open ``Client``: yielded unchanged and
        not closed.
    n_workers : int, optional
        Embedded cluster only: number of parallel task slots (default: number of CPUs). With
        ``processes=False`` these are threads of one worker; with ``processes=True`` they are
        single-threaded worker processes.
    processes : bool, default False
        Embedded cluster only. ``False`` (default) runs tasks in threads of the current process: no
        start-up cost and no pickling, good for numpy/scipy-heavy tasks that release the GIL.
        ``True`` starts worker processes (true parallelism for pure-Python tasks); scripts using it
        must protect their entry point with ``if __name__ == "__main__":`` because workers are
        spawned.
    timeout : float, default 30.0
        Seconds to wait for a remote scheduler before giving up.

    Yields
    ------
    distributed.Client

    Raises
    ------
    InputError
        When the scheduler address cannot be reached within ``timeout``.

    Examples
    --------
    Reuse one embedded cluster for two maps:

    >>> from petroinfer.parallel import get_client, map_tasks
    >>> with get_client(n_workers=2) as client:
    ...     first = map_tasks(abs, [-1, -2, 3], scheduler=client, progress=False)
    ...     second = map_tasks(abs, [-4], scheduler=client, progress=False)
    >>> first, second
    ([1, 2, 3], [4])
    """
    from distributed import Client, LocalCluster

    target = _resolve_scheduler(scheduler)
    if isinstance(target, Client):
        yield target
        return
    if target is None:
        n = _check_n_workers(n_workers)
        if processes:
            kwargs = {"n_workers": n, "threads_per_worker": 1}
        else:
            kwargs = {"n_workers": 1, "threads_per_worker": n}
        with (
            LocalCluster(
                processes=processes,
                dashboard_address=None,
                # no dashboard; the scheduler's HTTP endpoint on a free loopback port instead of
                # 8787, which a user's own Dask dashboard may already hold
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                **kwargs,
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            yield client
        return
    if not isinstance(target, str):
        raise ModelError(
            "scheduler must be None, an address string such as 'tcp://host:8786' or a "
            f"distributed.Client, got {type(target).__name__}"
        )
    try:
        client = Client(target, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"cannot connect to the Dask scheduler within {timeout:g} s ({exc}); check the address "
            f"given by --scheduler or ${SCHEDULER_ENV}",
            value=target,
        ) from exc
    with client:
        yield client


@contextlib.contextmanager
def _progress_bar(total: int, description: str, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


@functools.lru_cache(maxsize=8)
def _unpickle(payload: bytes) -> Callable:
    import cloudpickle

    return cloudpickle.loads(payload)


def _call_shipped(payload: bytes, item: Any) -> Any:
    """Worker side of :func:`_shipped`: rebuild the function inside the task, then call it.

    Rebuilding inside the task (not in the worker's message handler) turns a function that cannot
    be rebuilt on the worker (its module is not importable there) into an ordinary task error that
    names the item, instead of a deserialisation failure the client would wait on for ever.
    """
    return _unpickle(payload)(item)


def _in_process(client: Client) -> bool:
    """True when the client's workers are threads of this process (nothing needs pickling)."""
    cluster = getattr(client, "cluster", None)
    return cluster is not None and getattr(cluster, "processes", True) is False


def _shipped(client: Client, func: Callable) -> Callable:
    """``func`` ready for ``client.map``: as is for in-process threads, else pickled by cloudpickle.

    cloudpickle ships functions of ``__main__`` and of modules registered with
    ``cloudpickle.register_pickle_by_value`` by value; everything else by reference (the workers
    import it). Pickling here, in the client, makes that choice independent of how the client's
    own ``sys.path`` happens to be set up (e.g. ``pytest`` vs ``python -m pytest``).
    """
    if _in_process(client):
        return func
    import cloudpickle

    return functools.partial(_call_shipped, cloudpickle.dumps(func))


def _run(
    client: Client, func: Callable[[T], R], items: list[T], progress: bool, description: str
) -> list[R]:
    from distributed import as_completed

    name = getattr(func, "__name__", type(func).__name__)
    token = uuid.uuid4().hex[:12]
    keys = [f"petroinfer-{name}-{token}-{i}" for i in range(len(items))]
    futures = client.map(_shipped(client, func), items, key=keys, pure=False)
    position = {fut.key: i for i, fut in enumerate(futures)}
    results: list[Any] = [None] * len(items)
    finished = False
    try:
        with _progress_bar(len(items), description, progress) as advance:
            for fut in as_completed(futures, loop=client.loop):
                i = position[fut.key]
                if fut.status == "error":
                    exc = fut.exception()
                    tb = fut.traceback()
                    if tb is not None:
                        exc = exc.with_traceback(tb)
                    raise TaskError(
                        f"task {i} of {len(items)} ({name}) failed on item {_short_repr(items[i])}: "
                        f"{type(exc).__name__}: {exc}",
                        index=i,
                        item=items[i],
                    ) from exc
                if fut.status != "finished":  # cancelled elsewhere, or lost with its worker
                    raise TaskError(
                        f"task {i} of {len(items)} ({name}) on item {_short_repr(items[i])} "
                        f"ended with status {fut.status!r}",
                        index=i,
                        item=items[i],
                    )
                results[i] = fut.result()
                fut.release()
                advance()
        finished = True
    finally:
        if not finished:
            client.cancel(futures)
    return results


def map_tasks(
    func: Callable[[T], R],
    items: Iterable[T],
    scheduler: str | Client | None = None,
    progress: bool = True,
    n_workers: int | None = None,
    *,
    processes: bool = False,
    description: str | None = None,
) -> list[R]:
    """Apply ``func`` to every item on a Dask cluster; return the results in input order.

    Parameters
    ----------
    func : callable
        A function of one argument. Extra fixed arguments go in with :func:`functools.partial`.
        On a remote cluster it (and the items) must be picklable and importable on the workers
        (functions defined in a script or notebook are shipped by value).
    items : iterable
        The independent work units; consumed into a list.
    scheduler : str or distributed.Client, optional
        ``None`` (default): ``$PETROINFER_SCHEDULER`` if set, else an embedded
        :class:`distributed.LocalCluster` started for this call and closed afterwards. An address
        ``"tcp://host:8786"`` uses that running cluster; an open ``distributed.Client`` is used as is
        (see :func:`get_client` to reuse one cluster for several maps).
    progress : bool, default True
        Show a ``rich`` progress bar on stderr.
    n_workers : int, optional
        Embedded cluster only: number of parallel task slots (default: number of CPUs).
    processes : bool, default False
        Embedded cluster only: worker processes instead of threads (see :func:`get_client`).
    description : str, optional
        Label of the progress bar (default: the function name).

    Returns
    -------
    list
        ``[func(item) for item in items]``, computed in parallel, in input order.

    Raises
    ------
    TaskError
        When a task raises. The message names the item's position and ``repr``; the original
        exception (with its remote traceback) is chained as ``__cause__``, and the remaining tasks are
        cancelled.
    InputError
        When ``func`` is not callable or the scheduler cannot be reached.

    Notes
    -----
    Tasks are submitted with ``pure=False`` so that identical items are still evaluated separately
    (a stochastic task seeded inside ``func`` is never silently deduplicated). Results are gathered
    as they complete, so memory on the client grows with the number of results, not with the number
    of tasks in flight.

    Examples
    --------
    >>> from petroinfer.parallel import map_tasks
    >>> map_tasks(abs, [-3, 1, -2], progress=False, n_workers=2)
    [3, 1, 2]

    A failing task names the item that caused it:

    >>> import math
    >>> map_tasks(math.sqrt, [4.0, -1.0], progress=False, n_workers=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    petroinfer.errors.TaskError: task 1 of 2 (sqrt) failed on item -1.0: ValueError: ...
    """
    if not callable(func):
        raise InputError("map_tasks needs a callable", value=_short_repr(func))
    work = list(items)
    if not work:
        return []
    label = description or getattr(func, "__name__", "tasks")
    with get_client(scheduler, n_workers=n_workers, processes=processes) as client:
        return _run(client, func, work, progress, label)
