"""Derived tables are written where the data live, never through Python in one piece."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pytest

from regulars.datasets import simulate
from regulars.io import import_file
from regulars.models import score_workspace
from regulars.store import Workspace

# Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")


def test_score_on_a_parquet_workspace_keeps_the_scores_in_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = simulate(n_customers=80, years=2, seed=9).to_parquet(tmp_path / "files")
    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    cfg = tmp_path / "ws" / "regulars.toml"
    cfg.write_text(
        cfg.read_text().replace('backend = "duckdb"', 'backend = "parquet"\nparquet_dir = "lake"')
    )
    ws = Workspace.open(tmp_path / "ws")
    for name in ("customers", "orders"):
        import_file(ws, name, files[name])
    pulled: list[list[str]] = []
    real = ir.Table.to_pyarrow

    def spy(self: ir.Table, *args: Any, **kwargs: Any) -> Any:
        out = real(self, *args, **kwargs)
        pulled.append(list(out.column_names))
        return out

    monkeypatch.setattr(ir.Table, "to_pyarrow", spy)
    result = score_workspace(ws)
    monkeypatch.undo()
    assert result.n_customers > 50
    # Only aggregates and distinct tuples left the engine: no table of customers.
    assert pulled, "the spy should see the engine's results"
    assert not [cols for cols in pulled if "customer_id" in cols]
    assert ws.count("scores") == result.n_customers
    ws.close()
