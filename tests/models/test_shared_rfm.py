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


def _engine_workspace(path: Path, engine: str) -> Workspace:
    ws = Workspace.init(path)
    cfg = ws.path / "regulars.toml"
    cfg.write_text(cfg.read_text().replace('backend = "duckdb"', engine, 1))
    ws.close()
    return Workspace.open(path)


def _orders_parquet(path: Path, rows: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cells = [r.split(",") for r in rows]
    table = pa.table(
        {
            "order_id": [c[0] for c in cells],
            "customer_id": [c[1] for c in cells],
            "order_date": pa.array(
                [dt.datetime.fromisoformat(c[2]) for c in cells], pa.timestamp("us")
            ),
            "revenue": pa.array([float(c[3]) for c in cells]).cast(pa.decimal128(18, 2)),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_parquet_files_that_change_are_a_new_data_version(
    tmp_path: Path, builds: list[dict[str, Any]]
) -> None:
    """With parquet_dir the data change outside regulars: the files are in the version."""
    import os

    data = tmp_path / "ws" / "data" / "orders.parquet"
    _orders_parquet(data, ORDERS)
    ws = _engine_workspace(tmp_path / "ws", 'backend = "parquet"\nparquet_dir = "data"')
    end = dt.date(2024, 6, 30)
    first = _rows(mw.workspace_rfm(ws, observation_end=end, time_unit="W"))
    mw.workspace_rfm(ws, observation_end=end, time_unit="W")
    assert len(builds) == 1
    _orders_parquet(data, [*ORDERS, "o11,c,2024-06-01,5.00"])
    os.utime(data, ns=(data.stat().st_mtime_ns + 10**9,) * 2)  # a later modification
    ws.close()
    ws = Workspace.open(tmp_path / "ws")
    again = _rows(mw.workspace_rfm(ws, observation_end=end, time_unit="W"))
    assert len(builds) == 2
    assert again != first
    assert again == _direct(ws, end)
    ws.close()


@pytest.mark.spark
# PySpark 4.0's toPandas uses pandas options that pandas 3 deprecates.
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_on_spark_it_is_computed_once_per_session(
    tmp_path: Path, builds: list[dict[str, Any]]
) -> None:
    from regulars.engine import backend_for, local_spark_session

    local_spark_session("local[2]", shuffle_partitions=2)
    _orders_parquet(tmp_path / "ws" / "data" / "orders.parquet", ORDERS)
    ws = _engine_workspace(tmp_path / "ws", 'backend = "spark"\nparquet_dir = "data"')
    assert backend_for(ws).name == "pyspark"
    end = dt.date(2024, 6, 30)
    first = mw.workspace_rfm(ws, observation_end=end, time_unit="W")
    again = mw.workspace_rfm(ws, observation_end=end, time_unit="W")
    assert len(builds) == 1
    assert again is first
    with Workspace.init(tmp_path / "duck") as duck:
        import_file(duck, "orders", _write(tmp_path / "orders.csv", ORDERS))
        want = _direct(duck, end)
    got = _rows(again)
    assert [r["customer_id"] for r in got] == [r["customer_id"] for r in want]
    for g, w in zip(got, want, strict=True):
        for k in ("frequency", "recency", "T", "monetary_value"):
            assert g[k] == pytest.approx(w[k], rel=1e-12)
    ws.close()


def test_fit_of_a_new_data_version_reads_one_copy_of_the_paid_orders(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first fit after an import copies the paid orders into a temporary table (the
    bounds, the RFM summary and the holdout read it) and drops it; the RFM summary it
    stores equals one computed from the ledger, and a second fit (nothing to build)
    makes no copy and finds the same parameters."""
    copies: list[Any] = []
    real = mw._copy_for_fit

    def spy(w: Workspace, t: Any, out: list[Any]) -> Any:
        made = real(w, t, out)
        copies.append(made is not t)
        return made

    monkeypatch.setattr(mw, "_copy_for_fit", spy)
    temp = "SELECT count(*) FROM duckdb_tables() WHERE temporary"
    before = ws.con.execute(temp).fetchone()
    first = mw.fit_workspace(ws, model="bgnbd", holdout="none", spend="none")
    assert copies == [True]
    assert ws.con.execute(temp).fetchone() == before  # the copy was released
    stored = mw.workspace_rfm(ws, observation_end=first.observation_end, time_unit="W")
    assert _rows(stored) == _direct(ws, first.observation_end)
    second = mw.fit_workspace(ws, model="bgnbd", holdout="none", spend="none")
    assert copies == [True]  # the bounds were stored: nothing to build, nothing copied
    for name, value in first.purchase.params_.items():
        assert second.purchase.params_[name] == pytest.approx(value, rel=1e-9)
