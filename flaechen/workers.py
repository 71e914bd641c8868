"""Worker processes for the heavy steps: how many, and a forked pool sharing one read-only job.

The overlaps of the flagging step, the settlement bodies of the Innenbereich estimate and the map site's
background tiles each split their work into tasks over the same large, read-only data (geometries, trees,
buffers). :func:`fork_map` runs them in forked processes that inherit that data and the function from the
parent (nothing is pickled but the tasks and their results), or in this process where one worker is asked for or the
platform cannot fork.

Examples
--------
>>> def scaled(job, task):
...     return job["factor"] * task
>>> fork_map(scaled, [1, 2, 3], job={"factor": 10}, workers=2)
[10, 20, 30]
>>> resolve_workers(3)
3
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

J = TypeVar("J")
T = TypeVar("T")
R = TypeVar("R")


def resolve_workers(workers: int | None) -> int:
    """Number of worker processes: `workers`, or all available cores when None.

    Raises
    ------
    ValueError
        Where `workers` is below 1.
    """
    if workers is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            return max(1, os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return workers


def can_fork() -> bool:
    """Whether worker processes can inherit the parent's data (the "fork" start method exists)."""
    return "fork" in multiprocessing.get_all_start_methods()


# The function and job a forked worker inherited from its parent; set once per worker by `_init`, never in
# the parent process.
_INHERITED: dict[str, Any] = {}


def _init(fn: Callable[[Any, Any], Any], job: Any) -> None:
    _INHERITED["fn"] = fn
    _INHERITED["job"] = job


def _call(task: Any) -> Any:
    return _INHERITED["fn"](_INHERITED["job"], task)


def fork_map(fn: Callable[[J, T], R], tasks: Sequence[T], *, job: J, workers: int, chunksize: int = 1) -> list[R]:
    """``fn(job, task)`` for every task, in order, in `workers` forked processes that inherit `job`.

    Parameters
    ----------
    fn
        Called as ``fn(job, task)``; inherited by the workers like `job` (any callable, never pickled).
    tasks
        Small, picklable descriptions of the work (indices, ranges, tile numbers).
    job
        The large read-only data every task needs: inherited by the forked workers, never pickled.
    workers
        Processes to use; with 1, or where the platform cannot fork, the tasks run in this process.
    chunksize
        Tasks handed to a worker at once (more for many small tasks).
    """
    if workers <= 1 or len(tasks) <= 1 or not can_fork():
        return [fn(job, task) for task in tasks]
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init,
        initargs=(fn, job),
    ) as pool:
        return list(pool.map(_call, tasks, chunksize=chunksize))
