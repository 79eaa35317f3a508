"""fit_workspace / score_workspace on a workspace holding the CDNOW sample as orders."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from regulars.datasets import load_cdnow
from regulars.errors import RegularsError, WorkspaceError
from regulars.models import BetaGeoModel
from regulars.models._rfm import rfm_summary
from regulars.models._workspace import (
    FIT_TABLE,
    fit_workspace,
    latest_fit,
    model_transactions,
    score_workspace,
)
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


def cdnow_workspace(path: Path, *, extra: bool = True) -> Workspace:
    """A workspace whose orders are the CDNOW sample (plus rows the models must skip)."""
    ws = Workspace.init(path)
    tx = load_cdnow("sample")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(tx))],
            "customer_id": tx["customer_id"],
            "order_date": tx["order_date"],
            "revenue": tx["revenue"],
        }
    )
    ws.con.register("src", pa.Table.from_pandas(orders, preserve_index=False))
    # The models skip orders without revenue; CDNOW has a few $0 purchases, which count
    # as purchases in the papers, so they get one cent here.
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue) "
        "SELECT order_id, customer_id, order_date, "
        "CAST(greatest(revenue, 0.01) AS DECIMAL(18,2)) FROM src"
    )
    ws.con.unregister("src")
    if extra:
        # Refunded, cancelled and zero orders are not purchases; a partial refund lowers
        # the spend of a paid order (customer 1's repeat order on 1997-08-02: 14.96).
        ws.con.execute(
            """INSERT INTO orders (order_id, customer_id, order_date, revenue, status) VALUES
            ('x1', '3', TIMESTAMP '1997-05-01', 50.00, 'refunded'),
            ('x2', '4', TIMESTAMP '1997-05-02', 20.00, 'cancelled'),
            ('x3', '5', TIMESTAMP '1997-05-03', 0.00, 'paid'),
            ('x4', 'ghost', TIMESTAMP '1997-06-01', 10.00, 'refunded')"""
        )
        ws.con.execute(
            "UPDATE orders SET refund_amount = 4.96 WHERE customer_id = '1' "
            "AND order_date = TIMESTAMP '1997-08-02'"
        )
    return ws


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = cdnow_workspace(tmp_path / "shop")
    yield workspace
    workspace.close()


def test_model_transactions_keep_paid_orders_net_of_refunds(ws: Workspace) -> None:
    tx = model_transactions(ws).to_pyarrow().to_pandas()
    assert len(tx) == 6919
    assert "ghost" not in set(tx["customer_id"])
    one = tx[tx["customer_id"] == "1"].sort_values("order_date")
    assert one["net_revenue"].round(2).tolist() == [29.33, 29.73, 10.00, 26.48]


def test_fit_reproduces_cdnow_on_the_calibration_period(ws: Workspace) -> None:
    fit = fit_workspace(ws, model="bgnbd", holdout=dt.date(1997, 9, 30))
    check = fit.holdout
    assert check is not None
    # The holdout check fits on the calibration period: the published BG/NBD.
    assert check.customers == 2357
    assert check.actual_total == 1882
    assert check.duration == 39.0
    assert check.bins["customers"].sum() == 2357
    assert check.bins["frequency"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert check.quality in ("good", "fair", "poor")
    assert f"{check.actual_total:,.0f}" in check.verdict
    # The tracking curve ends at the totals.
    assert check.tracking["actual"].iloc[-1] == 1882
    assert check.tracking["predicted"].iloc[-1] == pytest.approx(check.predicted_total)
    assert check.tracking["t"].iloc[-1] == 39.0
    assert check.tracking["actual"].is_monotonic_increasing
    # Customers without a repeat purchase in calibration bought 0.2367 times on average
    # in the holdout; BG/NBD predicts 0.2251 (the BTYD walkthrough's conditional
    # expectation table).
    zero = check.bins.iloc[0]
    assert zero["actual"] == pytest.approx(0.2367, abs=5e-5)
    assert zero["predicted"] == pytest.approx(0.2251, abs=5e-5)
    # The stored fit uses the whole history up to the last order.
    assert fit.observation_end == dt.date(1998, 6, 30)
    assert fit.n_customers == 2357
    assert fit.time_unit == "W"
    assert set(fit.purchase.params_) == {"r", "alpha", "a", "b"}
    assert fit.spend is not None
    assert set(fit.spend.params_) == {"p", "q", "v"}


def test_calibration_fit_matches_published_values(ws: Workspace) -> None:
    tx = model_transactions(ws)
    rfm = rfm_summary(
        tx, monetary_value_col="net_revenue", observation_end="1997-09-30", time_unit="W"
    )
    params = BetaGeoModel().fit(rfm).params_
    assert params["r"] == pytest.approx(0.243, abs=5e-4)
    assert params["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert params["a"] == pytest.approx(0.793, abs=5e-4)
    assert params["b"] == pytest.approx(2.426, abs=5e-4)


def test_fit_is_stored_and_restored(ws: Workspace) -> None:
    fit = fit_workspace(ws, model="bgnbd", holdout="none")
    assert fit.holdout is None
    rows = ws.con.execute(
        f"SELECT model, kind, CAST(params AS VARCHAR), n_customers, time_unit, observation_end "
        f"FROM {FIT_TABLE} ORDER BY kind"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("bgnbd", "purchase"), ("gamma-gamma", "spend")]
    assert json.loads(rows[0][2]) == pytest.approx(fit.purchase.params_, rel=1e-15)
    assert rows[0][3] == 2357
    assert rows[0][4] == "W"
    assert rows[0][5] == dt.date(1998, 6, 30)
    again = latest_fit(ws)
    assert again is not None
    assert again.fit_id == fit.fit_id
    assert again.purchase.params_ == fit.purchase.params_
    np.testing.assert_allclose(again.purchase._cov_log, fit.purchase._cov_log, rtol=1e-12)
    assert again.spend is not None
    assert again.spend.params_ == fit.spend.params_  # type: ignore[union-attr]
    keys = pd.DataFrame({"frequency": [0.0, 3.0], "recency": [0.0, 20.0], "T": [30.0, 40.0]})
    np.testing.assert_array_equal(
        again.purchase.probability_alive(keys), fit.purchase.probability_alive(keys)
    )


def test_score_writes_scores_and_fits_first(ws: Workspace, tmp_path: Path) -> None:
    steps: list[str] = []
    result = score_workspace(ws, out=tmp_path / "scores.parquet", progress=steps.append)
    assert result.refitted
    assert result.n_customers == 2357
    assert any("Scoring" in s for s in steps)
    scores = ws.table("scores").to_pyarrow().to_pandas()
    assert list(scores.columns) == SCORE_COLUMNS
    assert len(scores) == 2357
    assert scores["customer_id"].is_unique
    assert scores["p_alive"].between(0, 1).all()
    assert (scores["expected_orders_365d"] >= scores["expected_orders_90d"]).all()
    assert (scores["clv"] >= 0).all()
    # No stored fit: auto chose among the candidates by log-likelihood (no holdout).
    assert result.fit.selection is not None
    assert result.fit.selection.method == "log_likelihood"
    assert set(scores["model"]) == {f"{result.fit.model}+gamma-gamma"}
    assert scores["scored_at"].nunique() == 1
    # Scored on the whole history, in weeks: a 1 Jan 1997 first purchase has T = 77.86.
    first = scores.set_index("customer_id").loc["3"]
    assert first["T"] == pytest.approx((dt.date(1998, 6, 30) - dt.date(1997, 1, 1)).days / 7)
    exported = pq.read_table(tmp_path / "scores.parquet")
    assert exported.num_rows == 2357
    assert exported.column_names == SCORE_COLUMNS
    # 90% parameter-uncertainty intervals around every score (the stored fit keeps its
    # covariance, so the restored models have standard errors)
    for col in ("p_alive", "expected_orders_365d", "clv"):
        assert scores[f"{col}_low"].notna().all(), col
        assert (scores[f"{col}_low"] <= scores[col] + 1e-9).all(), col
        assert (scores[col] <= scores[f"{col}_high"] + 1e-9).all(), col
    assert (scores["clv_high"] > scores["clv_low"]).mean() > 0.99
    # A second run reuses the stored fit.
    again = score_workspace(ws, out=tmp_path / "scores.csv")
    assert not again.refitted
    assert again.fit.fit_id == result.fit.fit_id
    assert (tmp_path / "scores.csv").read_text().splitlines()[0].startswith("customer_id,")


def test_score_matches_the_restored_models(ws: Workspace) -> None:
    fit = fit_workspace(ws, model="bgnbd", holdout="none")
    score_workspace(ws)
    scores = ws.table("scores").to_pyarrow().to_pandas()
    np.testing.assert_allclose(
        scores["p_alive"], fit.purchase.probability_alive(scores), rtol=1e-12
    )
    np.testing.assert_allclose(
        scores["expected_orders_90d"],
        fit.purchase.expected_purchases(scores, t=90 / 7),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        scores["expected_spend"],
        fit.spend.expected_spend(scores),
        rtol=1e-12,  # type: ignore[union-attr]
    )


def test_json_export(ws: Workspace, tmp_path: Path) -> None:
    score_workspace(ws, out=tmp_path / "s.json")
    records = json.loads((tmp_path / "s.json").read_text())
    assert len(records) == 2357
    assert set(records[0]) == set(SCORE_COLUMNS)


def test_errors(tmp_path: Path, ws: Workspace) -> None:
    empty = Workspace.init(tmp_path / "empty")
    with pytest.raises(WorkspaceError, match="no paid orders"):
        fit_workspace(empty)
    empty.close()
    with pytest.raises(RegularsError, match="outside the order history"):
        fit_workspace(ws, holdout=dt.date(2001, 1, 1))
    with pytest.raises(RegularsError, match="Unknown purchase model 'xyz'"):
        fit_workspace(ws, model="xyz")
    with pytest.raises(RegularsError, match="Cannot tell the export format"):
        score_workspace(ws, out=tmp_path / "scores.txt")


@pytest.mark.slow
def test_auto_holdout_and_config(tmp_path: Path) -> None:
    ws = cdnow_workspace(tmp_path / "cfg", extra=False)
    (ws.path / "regulars.toml").write_text(
        '[models]\npurchase_model = "pnbd"\nspend_model = "none"\ntime_unit = "D"\n'
    )
    ws.close()
    ws = Workspace.open(tmp_path / "cfg")
    try:
        fit = fit_workspace(ws)
        assert fit.model == "pnbd"
        assert fit.spend is None
        assert fit.time_unit == "D"
        # auto: the last 30% of the 545 days (164 days from 18 Jan 1998), moved to the
        # first of the next month since that keeps it within 25-35% (149 / 545 = 27%).
        assert fit.holdout is not None
        assert fit.holdout.calibration_end == dt.date(1998, 1, 31)
        score_workspace(ws)
        scores = ws.table("scores").to_pyarrow().to_pandas()
        assert scores["clv"].isna().all()
        assert set(scores["model"]) == {"pnbd"}
    finally:
        ws.close()


@pytest.mark.slow
def test_bgbb_uses_whole_periods(ws: Workspace) -> None:
    fit = fit_workspace(ws, model="bgbb", spend="none", holdout="none")
    assert set(fit.purchase.params_) == {"alpha", "beta", "gamma", "delta"}
    score_workspace(ws)
    scores = ws.table("scores").to_pyarrow().to_pandas()
    assert (scores["T"] == np.floor(scores["T"])).all()
    assert (scores["recency"] == np.floor(scores["recency"])).all()
    assert scores["p_alive"].between(0, 1).all()


def test_mbgcnbd_on_the_workspace_chooses_k_and_keeps_it(ws: Workspace) -> None:
    """CDNOW's calibration period: k = 1 and BTYDplus's estimates (docs/models.md)."""
    fit = fit_workspace(ws, model="mbgcnbd", holdout="none", observation_end=dt.date(1997, 9, 30))
    assert fit.purchase.k_ == 1
    assert round(fit.purchase.params_["r"], 2) == 0.52
    assert round(fit.purchase.params_["alpha"], 2) == 6.18
    again = latest_fit(ws)
    assert again is not None
    assert again.model == "mbgcnbd"
    assert again.purchase.k_ == 1
    score_workspace(ws)
    scores = ws.table("scores").to_pyarrow().to_pandas()
    assert scores["p_alive_low"].notna().all()
    assert (scores["p_alive_low"] <= scores["p_alive"] + 1e-12).all()
    # no (x, T) shortcut for the MBG/CNBD-k: no order or CLV intervals, NULL not NaN
    assert scores["expected_orders_365d_low"].isna().all()
    assert scores["clv_low"].isna().all()
