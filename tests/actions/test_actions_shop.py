"""The action list on a simulated online shop (``simulate_shop_export``): short, a mix
of playbooks, no postage in any reason, and the same output twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.datasets import simulate_shop_export
from regulars.store import Workspace


def _insert(ws: Workspace, table: str, frame: pd.DataFrame) -> None:
    src = pa.Table.from_pandas(frame, preserve_index=False)
    cols = ", ".join(f'"{c}"' for c in src.column_names)
    ws.con.register("_shop_src", src)
    ws.con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _shop_src')
    ws.con.unregister("_shop_src")


def shop_workspace(path: Path, customers: int, seed: int) -> Path:
    """A shop workspace holding the export's orders and lines, as docs/data.md reads a
    line-item file: an invoice is an order dated by its earliest line, its revenue is
    its positive lines, returned lines are its refund, guest rows are left out."""
    lines = simulate_shop_export(customers, seed=seed).lines
    lines = lines[lines.CustomerID.notna()].copy()
    lines["amount"] = (lines.Quantity * lines.UnitPrice).round(2)
    lines["when"] = pd.to_datetime(lines.InvoiceDate)
    lines["line_no"] = lines.groupby("InvoiceNo").cumcount() + 1
    by = lines.groupby("InvoiceNo", sort=True)
    largest = lines.loc[lines.amount.abs().groupby(lines.InvoiceNo).idxmax()]
    orders = pd.DataFrame(
        {
            "order_id": by.size().index.astype(str),
            "customer_id": by.CustomerID.first().astype(str).to_numpy(),
            "order_date": by["when"].min().to_numpy(),
            "revenue": by.amount.apply(lambda a: a[a > 0].sum()).round(2).to_numpy(),
            "refund_amount": by.amount.apply(lambda a: -a[a < 0].sum()).round(2).to_numpy(),
            "product": largest.set_index("InvoiceNo").loc[by.size().index].Description.to_numpy(),
        }
    )
    ws = Workspace.init(path, name="Shop", currency="GBP", kind="shop")
    _insert(ws, "orders", orders)
    _insert(
        ws,
        "order_lines",
        pd.DataFrame(
            {
                "order_id": lines.InvoiceNo.astype(str),
                "line_no": lines.line_no.astype("int32"),
                "product": lines.Description,
                "quantity": lines.Quantity.astype(float),
                "revenue": lines.amount,
            }
        ),
    )
    ws.close()
    return path


def actions_output(path: Path) -> tuple[str, str]:
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["actions", "-w", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def check_shop_list(path: Path) -> dict[str, Any]:
    first, summary = actions_output(path)
    second, _ = actions_output(path)
    assert first == second  # two runs in a row: identical output
    with Workspace.open(path) as ws:
        capacity = ws.config.actions.weekly_capacity
        rows = ws.con.execute(
            "SELECT playbook, reason, message FROM actions WHERE status = 'open' "
            "ORDER BY value_at_stake DESC, action_id"
        ).fetchall()
        postage = {
            str(r[0])
            for r in ws.con.execute(
                "SELECT DISTINCT product FROM order_lines WHERE regexp_matches(lower(product), "
                "'postage|carriage|manual')"
            ).fetchall()
        }
    assert postage  # the export has such lines...
    assert 0 < len(rows) <= capacity
    for _, reason, message in rows:  # ...and no reason or message names one
        assert not any(p.lower() in (reason + message).lower() for p in postage)
    listed = [r[0] for r in rows]
    assert "package_offer" not in listed
    assert "guarantee_check_in" not in listed
    # A mix: no playbook takes more than half of the week (playbook_share = 0.5).
    assert max(listed.count(p) for p in set(listed)) <= -(-capacity // 2)
    return {"playbooks": listed, "summary": summary, "rows": rows}


def test_a_small_shop_gets_a_short_stable_list(tmp_path: Path) -> None:
    path = shop_workspace(tmp_path / "shop", customers=400, seed=3)
    got = check_shop_list(path)
    assert len(set(got["playbooks"])) >= 2  # a mix, not one playbook
    assert "over this week's capacity" in got["summary"]


@pytest.mark.slow
def test_the_full_size_shop_with_scores(tmp_path: Path) -> None:
    path = shop_workspace(tmp_path / "shop", customers=4300, seed=0)
    runner = CliRunner()
    for command in (["fit"], ["score"]):
        result = runner.invoke(app, [*command, "-w", str(path)])
        assert result.exit_code == 0, result.output
    got = check_shop_list(path)
    assert len(set(got["playbooks"])) >= 2
    with Workspace.open(path) as ws:
        n = ws.con.execute("SELECT count(DISTINCT customer_id) FROM actions").fetchone()
        customers = ws.con.execute("SELECT count(DISTINCT customer_id) FROM orders").fetchone()
    assert n is not None
    assert customers is not None
    assert n[0] <= customers[0]
