"""The data-version stamp: every import bumps it, a failed one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from regulars.errors import RegularsError
from regulars.io import import_file
from regulars.store import Workspace
from regulars.store._workspace import DATA_VERSION_TABLE


def _orders(path: Path, rows: list[str]) -> Path:
    path.write_text("order_id,customer_id,order_date,revenue\n" + "\n".join(rows) + "\n")
    return path


def test_a_new_workspace_has_a_stamp_and_an_import_changes_it(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    first = ws.data_version
    assert first is not None
    assert len(first) == 32
    assert ws.data_version == first  # reading does not change it
    import_file(ws, "orders", _orders(tmp_path / "a.csv", ["o1,c1,2024-01-05,10.00"]))
    second = ws.data_version
    assert second not in (None, first)
    # Importing the same file again into unchanged data writes nothing (io/_repeat.py):
    # the stamp stays.  Any other import is a write: a new stamp.
    import_file(ws, "orders", _orders(tmp_path / "a.csv", ["o1,c1,2024-01-05,10.00"]))
    assert ws.data_version == second
    import_file(ws, "orders", _orders(tmp_path / "b.csv", ["o2,c1,2024-01-06,5.00"]))
    assert ws.data_version not in (first, second)
    rows = ws.con.execute(f'SELECT count(*) FROM "{DATA_VERSION_TABLE}"').fetchone()
    assert rows == (1,)
    ws.close()


def test_a_failed_import_keeps_the_stamp(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    import_file(ws, "orders", _orders(tmp_path / "a.csv", ["o1,c1,2024-01-05,10.00"]))
    before = ws.data_version
    bad = _orders(tmp_path / "bad.csv", ["o2,c1,2024-02-30,10.00"])
    with pytest.raises(RegularsError, match="nothing was imported"):
        import_file(ws, "orders", bad)
    assert ws.data_version == before
    ws.close()


def test_the_stamp_is_kept_in_the_file(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    import_file(ws, "orders", _orders(tmp_path / "a.csv", ["o1,c1,2024-01-05,10.00"]))
    stamp = ws.data_version
    ws.close()
    with Workspace.open(tmp_path / "ws", read_only=True) as again:
        assert again.data_version == stamp


def test_a_write_to_a_contract_table_bumps_it(tmp_path: Path) -> None:
    from regulars.schema import TABLES

    ws = Workspace.init(tmp_path / "ws")
    before = ws.data_version
    with ws.transaction() as con:
        con.execute("CREATE TEMP TABLE src AS SELECT * FROM customers LIMIT 0")
        con.execute("INSERT INTO src (customer_id) VALUES ('c9')")
        ws.upsert(con, TABLES["customers"], "src")
    assert ws.data_version != before
    ws.close()
