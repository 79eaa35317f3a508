"""Actions read through the engine: the same book on DuckDB, Parquet and Spark gives
the same list (same customers, playbooks and ids)."""

from __future__ import annotations

import os
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


_ACTIONS_MEMORY = 'memory = "auto"            # DuckDB\'s memory while computing'


def test_actions_run_under_their_memory_limit_and_restore_it(
    book: Any, tmp_path: Path, duckdb_queue: list[tuple[Any, ...]]
) -> None:
    from regulars.actions._engine import actions_memory, memory_limit

    ws = _workspace(tmp_path / "mem", 'backend = "duckdb"', book)
    cfg = ws.path / "regulars.toml"
    cfg.write_text(cfg.read_text().replace(_ACTIONS_MEMORY, 'memory = "300MiB"  #', 1))
    ws.close()
    ws = Workspace.open(tmp_path / "mem")

    def setting() -> str:
        row = ws.con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert row is not None
        return str(row[0])

    assert actions_memory(ws) == (300 * 1024**2, "[actions] memory")
    before = setting()
    with memory_limit(ws):
        assert setting() != before
        assert setting().startswith(("300", "314"))  # MiB, or DuckDB's MB
    assert setting() == before
    compute_actions(ws)  # the same list under a small limit
    assert _queue(ws) == duckdb_queue
    assert setting() == before
    ws.close()


def test_a_book_too_large_for_memory_computes_in_a_scratch_file_with_the_same_list(
    book: Any,
    tmp_path: Path,
    duckdb_queue: list[tuple[Any, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import regulars.actions._engine as engine

    ws = _workspace(tmp_path / "big", 'backend = "duckdb"', book)
    path = engine.scratch_path(ws)
    seen: list[int] = []
    copy = engine._scratch_copy

    limits: set[str] = set()

    def counted(backend: Any, t: Any, database: str) -> Any:
        assert path.exists()  # attached while the run computes
        seen.append(1)
        row = ws.con.execute("SELECT current_setting('memory_limit')").fetchone()
        limits.add(str(row[0]) if row else "")
        return copy(backend, t, database)

    monkeypatch.setattr(engine, "_scratch_copy", counted)
    # 120 customers "do not fit": every intermediate table goes to the scratch file.
    monkeypatch.setattr(engine, "BYTES_PER_ORDER", 10**15)
    compute_actions(ws)
    assert len(seen) >= 3  # the paid orders, their items, the customers' facts at least
    assert _queue(ws) == duckdb_queue
    # The default limit is lowered for the run (DuckDB allocates beyond it on a large
    # book), and set back after it.
    before = ws.con.execute("SELECT current_setting('memory_limit')").fetchone()
    limit = engine.actions_memory(ws)[0]
    lowered = min(engine.scratch_memory(limit), limit) // 1024**2
    ws.con.execute(f"SET memory_limit = '{lowered}MiB'")
    expected = ws.con.execute("SELECT current_setting('memory_limit')").fetchone()
    ws.con.execute(f"SET memory_limit = '{before[0] if before else ''}'")
    assert limits == {str(expected[0]) if expected else ""}
    assert (before != expected) == (engine.scratch_memory(limit) < limit)
    assert not path.exists()
    assert not path.with_name(path.name + ".wal").exists()
    attached = ws.con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    assert (engine.SCRATCH_DATABASE,) not in attached
    # A second run reads the stored per-day tables; a what-if run stores nothing.
    compute_actions(ws)
    assert _queue(ws) == duckdb_queue
    ws.close()


def test_the_scratch_runs_limit_is_five_sixths_of_the_default_in_half_gibibytes() -> None:
    from regulars.actions._engine import scratch_memory

    gib = 1024**3
    assert scratch_memory(3 * gib) == int(2.5 * gib)
    assert scratch_memory(16 * gib) == 13 * gib
    assert scratch_memory(1 * gib) == 1 * gib
    assert scratch_memory(gib // 2) == 1 * gib


def test_a_killed_runs_scratch_file_goes_with_the_next_writer(tmp_path: Path) -> None:
    from regulars.actions._engine import scratch_path

    ws = Workspace.init(tmp_path / "ws")
    mine = scratch_path(ws)
    ws.close()
    left = mine.with_name(mine.name.replace(f"tmp-{os.getpid()}", "tmp-999999999"))
    left.write_bytes(b"left by a killed run")
    ws = Workspace.open(tmp_path / "ws")
    ws.con.execute("SELECT 1")
    assert not left.exists()
    ws.close()


def test_a_too_small_or_unreadable_actions_memory_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regulars.actions._engine import MEMORY_ENV_VAR, actions_memory
    from regulars.errors import ConfigError

    ws = Workspace.init(tmp_path / "ws")
    monkeypatch.setenv(MEMORY_ENV_VAR, "10MiB")
    with pytest.raises(
        ConfigError, match=r"REGULARS_ACTIONS_MEMORY = '10MiB' is too small.*256 MiB"
    ):
        actions_memory(ws)
    monkeypatch.setenv(MEMORY_ENV_VAR, "lots")
    with pytest.raises(ConfigError, match="is not a size"):
        actions_memory(ws)
    ws.close()
    cfg = tmp_path / "ws" / "regulars.toml"
    cfg.write_text(cfg.read_text().replace(_ACTIONS_MEMORY, 'memory = "12 bytes please"  #', 1))
    with pytest.raises(ConfigError, match=r"\[actions\] memory"):
        Workspace.open(tmp_path / "ws")
