"""BG/BB: the donations data of Fader, Hardie and Shang (2010)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regulars.errors import SchemaError
from regulars.models import BetaGeoBetaBinomModel
from regulars.models._base import compress

#: BTYD's estimate after its third run (walkthrough, section 5.2, row 3), used in 5.3-5.4.
BTYD_PARAMS = {"alpha": 1.203528, "beta": 0.7497260, "gamma": 0.6567808, "delta": 2.783796}


@pytest.fixture(scope="module")
def fitted(donations: pd.DataFrame) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel().fit(donations)


def _with(params: dict[str, float]) -> BetaGeoBetaBinomModel:
    model = BetaGeoBetaBinomModel()
    model.params_ = dict(params)
    return model


def test_params_against_fader_hardie_shang_2010(fitted: BetaGeoBetaBinomModel) -> None:
    """alpha=1.204, beta=0.750, gamma=0.657, delta=2.783, LL=-33,225.6 (FHS 2010, Table 2)."""
    assert {k: round(v, 3) for k, v in fitted.params_.items()} == {
        "alpha": 1.204,
        "beta": 0.750,
        "gamma": 0.657,
        "delta": 2.783,
    }
    assert round(fitted.log_likelihood_, 1) == -33225.6
    assert fitted.n_customers_ == 11104
    assert fitted.n_distinct_ == 22


def test_probability_alive_table_6(fitted: BetaGeoBetaBinomModel) -> None:
    """P(alive in 2002): 0.11 (no repeat), 0.59 (x=2, last in 1999), 0.93 (x=6).

    Fader, Hardie and Shang (2010), Table 6."""
    got = fitted.probability_alive({"frequency": [0, 2, 6], "recency": [0, 4, 6], "T": [6, 6, 6]})
    np.testing.assert_allclose(got, [0.11, 0.59, 0.93], atol=0.005)


def test_holdout_total_hardie_spreadsheet(
    fitted: BetaGeoBetaBinomModel, donations_holdout: pd.DataFrame
) -> None:
    """Expected transactions 2002-2006 summed over the cohort: 12,884.2 (Hardie's BG/BB
    spreadsheet, "Conditional Expectations (II)"); 13,260 actually happened."""
    expected = fitted.expected_purchases(donations_holdout, t=5) * donations_holdout["custs"]
    assert round(float(expected.sum()), 1) == 12884.2
    assert donations_holdout["x.star"].sum() == 13260


def test_in_sample_histogram_hardie_spreadsheet(fitted: BetaGeoBetaBinomModel) -> None:
    """Expected customers with 0 and with 6 repeat donations in 1996-2001: 3,454.9 and
    1,253.1 (Hardie's BG/BB spreadsheet, "In-Sample Fit")."""
    got = fitted.probability_of_purchases([0, 6], 6) * 11104
    np.testing.assert_allclose(got, [3454.9, 1253.1], atol=0.05)
    assert fitted.probability_of_purchases(np.arange(7), 6).sum() == pytest.approx(1.0, abs=1e-12)


def test_btyd_walkthrough_expectations() -> None:
    """BTYD walkthrough 5.3: bgbb.Expectation(n=10) = 3.179805; conditional expectation
    over 10 years of customer A (x=0) 0.1302169 and B (x=4, t.x=5) 3.627858, n.cal=6."""
    model = _with(BTYD_PARAMS)
    assert model.expected_purchases_new_customer(10) == pytest.approx(3.179805, rel=1e-6)
    got = model.expected_purchases({"frequency": [0, 4], "recency": [0, 5], "T": [6, 6]}, t=10)
    np.testing.assert_allclose(got, [0.1302169, 3.627858], rtol=1e-6)


def test_btyd_walkthrough_holdout_bins(donations_holdout: pd.DataFrame) -> None:
    """BTYD walkthrough 5.4: mean conditional expectation 2002-2006 per calibration frequency."""
    model = _with(BTYD_PARAMS)
    cells = donations_holdout
    expected = model.expected_purchases(cells, t=5) * cells["custs"]
    by_x = (
        pd.DataFrame({"x": cells["frequency"], "e": expected, "n": cells["custs"]})
        .groupby("x")
        .sum()
    )
    got = (by_x["e"] / by_x["n"]).to_numpy()
    published = [0.07286318, 0.3248841, 0.7089417, 1.333666, 2.031203, 2.784482, 3.752500]
    np.testing.assert_allclose(got, published, rtol=1e-6)


def test_btyd_walkthrough_tracking() -> None:
    """BTYD walkthrough 5.4: expected cumulative repeat transactions of the 11,104, 1996-2006."""
    model = _with(BTYD_PARAMS)
    got = 11104 * model.expected_purchases_new_customer(np.arange(1, 12))
    published = [5535.833, 10252.89, 14400.51, 18125.18, 21521.07, 24652.71, 27566.49]
    published += [30296.97, 32870.7, 35308.56, 37627.29]
    np.testing.assert_allclose(got, published, rtol=5e-7)


def test_weights_equal_one_row_per_customer(
    donations: pd.DataFrame, fitted: BetaGeoBetaBinomModel
) -> None:
    rows = donations.loc[donations.index.repeat(donations["weight"].astype(int))].drop(
        columns="weight"
    )
    model = BetaGeoBetaBinomModel().fit(rows)
    for key, value in fitted.params_.items():
        assert model.params_[key] == pytest.approx(value, rel=1e-9)


def test_gradient_matches_finite_differences(donations: pd.DataFrame) -> None:
    model = BetaGeoBetaBinomModel()
    stats = model._make_stats(compress(model._read(donations, "t", weighted=True)))
    z = np.log([1.1, 0.8, 0.7, 2.5])
    _, grad = model._log_likelihood(z, stats)
    h = 1e-6
    numeric = [
        (model._log_likelihood(z + h * e, stats)[0] - model._log_likelihood(z - h * e, stats)[0])
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_long_histories_are_summed_in_chunks(fitted: BetaGeoBetaBinomModel) -> None:
    """Thousands of opportunities (e.g. daily): finite, and the pmf still sums to 1."""
    rows = {"frequency": [0, 3, 1500], "recency": [0, 10, 2999], "T": [5000, 5000, 5000]}
    p = fitted.probability_alive(rows)
    e = fitted.expected_purchases(rows, t=1000)
    assert np.all((p >= 0) & (p <= 1))
    assert np.all(np.isfinite(e))
    assert fitted.probability_of_purchases(np.arange(1201), 1200).sum() == pytest.approx(
        1.0, abs=1e-10
    )


def test_opportunities_must_be_whole_numbers(fitted: BetaGeoBetaBinomModel) -> None:
    with pytest.raises(SchemaError, match="whole number"):
        fitted.probability_alive({"frequency": [1], "recency": [1.5], "T": [6]})
    with pytest.raises(SchemaError, match="frequency > recency"):
        fitted.probability_alive({"frequency": [3], "recency": [2], "T": [6]})
    with pytest.raises(ValueError, match="whole numbers"):
        fitted.expected_purchases({"frequency": [1], "recency": [1], "T": [6]}, t=2.5)
