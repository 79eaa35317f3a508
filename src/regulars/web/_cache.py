"""A small in-process cache of computed pages, keyed by the state of the workspace files.

Any write to the workspace (an import, an outcome, a refit, a settings change)
changes the modification time or size of ``regulars.duckdb``, its write-ahead log
or ``regulars.toml``, and so the key: a cached result is never older than the data.
A hit costs three ``stat`` calls and a dictionary look-up; it does not open the
database.

:func:`cached_html` keeps rendered page fragments the same way.  The CSRF token of
a form is per request, so a fragment is rendered with a placeholder that each
request replaces with its own token (Django's :func:`~django.middleware.csrf.get_token`).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

__all__ = ["cached", "cached_html", "clear", "fingerprint"]

T = TypeVar("T")
#: Entries kept (least recently used out first): a few pages per filter and language,
#: and the customers visited lately.
_SIZE = 1024
_lock = threading.Lock()
_store: OrderedDict[tuple[Hashable, tuple[Any, ...]], Any] = OrderedDict()
_flights: dict[tuple[Hashable, tuple[Any, ...]], threading.Lock] = {}
_current: list[tuple[Any, ...]] = []
#: Stands for the CSRF token in a cached fragment: random per process, so page data
#: cannot contain it by chance or on purpose.
_CSRF_MARK = "csrf" + secrets.token_hex(16)


def fingerprint() -> tuple[Any, ...]:
    """(mtime, size) of the workspace's database, its WAL and its regulars.toml.

    On a workspace whose data are Parquet files, also those of the entries of its
    ``parquet_dir`` (files written by another program change the data too).
    """
    root = Path(settings.REGULARS_WORKSPACE)
    out: list[Any] = [str(root)]
    for name in ("regulars.duckdb", "regulars.duckdb.wal", "regulars.toml"):
        try:
            st = (root / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    folder = _parquet_folder(root, out[-1])
    if folder is not None:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            entries = []
        for entry in entries:
            try:
                st = entry.stat()
            except OSError:
                continue
            out.append((entry.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


#: (workspace folder, regulars.toml's state) -> the data's Parquet folder, or None.
_FOLDERS: dict[tuple[str, Any], Path | None] = {}


def _parquet_folder(root: Path, toml_state: Any) -> Path | None:
    key = (str(root), toml_state)
    if key not in _FOLDERS:
        from regulars.config import CONFIG_FILE, load_config
        from regulars.errors import RegularsError
        from regulars.store import Workspace

        try:
            path = Workspace(root, load_config(root / CONFIG_FILE)).parquet_path
        except (OSError, RegularsError):
            path = None
        _FOLDERS.clear()  # one workspace per process: keep the latest only
        _FOLDERS[key] = path if path is not None and "://" not in str(path) else None
    return _FOLDERS[key]


def clear() -> None:
    """Forget every cached result."""
    with _lock:
        _store.clear()


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its result from the last call with ``key`` on unchanged files.

    Concurrent requests for the same missing key wait for one computation.  Results
    of an older state of the files are dropped when the first result of a new state
    is stored (they can never be asked for again).
    """
    state = fingerprint()
    full = (key, state)
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
            if _current != [state]:
                for old in [k for k in _store if k[1] != state]:
                    del _store[old]
                _current[:] = [state]
            _store[full] = value
            _flights.pop(full, None)
            while len(_store) > _SIZE:
                _store.popitem(last=False)
    return value


def cached_html(
    request: HttpRequest,
    key: Hashable,
    template: str,
    context: Callable[[], dict[str, Any]],
) -> SafeString:
    """``template`` rendered with ``context()``, once per ``key``, language and file state.

    The template is rendered without the request (no context processors): ``context``
    gives everything it shows, and ``key`` must tell apart whatever differs between
    users (role, assignments, ...).  ``{% csrf_token %}`` in it gets this request's token.
    """
    lang = translation.get_language()

    def render() -> str:
        return render_to_string(template, {**context(), "csrf_token": _CSRF_MARK})

    html = cached(("html", template, lang, key), render)
    if _CSRF_MARK in html:
        html = html.replace(_CSRF_MARK, get_token(request))
    return mark_safe(html)  # rendered by the template engine, with autoescaping
