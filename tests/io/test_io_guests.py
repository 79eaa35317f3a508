"""Guest rows (no customer id): kept apart in guest_orders, counted, never customers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from _io_helpers import contents, rows, write

from regulars.errors import ConfigError, SchemaError
from regulars.io import import_file
from regulars.store import Workspace

LINES = (
    "order_id,customer_id,order_date,quantity,unit_price\n"
    "A-1,C-1,2024-03-01 10:00,2,5.00\n"
    "G-1,,2024-03-01 11:00,1,7.50\n"
    "G-1,,2024-03-01 11:01,3,2.00\n"
    "CG-2,,2024-03-02,-1,7.50\n"
    "A-2,C-2,2024-03-03,1,100\n"
    "A-2,,2024-03-03,1,1\n"  # a customer on another line: not a guest order
)


def test_guest_rows_do_not_stop_the_import(ws: Workspace, tmp_path: Path) -> None:
    r = import_file(ws, "orders", write(tmp_path / "o.csv", LINES))
    assert rows(ws, "SELECT order_id, revenue FROM orders ORDER BY 1") == [
        ("A-1", Decimal("10.00")),
        ("A-2", Decimal("101.00")),
    ]
    got = rows(ws, "SELECT order_id, revenue, refund_amount, status FROM guest_orders ORDER BY 1")
    assert got == [
        ("CG-2", Decimal("0.00"), Decimal("7.50"), "refunded"),
        ("G-1", Decimal("13.50"), None, "paid"),
    ]
    # Guests are no customers and keep no lines.
    assert rows(ws, "SELECT customer_id FROM customers ORDER BY 1") == [("C-1",), ("C-2",)]
    assert rows(ws, "SELECT DISTINCT order_id FROM order_lines ORDER BY 1") == [("A-1",), ("A-2",)]
    # Counted in the summary, with their revenue net of returns (13.50 - 7.50).
    assert (r.guest_rows, r.guest_orders, r.guest_revenue) == (3, 2, Decimal("6.00"))
    assert r.customer_revenue == Decimal("111.00")
    text = str(r)
    assert "Kept 3 guest rows without a customer id apart: 2 guest orders worth 6.00" in text
    assert "Revenue total: 111.00 net of returns, customers only" in text


def test_guest_revenue_can_count_in_the_totals(ws: Workspace, tmp_path: Path) -> None:
    r = import_file(ws, "orders", write(tmp_path / "o.csv", LINES), guest_revenue="include")
    assert "Revenue total: 117.00 net of returns (customers 111.00 + guests 6.00" in str(r)
    with pytest.raises(SchemaError, match="guest_revenue='all' is not valid"):
        import_file(ws, "orders", write(tmp_path / "o.csv", LINES), guest_revenue="all")


def test_the_config_key_decides_by_default(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    cfg = ws.path / "regulars.toml"
    ws.close()
    cfg.write_text(
        cfg.read_text().replace("[workspace]\n", '[workspace]\nguest_revenue = "include"\n')
    )
    ws = Workspace.open(tmp_path / "w")
    try:
        r = import_file(ws, "orders", write(tmp_path / "o.csv", LINES))
        assert r.guests_in_totals
    finally:
        ws.close()
    cfg.write_text(cfg.read_text().replace('"include"', '"some"'))
    with pytest.raises(ConfigError, match="guest_revenue"):
        Workspace.open(tmp_path / "w")


def test_reimport_changes_nothing_and_an_order_moves_between_tables(
    ws: Workspace, tmp_path: Path
) -> None:
    f = write(tmp_path / "o.csv", LINES)
    import_file(ws, "orders", f)
    before = contents(ws), rows(ws, "SELECT * FROM guest_orders ORDER BY order_id")
    import_file(ws, "orders", f)
    assert (contents(ws), rows(ws, "SELECT * FROM guest_orders ORDER BY order_id")) == before
    # G-1 gets its customer in a corrected export: it leaves guest_orders.
    fixed = write(
        tmp_path / "fixed.csv", "order_id,customer_id,order_date,revenue\nG-1,C-9,2024-03-01,13.5\n"
    )
    import_file(ws, "orders", fixed)
    assert rows(ws, "SELECT order_id FROM guest_orders") == [("CG-2",)]
    assert rows(ws, "SELECT customer_id FROM orders WHERE order_id = 'G-1'") == [("C-9",)]


def test_a_log_with_guest_rows_gets_guest_ids(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "log.csv", "customer_id,date,amount\nC-1,2024-01-02,5\n,2024-01-02,3\n")
    r = import_file(ws, "orders", f)
    assert rows(ws, "SELECT order_id FROM guest_orders") == [("guest-20240102-1",)]
    assert r.guest_orders == 1
