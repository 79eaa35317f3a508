"""Numbers and dates: decimal commas, currency symbols, date formats and ambiguity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from _io_helpers import INVOICE_MAP, rows, write

from regulars.errors import ImportDataError
from regulars.io import import_file
from regulars.store import Workspace


def _import_totals(ws: Workspace, tmp_path: Path, totals: list[str], **kw: object) -> list[Decimal]:
    lines = ["Invoice;Client;Date;Total"]
    lines += [f'A-{i};C-1;2024-03-01;"{t}"' for i, t in enumerate(totals)]
    f = write(tmp_path / "o.csv", "\n".join(lines) + "\n")
    import_file(ws, "orders", f, mapping=INVOICE_MAP, **kw)  # type: ignore[arg-type]
    got = rows(ws, "SELECT revenue, refund_amount FROM orders ORDER BY CAST(order_id[3:] AS INT)")
    return [r[0] if r[1] is None else -r[1] for r in got]


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        # Decimal commas, detected from the column.
        (["12,5", "1.234,50", "7"], ["12.50", "1234.50", "7.00"]),
        # Decimal points with thousands separators.
        (["1,234.50", "12.5", "3"], ["1234.50", "12.50", "3.00"]),
        # The workspace currency's signs and code, spaces and apostrophes are stripped
        # (another currency is an error: see test_io_strict).
        (["€ 1.234,50", "12,00 EUR", "1 000,5"], ["1234.50", "12.00", "1000.50"]),
        (["€1,200.00", "eur 99.99", "1'234.5"], ["1200.00", "99.99", "1234.50"]),
        # Accounting negatives are returns (refunds), see test_io_orders.
        (["(12.50)", "-3.00", "4.00-"], ["-12.50", "-3.00", "-4.00"]),
        # Three digits after one separator, nothing else: a thousands separator.
        (["1.234", "2.500"], ["1234.00", "2500.00"]),
        (["1,234", "2,500"], ["1234.00", "2500.00"]),
        # Several groups: 1,234,567 can only be thousands.
        (["1,234,567", "12"], ["1234567.00", "12.00"]),
        (["1.234.567", "12"], ["1234567.00", "12.00"]),
        # Scientific notation and more than two decimals (rounded to the cent).
        (["1e3", "0.125", "2.675"], ["1000.00", "0.13", "2.68"]),
    ],
)
def test_money_formats(
    ws: Workspace, tmp_path: Path, totals: list[str], expected: list[str]
) -> None:
    assert _import_totals(ws, tmp_path, totals) == [Decimal(e) for e in expected]


def test_decimal_comma_can_be_forced(ws: Workspace, tmp_path: Path) -> None:
    # 1,500 alone reads as one thousand five hundred; the flag says it is 1.5.
    assert _import_totals(ws, tmp_path, ["1,500", "2"], decimal_comma=True) == [
        Decimal("1.50"),
        Decimal("2.00"),
    ]


def test_decimal_point_can_be_forced(ws: Workspace, tmp_path: Path) -> None:
    assert _import_totals(ws, tmp_path, ["1.234"], decimal_comma=False) == [Decimal("1.23")]


def test_mixed_separators_are_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(
        ImportDataError,
        match=r"column \"Total\" \(revenue\) mixes decimal points and decimal commas: "
        r"'12.50' on row 1 and '3,75' on row 2",
    ):
        _import_totals(ws, tmp_path, ["12.50", "3,75"])
    with pytest.raises(
        ImportDataError,
        match=r"row 2, column \"Total\" \(revenue\): \"3,75\" "
        "is not a number",
    ):
        _import_totals(ws, tmp_path, ["12.50", "3,75"], decimal_comma=False)


def test_ambiguous_thousands_are_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ImportDataError, match="Pass --decimal-comma or --decimal-point"):
        _import_totals(ws, tmp_path, ["1.234", "5,678"])


def _import_dates(ws: Workspace, tmp_path: Path, dates: list[str], **kw: object) -> list[str]:
    lines = ["Invoice,Client,Date,Total"] + [f'A-{i},C-1,"{d}",1' for i, d in enumerate(dates)]
    f = write(tmp_path / "o.csv", "\n".join(lines) + "\n")
    import_file(ws, "orders", f, mapping=INVOICE_MAP, **kw)  # type: ignore[arg-type]
    got = rows(ws, "SELECT order_date::VARCHAR FROM orders ORDER BY CAST(order_id[3:] AS INT)")
    return [r[0] for r in got]


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2024-03-15", "2024-3-5", "2024/03/16"], ["2024-03-15", "2024-03-05", "2024-03-16"]),
        (["20240315", "15.03.2024", "5.3.2024"], ["2024-03-15", "2024-03-15", "2024-03-05"]),
        (
            ["2024-03-15T10:30:00", "2024-03-15 10:30", "2024-03-15T10:30:00Z"],
            ["2024-03-15 10:30:00"] * 3,
        ),
        # Shopify writes the offset: the local time is kept.
        (["2024-03-15 10:30:00 +0100", "2024-03-15 10:30:00 -05:00"], ["2024-03-15 10:30:00"] * 2),
        # Day first: 25 cannot be a month.
        (["03/04/2024", "25/12/2024"], ["2024-04-03", "2024-12-25"]),
        # Month first: 25 cannot be a month.
        (["03/04/2024", "12/25/2024"], ["2024-03-04", "2024-12-25"]),
        # The month by its English name or abbreviation, any case; two-digit years
        # are 1969-2068.
        (
            ["11-Feb-13", "15 mar 2024", "March 15, 2024", "16-NOV-69", "5/Jan/2024 10:30"],
            ["2013-02-11", "2024-03-15", "2024-03-15", "1969-11-16", "2024-01-05 10:30:00"],
        ),
        # Same day and month: no ambiguity.
        (["01/01/2024", "02/02/2024 08:15"], ["2024-01-01", "2024-02-02 08:15:00"]),
    ],
)
def test_date_formats(ws: Workspace, tmp_path: Path, dates: list[str], expected: list[str]) -> None:
    got = _import_dates(ws, tmp_path, dates)
    assert [g.removesuffix(" 00:00:00") for g in got] == expected


def test_ambiguous_slash_dates_ask_for_a_format(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(
        ImportDataError,
        match=r"the dates are ambiguous. '03/04/2024' \(row 1\) could be day 03 of month 04 "
        r"or day 04 of month 03.*--date-format %d/%m/%Y",
    ):
        _import_dates(ws, tmp_path, ["03/04/2024", "05/06/2024"])
    assert rows(ws, "SELECT count(*) FROM orders") == [(0,)]
    got = _import_dates(ws, tmp_path, ["03/04/2024", "05/06/2024"], date_format="%m/%d/%Y")
    assert got == ["2024-03-04 00:00:00", "2024-05-06 00:00:00"]


def test_the_suggested_date_format_reads_dates_with_their_time(
    ws: Workspace, tmp_path: Path
) -> None:
    """An invoice export writes the time after the date (``12/1/2010 8:26``): the
    format the ambiguity error suggests reads it, time kept; a time that is no time
    is still an error."""
    dates = ["12/1/2010 8:26", "1/4/2011 09:56:30", "12/9/2011 12:50 PM", "12/10/2011"]
    with pytest.raises(ImportDataError, match="--date-format %m/%d/%Y"):
        _import_dates(ws, tmp_path, dates)
    got = _import_dates(ws, tmp_path, dates, date_format="%m/%d/%Y")
    assert got == [
        "2010-12-01 08:26:00",
        "2011-01-04 09:56:30",
        "2011-12-09 12:50:00",
        "2011-12-10 00:00:00",
    ]
    with pytest.raises(ImportDataError, match="with or without a time after it"):
        _import_dates(ws, tmp_path, ["12/1/2010 25:61"], date_format="%m/%d/%Y")
    # A format with its own time reads only that.
    with pytest.raises(ImportDataError, match="is not a date"):
        _import_dates(ws, tmp_path, ["12/1/2010"], date_format="%m/%d/%Y %H:%M")


def test_date_format_also_reads_iso(ws: Workspace, tmp_path: Path) -> None:
    got = _import_dates(ws, tmp_path, ["15 Mar 2024", "2024-03-16"], date_format="%d %b %Y")
    assert got == ["2024-03-15 00:00:00", "2024-03-16 00:00:00"]


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("2024-02-30", "is not a date"),
        ("31/02/2024", "is not a date"),
        ("yesterday", "is not a date"),
        ("0024-03-01", "is not a plausible date"),
    ],
)
def test_bad_dates(ws: Workspace, tmp_path: Path, value: str, what: str) -> None:
    with pytest.raises(ImportDataError, match=f'"{value}" {what}'):
        _import_dates(ws, tmp_path, ["2024-03-01", value])


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("1e30", r"is too large \(expected at most 9,999,999,999,999,999.99"),
        ("12345678901234567", "is too large"),
        ("abc", "is not a number"),
        ("1-2-3", "is not a number"),
        ("12.5.6", "mixes decimal points and decimal commas"),
        ("--", "is empty"),
    ],
)
def test_bad_money(ws: Workspace, tmp_path: Path, value: str, what: str) -> None:
    with pytest.raises(ImportDataError, match=what):
        _import_totals(ws, tmp_path, ["12.50", value])


def test_empty_markers_are_empty(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "Invoice,Client,Date,Total,cost\nA-1,C-1,2024-03-01,10,n/a\nA-2,C-1,2024-03-02,10,-\n",
    )
    import_file(ws, "orders", f, mapping=INVOICE_MAP)
    assert rows(ws, "SELECT cost FROM orders") == [(None,), (None,)]


def test_choices_and_synonyms(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "Invoice,Client,Date,Total,kind,status\n"
        "A-1,C-1,2024-03-01,10,Package,Canceled\n"
        "A-2,C-1,2024-03-02,10,recurring,COMPLETED\n",
    )
    import_file(ws, "orders", f, mapping=INVOICE_MAP)
    assert rows(ws, "SELECT kind, status FROM orders ORDER BY order_id") == [
        ("package", "cancelled"),
        ("subscription", "paid"),
    ]
    bad = write(tmp_path / "b.csv", "Invoice,Client,Date,Total,kind\nA-3,C-1,2024-03-01,1,gift\n")
    with pytest.raises(
        ImportDataError,
        match=r'"gift" is not a valid value \(expected one of one-off, '
        r"subscription, package\)",
    ):
        import_file(ws, "orders", bad, mapping=INVOICE_MAP)


def test_negative_price_is_refused_for_subscriptions(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.csv",
        "subscription_id,customer_id,start_date,price,billing_period\n"
        "S-1,C-1,2024-01-01,-10,monthly\n",
    )
    with pytest.raises(ImportDataError, match=r'"-10" is negative \(expected a value of 0'):
        import_file(ws, "subscriptions", f)


def _import_ids(ws: Workspace, tmp_path: Path, ids: list[str]) -> list[str]:
    lines = ["Invoice,Client,Date,Total"] + [f"A-{i},{c},2024-03-01,1" for i, c in enumerate(ids)]
    f = write(tmp_path / "o.csv", "\n".join(lines) + "\n")
    import_file(ws, "orders", f, mapping=INVOICE_MAP)
    got = rows(ws, "SELECT customer_id FROM orders ORDER BY CAST(order_id[3:] AS INT)")
    return [r[0] for r in got]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        # pandas writes a number column with gaps as floats: 13085.0 is the id 13085.
        (["13085.0", "16321.0", "13085.00"], ["13085", "16321", "13085"]),
        (["13085.0", "16321"], ["13085", "16321"]),
        # One id that is not a whole number: every id is kept as written.
        (["13085.0", "16321.5"], ["13085.0", "16321.5"]),
        (["13085.0", "C-16321"], ["13085.0", "C-16321"]),
        (["13085", "16321"], ["13085", "16321"]),
        (["1.0.0", "2.0"], ["1.0.0", "2.0"]),
    ],
)
def test_whole_number_ids_lose_their_decimal_part(
    ws: Workspace, tmp_path: Path, ids: list[str], expected: list[str]
) -> None:
    assert _import_ids(ws, tmp_path, ids) == expected


def test_float_ids_of_a_parquet_file_match_the_customers_ids(ws: Workspace, tmp_path: Path) -> None:
    """A Parquet file whose customer ids are doubles (a pandas column with gaps) and a
    customers file with the same ids as text: one customer each, on every import."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "Invoice": ["A-1", "A-2", "A-3"],
            "Client": pa.array([13085.0, None, 16321.0], pa.float64()),
            "Date": ["2024-03-01", "2024-03-02", "2024-03-03"],
            "Total": [10.0, 20.0, 30.0],
        }
    )
    pq.write_table(table, tmp_path / "o.parquet")
    result = import_file(ws, "orders", tmp_path / "o.parquet", mapping=INVOICE_MAP)
    assert any("('13085.0') read without it ('13085')" in n for n in result.notes)
    import_file(ws, "orders", tmp_path / "o.parquet", mapping=INVOICE_MAP)  # changes nothing
    f = write(tmp_path / "c.csv", "customer_id,name\n13085,Ana\n16321,Bo\n")
    import_file(ws, "customers", f)
    assert rows(ws, "SELECT DISTINCT customer_id FROM orders ORDER BY 1") == [
        ("13085",),
        ("16321",),
    ]
    assert rows(ws, "SELECT count(*) FROM customers c JOIN orders o USING (customer_id)") == [(2,)]
