"""A progress bar for long imports and exports.

The steps of an import are single DuckDB queries, so the bar follows
``DuckDBPyConnection.query_progress()``, polled from a background thread, and
moves on step by step.  Without ``progress=True`` nothing is drawn.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from regulars._text import visible

if TYPE_CHECKING:
    import duckdb
    from rich.progress import Progress, TaskID

__all__ = ["Steps"]


class Steps:
    """Draws one bar: ``total`` steps, each filled by the running query's progress."""

    def __init__(self, con: duckdb.DuckDBPyConnection, total: int, *, enabled: bool) -> None:
        self._con = con
        self._total = total
        self._enabled = enabled
        self._done = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Steps:
        if self._enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}", markup=False),  # file names are data
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("Starting", total=self._total * 100)
            try:
                self._con.execute("SET enable_progress_bar = true")
                self._con.execute("SET enable_progress_bar_print = false")
            except Exception:  # older DuckDB: the bar then moves per step only
                pass
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """One step; the bar follows the queries run inside it."""
        if self._progress is None or self._task is None:
            yield
            return
        progress, task = self._progress, self._task
        progress.update(task, description=visible(description), completed=self._done * 100)
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.2):
                try:
                    pct = float(self._con.query_progress())
                except Exception:
                    continue
                if 0 <= pct <= 100:
                    progress.update(task, completed=self._done * 100 + pct)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._done += 1
            progress.update(task, completed=self._done * 100)
