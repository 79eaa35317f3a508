"""The demo: a simulated business, its models, this week's actions and the report.

``regulars demo PATH`` calls :func:`build_demo`.  It is the README's main job, and it
runs every stage of the flow once, so it doubles as an end-to-end smoke test.

The demo never writes into data that is already there: it builds into a new or empty
folder only.  ``force=True`` replaces a folder that holds a regulars workspace with a
fresh demo (its database, config and report are deleted first, other files are left
alone); a folder with anything else in it is refused even then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from regulars.config import CONFIG_FILE
from regulars.errors import WorkspaceError
from regulars.store import DB_FILE, Workspace

__all__ = ["DemoSummary", "build_demo", "demo_target"]

#: The files of a workspace that ``force=True`` deletes before it rebuilds the demo.
WORKSPACE_FILES = (DB_FILE, f"{DB_FILE}.wal", CONFIG_FILE, "report.html")

#: The demo's steps, in order (the CLI shows them as a progress bar).
STEPS = (
    "Simulating the business",
    "Writing the workspace",
    "Fitting the customer models",
    "Computing this week's actions",
    "Writing the report",
)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo built."""

    workspace: Path
    report: Path
    customers: int
    orders: int
    revenue: Decimal
    currency: str
    first_order: dt.date
    last_order: dt.date
    open_actions: int
    seconds: float


def build_demo(
    path: str | Path = "demo-workspace",
    *,
    n_customers: int = 2000,
    years: int = 4,
    seed: int = 0,
    force: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Build the demo workspace at ``path`` and write ``report.html`` inside it.

    ``path`` must be a new or empty folder, so simulated data never mixes with real
    data.  With ``force=True`` a folder holding a regulars workspace is replaced by a
    fresh demo (see :func:`demo_target`).  The same seed gives the same book.

    Raises
    ------
    WorkspaceError
        ``path`` is a file, or a folder that is not empty (without ``force``), or a
        folder with files other than a workspace's (even with ``force``).
    """
    import time

    from regulars.actions import compute_actions
    from regulars.datasets import SimulationParams, simulate
    from regulars.models import score_workspace
    from regulars.report import write_report

    started = time.perf_counter()

    def step(i: int) -> None:
        if on_step is not None:
            on_step(STEPS[i])

    root = Path(path)
    if demo_target(root) == "workspace" and force:
        for name in WORKSPACE_FILES:
            (root / name).unlink(missing_ok=True)
    elif demo_target(root) != "empty":
        raise WorkspaceError(_refusal(root, force=force))
    step(0)
    params = SimulationParams()
    book = simulate(n_customers=n_customers, years=years, seed=seed, params=params)
    channels = {c.name: c.kind for c in params.channels}
    step(1)
    ws = Workspace.init(path, name="Demo studio", currency="EUR", channels=channels)
    try:
        book.write(ws)
        step(2)
        score_workspace(ws)
        step(3)
        run = compute_actions(ws)
        step(4)
        report = write_report(ws, ws.path / "report.html")
        row = ws.con.execute(
            "SELECT count(DISTINCT customer_id), count(*), sum(revenue), "
            "min(order_date)::DATE, max(order_date)::DATE FROM orders"
        ).fetchone()
        assert row is not None
        return DemoSummary(
            workspace=ws.path.resolve(),
            report=report.resolve(),
            customers=int(row[0]),
            orders=int(row[1]),
            revenue=Decimal(row[2]),
            currency=ws.config.workspace.currency,
            first_order=row[3],
            last_order=row[4],
            open_actions=run.shown,
            seconds=time.perf_counter() - started,
        )
    finally:
        ws.close()


def demo_target(path: Path) -> str:
    """What is at ``path``: ``"empty"`` (missing or empty folder), ``"workspace"``
    (a folder with a regulars workspace in it), ``"other"`` (any other folder) or
    ``"file"``."""
    if not path.exists():
        return "empty"
    if not path.is_dir():
        return "file"
    if not any(path.iterdir()):
        return "empty"
    if (path / CONFIG_FILE).exists() or (path / DB_FILE).exists():
        return "workspace"
    return "other"


def _refusal(path: Path, *, force: bool) -> str:
    kind = demo_target(path)
    if kind == "file":
        return (
            f"Cannot build the demo at {path}: it is a file, not a folder.\n"
            "Fix: choose a new folder, e.g. `regulars demo demo-workspace`."
        )
    entries = sorted(p.name for p in path.iterdir())
    shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    if kind == "workspace":
        return (
            f"{path} already holds a regulars workspace ({shown}). The demo writes a "
            "simulated business and never mixes it into existing data.\n"
            f"Fix: choose a new folder, e.g. `regulars demo {path}-demo`, or replace this "
            "workspace and all its data with a fresh demo: `regulars demo "
            f"{path} --force`."
        )
    if force:
        return (
            f"{path} is not empty ({shown}) and is not a regulars workspace: --force "
            "replaces only a workspace, never other files.\n"
            "Fix: choose a new or empty folder, e.g. `regulars demo demo-workspace`."
        )
    return (
        f"{path} is not empty ({shown}). The demo builds only into a new or empty "
        "folder, so it never mixes simulated data with other files.\n"
        "Fix: choose a new folder, e.g. `regulars demo demo-workspace`."
    )
