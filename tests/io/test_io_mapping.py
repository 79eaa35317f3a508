"""Columns map themselves: case, spaces, underscores, and the usual names of exports."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from _io_helpers import rows, write

from regulars.errors import SchemaError
from regulars.io import import_file
from regulars.io._mapping import resolve_plan
from regulars.schema import TABLES
from regulars.store import Workspace

RETAIL = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536365,71053,,3,12/1/2010 8:27,3.39,17850,United Kingdom\n"
    "536370,POST,POSTAGE,2,12/13/2010 9:41,18.00,12583,France\n"
)


def test_an_online_retail_export_imports_with_no_flags(ws: Workspace, tmp_path: Path) -> None:
    r = import_file(ws, "orders", write(tmp_path / "retail.csv", RETAIL))
    got = rows(ws, "SELECT order_id, customer_id, revenue, quantity FROM orders ORDER BY 1")
    # Oracle: revenue = sum of Quantity × UnitPrice over the invoice's lines.
    assert got == [
        ("536365", "17850", Decimal(str(round(6 * 2.55 + 3 * 3.39, 2))), 9.0),
        ("536370", "12583", Decimal("36.00"), 2.0),
    ]
    # product: the Description, else the StockCode.
    assert rows(ws, "SELECT product FROM order_lines ORDER BY order_id, line_no") == [
        ("WHITE HANGING HEART",),
        ("71053",),
        ("POSTAGE",),
    ]
    assert r.mapping["order_id"] == "InvoiceNo"
    assert r.mapping["product"] == "Description / StockCode"
    assert r.ignored_columns == ["Country"]
    assert "InvoiceNo → order_id" in str(r)


@pytest.mark.parametrize(
    ("header", "field", "column"),
    [
        ("Invoice,Customer ID,InvoiceDate,Price,Qty", "order_id", "Invoice"),
        ("Invoice No,Customer ID,InvoiceDate,Price,Qty", "order_id", "Invoice No"),
        ("Invoice,Customer ID,InvoiceDate,Price,Qty", "customer_id", "Customer ID"),
        ("Invoice,customer-id,InvoiceDate,Price,Qty", "customer_id", "customer-id"),
        ("Invoice,CUSTOMER_ID,InvoiceDate,Price,Qty", "customer_id", "CUSTOMER_ID"),
        ("Invoice,Customer ID,InvoiceDate,Price,Qty", "unit_price", "Price"),
        ("Invoice,Customer ID,InvoiceDate,Price,Qty", "quantity", "Qty"),
        ("Invoice,Customer ID,InvoiceDate,Price,Quantity", "quantity", "Quantity"),
        ("Invoice,Customer ID,Order Date,Total", "order_date", "Order Date"),
        ("Invoice,Customer ID,Order Date,Total", "revenue", "Total"),
        # A transactions file without order ids (Kaggle's "Retail Transaction Data").
        ("customer_id,trans_date,tran_amount", "order_date", "trans_date"),
        ("customer_id,trans_date,tran_amount", "revenue", "tran_amount"),
        ("Bill No,User ID,Order Datetime,Grand Total", "order_id", "Bill No"),
        ("Bill No,User ID,Order Datetime,Grand Total", "customer_id", "User ID"),
        ("Bill No,User ID,Order Datetime,Grand Total", "order_date", "Order Datetime"),
        ("Bill No,User ID,Order Datetime,Grand Total", "revenue", "Grand Total"),
    ],
)
def test_usual_names(header: str, field: str, column: str) -> None:
    plan = resolve_plan(TABLES["orders"], header.split(","), file_label="f.csv")
    assert plan.sources[field].columns == (column,)


def test_an_exact_name_wins_over_a_synonym() -> None:
    plan = resolve_plan(
        TABLES["orders"], ["order_id", "Invoice", "customer_id", "date", "revenue"], file_label="f"
    )
    assert plan.sources["order_id"].columns == ("order_id",)
    assert "Invoice" in plan.ignored


def test_a_map_wins_and_no_column_feeds_two_fields() -> None:
    plan = resolve_plan(
        TABLES["orders"],
        ["Ref", "CustomerID", "Date", "Total"],
        file_label="f",
        mapping={"order_id": "CustomerID", "customer_id": "Ref"},
    )
    assert plan.sources["order_id"].columns == ("CustomerID",)
    assert plan.sources["customer_id"].columns == ("Ref",)


def test_a_missing_field_suggests_a_free_column(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", "order_id,customer_id,order_day,revenue\nA,C,2024-01-01,1\n")
    with pytest.raises(SchemaError, match=r"--map order_date=order_day\.") as err:
        import_file(ws, "orders", f)
    assert "order_date=order_id" not in str(err.value)
