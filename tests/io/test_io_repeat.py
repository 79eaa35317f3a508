"""An identical re-import of orders is recognised by content and writes nothing."""

from __future__ import annotations

from pathlib import Path

from _io_helpers import contents, write

from regulars.io import import_file
from regulars.store import Workspace

ORDERS = """order_id,customer_id,order_date,product,quantity,unit_price
A-1,C-1,2024-03-01,logo,1,500
A-1,C-1,2024-03-01,website,2,750.50
A-2,C-2,2024-03-02,audit,1,300
A-3,,2024-03-03,website,1,1200
"""
SAME_SIZE = ORDERS.replace("audit,1,300", "audit,1,400")


def test_the_same_file_again_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", ORDERS)
    first = import_file(ws, "orders", f)
    state, version = contents(ws), ws.data_version
    again = import_file(ws, "orders", f)
    assert contents(ws) == state
    assert ws.data_version == version  # nothing written: derived tables stay current
    assert any("nothing to write" in r for r in again.remarks)
    # What it reports is what the first import found, with nothing new.
    assert (again.records, again.new_records, again.lines, again.customers_created) == (
        first.records,
        0,
        first.lines,
        0,
    )
    assert (again.rows_read, again.guest_orders, again.customer_revenue) == (
        first.rows_read,
        first.guest_orders,
        first.customer_revenue,
    )


def test_changed_content_under_the_same_name_is_imported(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", ORDERS)
    import_file(ws, "orders", f)
    write(f, SAME_SIZE)  # same name and size, other bytes
    assert len(SAME_SIZE) == len(ORDERS)
    r = import_file(ws, "orders", f)
    assert not any("nothing to write" in x for x in r.remarks)
    revenue = ws.con.execute("SELECT revenue FROM orders WHERE order_id = 'A-2'").fetchone()
    assert revenue is not None
    assert float(revenue[0]) == 400.0


def test_changed_data_or_options_import_again(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", ORDERS)
    other = write(
        tmp_path / "p.csv", "order_id,customer_id,order_date,revenue\nB-1,C-9,2024-04-01,5\n"
    )
    import_file(ws, "orders", f)
    import_file(ws, "orders", other)  # the data changed since f was imported
    state = contents(ws)
    r = import_file(ws, "orders", f)
    assert not any("nothing to write" in x for x in r.remarks)
    assert contents(ws) == state  # and, keyed, it still changed nothing
    r = import_file(ws, "orders", f, guest_revenue="include")  # another option
    assert not any("nothing to write" in x for x in r.remarks)
    assert r.guests_in_totals
    # A table changed behind the data version's back is noticed by its row count.
    ws.con.execute("DELETE FROM order_lines WHERE order_id = 'A-2'")
    r = import_file(ws, "orders", f, guest_revenue="include")
    assert not any("nothing to write" in x for x in r.remarks)
    assert contents(ws) == state


def test_other_tables_always_import(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", "customer_id,name\nC-1,Ana\n")
    import_file(ws, "customers", f)
    version = ws.data_version
    r = import_file(ws, "customers", f)
    assert ws.data_version != version
    assert not any("nothing to write" in x for x in r.remarks)
