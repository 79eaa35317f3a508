"""The workspace for one request: a short-lived DuckDB connection, retried when busy.

DuckDB lets one process write a file at a time.  The app opens the workspace for
each request and closes it at the end, so between requests the CLI can open the
same workspace.  When another process holds it (an import or a fit from the CLI),
the app retries for a few seconds and then answers "busy" (503) instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from regulars.engine import interactive_config
from regulars.errors import RegularsError, WorkspaceError
from regulars.store import Workspace

__all__ = ["WorkspaceBusy", "open_ws", "workspace_path"]

RETRY_SECONDS = 5.0


class WorkspaceBusy(RegularsError, RuntimeError):
    """Another process holds the workspace database for longer than the retry window."""


def workspace_path() -> str:
    return str(settings.REGULARS_WORKSPACE)


@contextmanager
def open_ws(*, retry_seconds: float | None = None) -> Iterator[Workspace]:
    """The workspace with its database open, closed on exit."""
    wait = RETRY_SECONDS if retry_seconds is None else retry_seconds
    deadline = time.monotonic() + wait
    while True:
        ws = Workspace.open(workspace_path(), read_only=True)
        ws.read_only = False
        # A Spark workspace's pages read the same data through DuckDB: a page cannot
        # wait for Spark's seconds per query (docs/web.md, "Engines").
        ws.config = interactive_config(ws.config)
        # A page view reads the shared derived tables the commands stored, and stores
        # none itself: no write on GET, and the page cache stays valid.
        ws.stores_shared_tables = False
        try:
            _ = ws.con  # retries a lock conflict for a few seconds itself
            break
        except WorkspaceError as exc:
            ws.close()
            if time.monotonic() >= deadline:
                raise WorkspaceBusy(
                    "The workspace is busy: another regulars process (an import or a fit "
                    "from the command line) is writing to it. Try again in a minute."
                ) from exc
    try:
        yield ws
    finally:
        ws.close()
