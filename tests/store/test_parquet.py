"""``regulars import`` into a Parquet workspace writes its Parquet files, all or nothing.

The oracle is the same import into a workspace file: every contract table must read
the same, row for row, through the engine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from regulars.datasets import simulate, simulate_shop_export
from regulars.engine import tables
from regulars.errors import RegularsError, WorkspaceError
from regulars.io import export_table, import_file
from regulars.schema import TABLES
from regulars.store import Workspace

# Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

PARQUET = 'backend = "parquet"\nparquet_dir = "lake"'


def _workspace(path: Path, engine: str | None = None) -> Workspace:
    ws = Workspace.init(path)
    if engine is None:
        return ws
    ws.close()
    cfg = path / "regulars.toml"
    cfg.write_text(cfg.read_text().replace('backend = "duckdb"', engine, 1))
    return Workspace.open(path)


def _rows(ws: Workspace) -> dict[str, list[str]]:
    from regulars.schema import GUEST_ORDERS

    t = tables(ws)
    return {
        name: sorted(map(str, t[name].select(*contract.column_names).to_pyarrow().to_pylist()))
        for name, contract in {**TABLES, "guest_orders": GUEST_ORDERS}.items()
        if name in t
    }


def _folder_state(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _orders(path: Path, rows: list[str]) -> Path:
    path.write_text("order_id,customer_id,order_date,revenue\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return simulate(n_customers=60, years=2, seed=3).to_parquet(tmp_path_factory.mktemp("book"))


def test_an_import_writes_the_tables_the_file_import_writes(
    tmp_path: Path, book: dict[str, Path]
) -> None:
    duck = _workspace(tmp_path / "duck")
    lake = _workspace(tmp_path / "lake_ws", PARQUET)
    for ws in (duck, lake):
        for name in TABLES:
            if TABLES[name].importable:
                import_file(ws, name, book[name])
    want, got = _rows(duck), _rows(lake)
    assert got == want
    assert all(want[name] for name in ("orders", "order_lines", "touches"))
    folder = tmp_path / "lake_ws" / "lake"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{n}.parquet" for n in TABLES if want[n])  # no temporary files
    assert lake.count("orders") == 0  # the workspace file keeps no data rows
    duck.close()
    lake.close()


def test_a_shop_export_with_guests_and_credit_notes(tmp_path: Path) -> None:
    shop = simulate_shop_export(150, seed=4, guest_share=0.3)
    first = shop.lines.iloc[: len(shop.lines) // 2]
    second = shop.lines.iloc[len(shop.lines) // 3 :]  # overlaps the first part
    parts = []
    for i, frame in enumerate((first, second)):
        path = tmp_path / f"part{i}.csv"
        frame.to_csv(path, index=False)
        parts.append(path)
    duck = _workspace(tmp_path / "duck")
    lake = _workspace(tmp_path / "lake_ws", PARQUET)
    for ws in (duck, lake):
        for path in parts:  # an append whose invoices overlap: upsert by order id
            import_file(ws, "orders", path)
    want, got = _rows(duck), _rows(lake)
    assert got == want
    assert want["guest_orders"], "the export should have guest orders"
    assert any("'order_id': 'C" in r for r in want["orders"]), "and credit notes"
    duck.close()
    lake.close()


def test_reimporting_the_same_file_changes_no_row(tmp_path: Path, book: dict[str, Path]) -> None:
    ws = _workspace(tmp_path / "ws", PARQUET)
    import_file(ws, "orders", book["orders"])
    import_file(ws, "customers", book["customers"])
    before, stamp = _rows(ws), ws.data_version
    import_file(ws, "orders", book["orders"])
    assert _rows(ws) == before
    assert ws.data_version != stamp  # a write: derived tables are computed again
    ws.close()


def test_a_failed_import_leaves_the_files_as_they_were(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", PARQUET)
    import_file(ws, "orders", _orders(tmp_path / "a.csv", ["o1,c1,2024-01-05,10.00"]))
    folder = tmp_path / "ws" / "lake"
    state, stamp = _folder_state(folder), ws.data_version
    bad = _orders(tmp_path / "bad.csv", ["o2,c1,2024-01-06,5.00", "o3,c2,2024-02-30,10.00"])
    with pytest.raises(RegularsError, match="othing was imported"):
        import_file(ws, "orders", bad)
    assert _folder_state(folder) == state
    assert ws.data_version == stamp
    # The import's temporary tables are gone: the next import sees the files again.
    import_file(ws, "orders", _orders(tmp_path / "b.csv", ["o2,c1,2024-01-06,5.00"]))
    orders = tables(ws)["orders"].to_pyarrow().column("order_id").to_pylist()
    assert sorted(orders) == ["o1", "o2"]
    ws.close()


def test_a_failure_while_renaming_puts_the_old_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _workspace(tmp_path / "ws", PARQUET)
    import_file(ws, "orders", _orders(tmp_path / "a.csv", ["o1,c1,2024-01-05,10.00"]))
    folder = tmp_path / "ws" / "lake"
    state, stamp = _folder_state(folder), ws.data_version
    real = Path.rename
    calls: list[Any] = []

    def flaky(self: Path, target: Any) -> Path:
        calls.append(target)
        if len(calls) == 3:  # orders replaced, then the second table fails
            raise OSError("disk full")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", flaky)
    with pytest.raises(WorkspaceError, match="Nothing was imported"):
        import_file(ws, "orders", _orders(tmp_path / "b.csv", ["o2,c2,2024-01-06,5.00"]))
    monkeypatch.undo()
    assert _folder_state(folder) == state
    assert ws.data_version == stamp
    ws.close()


def test_a_folder_of_parts_becomes_one_file_with_every_row(tmp_path: Path) -> None:
    import duckdb

    ws = _workspace(tmp_path / "ws", PARQUET)
    parts = tmp_path / "ws" / "lake" / "orders"
    parts.mkdir(parents=True)
    con = duckdb.connect()
    for i, day in enumerate(("2024-01-05", "2024-01-06")):
        con.execute(
            f"COPY (SELECT 'o{i}' AS order_id, 'c1' AS customer_id, TIMESTAMP '{day}' AS "
            f"order_date, 10.00::DECIMAL(18,2) AS revenue) TO '{parts}/part-{i}.parquet' "
            "(FORMAT parquet)"
        )
    con.close()
    import_file(ws, "orders", _orders(tmp_path / "b.csv", ["o1,c1,2024-01-07,7.00"]))
    assert not parts.exists()
    got = tables(ws)["orders"].select("order_id", "revenue").to_pyarrow().to_pylist()
    assert sorted((r["order_id"], float(r["revenue"])) for r in got) == [
        ("o0", 10.0),
        ("o1", 7.0),
    ]
    ws.close()


def test_a_remote_parquet_dir_is_refused_with_the_fix(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", 'backend = "spark"\nparquet_dir = "s3a://lake/shop"')
    with pytest.raises(WorkspaceError, match=r"not a local folder.*Write the files with Spark"):
        import_file(ws, "orders", _orders(tmp_path / "a.csv", ["o1,c1,2024-01-05,10.00"]))
    ws.close()


def test_a_logged_touch_is_read_beside_the_folders_touches(
    tmp_path: Path, book: dict[str, Path]
) -> None:
    from regulars.actions import log_touch

    ws = _workspace(tmp_path / "ws", PARQUET)
    for name in ("customers", "orders", "touches"):
        import_file(ws, name, book[name])
    before = sorted(tables(ws)["touches"].touch_id.to_pyarrow().to_pylist())
    customer = str(tables(ws)["customers"].customer_id.min().to_pyarrow().as_py())
    touch = log_touch(ws, customer, kind="call", note="logged in the app", at="2024-05-05")
    got = sorted(tables(ws)["touches"].touch_id.to_pyarrow().to_pylist())
    assert got == sorted([*before, touch])
    import_file(ws, "touches", book["touches"])  # an import keeps it
    assert sorted(tables(ws)["touches"].touch_id.to_pyarrow().to_pylist()) == got
    ws.close()


def test_export_reads_the_parquet_files(tmp_path: Path, book: dict[str, Path]) -> None:
    import csv
    import io

    duck = _workspace(tmp_path / "duck")
    lake = _workspace(tmp_path / "lake_ws", PARQUET)
    texts = []
    for ws in (duck, lake):
        import_file(ws, "orders", book["orders"])
        buf = io.BytesIO()
        n = export_table(ws, "orders", format="csv", out=buf)
        texts.append((n, buf.getvalue().decode()))
        ws.close()
    assert texts[1] == texts[0]
    assert len(list(csv.reader(io.StringIO(texts[0][1])))) == texts[0][0] + 1 > 100
