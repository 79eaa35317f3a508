"""Derived tables stored per data version (``regulars.engine.shared_table``)."""

from __future__ import annotations

from pathlib import Path

import ibis

from regulars.engine import shared_table
from regulars.engine._shared import SHARED_REGISTRY
from regulars.store import Workspace


def _stored(ws: Workspace) -> list[tuple[str, str]]:
    rows = ws.con.execute(f'SELECT kind, params FROM "{SHARED_REGISTRY}" ORDER BY params')
    return [(str(k), str(p)) for k, p in rows.fetchall()]


def _build(ws: Workspace, day: int) -> ibis.Table:
    orders = ws.table("orders")
    return orders.aggregate(n=orders.count()).mutate(value=ibis.literal(day * 10))


def test_a_table_per_params_is_kept_until_the_data_change(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    for day in (1, 2):
        got = shared_table(ws, "by_period", {"day": day}, lambda d=day: _build(ws, d))
        assert got.to_pandas().value.tolist() == [day * 10]
    assert [k for k, _ in _stored(ws)] == ["by_period", "by_period"]
    # A second call reads the stored copy: build is not called again.
    again = shared_table(ws, "by_period", {"day": 1}, lambda: _build(ws, 99))
    assert again.to_pandas().value.tolist() == [10]
    ws.close()


def test_one_per_kind_keeps_only_the_last_stored(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    for day in (1, 2, 3):
        shared_table(ws, "per_day", {"day": day}, lambda d=day: _build(ws, d), one_per_kind=True)
        shared_table(ws, "other", {"day": day}, lambda d=day: _build(ws, d))
    kinds = [k for k, _ in _stored(ws)]
    assert kinds.count("per_day") == 1
    assert kinds.count("other") == 3
    assert any('"day": 3' in p for k, p in _stored(ws) if k == "per_day")
    tables = {r[0] for r in ws.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    stored = {r[0] for r in ws.con.execute(f'SELECT name FROM "{SHARED_REGISTRY}"').fetchall()}
    assert stored <= tables
    assert len({t for t in tables if t.startswith("_shared_")}) == 4  # no orphan left
    ws.close()
