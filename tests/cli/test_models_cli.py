"""`regulars fit` and `regulars score`, run as a user would."""

from __future__ import annotations

import importlib.util
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
    "p_alive_low",
    "p_alive_high",
    "expected_orders_365d_low",
    "expected_orders_365d_high",
    "clv_low",
    "clv_high",
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
    assert "Naive forecast (each customer repeats their past rate)" in " ".join(out.split())
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


@pytest.fixture(scope="module")
def real_shaped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real-shaped book: bursts, cancellations, refunds, one-time buyers."""
    # The simulators of tests/models (a package of its own; loaded by path).
    spec = importlib.util.spec_from_file_location(
        "_models_simulate", Path(__file__).parents[1] / "models" / "_simulate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim)
    bursty, _ = sim.bursty_book(n=400, seed=21)
    steady, _ = sim.churning_shop(n=400, seed=22)
    orders = pd.concat([bursty, steady], ignore_index=True)
    orders["order_id"] = [f"o{i}" for i in range(len(orders))]
    orders["status"] = None
    orders["refund_amount"] = 0.0
    orders.loc[orders.index % 37 == 0, "status"] = "cancelled"
    orders.loc[orders.index % 53 == 0, "refund_amount"] = orders["revenue"] / 2
    root = tmp_path_factory.mktemp("real") / "shop"
    ws = Workspace.init(root)
    ws.con.register("src", pa.Table.from_pandas(orders, preserve_index=False))
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue, status, refund_amount) "
        "SELECT order_id, customer_id, order_date, CAST(revenue AS DECIMAL(18,2)), status, "
        "CAST(refund_amount AS DECIMAL(18,2)) FROM src"
    )
    ws.close()
    return root


@pytest.mark.parametrize("model", ["auto", "bgnbd", "mbgnbd", "pnbd", "bgbb"])
def test_holdout_runs_on_every_model(real_shaped: Path, model: str) -> None:
    code, out, err = run("fit", "--model", model, "--holdout", "2024-06-30", "-w", str(real_shaped))
    assert code == 0, err
    assert "Holdout check skipped" not in out
    assert "Holdout check: fitted up to 2024-06-30" in out
    assert "Traceback" not in out + err
    if model == "auto":
        assert "Model comparison (fitted on the orders up to 2024-06-30" in out
        assert "Chosen:" in out
    else:
        assert "Model comparison" not in out
    # Every problem comes with what to do.
    assert out.count("Warning:") - out.count("Warning: Regularised") <= out.count("Fix:") + 1


def test_auto_is_the_default_and_prints_the_comparison(real_shaped: Path) -> None:
    code, out, err = run("fit", "--penalizer", "0.001", "-w", str(real_shaped))
    assert code == 0, err
    assert "Model comparison" in out
    for name in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
        assert name in out
    assert "penalizer=0.001" in out
    code, out, err = run("fit", "--json", "--holdout", "none", "-w", str(real_shaped))
    assert code == 0, err
    data = json.loads(out)
    assert data["selection"]["method"] == "log_likelihood"
    assert data["model"] == data["selection"]["chosen"]
    assert isinstance(data["trustworthy"], bool)
    assert data["diagnostics"]["model"]
    code, _, err = run("fit", "--penalizer", "-1", "-w", str(real_shaped))
    assert code == 2
    assert "--penalizer" in err


def test_a_fit_without_information_fails_clearly(tmp_path: Path) -> None:
    root = tmp_path / "oneday"
    ws = Workspace.init(root)
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue) VALUES "
        "('1', 'a', TIMESTAMP '2024-05-01', 10), ('2', 'b', TIMESTAMP '2024-05-01', 20), "
        "('3', 'a', TIMESTAMP '2024-05-01 15:00', 5)"
    )
    ws.close()
    for args in (["fit"], ["fit", "--model", "bgnbd", "--holdout", "none"], ["score"]):
        code, out, err = run(*args, "-w", str(root))
        assert code == 1, out
        assert "do not identify all the parameters" in err
        assert "Traceback" not in out + err
        assert "r=1" not in out


def test_score_prints_what_to_know(real_shaped: Path) -> None:
    code, out, err = run(
        "fit", "--json", "--model", "bgnbd", "--holdout", "none", "-w", str(real_shaped)
    )
    assert code == 0, err
    problems = json.loads(out)["diagnostics"]["problems"]
    assert problems  # the BG/NBD is not to be trusted on this book
    code, out, err = run("score", "-w", str(real_shaped))
    assert code == 0, err
    flat = " ".join(out.split())
    for problem in problems:
        assert " ".join(problem["message"].split()) in flat
        assert " ".join(problem["fix"].split()) in flat
