"""Independent NumPy work on the machine's cores, in order.

NumPy releases the GIL inside its array operations, so evaluating a model under
several parameter vectors (the draws of the score intervals) runs on several cores
from threads, without copying the data into other processes.  Results come back in
the order of the inputs, so anything accumulated from them (a running mean and
variance) is the same, bit for bit, as with one thread.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["in_order", "worker_count"]

T = TypeVar("T")
R = TypeVar("R")

#: At most this many threads: the work is memory-bound beyond a few cores.
MAX_WORKERS = 4


def worker_count() -> int:
    """The cores this process may use, at most :data:`MAX_WORKERS`;
    ``REGULARS_THREADS`` overrides it (1: everything on the calling thread)."""
    wanted = os.environ.get("REGULARS_THREADS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def in_order(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """``fn(item)`` for each item, computed on up to ``workers`` threads and yielded in
    the order of ``items``.  At most ``workers`` results wait at a time, so memory stays
    bounded whatever the number of items.  With one worker, a plain loop."""
    n = worker_count() if workers is None else max(1, workers)
    if n == 1:
        for item in items:
            yield fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor  # not at import: 20 ms for every command

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="regulars") as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= n:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
