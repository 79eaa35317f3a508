"""`regulars metrics NAME`, run as a user would, on a small simulated workspace."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import regulars.metrics
from regulars.cli import app
from regulars.cli._metrics import METRICS
from regulars.datasets import simulate
from regulars.store import Workspace

AVAILABLE = [n for n, f in METRICS.items() if callable(getattr(regulars.metrics, f, None))]


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("metrics-cli") / "shop"
    ws = Workspace.init(path, currency="EUR")
    book = simulate(n_customers=150, years=2, seed=3)
    book.write(ws)
    ws.close()
    return path


def run(ws_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["metrics", *args, "-w", str(ws_path)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", AVAILABLE)
def test_every_metric_prints_a_table(ws_path, name):
    code, out, err = run(ws_path, name, "--period", "quarter")
    assert code == 0, err
    assert f"{name} by quarter (EUR)" in out
    assert "…" not in out  # nothing truncated


def test_table_has_currency_and_thousands_separators(ws_path):
    code, out, _ = run(ws_path, "new-vs-returning", "--period", "year")
    assert code == 0
    assert "€" in out
    assert any("," in cell and "€" in cell for cell in out.split())


def test_json_is_a_list_of_records_with_the_documented_columns(ws_path):
    code, out, _ = run(ws_path, "growth-accounting", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert list(rows[0]) == [
        "period",
        "revenue",
        "new",
        "expansion",
        "contraction",
        "churned",
        "resurrected",
        "retained",
        "quick_ratio",
        "complete",
        "comparable",
    ]
    prev = 0.0
    for r in rows:
        change = r["new"] + r["expansion"] + r["resurrected"] - r["contraction"] - r["churned"]
        assert r["revenue"] - prev == pytest.approx(change, abs=1e-6)
        prev = r["revenue"]
    code, out, _ = run(ws_path, "growth-sources", "--format", "json")
    assert list(json.loads(out)[0]) == [
        "period",
        "source",
        "change",
        "customers",
        "spend",
        "cost_per_revenue_unit",
        "complete",
        "comparable",
    ]


def test_measure_customers(ws_path):
    code, out, _ = run(ws_path, "growth-accounting", "--measure", "customers", "--format", "json")
    assert code == 0
    assert "customers" in json.loads(out)[0]
    code, _, err = run(ws_path, "growth-sources", "--measure", "customers")
    assert code != 0
    assert "--measure applies to growth-accounting only" in err


def test_from_to_and_csv(ws_path):
    code, out, _ = run(
        ws_path,
        "growth-accounting",
        "--from",
        "2022-04-15",
        "--to",
        "2022-06-30",
        "--format",
        "csv",
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("period,revenue,new")
    assert [line.split(",")[0] for line in lines[1:]] == ["2022-04-01", "2022-05-01", "2022-06-01"]
    # Money is written exactly, to the cent.
    assert all("." in line.split(",")[1] for line in lines[1:])
    assert Decimal(lines[1].split(",")[1]) == Decimal(lines[1].split(",")[1]).quantize(
        Decimal("0.01")
    )


def test_parquet_needs_out_and_writes_a_file(ws_path, tmp_path):
    code, _, err = run(ws_path, "channel-economics", "--format", "parquet")
    assert code != 0
    assert "--out" in err
    target = tmp_path / "channels.parquet"
    code, _, err = run(ws_path, "channel-economics", "--format", "parquet", "--out", str(target))
    assert code == 0, err
    table = pq.read_table(target)
    assert "cac" in table.column_names
    assert table.num_rows > 0


def test_unknown_metric_lists_the_valid_names(ws_path):
    code, _, err = run(ws_path, "churn")
    assert code == 2
    assert "growth-accounting" in err


def test_reversed_dates_are_refused(ws_path):
    code, _, err = run(ws_path, "lifecycle", "--from", "2023-01-01", "--to", "2022-01-01")
    assert code == 2
    assert "Swap the dates" in err


def test_missing_workspace_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["metrics", "lifecycle", "-w", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "No regulars workspace" in result.stderr
    assert "Traceback" not in result.stderr


def _ledger_stored(path: Path) -> bool:
    with Workspace.open(path, read_only=True) as ws:
        return regulars.metrics.MetricContext.from_workspace(ws).ledger_stored()


def test_a_ledger_too_large_for_memory_is_stored_first(tmp_path, monkeypatch):
    """A read-only metric on a book whose ledger would not fit the engine's memory has
    a writer store it first (as the report does); the numbers are the same."""
    import regulars.metrics._common as common

    path = tmp_path / "book"
    ws = Workspace.init(path, currency="EUR")
    simulate(n_customers=60, years=2, seed=5).write(ws)
    ws.close()
    code, small, err = run(path, "growth-accounting", "--format", "csv")
    assert code == 0, err
    assert not _ledger_stored(path)  # small: computed inside the query, nothing written
    monkeypatch.setattr(common, "LEDGER_BYTES_PER_ORDER", 10**12)
    code, large, err = run(path, "growth-accounting", "--format", "csv")
    assert code == 0, err
    assert _ledger_stored(path)
    assert large == small
    with Workspace.open(path, read_only=True) as ws:
        assert not regulars.metrics.MetricContext.from_workspace(ws).ledger_worth_storing()
