"""Two customers who referred each other must not crash the report (issue 14)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.store import Workspace


def _insert(ws: Workspace, table: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    src = pa.Table.from_pylist(rows)
    cols = ", ".join(src.column_names)
    ws.con.register("_src", src)
    ws.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _src")
    ws.con.unregister("_src")


@pytest.mark.parametrize("with_tree", [False, True], ids=["only-a-cycle", "cycle-and-tree"])
def test_report_with_a_referral_cycle(tmp_path: Path, with_tree: bool) -> None:
    path = tmp_path / "shop"
    with Workspace.init(path) as ws:
        _insert(
            ws,
            "customers",
            [
                {"customer_id": "A", "referred_by": "B", "channel": "referral"},
                {"customer_id": "B", "referred_by": "A", "channel": "referral"},
                {"customer_id": "C", "referred_by": None, "channel": "organic"},
                {"customer_id": "D", "referred_by": "C" if with_tree else None},
            ],
        )
        _insert(
            ws,
            "orders",
            [
                {
                    "order_id": f"O{i}",
                    "customer_id": c,
                    "order_date": dt.datetime(2024, 1 + i, 3),
                    "revenue": 100.0,
                }
                for i, c in enumerate("ABCDABCD")
            ],
        )
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "-w", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Referral program" in html
    assert "cycle" in html  # the problem is shown, not hidden
