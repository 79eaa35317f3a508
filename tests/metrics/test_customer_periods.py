"""The customer-period table is computed once per data version and shared by the metrics.

Oracle: the same metric on a context without a workspace, which computes the table
from the orders itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regulars import service
from regulars.datasets import simulate
from regulars.engine import data_version, tables
from regulars.io import import_file
from regulars.metrics import MetricContext
from regulars.schema import TABLES
from regulars.store import Workspace

# Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

SHARING = ("growth-accounting", "growth-sources", "cohort-retention")


def _stored(ws: Workspace, kind: str = "customer_periods") -> list[tuple[str, str]]:
    return sorted(
        (str(name), str(version))
        for name, version in ws.con.execute(
            "SELECT name, data_version FROM _regulars_shared WHERE kind = ?", [kind]
        ).fetchall()
    )


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return simulate(n_customers=80, years=2, seed=5).to_parquet(tmp_path_factory.mktemp("book"))


@pytest.mark.parametrize("engine", ["duckdb", "parquet"])
def test_metrics_on_the_shared_table_equal_metrics_on_the_orders(
    tmp_path: Path, book: dict[str, Path], engine: str
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    if engine == "parquet":
        ws.close()
        cfg = tmp_path / "ws" / "regulars.toml"
        cfg.write_text(
            cfg.read_text().replace(
                'backend = "duckdb"', 'backend = "parquet"\nparquet_dir = "lake"', 1
            )
        )
        ws = Workspace.open(tmp_path / "ws")
    for name in ("customers", "orders"):
        import_file(ws, name, book[name])
    for period in ("month", "quarter"):
        for metric in SHARING:
            shared = service.run_metric(MetricContext.from_workspace(ws), metric, period=period)
            plain = service.run_metric(MetricContext(tables(ws), ws.config), metric, period=period)
            got, want = shared.to_pyarrow(), plain.to_pyarrow()
            assert got.num_rows > 3
            assert got.equals(want), (metric, period)
    stored = _stored(ws)
    assert len(stored) == 2  # one per period, however many metrics read it
    assert {v for _, v in stored} == {data_version(ws)}
    ws.close()


def test_the_table_is_kept_until_an_import_changes_the_data(
    tmp_path: Path, book: dict[str, Path]
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    import_file(ws, "orders", book["orders"])
    service.run_metric(ws, "growth-accounting", period="month").to_pyarrow()
    first = _stored(ws)
    assert len(first) == 1
    service.run_metric(ws, "growth-sources", period="month").to_pyarrow()
    assert _stored(ws) == first  # read, not computed again
    import_file(ws, "customers", book["customers"])  # any import: a new data version
    again = service.run_metric(ws, "growth-accounting", period="month").to_pyarrow()
    second = _stored(ws)
    assert len(second) == 1
    assert second[0][1] == ws.data_version != first[0][1]
    assert second[0][0] == first[0][0]  # the same table, computed again in its place
    assert again.num_rows > 3
    ws.close()


def test_a_read_only_command_reads_the_stored_table_and_stores_none(
    tmp_path: Path, book: dict[str, Path]
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    for name in TABLES:
        if name in ("customers", "orders"):
            import_file(ws, name, book[name])
    ws.close()
    with Workspace.open(tmp_path / "ws", read_only=True) as ro:
        computed = service.run_metric(ro, "growth-accounting", period="year").to_pyarrow()
        assert not ro.has_table("_regulars_shared") or not _stored(ro)
    with Workspace.open(tmp_path / "ws") as rw:
        service.run_metric(rw, "growth-accounting", period="year").to_pyarrow()
        stored = _stored(rw)
    with Workspace.open(tmp_path / "ws", read_only=True) as ro:
        name = stored[0][0]
        ctx = MetricContext.from_workspace(ro)
        assert ctx.customer_periods("year").get_name() == name
        assert (
            service.run_metric(ctx, "growth-accounting", period="year")
            .to_pyarrow()
            .equals(computed)
        )


@pytest.mark.parametrize("metric", ["lifecycle", "packages", "new-vs-returning"])
def test_metrics_read_the_stored_customer_periods_only_when_stored(
    tmp_path: Path, book: dict[str, Path], metric: str
) -> None:
    """Lifecycle (the paid customer-periods), packages (the customers with an order)
    and new vs returning (the split into new and returning) read the stored table when
    a writer stored it, and the orders otherwise: the same rows either way, and the
    same as without a workspace."""
    ws = Workspace.init(tmp_path / "ws")
    for name in ("customers", "orders"):
        import_file(ws, name, book[name])
    ws.close()
    with Workspace.open(tmp_path / "ws", read_only=True) as ro:
        ctx = MetricContext.from_workspace(ro)
        assert not ctx.customer_periods_stored("quarter")
        from_orders = service.run_metric(ctx, metric, period="quarter").to_pyarrow()
        plain_ctx = MetricContext(tables(ro), ro.config)
        plain = service.run_metric(plain_ctx, metric, period="quarter").to_pyarrow()
    with Workspace.open(tmp_path / "ws") as rw:
        service.run_metric(rw, "growth-accounting", period="quarter").to_pyarrow()
    with Workspace.open(tmp_path / "ws", read_only=True) as ro:
        ctx = MetricContext.from_workspace(ro)
        assert ctx.customer_periods_stored("quarter")
        assert not ctx.customer_periods_stored("month")  # another period: not stored
        from_stored = service.run_metric(ctx, metric, period="quarter").to_pyarrow()
    assert from_orders.num_rows > 3
    assert from_stored.equals(from_orders)
    assert from_stored.equals(plain)


LEDGER_READERS = ("new-vs-returning", "cohort-retention", "lifecycle", "business-revenue")


def test_the_ledger_is_stored_once_per_data_version_and_gives_the_same_metrics(
    tmp_path: Path, book: dict[str, Path]
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    import_file(ws, "orders", book["orders"])
    for metric in LEDGER_READERS:
        shared = service.run_metric(MetricContext.from_workspace(ws), metric, period="month")
        plain = service.run_metric(MetricContext(tables(ws), ws.config), metric, period="month")
        got, want = shared.to_pyarrow(), plain.to_pyarrow()
        assert got.num_rows > 3
        assert got.equals(want), metric
    first = _stored(ws, "ledger")
    assert len(first) == 1  # one, however many metrics read it
    assert first[0][1] == data_version(ws)
    stored = ws.con.execute(f'SELECT count(*) FROM "{first[0][0]}"').fetchone()
    orders = ws.con.execute("SELECT count(*) FROM orders WHERE status IS DISTINCT FROM 'cancelled'")
    assert stored == orders.fetchone()  # every order that is not cancelled, once
    import_file(ws, "customers", book["customers"])  # a new data version
    service.run_metric(ws, "new-vs-returning", period="month").to_pyarrow()
    second = _stored(ws, "ledger")
    assert len(second) == 1
    assert second[0][1] == ws.data_version != first[0][1]
    ws.close()
