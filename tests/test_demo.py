"""`regulars demo` runs every stage of the flow once, as the README's main job."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.demo import build_demo
from regulars.errors import WorkspaceError
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
    again = build_demo(tmp_path / "demo", n_customers=200, years=2, seed=3, force=True)
    assert (first.orders, first.revenue) == (again.orders, again.revenue)


def _real_workspace(path: Path) -> Path:
    """A user's workspace with one real invoice whose id the simulator also uses."""
    ws = Workspace.init(path, name="Real shop")
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue) "
        "VALUES ('INV-00001', 'REAL-1', TIMESTAMP '2021-05-04 10:00', 123.45)"
    )
    ws.con.execute("INSERT INTO customers (customer_id, name) VALUES ('REAL-1', 'Real Ann')")
    ws.close()
    return path


def _book(path: Path) -> list[tuple[object, ...]]:
    with Workspace.open(path, read_only=True) as ws:
        return ws.con.execute(
            "SELECT o.order_id, o.customer_id, o.order_date, o.revenue, c.name "
            "FROM orders o LEFT JOIN customers c USING (customer_id) ORDER BY 1"
        ).fetchall()


def test_demo_refuses_an_existing_workspace(tmp_path: Path) -> None:
    path = _real_workspace(tmp_path / "shop")
    before = _book(path)
    result = CliRunner().invoke(app, ["demo", str(path), "--customers", "50", "--years", "1"])
    assert result.exit_code == 1
    assert "already holds a regulars workspace" in result.stderr
    assert "--force" in result.stderr
    assert "Traceback" not in result.output
    assert _book(path) == before  # the real invoice and customer are untouched


def test_demo_refuses_a_folder_with_other_files_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    for args in ([], ["--force", "--yes"]):
        result = CliRunner().invoke(app, ["demo", str(tmp_path), "--customers", "50", *args])
        assert result.exit_code == 1
        assert "is not empty (notes.txt)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_demo_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="it is a file"):
        build_demo(tmp_path / "afile", n_customers=50, years=1)


def test_demo_force_asks_and_then_replaces_the_workspace(tmp_path: Path) -> None:
    path = _real_workspace(tmp_path / "shop")
    (path / "keep.csv").write_text("a,b\n", encoding="utf-8")
    before = _book(path)
    declined = CliRunner().invoke(app, ["demo", str(path), "--force"], input="n\n")
    assert declined.exit_code == 1
    assert _book(path) == before
    result = CliRunner().invoke(
        app, ["demo", str(path), "--force", "--yes", "--customers", "50", "--years", "1"]
    )
    assert result.exit_code == 0, result.output
    after = _book(path)
    assert not any(r[1] == "REAL-1" for r in after)  # nothing real merged with the demo
    assert "Real shop" not in (path / "regulars.toml").read_text(encoding="utf-8")
    assert (path / "keep.csv").exists()


@pytest.mark.slow
def test_demo_command_as_a_user_runs_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "shop"), "--customers", "400"])
    assert result.exit_code == 0, result.output
    assert "Report:" in result.output
    assert (tmp_path / "shop" / "report.html").exists()
