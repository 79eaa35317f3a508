"""Background jobs (imports, refits) in a thread of the server process.

One job runs at a time per kind; DuckDB takes one writer at a time anyway.  With
the ``REGULARS_SYNC_JOBS`` setting (tests) a job runs before the request returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections

__all__ = ["start", "state"]

_lock = threading.Lock()
_state: dict[str, dict[str, Any]] = {}


def state(kind: str) -> dict[str, Any]:
    """``{"running": bool, "step": str, "error": str}`` of the latest job of ``kind``."""
    with _lock:
        return dict(_state.get(kind, {"running": False, "step": "", "error": ""}))


def _set(kind: str, **values: Any) -> None:
    with _lock:
        _state.setdefault(kind, {"running": False, "step": "", "error": ""}).update(values)


def start(kind: str, job: Callable[[Callable[[str], None]], None]) -> bool:
    """Run ``job(progress)``; False when a job of this kind is already running."""
    with _lock:
        if _state.get(kind, {}).get("running"):
            return False
        _state[kind] = {"running": True, "step": "starting", "error": ""}

    def progress(step: str) -> None:
        _set(kind, step=step)

    def run() -> None:
        try:
            job(progress)
            _set(kind, step="done")
        except Exception as exc:  # shown on the page; the job's own code records details
            _set(kind, error=str(exc), step="failed")
        finally:
            _set(kind, running=False)
            close_old_connections()

    if getattr(settings, "REGULARS_SYNC_JOBS", False):
        run()
    else:
        threading.Thread(target=run, name=f"regulars-{kind}", daemon=True).start()
    return True
