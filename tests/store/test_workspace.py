"""The workspace folder, its DuckDB file and transactional writes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from regulars.errors import ConfigError, WorkspaceError
from regulars.schema import TABLES, table
from regulars.store import ENV_VAR, Workspace, resolve_workspace_path


def test_init_creates_config_and_every_table(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws", name="Studio") as ws:
        assert (ws.path / "regulars.toml").exists()
        assert ws.db_path.exists()
        for name in TABLES:
            assert ws.count(name) == 0
        assert ws.config.workspace.name == "Studio"


def test_init_keeps_an_existing_config(tmp_path: Path) -> None:
    Workspace.init(tmp_path, currency="USD").close()
    (tmp_path / "regulars.toml").write_text('[workspace]\ncurrency = "GBP"\n')
    with Workspace.init(tmp_path) as ws:
        assert ws.config.workspace.currency == "GBP"


def test_open_missing_workspace_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="regulars init"):
        Workspace.open(tmp_path)


def test_open_reports_bad_config_key(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    (tmp_path / "regulars.toml").write_text("[workspace]\ncurency = 'EUR'\n")
    with pytest.raises(ConfigError, match="curency"):
        Workspace.open(tmp_path)


def _engine_memory(text: str, value: str) -> str:
    """``text`` (a regulars.toml) with ``[engine] memory = value``."""
    start = text.index("[engine]\n")
    line = text.index('memory = "auto"', start)
    return text[:line] + f'memory = "{value}"' + text[line + len('memory = "auto"') :]


def _limit(ws: Workspace) -> str:
    row = ws.con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def test_connection_has_the_engine_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regulars.io._memory import default_memory, machine_memory

    monkeypatch.delenv("REGULARS_ENGINE_MEMORY", raising=False)
    Workspace.init(tmp_path).close()
    half = 512 * 1024**2
    default = round(default_memory(machine_memory()) / half) * half  # to 0.5 GiB
    with Workspace.open(tmp_path, read_only=True) as ws:
        assert ws.memory_limit == default
        assert _limit(ws) == f"{default / 1024**3:.1f} GiB"
    toml = tmp_path / "regulars.toml"
    toml.write_text(_engine_memory(toml.read_text(), "1536MiB"))
    with Workspace.open(tmp_path) as ws:
        assert ws.memory_limit == 1536 * 1024**2
        assert _limit(ws) == "1.5 GiB"
    monkeypatch.setenv("REGULARS_ENGINE_MEMORY", "2GiB")
    with Workspace.open(tmp_path) as ws:
        assert _limit(ws) == "2.0 GiB"
    monkeypatch.setenv("REGULARS_ENGINE_MEMORY", "lots")
    ws = Workspace.open(tmp_path, read_only=True)
    with pytest.raises(ConfigError, match="REGULARS_ENGINE_MEMORY = 'lots' is not a size"):
        ws.count("orders")
    ws.close()


def test_bad_engine_memory_setting_is_refused(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    toml = tmp_path / "regulars.toml"
    toml.write_text(_engine_memory(toml.read_text(), "3 bananas"))
    with pytest.raises(ConfigError, match=r"\[engine\] memory = '3 bananas' is not a size"):
        Workspace.open(tmp_path)


def test_env_var_points_at_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert resolve_workspace_path(None) == tmp_path
    assert resolve_workspace_path(tmp_path / "x") == tmp_path / "x"


def test_unknown_table_lists_existing(tmp_path: Path) -> None:
    with Workspace.init(tmp_path) as ws, pytest.raises(WorkspaceError, match="Existing tables"):
        ws.table("invoices")


def _spend(rows: list[tuple[str, str, str, str]]) -> pa.Table:
    import datetime as dt
    from decimal import Decimal

    return pa.table(
        {
            "channel": [r[0] for r in rows],
            "period_start": [dt.date.fromisoformat(r[1]) for r in rows],
            "period_end": [dt.date.fromisoformat(r[2]) for r in rows],
            "amount": pa.array([Decimal(r[3]) for r in rows], pa.decimal128(18, 2)),
        }
    )


def test_upsert_is_keyed_and_idempotent(tmp_path: Path) -> None:
    rows = [("ads", "2024-01-01", "2024-01-31", "100.00"), ("seo", "2024-01-01", "2024-01-31", "5")]
    with Workspace.init(tmp_path) as ws:
        for _ in range(2):
            with ws.transaction() as con:
                con.register("src", _spend(rows))
                ws.upsert(con, table("spend"), "src")
                con.unregister("src")
        assert ws.count("spend") == 2
        # an overlapping write replaces the keyed row and adds the new one
        with ws.transaction() as con:
            con.register(
                "src",
                _spend(
                    [
                        ("ads", "2024-01-01", "2024-01-31", "120.00"),
                        ("ads", "2024-02-01", "2024-02-29", "90.00"),
                    ]
                ),
            )
            ws.upsert(con, table("spend"), "src")
            con.unregister("src")
        got = ws.con.execute("SELECT channel, amount FROM spend ORDER BY ALL").fetchall()
        assert [(c, str(a)) for c, a in got] == [
            ("ads", "90.00"),
            ("ads", "120.00"),
            ("seo", "5.00"),
        ]


def test_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    with Workspace.init(tmp_path) as ws:

        def write_then_fail() -> None:
            with ws.transaction() as con:
                con.register("src", _spend([("ads", "2024-01-01", "2024-01-31", "1")]))
                ws.upsert(con, table("spend"), "src")
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            write_then_fail()
        assert ws.count("spend") == 0


def test_replace_table_from_arrow_and_ibis(tmp_path: Path) -> None:
    with Workspace.init(tmp_path) as ws:
        ws.replace_table("scores", pa.table({"customer_id": ["a", "b"], "p": [0.5, 1.0]}))
        ws.replace_table("scores2", ws.table("scores").filter(lambda t: t.p > 0.6))
        assert ws.table("scores2").to_pyarrow().to_pydict() == {"customer_id": ["b"], "p": [1.0]}
