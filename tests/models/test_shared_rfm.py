"""The RFM summary is computed once per data version and shared by fit and score."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import regulars.models._workspace as mw
from regulars.engine._shared import SHARED_REGISTRY
from regulars.io import import_file
from regulars.models._rfm import rfm_summary
from regulars.store import Workspace

ORDERS = [
    "o1,a,2024-01-05,10.00",
    "o2,a,2024-02-10,20.00",
    "o3,a,2024-03-15,30.00",
    "o4,b,2024-01-20,15.00",
    "o5,b,2024-04-02,25.00",
    "o6,c,2024-02-01,40.00",
    "o7,d,2024-03-01,12.00",
    "o8,d,2024-03-01,8.00",
    "o9,d,2024-05-20,9.00",
    "o10,e,2024-06-30,11.00",
]


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("order_id,customer_id,order_date,revenue\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    workspace = Workspace.init(tmp_path / "ws")
    import_file(workspace, "orders", _write(tmp_path / "orders.csv", ORDERS))
    yield workspace
    workspace.close()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each call of rfm_summary by the workspace code, with its arguments."""
    calls: list[dict[str, Any]] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return rfm_summary(*args, **kwargs)

    monkeypatch.setattr(mw, "rfm_summary", counting)
    return calls


def _rows(table: Any) -> list[dict[str, Any]]:
    return table.order_by("customer_id").to_pyarrow().to_pylist()


def _direct(ws: Workspace, end: dt.date) -> list[dict[str, Any]]:
    expr = rfm_summary(
        mw.model_transactions(ws),
        datetime_col="order_date",
        monetary_value_col="net_revenue",
        observation_end=end,
        time_unit="W",
    )
    return _rows(expr)


def test_computed_once_per_data_version_and_equal_to_a_recomputation(
    ws: Workspace, builds: list[dict[str, Any]], tmp_path: Path
) -> None:
    end = dt.date(2024, 6, 30)
    first = mw.workspace_rfm(ws, observation_end=end, time_unit="W")
    again = mw.workspace_rfm(ws, observation_end=end, time_unit="W")
    assert len(builds) == 1  # the second call read the stored table
    assert again.get_name() == first.get_name()
    assert _rows(again) == _direct(ws, end)
    # Other arguments are another table.
    daily = mw.workspace_rfm(ws, observation_end=end, time_unit="D").get_name()
    assert len(builds) == 2

    # An import changes the data version: the next call recomputes, with the new order,
    # and the tables of the old version are dropped.
    import_file(ws, "orders", _write(tmp_path / "more.csv", ["o11,e,2024-06-30,5.00"]))
    later = dt.date(2024, 6, 30)
    fresh = mw.workspace_rfm(ws, observation_end=later, time_unit="W")
    assert len(builds) == 3
    assert not ws.has_table(daily)
    assert _rows(fresh) == _direct(ws, later)
    registry = ws.con.execute(f'SELECT count(*) FROM "{SHARED_REGISTRY}"').fetchone()
    assert registry == (1,)


def test_score_reads_what_fit_stored(ws: Workspace, builds: list[dict[str, Any]]) -> None:
    fit = mw.fit_workspace(ws, model="bgnbd", holdout="none", spend="none")
    assert len(builds) == 1
    score = mw.score_workspace(ws)
    assert len(builds) == 1  # score built no RFM summary of its own
    assert score.fit.fit_id == fit.fit_id
    stored = ws.table("scores").order_by("customer_id")
    direct = _direct(ws, dt.date(2024, 6, 30))
    got = stored.select("customer_id", "frequency", "recency", "T").to_pyarrow().to_pylist()
    assert got == [{k: r[k] for k in ("customer_id", "frequency", "recency", "T")} for r in direct]


def test_a_read_only_workspace_computes_without_storing(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    with Workspace.init(path) as w:
        import_file(w, "orders", _write(tmp_path / "orders.csv", ORDERS))
    with Workspace.open(path, read_only=True) as ro:
        end = dt.date(2024, 6, 30)
        rfm = mw.workspace_rfm(ro, observation_end=end, time_unit="W")
        assert _rows(rfm) == _direct(ro, end)
        assert not ro.has_table(SHARED_REGISTRY)
