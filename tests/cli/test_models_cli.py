"""`regulars fit` and `regulars score`, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.datasets import load_cdnow
from regulars.store import Workspace

SCORE_COLUMNS = [
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "p_alive",
    "expected_orders_90d",
    "expected_orders_365d",
    "expected_spend",
    "clv",
    "model",
    "scored_at",
]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A workspace whose orders are the CDNOW sample ($0 purchases get one cent)."""
    ws = Workspace.init(tmp_path / "shop")
    tx = load_cdnow("sample")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(tx))],
            "customer_id": tx["customer_id"],
            "order_date": tx["order_date"],
            "revenue": tx["revenue"].clip(lower=0.01),
        }
    )
    ws.con.register("src", pa.Table.from_pandas(orders, preserve_index=False))
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue) "
        "SELECT order_id, customer_id, order_date, CAST(revenue AS DECIMAL(18,2)) FROM src"
    )
    ws.close()
    return tmp_path / "shop"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_fit_prints_parameters_holdout_and_verdict(shop: Path) -> None:
    code, out, err = run("fit", "--model", "bgnbd", "--holdout", "1997-09-30", "-w", str(shop))
    assert code == 0, err
    assert "BG/NBD fitted on 2,357 customers" in out
    for name in ("r", "alpha", "a", "b", "p", "q", "v"):
        assert f"│ {name} " in out
    assert "Log-likelihood" in out
    assert "Holdout check" in out
    assert "1,882 in total" in out
    # CDNOW's BG/NBD underestimates the holdout by 12%: a fair fit.
    assert "Fair fit: the model underestimated holdout purchases by 12%" in out
    assert "regulars score" in out


def test_fit_json(shop: Path) -> None:
    code, out, err = run("fit", "--json", "--holdout", "none", "--model", "pnbd", "-w", str(shop))
    assert code == 0, err
    data = json.loads(out)
    assert data["model"] == "pnbd"
    assert set(data["params"]) == {"r", "alpha", "s", "beta"}
    assert data["n_customers"] == 2357
    assert data["time_unit"] == "W"
    assert data["holdout"] is None
    assert set(data["spend"]["params"]) == {"p", "q", "v"}


def test_score_exports_and_fits_first(shop: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "scores.parquet"
    code, out, err = run("score", "--out", str(out_file), "-w", str(shop))
    assert code == 0, err
    assert "No stored fit" in out
    assert "Scored 2,357 customers" in out
    assert "Most valuable customers" in out
    assert pq.read_table(out_file).column_names == SCORE_COLUMNS
    code, out, err = run(
        "score", "--out", str(tmp_path / "s.txt"), "--format", "csv", "-w", str(shop)
    )
    assert code == 0, err
    assert "No stored fit" not in out
    assert (tmp_path / "s.txt").read_text().startswith("customer_id,frequency")


def test_errors_are_one_clear_line(tmp_path: Path, shop: Path) -> None:
    code, _, _ = run("init", str(tmp_path / "empty"))
    assert code == 0
    code, out, err = run("fit", "-w", str(tmp_path / "empty"))
    assert code == 1
    assert "no paid orders" in err
    assert "Traceback" not in out + err
    code, _, err = run("fit", "--holdout", "soon", "-w", str(shop))
    assert code == 2
    assert "'soon' is not a date" in err
    code, _, err = run("score", "--format", "csv", "-w", str(shop))
    assert code == 2
    assert "--format needs --out" in err
    code, _, err = run("score", "--out", str(tmp_path / "x.xlsx"), "-w", str(shop))
    assert code == 1
    assert "Cannot tell the export format" in err


def test_help_has_examples() -> None:
    for cmd in ("fit", "score"):
        result = CliRunner().invoke(app, [cmd, "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.output
