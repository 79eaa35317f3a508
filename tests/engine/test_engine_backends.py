"""regulars.engine: the DuckDB file, a Parquet folder and Spark give the same tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from regulars.datasets import simulate
from regulars.engine import arrow_schema, backend_for, ibis_schema, tables
from regulars.errors import SchemaError, WorkspaceError
from regulars.metrics import growth_accounting, new_vs_returning
from regulars.schema import TABLES
from regulars.store import Workspace


@pytest.fixture(scope="module")
def book():
    return simulate(n_customers=80, years=2, seed=5)


def _workspace(path: Path, engine: str) -> Workspace:
    ws = Workspace.init(path)
    cfg = ws.path / "regulars.toml"
    text = cfg.read_text().replace('backend = "duckdb"', engine, 1)
    cfg.write_text(text)
    ws.close()
    return Workspace.open(path)


def _rows(expr) -> list[dict]:
    return sorted(expr.to_pyarrow().to_pylist(), key=lambda r: str(list(r.values())))


def test_schemas_follow_the_contract():
    s = arrow_schema("orders")
    assert s.field("revenue").type == pa.decimal128(18, 2)
    assert s.field("order_date").type == pa.timestamp("us")
    assert not s.field("order_id").nullable
    assert list(ibis_schema("spend")) == ["channel", "period_start", "period_end", "amount"]


def test_duckdb_has_every_contract_table_and_derived_ones(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    ws.con.execute("CREATE TABLE scores (customer_id VARCHAR, clv DOUBLE)")
    t = tables(ws)
    assert set(TABLES) | {"scores"} <= set(t)
    assert backend_for(ws).name == "duckdb"
    ws.close()


def test_parquet_folder_gives_the_same_metrics_as_duckdb(tmp_path, book):
    ws = Workspace.init(tmp_path / "duck")
    book.write(ws)
    book.to_parquet(tmp_path / "pq" / "data")
    pws = _workspace(tmp_path / "pq", 'backend = "parquet"\nparquet_dir = "data"')
    assert backend_for(pws).name == "duckdb"
    for metric in (growth_accounting, new_vs_returning):
        assert _rows(metric(pws, period="month")) == _rows(metric(ws, period="month"))
    ws.close()
    pws.close()


def test_parquet_missing_tables_and_columns(tmp_path, book):
    data = tmp_path / "ws" / "data"
    data.mkdir(parents=True)
    # Orders split into a folder of parts, with only the required columns.
    parts = data / "orders"
    parts.mkdir()
    orders = book.orders.select(["order_id", "customer_id", "order_date", "revenue"])
    half = orders.num_rows // 2
    pq.write_table(orders.slice(0, half), parts / "part-0.parquet")
    pq.write_table(orders.slice(half), parts / "part-1.parquet")
    ws = _workspace(tmp_path / "ws", 'backend = "parquet"\nparquet_dir = "data"')
    t = tables(ws)
    assert t["orders"].count().to_pyarrow().as_py() == orders.num_rows
    assert "refund_amount" in t["orders"].columns
    assert t["spend"].count().to_pyarrow().as_py() == 0
    assert growth_accounting(ws, period="year").to_pyarrow().num_rows == 2
    ws.close()


def test_parquet_missing_required_column_lists_the_columns(tmp_path, book):
    data = tmp_path / "ws" / "data"
    data.mkdir(parents=True)
    # (revenue is optional: NULL in a log without amounts; order_date is required.)
    pq.write_table(book.orders.drop_columns(["order_date"]), data / "orders.parquet")
    ws = _workspace(tmp_path / "ws", 'backend = "parquet"\nparquet_dir = "data"')
    with pytest.raises(SchemaError, match=r"no column 'order_date'.*Existing columns: 'order_id'"):
        tables(ws)
    ws.close()


def test_parquet_needs_an_existing_folder(tmp_path):
    ws = _workspace(tmp_path / "a", 'backend = "parquet"')
    with pytest.raises(WorkspaceError, match="needs \\[engine\\] parquet_dir"):
        tables(ws)
    ws.close()
    ws = _workspace(tmp_path / "b", 'backend = "parquet"\nparquet_dir = "nowhere"')
    with pytest.raises(WorkspaceError, match="does not exist"):
        tables(ws)
    ws.close()


@pytest.fixture(scope="module")
def spark():
    from regulars.engine import local_spark_session

    return local_spark_session("local[2]", shuffle_partitions=2)


@pytest.mark.spark
# PySpark 4.0's toPandas uses pandas options that pandas 3 deprecates.
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@pytest.mark.parametrize("source", ["parquet_dir", "duckdb_copy"])
@pytest.mark.usefixtures("spark")
def test_spark_gives_the_same_metrics_as_duckdb(tmp_path, book, source):
    ws = Workspace.init(tmp_path / "duck")
    book.write(ws)
    want = _rows(growth_accounting(ws, period="quarter"))
    if source == "parquet_dir":
        book.to_parquet(tmp_path / "sp" / "data")
        sws = _workspace(tmp_path / "sp", 'backend = "spark"\nparquet_dir = "data"')
    else:
        ws.close()
        sws = _workspace(tmp_path / "duck", 'backend = "spark"')
    assert backend_for(sws).name == "pyspark"
    assert _rows(growth_accounting(sws, period="quarter")) == want
    sws.close()
    ws.close()


def test_public_api_is_pinned():
    import regulars.engine as engine

    assert engine.__all__ == [
        "arrow_schema",
        "backend_for",
        "computed_once",
        "conform",
        "data_version",
        "handed_over",
        "has_table",
        "ibis_schema",
        "interactive_config",
        "local_spark_session",
        "shared_stored",
        "shared_table",
        "stop_local_spark_session",
        "table",
        "tables",
        "write_derived",
    ]


def test_handed_over_rows_are_a_temporary_table_on_duckdb_dropped_with_the_expression(tmp_path):
    import gc

    import ibis

    from regulars.engine import handed_over

    ws = Workspace.init(tmp_path / "ws")
    con = ws.ibis
    rows = pa.table({"k": pa.array([3, 1, 2], pa.int64()), "v": ["c", "a", "b"]})
    t = handed_over(rows, con)
    name = t.get_name().rpartition(".")[2]
    assert name.startswith("_regulars_handed_")
    temp = con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert (name,) in temp
    other = ibis.memtable({"k": [2, 3]})
    joined = t.join(other, "k").order_by("k").to_pyarrow()
    assert joined.column("v").to_pylist() == ["b", "c"]

    del t, joined
    gc.collect()
    temp = con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert (name,) not in temp
    ws.close()


def test_handed_over_rows_stay_in_memory_on_an_engine_without_temporary_tables():
    from regulars.engine import handed_over

    class NotDuckDB:
        name = "pyspark"

    t = handed_over(pa.table({"k": [1, 2]}), NotDuckDB())
    assert t.to_pyarrow().column("k").to_pylist() == [1, 2]


def test_local_spark_jvm_options_put_the_users_last():
    from regulars.engine._spark import _JVM_DEFAULTS, _jvm_options

    assert _jvm_options("") == list(_JVM_DEFAULTS)
    # The user's options come last (a repeated -XX flag: the last one wins).
    assert _jvm_options("-XX:CompileThresholdScaling=1 -Xss4m")[-2:] == [
        "-XX:CompileThresholdScaling=1",
        "-Xss4m",
    ]


def _shared_folders(ws: Workspace) -> list[str]:
    from regulars.engine._backend import derived_dir
    from regulars.engine._shared import SPARK_SHARED_DIR

    folder = derived_dir(ws) / SPARK_SHARED_DIR
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _probe(ws: Workspace, calls: list[int]) -> object:
    from regulars.engine import shared_table

    def build():
        calls.append(1)
        orders = tables(ws)["orders"]
        return orders.aggregate(n=orders.count(), revenue=orders.revenue.sum())

    return shared_table(ws, "probe", {"format": 1}, build)


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@pytest.mark.usefixtures("spark")
def test_spark_stores_shared_tables_for_the_next_command(tmp_path, book):
    """A shared table computed on Spark is written under derived/.shared and read by
    the next command (a new session: the session's memory is cleared here) without
    computing it again, with the same rows and types; new data make a new one and
    remove the old."""
    from regulars.engine._shared import _SESSION

    book.to_parquet(tmp_path / "sp" / "data")
    ws = _workspace(tmp_path / "sp", 'backend = "spark"\nparquet_dir = "data"')
    calls: list[int] = []
    first = _probe(ws, calls)
    rows = first.to_pyarrow()  # type: ignore[attr-defined]
    assert calls == [1]
    (stored,) = _shared_folders(ws)
    assert stored.startswith("_shared_probe_")
    _SESSION.clear()  # a new command: nothing kept in memory
    again = _probe(ws, calls)
    assert calls == [1]  # read from the files, not computed again
    assert again.to_pyarrow().equals(rows)  # type: ignore[attr-defined]
    assert again.schema() == first.schema()  # type: ignore[attr-defined]
    assert rows.column("n").to_pylist() == [len(book.orders)]

    # the ledger of the metrics is stored the same way, and gives DuckDB's numbers
    want = _rows(growth_accounting(ws, period="quarter"))
    assert any(name.startswith("_shared_ledger_") for name in _shared_folders(ws))
    _SESSION.clear()
    assert _rows(growth_accounting(ws, period="quarter")) == want
    # so is each customer's first paid order (new vs returning, cohorts, guarantee)
    book.to_parquet(tmp_path / "dk" / "data")
    duck = _workspace(tmp_path / "dk", 'backend = "parquet"\nparquet_dir = "data"')
    expected = _rows(new_vs_returning(duck, period="quarter"))
    duck.close()
    assert _rows(new_vs_returning(ws, period="quarter")) == expected
    assert any(name.startswith("_shared_first_paid_") for name in _shared_folders(ws))
    _SESSION.clear()
    assert _rows(new_vs_returning(ws, period="quarter")) == expected

    # new data (a Parquet file rewritten): computed again, the old copies removed
    orders = pq.read_table(tmp_path / "sp" / "data" / "orders.parquet")
    pq.write_table(
        orders.slice(0, orders.num_rows - 1), tmp_path / "sp" / "data" / "orders.parquet"
    )
    _SESSION.clear()
    fewer = _probe(ws, calls)
    assert calls == [1, 1]
    assert fewer.to_pyarrow().column("n").to_pylist() == [len(book.orders) - 1]  # type: ignore[attr-defined]
    folders = _shared_folders(ws)
    assert len(folders) == 1
    assert folders != [stored]
    ws.close()


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_spark_keeps_tables_of_its_catalogue_in_the_session_only(tmp_path, book, spark):
    """Tables registered in the Spark session change without the workspace knowing:
    their shared tables are computed per session and never written to disk."""
    from regulars.engine._shared import _SESSION

    book.to_parquet(tmp_path / "lake")
    spark.read.parquet(str(tmp_path / "lake" / "orders.parquet")).createOrReplaceTempView("orders")
    try:
        ws = _workspace(tmp_path / "sp", 'backend = "spark"')
        calls: list[int] = []
        got = _probe(ws, calls).to_pyarrow()  # type: ignore[attr-defined]
        assert got.column("n").to_pylist() == [len(book.orders)]
        assert _shared_folders(ws) == []
        _SESSION.clear()
        _probe(ws, calls)
        assert calls == [1, 1]
        ws.close()
    finally:
        spark.catalog.dropTempView("orders")
