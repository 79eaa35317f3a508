"""Parquet numbers and dates read as stored give what their text gives.

The import reads a Parquet column of integers, decimals with at most two places,
doubles, dates or timestamps as stored, without formatting every value as text and
parsing it again.  The oracle: the same values in a Parquet file of text columns,
which takes the text path.  Both must store the same rows and report the same
problems (row, column, value, expected).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from regulars.errors import ImportDataError, SchemaError
from regulars.io import import_file
from regulars.io._parse import FieldSpec
from regulars.store import Workspace

# Each row: order_id, customer_id, order_date, revenue, cost, quantity, refund_date.
TYPES = (
    "VARCHAR",
    "VARCHAR",
    "TIMESTAMP",
    "DECIMAL(18,2)",
    "BIGINT",
    "DOUBLE",
    "DATE",
)
GOOD = [
    ("A-1", "C-1", "2024-03-01 10:00:00", "120.50", "3", "1.0", None),
    ("A-2", "C-2", "2024-03-02 00:00:00", "-0.01", "0", "2.5", "2024-03-05"),
    ("A-3", "C-1", "2024-03-03 23:59:59.123456", "9999999999999999.99", None, None, None),
    ("A-4", None, "2024-03-04", "0", "7", "-3", None),
    ("A-5", "C-2", "2024-03-04", "5", "7", "nan", None),  # NaN reads as empty
]
BAD = [
    ("B-1", "C-3", "1500-01-01", "1", "1", "1", None),  # date out of range
    ("B-2", "C-3", "infinity", "1", "1", "1", None),  # an infinite timestamp
    ("B-3", "C-3", "2024-03-01", "1", "-5", "1", None),  # negative cost
    ("B-4", "C-3", "2024-03-01", "1", "100000000000000000", "1", None),  # cost too large
    ("B-5", "C-3", "2024-03-01", "1", "1", "inf", None),  # quantity is not a number
    ("B-6", "C-3", "2024-03-01", "1", "1", "1e20", None),  # quantity too large
    ("B-8", "C-3", None, "1", "1", "1", None),  # no date
    ("B-9", "C-3", "2024-03-01", "1", "1", "1", "2024-02-01"),  # refund before order
]
COLUMNS = ("order_id", "customer_id", "order_date", "revenue", "cost", "quantity", "refund_date")


def _write(path: Path, rows: list[tuple[str | None, ...]], *, typed: bool) -> Path:
    con = duckdb.connect()
    try:
        types = TYPES if typed else ("VARCHAR",) * len(COLUMNS)
        cols = ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, types, strict=True))
        con.execute(f"CREATE TABLE t ({cols})")
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(COLUMNS))})", rows)
        if not typed:  # the text a typed column would give, as DuckDB formats it
            con.execute("DELETE FROM t")
            typed_path = _write(path.with_name("typed_" + path.name), rows, typed=True)
            cols = ", ".join(f"CAST({c} AS VARCHAR)" for c in COLUMNS)
            con.execute(f"INSERT INTO t SELECT {cols} FROM read_parquet('{typed_path}')")
        con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return path


def _stored(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: ws.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("orders", "order_lines", "guest_orders", "customers")
    }


def _outcome(tmp_path: Path, rows: list[tuple[str | None, ...]], *, typed: bool) -> object:
    folder = tmp_path / ("typed" if typed else "text")
    folder.mkdir()
    path = _write(folder / "o.parquet", rows, typed=typed)
    ws = Workspace.init(folder / "ws")
    try:
        try:
            r = import_file(ws, "orders", path)
        except ImportDataError as exc:
            return exc.bad_rows, [
                {k: p[k] for k in ("row", "column", "value", "expected")} for p in exc.problems
            ]
        return (r.records, r.lines, r.rows_rejected), _stored(ws)
    finally:
        ws.close()


def test_typed_columns_import_as_their_text_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    original = FieldSpec.read_stored

    def spy(self: FieldSpec, sql: str, type_: str) -> bool:
        if original(self, sql, type_):
            read.append(self.name)
            return True
        return False

    monkeypatch.setattr(FieldSpec, "read_stored", spy)
    typed = _outcome(tmp_path, GOOD, typed=True)
    # The typed file takes the stored path for every number and date; text does not.
    assert sorted(read) == ["cost", "order_date", "quantity", "refund_date", "revenue"]
    assert typed == _outcome(_mk(tmp_path / "x"), GOOD, typed=False)
    assert len(read) == 5
    assert isinstance(typed, tuple)
    counts, stored = typed
    assert counts == (4, 4, 0)  # four customer orders; A-4 is a guest order
    assert len(stored["guest_orders"]) == 1


@pytest.mark.parametrize("bad", range(len(BAD)))
def test_typed_columns_report_the_problems_their_text_does(tmp_path: Path, bad: int) -> None:
    rows = [*GOOD, BAD[bad]]
    typed = _outcome(tmp_path, rows, typed=True)
    text = _outcome(_mk(tmp_path / "x"), rows, typed=False)
    assert typed == text
    assert isinstance(typed, tuple)
    assert typed[0] == 1  # the one bad row, reported


def _mk(path: Path) -> Path:
    path.mkdir()
    return path


def test_a_parquet_file_that_changes_during_the_import_imports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step reads a Parquet file again: a file rewritten meanwhile is refused."""
    from regulars.io import _orders

    path = _write(tmp_path / "o.parquet", GOOD, typed=True)
    real = _orders.order_groups

    def rewritten(*args, **kwargs):  # type: ignore[no-untyped-def]
        _write(tmp_path / "new.parquet", GOOD[:2], typed=True).replace(path)
        return real(*args, **kwargs)

    monkeypatch.setattr(_orders, "order_groups", rewritten)
    ws = Workspace.init(tmp_path / "ws")
    try:
        with pytest.raises(SchemaError, match=r"o.parquet changed while it was being imported"):
            import_file(ws, "orders", path)
        for table in ("orders", "order_lines", "customers"):
            assert ws.count(table) == 0
    finally:
        ws.close()
