"""Lines of one order: times within a day, true disagreements, where rejects go."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from _io_helpers import rows, write

from regulars.errors import ImportDataError, SchemaError
from regulars.io import import_file
from regulars.store import Workspace

HEADER = "order_id,customer_id,order_date,revenue\n"


def test_minute_apart_lines_take_the_earliest_time(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        HEADER + "A-1,C-1,2024-03-01 16:58,10\n"
        "A-1,C-1,2024-03-01 16:57,5\n"
        "A-1,C-1,2024-03-01 17:02,1\n"
        "B-1,C-2,2024-03-02 09:00,7\n"
        "B-1,C-2,2024-03-02 09:00,3\n",
    )
    r = import_file(ws, "orders", f)
    got = rows(ws, "SELECT order_id, strftime(order_date, '%H:%M'), revenue FROM orders ORDER BY 1")
    assert [(o, t, float(v)) for o, t, v in got] == [("A-1", "16:57", 16.0), ("B-1", "09:00", 10.0)]
    # Only A-1 had different times.
    assert "1 order had lines with different times; the earliest was used." in str(r)


def test_different_days_stay_an_error_with_a_fix(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", HEADER + "A-1,C-1,2024-03-01 23:59,10\nA-1,C-1,2024-03-02,5\n")
    with pytest.raises(ImportDataError, match=r"its lines disagree on order_date") as err:
        import_file(ws, "orders", f)
    assert "Fix: lines with the same order_id are one order" in str(err.value)
    assert err.value.problems[0]["fix"]
    assert rows(ws, "SELECT count(*) FROM orders") == [(0,)]


def test_different_customers_stay_an_error_with_a_fix(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", HEADER + "A-1,C-1,2024-03-01,10\nA-1,C-2,2024-03-01,5\n")
    with pytest.raises(ImportDataError, match=r"disagree on customer_id.*Fix: ") as err:
        import_file(ws, "orders", f)
    assert err.value.bad_rows == 2


def test_rejects_go_where_asked(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", HEADER + "A-1,C-1,2024-03-01,10\nA-2,C-1,2024-03-01,abc\n")
    target = tmp_path / "elsewhere" / "bad rows.csv"
    target.parent.mkdir()
    r = import_file(ws, "orders", f, skip_invalid=True, rejects=target)
    assert r.rejected_path == target
    assert not (tmp_path / "o.rejected.csv").exists()
    with open(target, newline="", encoding="utf-8") as fh:
        assert [x["order_id"] for x in csv.DictReader(fh)] == ["A-2"]
    assert rows(ws, "SELECT order_id FROM orders") == [("A-1",)]


def test_rejects_need_skip_invalid(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", HEADER + "A-1,C-1,2024-03-01,10\n")
    with pytest.raises(SchemaError, match="Pass --skip-invalid with --rejects"):
        import_file(ws, "orders", f, rejects=tmp_path / "r.csv")


def test_rejects_into_a_missing_folder_write_nothing(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", HEADER + "A-1,C-1,2024-03-01,10\nA-2,C-1,2024-03-01,abc\n")
    with pytest.raises(SchemaError, match="Cannot write the rejected rows"):
        import_file(ws, "orders", f, skip_invalid=True, rejects=tmp_path / "no" / "r.csv")
    assert rows(ws, "SELECT count(*) FROM orders") == [(0,)]
