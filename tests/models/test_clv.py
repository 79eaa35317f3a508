"""customer_lifetime_value: the lifetimes/BTYD definition, exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regulars.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
)


@pytest.fixture(scope="module")
def data(cdnow_cbs: pd.DataFrame) -> pd.DataFrame:
    return cdnow_cbs[["frequency", "recency", "T", "monetary_value"]]


@pytest.fixture(scope="module")
def purchase(data: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(data)


@pytest.fixture(scope="module")
def spend(data: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(data)


def test_definition(purchase: BetaGeoModel, spend: GammaGammaModel, data: pd.DataFrame) -> None:
    """sum_k spend (E[X(k u)] - E[X((k-1) u)]) / (1 + d)^k, k = 1..horizon."""
    rows = data.head(40)
    u, d = 52 / 12, 0.01
    got = customer_lifetime_value(
        purchase, spend, rows, horizon=12, discount_rate=d, time_unit_per_period=u
    )
    value = np.zeros(len(rows))
    for k in range(1, 13):
        step = purchase.expected_purchases(rows, t=k * u) - purchase.expected_purchases(
            rows, t=(k - 1) * u
        )
        value += spend.expected_spend(rows) * step / (1 + d) ** k
    np.testing.assert_allclose(got, value, rtol=1e-12)


def test_without_discount_is_spend_times_expected_purchases(
    purchase: BetaGeoModel, spend: GammaGammaModel, data: pd.DataFrame
) -> None:
    got = customer_lifetime_value(
        purchase, spend, data, horizon=10, discount_rate=0.0, time_unit_per_period=3.9
    )
    expected = spend.expected_spend(data) * purchase.expected_purchases(data, t=39.0)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_without_spend_model_counts_discounted_purchases(
    purchase: BetaGeoModel, data: pd.DataFrame
) -> None:
    got = customer_lifetime_value(
        purchase, None, data[["frequency", "recency", "T"]], horizon=1, discount_rate=0.1
    )
    np.testing.assert_allclose(got, purchase.expected_purchases(data, t=1.0) / 1.1, rtol=1e-12)


def test_each_distinct_customer_is_scored_once(
    purchase: BetaGeoModel, spend: GammaGammaModel, data: pd.DataFrame
) -> None:
    doubled = pd.concat([data, data.iloc[::-1]], ignore_index=True)
    got = customer_lifetime_value(
        purchase, spend, doubled, horizon=3, discount_rate=0.02, time_unit_per_period=4
    )
    single = customer_lifetime_value(
        purchase, spend, data, horizon=3, discount_rate=0.02, time_unit_per_period=4
    )
    np.testing.assert_array_equal(got[: len(data)], single)
    np.testing.assert_array_equal(got[len(data) :], single[::-1])


def test_other_purchase_models(data: pd.DataFrame, spend: GammaGammaModel) -> None:
    pareto = ParetoNBDModel().fit(data)
    value = customer_lifetime_value(
        pareto, spend, data.head(20), horizon=6, discount_rate=0.01, time_unit_per_period=4
    )
    assert np.all(np.isfinite(value))
    assert np.all(value >= 0)
    bgbb = BetaGeoBetaBinomModel()
    bgbb.params_ = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    rows = {"frequency": [0, 3], "recency": [0, 5], "T": [6, 6]}
    value = customer_lifetime_value(bgbb, None, rows, horizon=5, discount_rate=0.1)
    np.testing.assert_allclose(
        value[1],
        sum(
            (bgbb.expected_purchases(rows, t=k) - bgbb.expected_purchases(rows, t=k - 1))[1]
            / 1.1**k
            for k in range(1, 6)
        ),
    )
    with pytest.raises(ValueError, match="whole numbers"):
        customer_lifetime_value(
            bgbb, None, rows, horizon=5, discount_rate=0.1, time_unit_per_period=0.5
        )


def test_bad_arguments(purchase: BetaGeoModel, spend: GammaGammaModel, data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="horizon"):
        customer_lifetime_value(purchase, spend, data, horizon=0, discount_rate=0.01)
    with pytest.raises(ValueError, match="discount_rate"):
        customer_lifetime_value(purchase, spend, data, horizon=1, discount_rate=float("nan"))
    with pytest.raises(Exception, match="Column 'monetary_value' not found"):
        customer_lifetime_value(
            purchase, spend, data[["frequency", "recency", "T"]], horizon=1, discount_rate=0.0
        )
