"""Bad input: clear messages, nothing written, or the valid rows with --skip-invalid."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from _io_helpers import INVOICE_MAP, contents, rows, write

from regulars.errors import ImportDataError, RegularsError, SchemaError
from regulars.io import import_file
from regulars.store import Workspace

GOOD = "Invoice,Client,Date,Total\nA-1,C-1,2024-03-01,10\n"


def test_missing_column_lists_existing_ones_and_suggests_a_map(
    ws: Workspace, tmp_path: Path
) -> None:
    f = write(tmp_path / "o.csv", "order_no,client,Order Dt,amount\n1,C-1,2024-01-01,5\n")
    with pytest.raises(SchemaError) as err:
        import_file(ws, "orders", f, mapping={"customer_id": "client"})
    assert str(err.value) == (
        # order_no and amount map themselves (usual names); Order Dt is suggested.
        "o.csv has no column for the required field 'order_date' of orders. Existing "
        "columns: 'order_no', 'client', 'Order Dt', 'amount'. Map it with "
        '--map order_date="Order Dt".'
    )


def test_unknown_field_or_column_in_map(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", GOOD)
    with pytest.raises(SchemaError, match=r"Unknown field 'orderdate' in --map orderdate=Date"):
        import_file(ws, "orders", f, mapping={**INVOICE_MAP, "orderdate": "Date"})
    with pytest.raises(
        SchemaError,
        match=r"Column 'Totl' \(in --map revenue=Totl\) not found in o.csv. Existing columns: "
        r"'Invoice', 'Client', 'Date', 'Total'. Did you mean 'Total'\?",
    ):
        import_file(ws, "orders", f, mapping={**INVOICE_MAP, "revenue": "Totl"})


def test_columns_match_names_case_and_spacing_insensitively(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv", "Order ID,CUSTOMER_ID,order-date,Revenue,Notes\nA,C,2024-01-01,1,x\n"
    )
    r = import_file(ws, "orders", f)
    assert r.mapping == {
        "order_id": "Order ID",
        "customer_id": "CUSTOMER_ID",
        "order_date": "order-date",
        "revenue": "Revenue",
    }
    assert r.ignored_columns == ["Notes"]
    assert "Ignored columns (not mapped to any field): 'Notes'" in str(r)


def test_row_errors_are_listed_with_file_row_column_value_and_fix(
    ws: Workspace, tmp_path: Path
) -> None:
    f = write(
        tmp_path / "orders.csv",
        "Invoice,Client,Date,Total\n"
        "A-1,C-1,2024-03-01,10\n"
        'A-2,C-1,"31/02/2024",12\n'
        "A-3,C-2,2024-03-03,twelve\n",
    )
    before = contents(ws)
    with pytest.raises(ImportDataError) as err:
        import_file(ws, "orders", f, mapping=INVOICE_MAP)
    e = err.value
    assert e.bad_rows == 2
    assert str(e).splitlines()[0] == "orders.csv: 2 rows are invalid, so nothing was imported."
    assert (
        'orders.csv, row 2, column "Date" (order_date): "31/02/2024" is not a date (expected '
        "a date such as 2024-03-15, 15.03.2024, 20240315, 03/15/2024 or 15-Mar-2024). "
        "Fix: correct the value, or pass --date-format" in str(e)
    )
    assert e.problems[1] == {
        "file": "orders.csv",
        "row": 3,
        "line": 4,
        "column": "Total",
        "field": "revenue",
        "value": "twelve",
        "expected": "a number such as 1234.50",
        "fix": (
            "correct the value (digits with grouping, an optional sign or (12.50), and only "
            "the EUR sign or code); if the file writes numbers the other way, pass "
            "--decimal-comma"
        ),
        "message": e.problems[1]["message"],
    }
    assert "--skip-invalid" in str(e)
    assert contents(ws) == before


def test_line_numbers_follow_quoted_newlines(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        'Invoice,Client,Date,Total,product\nA-1,C-1,2024-03-01,10,"two\nlines"\n\n'
        "A-2,C-1,2024-03-02,oops,x\n",
    )
    with pytest.raises(ImportDataError, match=r"o.csv, row 2 \(line 5\), column \"Total\""):
        import_file(ws, "orders", f, mapping=INVOICE_MAP)


def test_only_the_first_ten_problems_are_listed(ws: Workspace, tmp_path: Path) -> None:
    body = "".join(f"A-{i},C-1,2024-03-01,x{i}\n" for i in range(25))
    f = write(tmp_path / "o.csv", "Invoice,Client,Date,Total\n" + body)
    with pytest.raises(ImportDataError) as err:
        import_file(ws, "orders", f, mapping=INVOICE_MAP)
    assert err.value.bad_rows == 25
    assert len(err.value.problems) == 10
    assert "25 invalid rows in all" in str(err.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "o.csv is empty: it has no header row and no data"),
        ("\n\n  \n", "o.csv is empty"),
        ("Invoice,Client,Date,Total\n", "has a header but no data rows"),
        (
            "Invoice,Client,Date,Total\nA-1,C-1,2024-03-01\n",
            r"o.csv, line 2: has 3 fields but the header has 4",
        ),
        (
            "Invoice,Client,Date,Total\nA-1,C-1,2024-03-01,1,2\n",
            r"o.csv, line 2: has 5 fields but the header has 4",
        ),
        ('Invoice,Client,Date,Total\nA-1,C-1,"2024-03-01,1\n', r"has a quote \(\"\) that is never"),
    ],
)
def test_broken_files(ws: Workspace, tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(RegularsError, match=match):
        import_file(ws, "orders", write(tmp_path / "o.csv", text), mapping=INVOICE_MAP)


def test_skip_invalid_imports_the_rest_and_writes_the_rejected_rows(
    ws: Workspace, tmp_path: Path
) -> None:
    f = write(
        tmp_path / "orders.csv",
        "Invoice,Client,Date,Total,reason\n"
        "A-1,C-1,2024-03-01,10,first\n"
        "A-2,C-1,2024-03-02,abc,second\n"
        "A-3,C-2,2024-03-03,12,third\n"
        "A-3,C-2,2024-03-04,1,fourth\n"
        "A-4,C-2,2024-03-05\n",
    )
    r = import_file(ws, "orders", f, mapping=INVOICE_MAP, skip_invalid=True)
    assert (r.rows_read, r.rows_imported, r.rows_rejected) == (5, 1, 4)
    assert r.rejected_path == tmp_path / "orders.rejected.csv"
    assert rows(ws, "SELECT order_id FROM orders") == [("A-1",)]
    with open(r.rejected_path, newline="", encoding="utf-8") as fh:
        rejected = list(csv.DictReader(fh))
    assert [x["Invoice"] for x in rejected] == ["", "A-2", "A-3", "A-3"]
    assert rejected[0]["rejected_reason"].startswith("line 6: has 3 fields but the header has 5")
    assert rejected[1]["rejected_reason"] == 'column "Total" (revenue): "abc" is not a number'
    assert rejected[2]["rejected_reason"] == (
        'order "A-3": its lines disagree on order_date: "2024-03-03 00:00:00" and '
        '"2024-03-04 00:00:00"'
    )
    assert rejected[1]["reason"] == "second"  # the file's own columns are kept
    assert "Rejected 4 invalid rows" in str(r)


def test_skip_invalid_rejects_whole_orders(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,revenue\nB-1,C-1,2024-01-01,10\nB-1,C-1,2024-01-01,x\n"
        "B-2,C-1,2024-01-02,5\n",
    )
    r = import_file(ws, "orders", f, skip_invalid=True)
    assert rows(ws, "SELECT order_id FROM orders") == [("B-2",)]
    assert r.rows_rejected == 2
    assert r.rejected_path is not None
    text = r.rejected_path.read_text(encoding="utf-8")
    assert 'another line of order ""B-1"" is invalid' in text


def test_duplicate_keys_with_different_values(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "c.csv",
        "customer_id,name\nC-1,Ana\nC-1,Ana\nC-2,Bo\nC-2,Bob\n",
    )
    with pytest.raises(
        ImportDataError,
        match=r'c.csv, row 3: customer_id "C-2" appears on 2 rows with different values '
        r"\(first on row 3\)",
    ):
        import_file(ws, "customers", f)
    r = import_file(ws, "customers", f, skip_invalid=True)
    # Exact repeats collapse into one customer; the conflicting pair is rejected.
    assert (r.records, r.rows_rejected) == (1, 2)


def test_cross_field_checks(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "spend.csv",
        "channel,period_start,period_end,amount\ngoogle-ads,2024-03-31,2024-03-01,100\n",
    )
    with pytest.raises(
        ImportDataError,
        match=r'column "period_end" \(period_end\): "2024-03-01" is before period_start',
    ):
        import_file(ws, "spend", f)


def test_unknown_table(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", GOOD)
    with pytest.raises(SchemaError, match=r"Cannot import into 'order_lines'\. Importable tables"):
        import_file(ws, "order_lines", f)


def test_a_failed_import_leaves_nothing_behind_for_the_next_one(
    ws: Workspace, tmp_path: Path
) -> None:
    """Reading and typing run before the transaction: their tables go when it fails."""
    before = contents(ws)
    bad = write(tmp_path / "bad.csv", "Invoice,Client,Date,Total\nA-1,C-1,2024-13-45,10\n")
    with pytest.raises(ImportDataError, match="2024-13-45"):
        import_file(ws, "orders", bad, mapping=INVOICE_MAP)
    unmapped = write(tmp_path / "u.csv", "x,y\n1,2\n")
    with pytest.raises(SchemaError, match="no column for the required field"):
        import_file(ws, "orders", unmapped)
    assert contents(ws) == before
    leftovers = ws.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_rg%' ESCAPE '\\' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE view_name LIKE '\\_rg%' "
        "ESCAPE '\\' UNION ALL SELECT database_name FROM duckdb_databases() "
        "WHERE database_name LIKE '\\_rg%' ESCAPE '\\'"
    ).fetchall()
    assert leftovers == []
    assert not list(ws.spill_path.glob("import-*"))
    good = import_file(ws, "orders", write(tmp_path / "good.csv", GOOD), mapping=INVOICE_MAP)
    assert (good.records, good.lines) == (1, 1)
