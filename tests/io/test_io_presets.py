"""Presets: Stripe payments and invoices, Shopify orders, the CDNOW files."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from _io_helpers import DATA, rows

from regulars.errors import SchemaError
from regulars.io import PRESETS, import_file
from regulars.store import Workspace

SHARED_CDNOW = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PACKAGED = resources.files("regulars.datasets").joinpath("data")


def test_presets_are_plain_data() -> None:
    assert {"stripe", "shopify", "cdnow"} <= set(PRESETS)
    for preset in PRESETS.values():
        assert preset["description"]
        for table in preset["tables"].values():
            assert all(isinstance(cols, tuple) for cols in table["map"].values())


def test_stripe_payments(ws: Workspace) -> None:
    r = import_file(ws, "orders", DATA / "stripe_payments.csv", preset="stripe")
    # The failed payment and the test-mode charge are left out.
    assert (r.rows_read, r.rows_imported, r.rows_skipped) == (7, 5, 2)
    got = {
        oid: (cid, revenue, refund, status)
        for oid, cid, revenue, refund, status in rows(
            ws, "SELECT order_id, customer_id, revenue, refund_amount, status FROM orders"
        )
    }
    assert got["ch_3Ok2bC3fAwLZmp3D1b2c3d4e"] == (
        "cus_PbBcDeFg456",
        Decimal("1200.00"),
        Decimal("0.00"),
        "paid",
    )
    assert got["ch_3Ok3cD4gBxMAnq4E2c3d4e5f"][2:] == (Decimal("400.00"), "refunded")
    assert got["ch_3Ok4dE5hCyNBor5F3d4e5f6g"][2:] == (Decimal("100.00"), "paid")
    # A guest payment has no Stripe customer: its email identifies the customer.
    assert got["ch_3Ok7gH8kFbQEru8I6g7h8i9j"][0] == "guest@example.org"
    customers = dict(rows(ws, "SELECT customer_id, email FROM customers"))
    assert customers == {
        "cus_PaAbCdEf123": "ana@example.si",
        "cus_PbBcDeFg456": "info@kovac.si",
        "cus_PcCdEfGh789": "miha@zupan.si",
        "guest@example.org": "guest@example.org",
    }
    assert "Fee" in r.ignored_columns
    assert r.mapping["order_date"] == "Created (UTC)"


def test_stripe_invoices(ws: Workspace) -> None:
    r = import_file(ws, "orders", DATA / "stripe_invoices.csv", preset="stripe")
    # Draft and open invoices are not revenue yet.
    assert (r.records, r.rows_skipped) == (3, 2)
    got = rows(ws, "SELECT order_id, customer_id, revenue, status FROM orders ORDER BY 1")
    assert got == [
        ("in_1OkA1aB2eZvKYlo2", "cus_PaAbCdEf123", Decimal("150.00"), "paid"),
        ("in_1OkB2bC3fAwLZmp3", "cus_PaAbCdEf123", Decimal("150.00"), "paid"),
        ("in_1OkD4dE5hCyNBor5", "cus_PcCdEfGh789", Decimal("0.00"), "cancelled"),
    ]
    assert rows(ws, "SELECT name FROM customers ORDER BY 1") == [
        ("Ana Novak s.p.",),
        ("Miha Zupan",),
    ]


def test_stripe_payments_and_invoices_share_customers(ws: Workspace) -> None:
    import_file(ws, "orders", DATA / "stripe_invoices.csv", preset="stripe")
    import_file(ws, "orders", DATA / "stripe_payments.csv", preset="stripe")
    assert rows(ws, "SELECT count(*) FROM customers") == [(4,)]
    assert rows(ws, "SELECT count(*) FROM orders") == [(8,)]


def test_shopify_line_items_and_order_totals(ws: Workspace) -> None:
    r = import_file(ws, "orders", DATA / "shopify_orders.csv", preset="shopify")
    # #1003 is pending (not paid): its row is left out.
    assert (r.records, r.lines, r.rows_skipped) == (3, 6, 1)
    got = rows(
        ws,
        "SELECT order_id, customer_id, order_date::VARCHAR, revenue, quantity, product, "
        "discount, status, refund_amount FROM orders ORDER BY 1",
    )
    assert got == [
        # Subtotal from the first row: 2 x 20 + 20 - 6 discount.
        (
            "#1001",
            "jana@example.com",
            "2024-03-02 10:15:30",
            Decimal("54.00"),
            3.0,
            "Matcha tea 100 g",
            Decimal("6.00"),
            "paid",
            Decimal("0.00"),
        ),
        (
            "#1002",
            "peter@example.com",
            "2024-03-05 18:01:10",
            Decimal("35.00"),
            1.0,
            "Tea set",
            Decimal("0.00"),
            "paid",
            Decimal("15.00"),
        ),
        (
            "#1004",
            "jana@example.com",
            "2024-03-20 09:30:00",
            Decimal("93.00"),
            5.0,
            "Sencha 50 g",
            Decimal("0.00"),
            "paid",
            Decimal("0.00"),
        ),
    ]
    lines = rows(
        ws,
        "SELECT line_no, product, quantity, revenue FROM order_lines "
        "WHERE order_id = '#1004' ORDER BY line_no",
    )
    assert lines == [
        (1, "Sencha 50 g", 3.0, Decimal("54.00")),
        (2, "Tea caddy", 1.0, Decimal("24.00")),
        (3, "Gift card", 1.0, Decimal("15.00")),
    ]
    assert rows(ws, "SELECT customer_id, name FROM customers ORDER BY 1") == [
        ("jana@example.com", "Jana Horvat"),
        ("peter@example.com", "Peter Kranjc"),
    ]


def test_preset_for_other_table_and_unknown_preset(ws: Workspace) -> None:
    with pytest.raises(SchemaError, match="Preset 'cdnow' has no column map for 'customers'"):
        import_file(ws, "customers", DATA / "stripe_payments.csv", preset="cdnow")
    with pytest.raises(SchemaError, match=r"Unknown preset 'paypal'\. Presets: cdnow, shopify"):
        import_file(ws, "orders", DATA / "stripe_payments.csv", preset="paypal")


def test_stripe_customers_export(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "customers.csv"
    f.write_text(
        "id,Description,Email,Name,Created (UTC),Delinquent,Plan\n"
        "cus_PaAbCdEf123,,ana@example.si,Ana Novak s.p.,2023-11-02 08:00,false,\n"
        "cus_PbBcDeFg456,Agency,info@kovac.si,Kovač d.o.o.,2024-01-15 13:20,false,\n",
        encoding="utf-8",
    )
    import_file(ws, "customers", f, preset="stripe")
    assert rows(ws, "SELECT customer_id, name, acquired_at::VARCHAR FROM customers ORDER BY 1") == [
        ("cus_PaAbCdEf123", "Ana Novak s.p.", "2023-11-02"),
        ("cus_PbBcDeFg456", "Kovač d.o.o.", "2024-01-15"),
    ]


def _cdnow_files(name: str) -> list[Path]:
    found = [Path(str(PACKAGED.joinpath(name)))]
    if (SHARED_CDNOW / name.removesuffix(".gz")).exists():
        found.append(SHARED_CDNOW / name.removesuffix(".gz"))
    return found


@pytest.mark.parametrize("path", _cdnow_files("CDNOW_sample.txt"), ids=str)
def test_cdnow_sample(ws: Workspace, path: Path) -> None:
    r = import_file(ws, "orders", path, preset="cdnow")
    assert r.records == 6_919
    got = rows(
        ws, "SELECT count(*), count(DISTINCT customer_id), sum(quantity), sum(revenue) FROM orders"
    )
    assert got == [(6_919, 2_357, 16_479.0, Decimal("244091.94"))]
    # The sample keeps the master file's ids, so both files name the same customers.
    assert rows(ws, "SELECT min(customer_id) FROM orders") == [("00004",)]
    assert r.ignored_columns == ["sample_id"]


@pytest.mark.slow
@pytest.mark.parametrize("path", _cdnow_files("CDNOW_master.txt.gz"), ids=str)
def test_cdnow_master(ws: Workspace, path: Path) -> None:
    r = import_file(ws, "orders", path, preset="cdnow")
    assert (r.records, r.customers_created) == (69_659, 23_570)
    got = rows(
        ws,
        "SELECT count(*), sum(quantity), sum(revenue), count(*) FILTER (revenue = 0) FROM orders",
    )
    assert got == [(69_659, 167_881.0, Decimal("2500315.63"), 80)]
    assert rows(ws, "SELECT count(*) FROM customers") == [(23_570,)]
    # 255 rows repeat another row exactly: several orders on the same day, all kept.
    same_day = rows(
        ws,
        "SELECT count(*) - count(DISTINCT (customer_id, order_date, quantity, revenue)) "
        "FROM orders",
    )
    assert same_day == [(255,)]
    # The ids are deterministic: importing the sample afterwards changes nothing.
    before = rows(ws, "SELECT sum(hash(order_id, revenue)) FROM orders")
    import_file(ws, "orders", PACKAGED.joinpath("CDNOW_sample.txt"), preset="cdnow")
    assert rows(ws, "SELECT sum(hash(order_id, revenue)) FROM orders") == before


def test_a_space_separated_txt_file_needs_no_format_or_preset(
    ws: Workspace, tmp_path: Path
) -> None:
    """The CDNOW master file as published with a header: its columns are found between
    the spaces and map by their usual names (date, dollar_value)."""
    f = tmp_path / "CDNOW_master.txt"
    f.write_text(
        " customer_id  date number_of_cds  dollar_value\n"
        " 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n 00002 19970112  5   77.00\n",
        encoding="utf-8",
    )
    r = import_file(ws, "orders", f)
    assert r.mapping["order_date"] == "date"
    assert r.mapping["revenue"] == "dollar_value"
    assert rows(ws, "SELECT count(*), count(DISTINCT customer_id), sum(revenue) FROM orders") == [
        (3, 2, Decimal("100.77"))
    ]
    # A .txt file with commas is still a CSV file.
    g = tmp_path / "orders.txt"
    g.write_text("order_id,customer_id,order_date,revenue\nA-1,C 1,2024-03-01,5\n", "utf-8")
    import_file(ws, "orders", g)
    assert rows(ws, "SELECT customer_id FROM orders WHERE order_id = 'A-1'") == [("C 1",)]
