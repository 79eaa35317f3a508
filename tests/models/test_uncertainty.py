"""Intervals: count coverage on simulated books, parameter intervals, CLV, aggregates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regulars.models import (
    BetaGeoCovariateModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoCNBDModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from regulars.models.uncertainty import (
    aggregate_interval,
    clv_intervals,
    customer_intervals,
    order_intervals,
    parameter_draws,
)

from .simulated_books import simulate_bgnbd

TRUE = (1.0, 4.0, 0.5, 4.0)


def book(seed: int, n: int = 3000) -> pd.DataFrame:
    """Customers seen for 4 to 52 weeks, then a 26-week holdout."""
    return simulate_bgnbd(n, TRUE, seed=seed, t_min=4.0, t_max=52.0, holdout=26.0)


def covered(data: pd.DataFrame, intervals: pd.DataFrame) -> float:
    hold = data["frequency_holdout"]
    inside = (hold >= intervals["orders_low"]) & (hold <= intervals["orders_high"])
    return float(inside.mean())


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_order_intervals_cover_about_90_percent_of_customers(model_cls: type) -> None:
    for seed in (1, 2):
        data = book(seed)
        model = model_cls().fit(data)
        intervals = order_intervals(model, data, t=26.0, level=0.9, n_draws=20, seed=seed)
        assert 0.85 <= covered(data, intervals) <= 0.95
        assert np.all(intervals["orders_low"] <= intervals["orders_high"])
        assert np.all(intervals["orders_low"] == np.floor(intervals["orders_low"]))


def test_a_wider_level_covers_more() -> None:
    data = book(3)
    model = BetaGeoModel().fit(data)
    narrow = order_intervals(model, data, t=26.0, level=0.5, n_draws=10)
    wide = order_intervals(model, data, t=26.0, level=0.98, n_draws=10)
    assert covered(data, narrow) < 0.75 < 0.96 < covered(data, wide)


def test_customer_intervals_bracket_the_estimates(cdnow_rfm: pd.DataFrame) -> None:
    model = ParetoNBDModel().fit(cdnow_rfm)
    frame = customer_intervals(model, cdnow_rfm, t=39.0, n_draws=20)
    np.testing.assert_allclose(frame["probability_alive"], model.probability_alive(cdnow_rfm))
    np.testing.assert_allclose(
        frame["expected_purchases"], model.expected_purchases(cdnow_rfm, t=39.0), rtol=1e-9
    )
    for name in ("probability_alive", "expected_purchases"):
        assert np.all(frame[f"{name}_low"] <= frame[name] + 1e-12)
        assert np.all(frame[name] <= frame[f"{name}_high"] + 1e-12)
    assert np.all((frame["probability_alive_low"] >= 0) & (frame["probability_alive_high"] <= 1))
    assert (frame["expected_purchases_high"] > frame["expected_purchases_low"]).mean() > 0.99


def test_intervals_narrow_with_more_customers() -> None:
    small, large = book(4, n=500), book(4, n=8000)
    probe = pd.DataFrame({"frequency": [2.0], "recency": [20.0], "T": [40.0]})
    widths = []
    for data in (small, large):
        frame = customer_intervals(BetaGeoModel().fit(data), probe, t=26.0, n_draws=100)
        row = frame.iloc[0]
        widths.append(float(row["expected_purchases_high"] - row["expected_purchases_low"]))
    assert widths[1] < widths[0] / 2.5  # about sqrt(16) = 4x narrower


def test_cnbd_and_covariate_models_get_intervals(cdnow_rfm: pd.DataFrame) -> None:
    cnbd = ModifiedBetaGeoCNBDModel(k=2).fit(cdnow_rfm)
    frame = customer_intervals(cnbd, cdnow_rfm.iloc[:300], t=39.0, n_draws=10)
    assert np.all(frame["expected_purchases_low"] <= frame["expected_purchases_high"])
    data = book(5, n=1500).assign(channel=lambda d: np.where(d.index % 3 == 0, "ref", "cold"))
    cov = BetaGeoCovariateModel(covariates=["channel"]).fit(data)
    frame = customer_intervals(cov, data, t=26.0, n_draws=10)
    np.testing.assert_allclose(frame["expected_purchases"], cov.expected_purchases(data, t=26.0))


def test_clv_intervals_reduce_to_the_clv(cdnow_cbs: pd.DataFrame) -> None:
    data = cdnow_cbs[["frequency", "recency", "T", "monetary_value"]]
    purchase = BetaGeoModel().fit(data)
    spend = GammaGammaModel().fit(data[data["monetary_value"] > 0])
    frame = clv_intervals(
        purchase, spend, data, horizon=12, discount_rate=0.01, time_unit_per_period=4.35, n_draws=20
    )
    clv = customer_lifetime_value(
        purchase, spend, data, horizon=12, discount_rate=0.01, time_unit_per_period=4.35
    )
    np.testing.assert_allclose(frame["clv"], clv)
    assert np.all(frame["clv_low"] <= frame["clv"] + 1e-9)
    assert np.all(frame["clv"] <= frame["clv_high"] + 1e-9)


def test_aggregate_interval_holds_the_total() -> None:
    data = book(6)
    model = BetaGeoModel().fit(data)
    agg = aggregate_interval(model, data, t=26.0, spend=np.full(len(data), 20.0), n_draws=30)
    assert agg.orders_low < agg.orders < agg.orders_high
    assert agg.revenue == pytest.approx(20.0 * agg.orders)
    # the count variance alone is a lower bound of the width: sum of Poisson variances
    assert agg.orders_high - agg.orders > 1.64 * np.sqrt(agg.orders) * 0.9


def test_parameter_draws_need_standard_errors() -> None:
    with pytest.raises(ValueError, match="n_draws"):
        parameter_draws(BetaGeoModel().fit(book(7, n=500)), n_draws=1)


@pytest.mark.slow
def test_parameter_and_aggregate_intervals_cover_the_truth() -> None:
    """40 seeded books: the truth is inside the 90% intervals about 90% of the time."""
    probe = pd.DataFrame({"frequency": [0.0, 3.0], "recency": [0.0, 30.0], "T": [40.0, 40.0]})
    truth_model = BetaGeoModel()
    truth_model.params_ = dict(zip(("r", "alpha", "a", "b"), TRUE, strict=True))
    true_e = truth_model.expected_purchases(probe, t=26.0)
    hits_e = np.zeros(2)
    hits_total = 0
    seeds = range(40)
    for seed in seeds:
        data = book(100 + seed, n=2000)
        model = BetaGeoModel().fit(data)
        frame = customer_intervals(model, probe, t=26.0, n_draws=60, seed=seed)
        hits_e += (frame["expected_purchases_low"] <= true_e) & (
            true_e <= frame["expected_purchases_high"]
        )
        agg = aggregate_interval(model, data, t=26.0, n_draws=40, seed=seed)
        hits_total += agg.orders_low <= data["frequency_holdout"].sum() <= agg.orders_high
    assert np.all(hits_e >= 31), hits_e  # 90% of 40 is 36; allow binomial noise
    assert hits_total >= 31, hits_total
