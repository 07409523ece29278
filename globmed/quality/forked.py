"""Independent parts of one computation run in forked processes that inherit the parent's arrays
and tables (nothing big is pickled: only each part's number goes out and its small result comes
back). The whole-build steps and the release gate use it for their candidate scoring and exact
verification, which otherwise hold one core while the other idles."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_JOB: tuple[Callable[[Any, Any], Any], Any] | None = None  # (function, shared state) seen by the forked workers


def _run(item: Any) -> Any:
    assert _JOB is not None
    func, state = _JOB
    return func(state, item)


def can_fork(workers: int, parts: int) -> bool:
    """Whether ``parts`` parts are worth ``workers`` processes here (a daemon process, such as a build's
    shard worker, cannot start any)."""
    return workers > 1 and parts > 1 and not multiprocessing.current_process().daemon


def fork_map(func: Callable[[Any, Any], T], state: Any, items: Sequence[Any], workers: int) -> list[T]:
    """``[func(state, item) for item in items]``, in order; in up to ``workers`` forked processes that
    inherit ``state`` when that can pay (see :func:`can_fork`), else in this process."""
    if not can_fork(workers, len(items)):
        return [func(state, item) for item in items]
    global _JOB
    _JOB = (func, state)
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(items))) as pool:
            return pool.map(_run, items, chunksize=1)
    finally:
        _JOB = None


@contextmanager
def fork_map_started(func: Callable[[Any, Any], T], state: Any, items: Sequence[Any], workers: int
                     ) -> Iterator[Callable[[], list[T]]]:
    """:func:`fork_map` started in the background: gives a function that waits for its results, so that
    this process can do other work meanwhile (where it cannot fork, the items run when results are asked)."""
    if workers < 1 or not items or multiprocessing.current_process().daemon:
        yield lambda: [func(state, item) for item in items]
        return
    global _JOB
    _JOB = (func, state)
    try:
        pool = multiprocessing.get_context("fork").Pool(min(workers, len(items)))  # forked now, with _JOB
    finally:
        _JOB = None
    with pool:
        pending = pool.map_async(_run, items, chunksize=1)
        yield pending.get
