"""A small in-process cache of computed pages, keyed by the state of the workspace files.

Any write to the workspace (an import, an outcome, a refit, a settings change)
changes the modification time or size of ``regulars.duckdb``, its write-ahead log
or ``regulars.toml``, and so the key: a cached result is never older than the data.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings

__all__ = ["cached", "fingerprint"]

T = TypeVar("T")
_SIZE = 64
_lock = threading.Lock()
_store: OrderedDict[Hashable, Any] = OrderedDict()
_flights: dict[Hashable, threading.Lock] = {}


def fingerprint() -> tuple[Any, ...]:
    """(mtime, size) of the workspace's database, its WAL and its regulars.toml."""
    root = Path(settings.REGULARS_WORKSPACE)
    out: list[Any] = [str(root)]
    for name in ("regulars.duckdb", "regulars.duckdb.wal", "regulars.toml"):
        try:
            st = (root / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its result from the last call with ``key`` on unchanged files.

    Concurrent requests for the same missing key wait for one computation.
    """
    full = (key, fingerprint())
    with _lock:
        if full in _store:
            _store.move_to_end(full)
            return _store[full]
        flight = _flights.setdefault(full, threading.Lock())
    with flight:
        with _lock:
            if full in _store:
                return _store[full]
        try:
            value = compute()
        except BaseException:
            with _lock:
                _flights.pop(full, None)
            raise
        with _lock:
            _store[full] = value
            _flights.pop(full, None)
            while len(_store) > _SIZE:
                _store.popitem(last=False)
    return value
