"""`regulars demo` runs every stage of the flow once, as the README's main job."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.demo import build_demo
from regulars.ledger import purchases
from regulars.store import Workspace


def test_build_demo_runs_every_stage(tmp_path: Path) -> None:
    steps: list[str] = []
    summary = build_demo(tmp_path / "demo", n_customers=300, years=2, seed=1, on_step=steps.append)
    assert len(steps) == 5
    assert summary.report.exists()
    html = summary.report.read_text(encoding="utf-8")
    assert "<html" in html
    with Workspace.open(summary.workspace) as ws:
        n_customers, n_orders, revenue = ws.con.execute(
            "SELECT count(DISTINCT customer_id), count(*), sum(revenue) FROM orders"
        ).fetchone()  # type: ignore[misc]
        assert (summary.customers, summary.orders, summary.revenue) == (
            n_customers,
            n_orders,
            revenue,
        )
        # every customer with a paid order was scored (the models' input: the paid
        # orders of regulars.ledger, see docs/data.md)
        paid = purchases(ws.table("orders"))
        paying = int(paid.customer_id.nunique().execute())
        assert 0 < paying <= n_customers
        assert ws.count("scores") == paying
    assert summary.first_order.year == 2022


def test_demo_is_repeatable(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "demo", n_customers=200, years=2, seed=3)
    again = build_demo(tmp_path / "demo", n_customers=200, years=2, seed=3)
    assert (first.orders, first.revenue) == (again.orders, again.revenue)


@pytest.mark.slow
def test_demo_command_as_a_user_runs_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "shop"), "--customers", "400"])
    assert result.exit_code == 0, result.output
    assert "Report:" in result.output
    assert (tmp_path / "shop" / "report.html").exists()
