"""Re-importing the same or an overlapping file changes nothing: rows are keyed."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from _io_helpers import DATA, contents, rows, write

from regulars.io import import_file
from regulars.store import Workspace

ORDERS = """order_id,customer_id,order_date,product,quantity,unit_price
A-1,C-1,2024-03-01,logo,1,500
A-1,C-1,2024-03-01,website,2,750.50
A-2,C-2,2024-03-02,audit,1,300
A-3,C-3,2024-03-03,website,-1,1200
"""


def test_same_file_twice(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", ORDERS)
    import_file(ws, "orders", f)
    first = contents(ws)
    r = import_file(ws, "orders", f)
    assert (r.records, r.new_records, r.customers_created) == (3, 0, 0)
    assert contents(ws) == first


def test_every_table_twice(ws: Workspace, tmp_path: Path) -> None:
    files = {
        "customers": "customer_id,name,channel,referred_by,attributes\n"
        'C-1,Ana,referral,C-9,"{""city"": ""Ljubljana""}"\nC-2,Bo,cold,,\n',
        "subscriptions": "subscription_id,customer_id,plan,start_date,price,billing_period\n"
        "S-1,C-1,basic,2024-01-01,150,monthly\n",
        "touches": "customer_id,touched_at,kind,note\nC-1,2024-02-01 10:00,call,hello\n"
        "C-2,2024-02-02,e-mail,\n",
        "spend": "channel,period_start,period_end,amount\ngoogle-ads,2024-03-01,2024-03-31,1500\n",
        "feedback": "customer_id,feedback_date,score,comment\nC-1,2024-06-01,9,great\n",
    }
    for table, text in files.items():
        import_file(ws, table, write(tmp_path / f"{table}.csv", text))
    first = contents(ws)
    for table in files:
        r = import_file(ws, table, tmp_path / f"{table}.csv")
        assert r.new_records == 0, table
    assert contents(ws) == first
    # The referrer is created too, and touches without an id get a stable one.
    assert rows(ws, "SELECT customer_id FROM customers ORDER BY 1") == [
        ("C-1",),
        ("C-2",),
        ("C-9",),
    ]
    ids = rows(ws, "SELECT touch_id, kind FROM touches ORDER BY kind")
    assert [k for _, k in ids] == ["call", "email"]
    assert all(t.startswith("T-") and len(t) == 18 for t, _ in ids)


def test_overlapping_files(ws: Workspace, tmp_path: Path) -> None:
    lines = ORDERS.splitlines()
    head, body = lines[0], lines[1:]
    early = write(tmp_path / "early.csv", "\n".join([head, *body[:3]]) + "\n")
    late = write(tmp_path / "late.csv", "\n".join([head, *body[2:]]) + "\n")
    import_file(ws, "orders", early)
    import_file(ws, "orders", late)
    both = contents(ws)

    ws2 = Workspace.init(tmp_path / "ws2")
    try:
        import_file(ws2, "orders", write(tmp_path / "all.csv", ORDERS))
        assert contents(ws2) == both
    finally:
        ws2.close()


def test_a_changed_order_replaces_the_old_one_and_its_lines(ws: Workspace, tmp_path: Path) -> None:
    import_file(ws, "orders", write(tmp_path / "o.csv", ORDERS))
    changed = "order_id,customer_id,order_date,product,quantity,unit_price\n"
    changed += "A-1,C-1,2024-03-01,logo,1,450\n"
    import_file(ws, "orders", write(tmp_path / "fix.csv", changed))
    assert rows(ws, "SELECT line_no, unit_price FROM order_lines WHERE order_id = 'A-1'") == [
        (1, 450)
    ]
    assert rows(ws, "SELECT count(*) FROM orders") == [(3,)]


def test_customers_keep_fields_the_file_does_not_have(ws: Workspace, tmp_path: Path) -> None:
    import_file(
        ws, "customers", write(tmp_path / "a.csv", "customer_id,name,email\nC-1,Ana,a@x.si\n")
    )
    import_file(ws, "customers", write(tmp_path / "b.csv", "customer_id,segment\nC-1,smb\n"))
    assert rows(ws, "SELECT name, email, segment FROM customers") == [("Ana", "a@x.si", "smb")]


def test_same_data_in_another_format_changes_nothing(ws: Workspace, tmp_path: Path) -> None:
    import_file(ws, "orders", DATA / "shopify_orders.csv", preset="shopify")
    first = contents(ws)
    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    with open(DATA / "shopify_orders.csv", encoding="utf-8") as fh:
        import csv

        for record in csv.reader(fh):
            sheet.append(record)
    wb.save(tmp_path / "shopify.xlsx")
    r = import_file(ws, "orders", tmp_path / "shopify.xlsx", preset="shopify")
    assert r.new_records == 0
    assert contents(ws) == first


def test_customers_are_created_from_every_table(ws: Workspace, tmp_path: Path) -> None:
    files = {
        "subscriptions": "subscription_id,customer_id,start_date,price,billing_period\n"
        "S-1,C-sub,2024-01-01,10,month\n",
        "touches": "customer_id,touched_at,kind\nC-touch,2024-01-02,idea\n",
        "feedback": "customer_id,feedback_date,score\nC-nps,2024-01-03,10\n",
    }
    for table, text in files.items():
        r = import_file(ws, table, write(tmp_path / f"{table}.csv", text))
        assert r.customers_created == 1, table
    assert rows(ws, "SELECT customer_id FROM customers ORDER BY 1") == [
        ("C-nps",),
        ("C-sub",),
        ("C-touch",),
    ]
