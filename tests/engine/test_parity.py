"""Every command gives the same results on DuckDB, a Parquet folder and Spark.

The same simulated book runs through what ``regulars metrics``, ``fit``, ``score``,
``actions`` and ``report`` do, once on the workspace's DuckDB file (the oracle) and
once on each other engine.  Metrics, scores and actions must be identical; fitted
parameters equal to 1e-6.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest

from regulars.actions import compute_actions, open_actions
from regulars.datasets import simulate
from regulars.engine import backend_for
from regulars.metrics import channel_economics, growth_accounting, new_vs_returning
from regulars.models import fit_workspace, score_workspace
from regulars.report import build_report
from regulars.store import Workspace

TODAY = dt.date(2024, 12, 31)
SCORE_COLUMNS = ("customer_id", "frequency", "recency", "T", "p_alive", "expected_orders_365d")
ACTION_COLUMNS = (
    "customer_id",
    "playbook",
    "reason_code",
    "value_at_stake",
    "priority",
    "due",
    "message",
)


@pytest.fixture(scope="module")
def book():
    return simulate(n_customers=120, years=2, seed=3)


def _rows(expr: Any) -> list[dict[str, Any]]:
    return sorted(expr.to_pyarrow().to_pylist(), key=lambda r: str(list(r.values())))


def _rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Floats to 9 significant digits: engines may sum in a different order."""

    def r(v: Any) -> Any:
        return float(f"{v:.9g}") if isinstance(v, float) and math.isfinite(v) else v

    return [{k: r(v) for k, v in row.items()} for row in rows]


def _commands(ws: Workspace) -> dict[str, Any]:
    """What each command produces on ``ws``, in a comparable form."""
    out: dict[str, Any] = {
        "growth_accounting": _rows(growth_accounting(ws, period="quarter")),
        "new_vs_returning": _rows(new_vs_returning(ws, period="quarter")),
    }
    fit = fit_workspace(ws, model="bgnbd", holdout="none")
    out["params"] = {**fit.purchase.params_, **(fit.spend.params_ if fit.spend else {})}
    score_workspace(ws)
    scores = ws.table("scores")
    out["scores"] = _rounded(_rows(scores.select(*SCORE_COLUMNS)))
    out["clv"] = sorted(
        (r["customer_id"], round(r["clv"], 6))
        for r in scores.select("customer_id", "clv").to_pyarrow().to_pylist()
        if r["clv"] is not None
    )
    # CLV per channel reads the scores beside the orders
    out["channel_economics"] = _rounded(_rows(channel_economics(ws, period="quarter")))
    compute_actions(ws, today=TODAY)
    out["actions"] = _rows(open_actions(ws).select(*ACTION_COLUMNS))
    html = build_report(ws, fit=False)
    out["report"] = "Traceback" not in html and len(html) > 10_000
    return out


def _engine_workspace(path: Path, settings: str) -> Workspace:
    ws = Workspace.init(path)
    cfg = ws.path / "regulars.toml"
    cfg.write_text(cfg.read_text().replace('backend = "duckdb"', settings, 1))
    ws.close()
    return Workspace.open(path)


@pytest.fixture(scope="module")
def on_duckdb(tmp_path_factory, book):
    ws = Workspace.init(tmp_path_factory.mktemp("duck"))
    book.write(ws)
    try:
        return _commands(ws)
    finally:
        ws.close()


def _same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["report"]
    assert want["report"]
    keys = ("growth_accounting", "new_vs_returning", "scores", "clv", "channel_economics")
    for key in (*keys, "actions"):
        assert got[key] == want[key], key
    assert want["actions"], "the book should give some actions"
    assert got["params"].keys() == want["params"].keys()
    for name, value in want["params"].items():
        assert got["params"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


@pytest.mark.slow  # about a minute alone: fit, score, actions and report twice
def test_parquet_folder_runs_every_command_like_duckdb(tmp_path, book, on_duckdb):
    book.to_parquet(tmp_path / "data")
    ws = _engine_workspace(tmp_path / "ws", 'backend = "parquet"\nparquet_dir = "../data"')
    try:
        assert backend_for(ws) is ws.ibis  # one engine: the data and the derived tables
        _same(_commands(ws), on_duckdb)
    finally:
        ws.close()


@pytest.mark.spark
@pytest.mark.slow
# PySpark 4.0's toPandas uses pandas options that pandas 3 deprecates.
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_spark_runs_every_command_like_duckdb(tmp_path, book, on_duckdb):
    from regulars.engine import local_spark_session

    local_spark_session("local[2]", shuffle_partitions=2)
    book.to_parquet(tmp_path / "data")
    ws = _engine_workspace(tmp_path / "ws", 'backend = "spark"\nparquet_dir = "../data"')
    try:
        assert backend_for(ws).name == "pyspark"
        _same(_commands(ws), on_duckdb)
        assert (ws.path / "derived" / "scores").is_dir()  # written by Spark, beside the data
    finally:
        ws.close()
