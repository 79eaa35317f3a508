"""regulars fit --covariates: effects of the customers' attributes in plain words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.datasets import load_cdnow
from regulars.store import Workspace


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The CDNOW sample, with a channel and a segment per customer (seeded, no effect)."""
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
    ids = sorted(set(tx["customer_id"]))
    rng = np.random.default_rng(15)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "channel": rng.choice(["cold", "referral"], len(ids), p=[0.6, 0.4]),
            "segment": rng.choice(["smb", "enterprise"], len(ids), p=[0.7, 0.3]),
        }
    )
    ws.con.register("src", pa.Table.from_pandas(orders, preserve_index=False))
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue) "
        "SELECT order_id, customer_id, order_date, CAST(revenue AS DECIMAL(18,2)) FROM src"
    )
    ws.con.register("cust", pa.Table.from_pandas(customers, preserve_index=False))
    ws.con.execute(
        "INSERT INTO customers (customer_id, channel, segment) "
        "SELECT customer_id, channel, segment FROM cust"
    )
    ws.close()
    return tmp_path / "shop"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_fit_prints_covariate_effects(shop: Path) -> None:
    code, out, err = run(
        "fit",
        "--model",
        "bgnbd",
        "--holdout",
        "none",
        "--covariates",
        "channel_kind,segment",
        "-w",
        str(shop),
    )
    assert code == 0, err
    out = " ".join(out.split())  # the console wraps long lines
    assert "Covariates" in out
    assert "compared with channel_kind=cold, segment=smb" in out
    # the report's wording: one sentence per level, compared with the reference
    assert "Referred customers buy " in out
    assert "than cold ones." in out or "as cold ones" in out
    assert "Customers with segment = enterprise " in out
    # random labels: no clear difference in dropping out is the honest answer
    assert "no clear difference" in out
    # the effects are kept with the stored fit, for the report
    from regulars.models import latest_fit

    with Workspace.open(shop) as ws:
        fit = latest_fit(ws)
    assert fit is not None
    assert fit.covariates is not None
    assert fit.covariates["references"] == {"channel_kind": "cold", "segment": "smb"}
    assert fit.covariates["columns"] == ["channel_kind", "segment"]
    terms = {(e["process"], e["term"]) for e in fit.covariates["effects"]}
    assert ("purchase", "channel_kind=referral") in terms
    assert ("dropout", "segment=enterprise") in terms
    assert all("text" not in e for e in fit.covariates["effects"])


def test_fit_json_has_the_effects(shop: Path) -> None:
    code, out, err = run(
        "fit",
        "--model",
        "bgnbd",
        "--holdout",
        "none",
        "--covariates",
        "segment",
        "--json",
        "-w",
        str(shop),
    )
    assert code == 0, err
    effects = json.loads(out)["covariates"]
    assert effects["references"] == {"segment": "smb"}
    rows = {(e["process"], e["term"]) for e in effects["effects"]}
    assert rows == {("purchase", "segment=enterprise"), ("dropout", "segment=enterprise")}
    for e in effects["effects"]:
        assert e["lower_95"] < e["ratio"] < e["upper_95"]
    # the same sentences as the terminal's, one per level
    assert len(effects["sentences"]) == 1
    assert "segment = enterprise" in effects["sentences"][0]
    assert "smb" in effects["sentences"][0]


def test_unknown_covariate_lists_the_columns(shop: Path) -> None:
    code, _, err = run("fit", "--holdout", "none", "--covariates", "region", "-w", str(shop))
    assert code != 0
    assert "Unknown covariate 'region'" in err
    assert "'segment'" in err
