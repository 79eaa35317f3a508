"""Each reader: CSV, TSV, semicolons, Excel, Parquet, JSON Lines, gzip, --format."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from _io_helpers import INVOICE_MAP, rows, write

from regulars.errors import SchemaError
from regulars.io import import_file
from regulars.store import Workspace

EXPECTED = [
    ("A-1", "C-1", "2024-03-01 00:00:00", Decimal("120.50")),
    ("A-2", "C-2", "2024-03-02 09:30:00", Decimal("80.00")),
]
CSV = "Invoice,Client,Date,Total\nA-1,C-1,2024-03-01,120.50\nA-2,C-2,2024-03-02 09:30,80\n"


def _orders(ws: Workspace) -> list[tuple[object, ...]]:
    return rows(
        ws, "SELECT order_id, customer_id, order_date::VARCHAR, revenue FROM orders ORDER BY 1"
    )


def test_csv(ws: Workspace, tmp_path: Path) -> None:
    r = import_file(ws, "orders", write(tmp_path / "o.csv", CSV), mapping=INVOICE_MAP)
    assert r.format == "csv"
    assert _orders(ws) == EXPECTED


@pytest.mark.parametrize("delim", [";", "\t", "|"])
def test_delimiters_are_detected(ws: Workspace, tmp_path: Path, delim: str) -> None:
    f = write(tmp_path / "o.csv", CSV.replace(",", delim))
    import_file(ws, "orders", f, mapping=INVOICE_MAP)
    assert _orders(ws) == EXPECTED


def test_tsv_with_quoted_fields(ws: Workspace, tmp_path: Path) -> None:
    text = 'Invoice\tClient\tDate\tTotal\tproduct\nA-1\tC-1\t2024-03-01\t120.50\t"logo, v2"\n'
    import_file(ws, "orders", write(tmp_path / "o.tsv", text), mapping=INVOICE_MAP)
    assert rows(ws, "SELECT product FROM orders") == [("logo, v2",)]


def test_xlsx(ws: Workspace, tmp_path: Path) -> None:
    import datetime as dt

    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(["Invoice", "Client", "Date", "Total"])
    sheet.append(["A-1", "C-1", dt.date(2024, 3, 1), 120.5])
    sheet.append([None, None, None, None])  # blank rows are skipped
    sheet.append(["A-2", "C-2", dt.datetime(2024, 3, 2, 9, 30), 80])
    wb.save(tmp_path / "o.xlsx")
    r = import_file(ws, "orders", tmp_path / "o.xlsx", mapping=INVOICE_MAP)
    assert (r.format, r.rows_read) == ("xlsx", 2)
    assert _orders(ws) == EXPECTED


def test_xlsx_error_names_the_sheet_row(ws: Workspace, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(["Invoice", "Client", "Date", "Total"])
    sheet.append(["A-1", "C-1", "2024-03-01", "n.a."])
    sheet.append([])
    sheet.append(["A-2", "C-2", "2024-03-02", "lots"])
    wb.save(tmp_path / "o.xlsx")
    with pytest.raises(SchemaError, match=r"o.xlsx, row 2 \(line 4\), column \"Total\""):
        import_file(ws, "orders", tmp_path / "o.xlsx", mapping=INVOICE_MAP)


def test_xlsx_sheets_with_the_same_columns_are_one_table(ws: Workspace, tmp_path: Path) -> None:
    """A workbook of one sheet per year (Online Retail II): every sheet with the same
    header row is read, a sheet of notes is left out, and both are said; an error
    names the sheet and its line."""
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    first.title = "Year 2009-2010"
    first.append(["Invoice", "Client", "Date", "Total"])
    first.append(["A-1", "C-1", "2024-03-01", 120.5])
    second = wb.create_sheet("Year 2010-2011")
    second.append([None])
    second.append(["invoice", "CLIENT", "Date", "Total"])  # the same names, as matched
    second.append(["A-2", "C-2", "2024-03-02 09:30", 80])
    wb.create_sheet("Notes").append(["Source", "UCI"])
    wb.save(tmp_path / "o.xlsx")
    r = import_file(ws, "orders", tmp_path / "o.xlsx", mapping=INVOICE_MAP)
    assert r.rows_read == 2
    assert _orders(ws) == EXPECTED
    said = " ".join(r.remarks)
    assert "Read 2 sheets with the same columns, one after the other: 'Year 2009-2010', " in said
    assert "Left out the sheets whose header row names other columns: 'Notes'" in said
    second.append(["A-3", "C-3", "2024-03-03", "lots"])
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(
        SchemaError, match=r'row 3 \(sheet "Year 2010-2011", line 4\), column "Total"'
    ):
        import_file(ws, "orders", tmp_path / "bad.xlsx", mapping=INVOICE_MAP)


def test_parquet_with_typed_columns(ws: Workspace, tmp_path: Path) -> None:
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('A-1', 'C-1', DATE '2024-03-01', 120.50::DECIMAL(10,2)), "
        "('A-2', 'C-2', TIMESTAMP '2024-03-02 09:30:00', 80.0::DECIMAL(10,2))) "
        "t(Invoice, Client, Date, Total)) TO '" + str(tmp_path / "o.parquet") + "'"
    )
    r = import_file(ws, "orders", tmp_path / "o.parquet", mapping=INVOICE_MAP)
    assert r.format == "parquet"
    assert _orders(ws) == EXPECTED


def test_jsonl(ws: Workspace, tmp_path: Path) -> None:
    text = (
        '{"Invoice": "A-1", "Client": "C-1", "Date": "2024-03-01", "Total": 120.5}\n'
        "\n"
        '{"Invoice": "A-2", "Client": "C-2", "Date": "2024-03-02 09:30", "Total": "80", '
        '"extra": {"nested": [1, 2]}}\n'
    )
    r = import_file(ws, "orders", write(tmp_path / "o.jsonl", text), mapping=INVOICE_MAP)
    assert r.ignored_columns == ["extra"]
    assert _orders(ws) == EXPECTED


def test_gzipped_csv(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "o.csv.gz"
    f.write_bytes(gzip.compress(CSV.encode()))
    import_file(ws, "orders", f, mapping=INVOICE_MAP)
    assert _orders(ws) == EXPECTED


def test_format_option_overrides_the_extension(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "export.dat", CSV)
    with pytest.raises(SchemaError, match="Pass --format with one of: csv, tsv, xlsx"):
        import_file(ws, "orders", f, mapping=INVOICE_MAP)
    import_file(ws, "orders", f, mapping=INVOICE_MAP, format="csv")
    assert _orders(ws) == EXPECTED


def test_whitespace_format(ws: Workspace, tmp_path: Path) -> None:
    text = "Invoice   Client  Date        Total\n A-1  C-1  2024-03-01  120.50\n\n"
    text += " A-2  C-2  2024-03-02T09:30  80\n"
    import_file(
        ws, "orders", write(tmp_path / "o.txt", text), mapping=INVOICE_MAP, format="whitespace"
    )
    assert _orders(ws) == EXPECTED


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("o.xlsx", b"PK\x03\x04 not really a zip", "Cannot read o.xlsx as an Excel workbook"),
        ("o.parquet", b"PAR1 broken PAR1", "Cannot read o.parquet as Parquet"),
        ("o.jsonl", b'{"a": 1}\n{broken\n', "Cannot read o.jsonl as JSON Lines"),
        ("o.xls", b"\xd0\xcf\x11\xe0", r"old Excel 97-2003 workbook \(.xls\)"),
        ("o.csv.gz", b"not gzip", "Cannot read o.csv.gz"),
    ],
)
def test_unreadable_files(
    ws: Workspace, tmp_path: Path, name: str, data: bytes, match: str
) -> None:
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(SchemaError, match=match):
        import_file(ws, "orders", f, mapping=INVOICE_MAP)


def test_missing_file(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="File not found"):
        import_file(ws, "orders", tmp_path / "nope.csv")
