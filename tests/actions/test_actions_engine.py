"""Actions read through the engine: the same book on DuckDB, Parquet and Spark gives
the same list (same customers, playbooks and ids)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from regulars.actions import compute_actions, playbook_effectiveness
from regulars.datasets import simulate
from regulars.store import Workspace


@pytest.fixture(scope="module")
def book() -> Any:
    return simulate(n_customers=120, years=2, seed=7)


def _workspace(path: Path, engine: str, book: Any) -> Workspace:
    ws = Workspace.init(path)
    cfg = ws.path / "regulars.toml"
    text = cfg.read_text().replace('backend = "duckdb"', engine, 1)
    # Exclusions run in each engine's regular expressions (RE2 in DuckDB, Java in Spark).
    text = text.replace("exclude = []", 'exclude = ["*maintenance*", "re:^LOGO"]', 1)
    cfg.write_text(text)
    ws.close()
    if "parquet_dir" in engine:
        book.to_parquet(path / "data")
    ws = Workspace.open(path)
    if "parquet_dir" not in engine:
        book.write(ws)
    return ws


def _queue(ws: Workspace) -> list[tuple[Any, ...]]:
    rows = ws.con.execute(
        "SELECT action_id, customer_id, playbook, status, round(value_at_stake, 2) "
        "FROM actions ORDER BY action_id"
    ).fetchall()
    return [tuple(r) for r in rows]


@pytest.fixture(scope="module")
def duckdb_queue(book: Any, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    ws = _workspace(tmp_path_factory.mktemp("duck") / "ws", 'backend = "duckdb"', book)
    run = compute_actions(ws)
    assert 0 < run.shown <= 25
    out = _queue(ws)
    ws.close()
    return out


def test_parquet_workspace_gives_the_same_actions(
    book: Any, tmp_path: Path, duckdb_queue: list[tuple[Any, ...]]
) -> None:
    ws = _workspace(tmp_path / "pq", 'backend = "parquet"\nparquet_dir = "data"', book)
    compute_actions(ws)
    assert _queue(ws) == duckdb_queue
    # The action state lives in the workspace's own file; the orders are not there.
    assert ws.count("orders") == 0
    assert ws.count("actions") == len(duckdb_queue)
    assert playbook_effectiveness(ws).to_pyarrow().num_rows >= 1
    # A touch logged here (kept in the workspace file) counts with the engine's touches.
    from regulars.actions import log_touch, resolve_today
    from regulars.actions._features import build_context
    from regulars.actions._rank import blocked_customers

    customer = duckdb_queue[0][1]
    today = resolve_today(ws)
    log_touch(ws, customer, kind="call", at=today)
    assert ws.count("orders") == 0
    blocked = blocked_customers(build_context(ws, today), today, names=())
    assert customer in set(blocked.to_pyarrow().column("b_customer").to_pylist())
    ws.close()


@pytest.fixture(scope="module")
def spark() -> Any:
    from regulars.engine import local_spark_session

    return local_spark_session("local[2]", shuffle_partitions=2)


@pytest.mark.spark
# PySpark 4.0's toPandas uses pandas options that pandas 3 deprecates.
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@pytest.mark.usefixtures("spark")
def test_spark_workspace_gives_the_same_actions(
    book: Any, tmp_path: Path, duckdb_queue: list[tuple[Any, ...]]
) -> None:
    ws = _workspace(tmp_path / "sp", 'backend = "spark"\nparquet_dir = "data"', book)
    compute_actions(ws)
    assert _queue(ws) == duckdb_queue
    ws.close()
