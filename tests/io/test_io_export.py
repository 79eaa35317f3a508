"""export_table: any table to CSV, Parquet, JSON or JSON Lines, to a file or a stream."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pytest
from _io_helpers import DATA, contents

from regulars.errors import SchemaError, WorkspaceError
from regulars.io import export_table, import_file
from regulars.store import Workspace


@pytest.fixture
def shop(ws: Workspace) -> Workspace:
    import_file(ws, "orders", DATA / "shopify_orders.csv", preset="shopify")
    return ws


def test_json_is_one_array_of_records(shop: Workspace) -> None:
    buf = io.BytesIO()
    assert export_table(shop, "orders", format="json", out=buf) == 3
    records = json.loads(buf.getvalue())
    assert [r["order_id"] for r in records] == ["#1001", "#1002", "#1004"]
    assert records[0]["revenue"] == 54.0


def test_jsonl_is_one_record_per_line(shop: Workspace) -> None:
    buf = io.BytesIO()
    export_table(shop, "order_lines", format="jsonl", out=buf)
    lines = buf.getvalue().decode().splitlines()
    assert len(lines) == 6
    assert json.loads(lines[0])["line_no"] == 1


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_round_trip(shop: Workspace, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"orders.{fmt}"
    export_table(shop, "orders", format=fmt, out=out)
    ws2 = Workspace.init(tmp_path / "copy")
    try:
        import_file(ws2, "orders", out)
        assert contents(ws2)["orders"] == contents(shop)["orders"]
    finally:
        ws2.close()


def test_derived_tables_export_too(shop: Workspace, tmp_path: Path) -> None:
    shop.con.execute("CREATE TABLE scores AS SELECT 'C-1' AS customer_id, 0.8::DOUBLE AS p_alive")
    out = tmp_path / "scores.parquet"
    assert export_table(shop, "scores", format="parquet", out=out) == 1
    assert duckdb.sql(f"SELECT * FROM '{out}'").fetchall() == [("C-1", 0.8)]


def test_errors(shop: Workspace, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"Table 'nope' does not exist.*Existing tables"):
        export_table(shop, "nope", format="csv")
    with pytest.raises(SchemaError, match="Unknown export format 'xml'"):
        export_table(shop, "orders", format="xml")
    with pytest.raises(WorkspaceError, match="does not exist"):
        export_table(shop, "orders", format="csv", out=tmp_path / "no" / "such" / "dir.csv")
