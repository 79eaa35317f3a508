"""sBG: the two cohorts of Fader and Hardie (2007) and DERL (Fader and Hardie 2010)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from regulars.errors import SchemaError
from regulars.models import ShiftedBetaGeoModel


@pytest.mark.parametrize(
    ("segment", "alpha", "beta", "ll"),
    [("regular", 0.704, 1.182, -1680.3), ("highend", 0.668, 3.806, -1611.2)],
)
def test_params_against_fader_hardie_2007(
    sbg_counts: pd.DataFrame, segment: str, alpha: float, beta: float, ll: float
) -> None:
    """Fit on years 0..7 (Fader and Hardie 2007, "How to project customer retention",
    section 4): regular alpha=0.704, beta=1.182, LL=-1680.3; high end 0.668, 3.806, -1611.2."""
    model = ShiftedBetaGeoModel().fit_survivors(sbg_counts[segment][:8])
    assert round(model.params_["alpha"], 3) == alpha
    assert round(model.params_["beta"], 3) == beta
    assert round(model.log_likelihood_, 1) == ll


def test_derl_table_3_of_fader_hardie_2010() -> None:
    """DERL at d = 10% after 0..4 renewals (Fader and Hardie 2010, "Customer-base
    valuation in a contractual setting", Marketing Science 29(1), Table 3).

    Both segments have a mean churn probability of 0.2; case 1 has polarization 0.05
    (alpha=3.80, beta=15.20), case 2 polarization 0.75 (alpha=1/15, beta=4/15, printed
    as 0.067 and 0.267).
    """
    model = ShiftedBetaGeoModel()
    model.params_ = {"alpha": 3.80, "beta": 15.20}
    got = model.expected_residual_lifetime(0.1, renewals=np.arange(5))
    np.testing.assert_array_equal(np.round(got, 2), [3.31, 3.45, 3.59, 3.72, 3.84])
    model.params_ = {"alpha": 1 / 15, "beta": 4 / 15}
    got = model.expected_residual_lifetime(0.1, renewals=np.arange(5))
    np.testing.assert_array_equal(np.round(got, 2), [7.68, 9.46, 9.86, 10.06, 10.19])


@pytest.mark.parametrize("segment", ["regular", "highend"])
def test_derl_is_the_hypergeometric_formula(sbg_counts: pd.DataFrame, segment: str) -> None:
    """DERL = (beta+n-1)/(alpha+beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d)), eq. (6)."""
    model = ShiftedBetaGeoModel().fit_survivors(sbg_counts[segment][:8])
    a, b = model.params_["alpha"], model.params_["beta"]
    for d in (0.05, 0.1, 0.5):
        n = np.arange(1, 8)
        formula = (b + n - 1) / (a + b + n - 1) * hyp2f1(1, b + n, a + b + n, 1 / (1 + d))
        np.testing.assert_allclose(
            model.expected_residual_lifetime(d, renewals=n - 1), formula, rtol=1e-12
        )


def test_derl_small_discount_rate() -> None:
    """Slowly converging series: d = 0.001 against the sum of the first 200,000 terms."""
    model = ShiftedBetaGeoModel()
    model.params_ = {"alpha": 2.5, "beta": 1.5}
    j = np.arange(200_000)
    terms = np.exp(np.cumsum(np.log((1.5 + j) / (4.0 + j))) - j * np.log1p(0.001))
    assert model.expected_residual_lifetime(0.001) == pytest.approx(terms.sum(), rel=1e-12)


def test_survival_and_retention(sbg_counts: pd.DataFrame) -> None:
    model = ShiftedBetaGeoModel().fit_survivors(sbg_counts["regular"][:8])
    t = np.arange(1, 13)
    survival = model.survival(np.arange(13))
    assert survival[0] == 1.0
    np.testing.assert_allclose(survival[1:] / survival[:-1], model.retention_rate(t), rtol=1e-13)
    assert np.all(np.diff(model.retention_rate(t)) > 0)  # the sorting effect
    # the projection of year 12 is within 3% of the observed 173 (FH 2007, Figure 3)
    assert 1000 * survival[12] == pytest.approx(173, rel=0.03)


def test_fit_on_subscriber_rows_equals_fit_on_counts(sbg_counts: pd.DataFrame) -> None:
    counts = sbg_counts["regular"][:8].to_numpy()
    by_counts = ShiftedBetaGeoModel().fit_survivors(counts)
    rows = pd.DataFrame(
        {
            "periods": np.arange(1, 9),
            "churned": [1] * 7 + [0],
            "weight": np.append(counts[:-1] - counts[1:], counts[-1]),
        }
    )
    by_rows = ShiftedBetaGeoModel().fit(rows)
    assert by_rows.params_ == pytest.approx(by_counts.params_, rel=1e-12)
    assert by_rows.log_likelihood_ == pytest.approx(by_counts.log_likelihood_, rel=1e-12)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ([1000], "at least two"),
        ([1000, 1200, 900], "must not increase"),
        ([0, 0], "counts\\[0\\] > 0"),
    ],
)
def test_bad_counts(counts: list[int], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        ShiftedBetaGeoModel().fit_survivors(counts)


def test_bad_rows_and_arguments(sbg_counts: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="churned other than 0 or 1"):
        ShiftedBetaGeoModel().fit({"periods": [1, 2], "churned": [1, 2]})
    with pytest.raises(SchemaError, match="Existing columns: 'periods'"):
        ShiftedBetaGeoModel().fit({"periods": [1, 2]})
    model = ShiftedBetaGeoModel().fit_survivors(sbg_counts["regular"][:8])
    with pytest.raises(ValueError, match="discount_rate must be > 0"):
        model.expected_residual_lifetime(0.0)
    with pytest.raises(ValueError, match="t >= 1"):
        model.retention_rate(0)
