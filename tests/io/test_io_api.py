"""The public API of regulars.io is explicit and pinned."""

from __future__ import annotations

from pathlib import Path

import pytest
from _io_helpers import DATA

import regulars.io
from regulars.io import import_file
from regulars.store import Workspace


def test_public_names() -> None:
    assert regulars.io.__all__ == [
        "EXPORT_FORMATS",
        "IMPORTABLE_TABLES",
        "IMPORT_FORMATS",
        "PRESETS",
        "ImportResult",
        "export_table",
        "import_file",
        "safe_cell",
    ]
    assert regulars.io.IMPORTABLE_TABLES == (
        "customers",
        "orders",
        "subscriptions",
        "touches",
        "spend",
        "feedback",
    )


def test_progress_bar_draws_on_stderr(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    r = import_file(ws, "orders", DATA / "stripe_payments.csv", preset="stripe", progress=True)
    assert r.records == 5
    assert capsys.readouterr().out == ""


def test_read_only_workspace_refuses_imports(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    ws = Workspace.open(tmp_path / "ws", read_only=True)
    try:
        with pytest.raises(regulars.WorkspaceError, match="read-only"):
            import_file(ws, "orders", DATA / "stripe_payments.csv", preset="stripe")
    finally:
        ws.close()


def test_settings_are_restored(ws: Workspace) -> None:
    before = ws.con.execute("SELECT current_setting('memory_limit')").fetchone()
    import_file(ws, "orders", DATA / "stripe_payments.csv", preset="stripe")
    assert ws.con.execute("SELECT current_setting('memory_limit')").fetchone() == before
    temp = ws.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE '_rg_%'"
    ).fetchone()
    assert temp == (0,)
