"""Line-item files: amounts, sums per order, returns, and lines that disagree."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from _io_helpers import rows, write

from regulars.errors import ImportDataError
from regulars.io import import_file
from regulars.store import Workspace

LINES = """order_id,customer_id,order_date,product,category,quantity,unit_price
A-1,C-1,2024-03-01,logo,design,1,500
A-1,C-1,2024-03-01,website,web,2,750.50
A-1,C-1,,hosting,web,12,9.99
A-2,C-2,2024-03-02,audit,consulting,1,300
A-3,C-3,2024-03-03,website,web,1,1200
A-3,C-3,2024-03-03,website,web,-1,1200
A-4,C-1,2024-03-05,logo,design,-1,500
A-5,C-2,2024-03-06,website,web,1,800
A-5,C-2,2024-03-06,hosting,web,-2,9.99
"""


@pytest.fixture
def lines(ws: Workspace, tmp_path: Path) -> Workspace:
    import_file(ws, "orders", write(tmp_path / "lines.csv", LINES))
    return ws


def test_revenue_is_quantity_times_unit_price_summed(lines: Workspace) -> None:
    got = rows(
        lines,
        "SELECT order_id, revenue, quantity, unit_price, product, category FROM orders "
        "WHERE order_id IN ('A-1', 'A-2') ORDER BY 1",
    )
    assert got == [
        # 500 + 2 x 750.50 + 12 x 9.99; the website line is the largest.
        ("A-1", Decimal("2120.88"), 15.0, None, "website", "web"),
        ("A-2", Decimal("300.00"), 1.0, Decimal("300.00"), "audit", "consulting"),
    ]


def test_every_line_is_kept(lines: Workspace) -> None:
    assert rows(lines, "SELECT * FROM order_lines WHERE order_id = 'A-1' ORDER BY line_no") == [
        ("A-1", 1, "logo", "design", 1.0, Decimal("500.00"), Decimal("500.00")),
        ("A-1", 2, "website", "web", 2.0, Decimal("750.50"), Decimal("1501.00")),
        ("A-1", 3, "hosting", "web", 12.0, Decimal("9.99"), Decimal("119.88")),
    ]
    assert rows(lines, "SELECT count(*) FROM order_lines") == [(9,)]


def test_negative_lines_are_returns(lines: Workspace) -> None:
    got = rows(
        lines,
        "SELECT order_id, revenue, refund_amount, refund_date::VARCHAR, status, quantity "
        "FROM orders WHERE order_id IN ('A-3', 'A-4', 'A-5') ORDER BY 1",
    )
    assert got == [
        # Sold and returned in one order: revenue stays, the return is a refund.
        ("A-3", Decimal("1200.00"), Decimal("1200.00"), "2024-03-03", "paid", 1.0),
        # Only a return: revenue 0, refunded.
        ("A-4", Decimal("0.00"), Decimal("500.00"), "2024-03-05", "refunded", None),
        ("A-5", Decimal("800.00"), Decimal("19.98"), "2024-03-06", "paid", 1.0),
    ]
    # The returned line stays in order_lines with its negative amount.
    assert rows(lines, "SELECT revenue FROM order_lines WHERE order_id = 'A-4'") == [
        (Decimal("-500.00"),)
    ]


def test_negative_revenue_lines(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,revenue,refund_amount\n"
        "R-1,C-1,2024-01-10,100,\nR-1,C-1,2024-01-10,-40,\nR-2,C-1,2024-01-11,-25,5\n",
    )
    import_file(ws, "orders", f)
    assert rows(ws, "SELECT order_id, revenue, refund_amount, status FROM orders ORDER BY 1") == [
        ("R-1", Decimal("100.00"), Decimal("40.00"), "paid"),
        ("R-2", Decimal("0.00"), Decimal("30.00"), "refunded"),
    ]


def test_lines_may_be_interleaved(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,product,revenue\n"
        "B-1,C-1,2024-01-10,a,10\nB-2,C-2,2024-01-10,x,5\nB-1,C-1,2024-01-10,b,30\n",
    )
    import_file(ws, "orders", f)
    assert rows(ws, "SELECT order_id, line_no, product FROM order_lines ORDER BY 1, 2") == [
        ("B-1", 1, "a"),
        ("B-1", 2, "b"),
        ("B-2", 1, "x"),
    ]
    assert rows(ws, "SELECT revenue, product FROM orders WHERE order_id = 'B-1'") == [
        (Decimal("40.00"), "b")
    ]


def test_lines_that_disagree_name_the_order(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,revenue\n"
        "D-1,C-1,2024-01-10,10\nD-1,C-2,2024-01-10,20\nD-2,C-1,2024-01-11,5\n",
    )
    with pytest.raises(
        ImportDataError,
        match=r'o.csv, row 1, order "D-1": its lines disagree on customer_id: "C-1" and "C-2"',
    ) as err:
        import_file(ws, "orders", f)
    assert err.value.bad_rows == 2
    assert rows(ws, "SELECT count(*) FROM orders") == [(0,)]


def test_an_order_needs_a_date(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,revenue\nE-1,,,10\nE-2,C-1,,5\nE-2,C-1,,5\n",
    )
    with pytest.raises(ImportDataError) as err:
        import_file(ws, "orders", f)
    text = str(err.value)
    assert 'order "E-1": column "order_date" (order_date) is empty.' in text
    assert 'order "E-2": column "order_date" (order_date) is empty on every line' in text


def test_a_line_needs_an_amount(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,quantity,unit_price,revenue\nF-1,C-1,2024-01-10,2,,\n",
    )
    with pytest.raises(
        ImportDataError,
        match=r"o.csv, row 1: has no amount \(revenue is empty and there is no unit_price\)",
    ):
        import_file(ws, "orders", f)


def test_customers_are_created_from_orders_only_once(lines: Workspace) -> None:
    assert rows(lines, "SELECT customer_id, acquired_at FROM customers ORDER BY 1") == [
        ("C-1", None),
        ("C-2", None),
        ("C-3", None),
    ]


def test_order_level_customer_fields_never_overwrite(ws: Workspace, tmp_path: Path) -> None:
    write(tmp_path / "c.csv", "customer_id,name,email,channel\nC-1,Ana,ana@x.si,referral\n")
    import_file(ws, "customers", tmp_path / "c.csv")
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,revenue,Email\nG-1,C-1,2024-01-10,10,other@x.si\n"
        "G-2,C-9,2024-01-11,5,new@x.si\n",
    )
    r = import_file(ws, "orders", f, mapping={"email": "Email"})
    assert r.customers_created == 1
    assert rows(ws, "SELECT customer_id, name, email, channel FROM customers ORDER BY 1") == [
        ("C-1", "Ana", "ana@x.si", "referral"),
        ("C-9", None, "new@x.si", None),
    ]
