"""Independent preprocessing tasks on every core of this machine, or on a Dask cluster.

Decoding videos to the frame cache and extracting landmarks are the same shape of work:
one task per video, each writing its own cache entry atomically, so any engine that
maps a function over tasks will do.  ``local`` is a process pool on this machine;
``dask`` sends the tasks to a ``dask.distributed`` scheduler (``--scheduler
tcp://host:8786``; without one, a local Dask cluster), whose workers must see the
dataset and the cache at the same paths (a shared filesystem).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from avbench.errors import UsageError

ENGINES = ("local", "dask")


def map_tasks(fn: Callable, tasks: list, engine: str = "local", workers: int | None = None,
              scheduler: str | None = None) -> Iterator[tuple[int, object]]:
    """Yield ``(task index, fn(task))`` as tasks finish (so callers can show progress).

    ``fn`` must be importable by name (a module-level function): it runs in other
    processes.  An exception in a task propagates here, with the task's own message.
    """
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if not tasks:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    if engine == "dask":
        yield from _dask(fn, tasks, workers, scheduler)
    elif workers == 1:
        yield from enumerate(map(fn, tasks))
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for future in futures:
                    future.cancel()


def _dask(fn: Callable, tasks: list, workers: int, scheduler: str | None) -> Iterator[tuple[int, object]]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise UsageError("--engine dask needs dask.distributed: pip install 'avbench[cluster]'") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        futures = client.map(fn, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures):
            yield index[future.key], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
