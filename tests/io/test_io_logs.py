"""Transaction logs: no order id, no amounts; revenue stays NULL, ids are stable."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from _io_helpers import contents, rows, write

from regulars.errors import ImportDataError
from regulars.io import import_file
from regulars.store import Workspace

LOG = "cust,date\n1,2024-01-02\n1,2024-01-02\n2,2024-02-01\n1,2024-03-01 10:30\n"


@pytest.mark.parametrize("date_col", ["date", "order_date", "purchase_date", "Transaction Date"])
def test_a_customer_date_log_imports(ws: Workspace, tmp_path: Path, date_col: str) -> None:
    f = write(tmp_path / "log.csv", LOG.replace("date", date_col, 1))
    r = import_file(ws, "orders", f)
    got = rows(ws, "SELECT order_id, customer_id, revenue, refund_amount, status FROM orders")
    # Oracle: one order per row, id = customer-date-position, revenue unknown.
    expected = []
    seen: dict[tuple[str, str], int] = {}
    for line in LOG.splitlines()[1:]:
        cust, day = line.split(",")
        stamp = day.replace("-", "").replace(" ", "T").replace(":", "")
        stamp = stamp + "00" if "T" in stamp else stamp
        seen[(cust, stamp)] = seen.get((cust, stamp), 0) + 1
        expected.append((f"{cust}-{stamp}-{seen[(cust, stamp)]}", cust, None, None, "paid"))
    assert sorted(got) == sorted(expected)
    assert rows(ws, "SELECT count(*) FROM order_lines") == [(0,)]
    assert r.amountless
    assert "revenue is stored empty (unknown, not 0)" in str(r)


def test_reimport_changes_nothing(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "log.csv", LOG)
    import_file(ws, "orders", f)
    before = contents(ws)
    r = import_file(ws, "orders", f)
    assert contents(ws) == before
    assert r.new_records == 0


def test_generated_ids_for_a_file_with_amounts(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", "customer_id,date,amount\nC-1,2024-01-02,5\nC-1,2024-01-02,7\n")
    import_file(ws, "orders", f)
    assert rows(ws, "SELECT order_id, CAST(revenue AS DOUBLE) FROM orders ORDER BY 1") == [
        ("C-1-20240102-1", 5.0),
        ("C-1-20240102-2", 7.0),
    ]


def test_a_bad_row_in_a_log_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "log.csv", LOG + "3,yesterday\n")
    with pytest.raises(ImportDataError, match=r'row 5, column "date" \(order_date\)'):
        import_file(ws, "orders", f)
    assert rows(ws, "SELECT count(*) FROM orders") == [(0,)]


def test_an_old_workspace_with_revenue_not_null_takes_a_log(ws: Workspace, tmp_path: Path) -> None:
    ws.con.execute("ALTER TABLE orders ALTER COLUMN revenue SET NOT NULL")
    with pytest.raises(duckdb.ConstraintException):
        ws.con.execute(
            "INSERT INTO orders (order_id, customer_id, order_date) VALUES ('x', 'y', now())"
        )
    import_file(ws, "orders", write(tmp_path / "log.csv", LOG))
    assert rows(ws, "SELECT count(*) FROM orders WHERE revenue IS NULL") == [(4,)]
