"""The demo: a simulated business, its models, this week's actions and the report.

``regulars demo PATH`` calls :func:`build_demo`.  It is the README's main job, and it
runs every stage of the flow once, so it doubles as an end-to-end smoke test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from regulars.store import Workspace

__all__ = ["DemoSummary", "build_demo"]

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
    on_step: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Build the demo workspace at ``path`` and write ``report.html`` inside it.

    Running it again on the same folder rebuilds the same book (writes are keyed,
    so nothing is duplicated) and refreshes the scores, actions and report.
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
