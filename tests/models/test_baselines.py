"""Naive baselines: oracle against plain pandas, and the model beats them on CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regulars.models import BetaGeoModel, baseline_comparison, naive_forecasts


@pytest.fixture(scope="module")
def cal_hold(cdnow_cbs: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "frequency_cal": cdnow_cbs["frequency"],
            "recency_cal": cdnow_cbs["recency"],
            "T_cal": cdnow_cbs["T"],
            "frequency_holdout": cdnow_cbs["frequency_holdout"],
            "duration_holdout": 39.0,
            "monetary_value_cal": cdnow_cbs["monetary_value"],
            "monetary_value_holdout": np.where(
                cdnow_cbs["frequency_holdout"] > 0, rng.gamma(4.0, 9.0, len(cdnow_cbs)), 0.0
            ),
        }
    )


def test_naive_forecasts_against_pandas(cal_hold: pd.DataFrame) -> None:
    got = naive_forecasts(cal_hold, margin=0.3)
    rate = cal_hold["frequency_cal"] / cal_hold["T_cal"]
    np.testing.assert_allclose(got["past_rate_orders"], rate * 39.0)
    buyers = cal_hold[cal_hold["frequency_cal"] > 0]
    average = (buyers["monetary_value_cal"] * buyers["frequency_cal"]).sum() / buyers[
        "frequency_cal"
    ].sum()
    ticket = cal_hold["monetary_value_cal"].where(cal_hold["frequency_cal"] > 0, average)
    np.testing.assert_allclose(got["ticket_frequency_margin"], ticket * rate * 39.0 * 0.3)


def test_comparison_rows_and_the_model_beats_the_past_rate(cal_hold: pd.DataFrame) -> None:
    rfm = cal_hold.rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"}
    )
    model = BetaGeoModel().fit(rfm)
    table = baseline_comparison(model, cal_hold).set_index(["target", "forecast"])
    assert list(table.index) == [
        ("orders", "model"),
        ("orders", "past rate"),
        ("value", "ticket x frequency x margin"),
    ]
    predicted = model.expected_purchases(rfm, t=39.0)
    actual = cal_hold["frequency_holdout"].to_numpy()
    assert table.loc[("orders", "model"), "mae"] == pytest.approx(np.abs(predicted - actual).mean())
    naive_mae = table.loc[("orders", "past rate"), "mae"]
    assert table.loc[("orders", "past rate"), "mae_vs_model"] == pytest.approx(
        naive_mae / table.loc[("orders", "model"), "mae"]
    )
    # on CDNOW the BG/NBD predicts the holdout better than "keep your past rate"
    assert table.loc[("orders", "past rate"), "mae_vs_model"] > 1.0
    assert table.loc[("orders", "past rate"), "bias"] > table.loc[("orders", "model"), "bias"]
