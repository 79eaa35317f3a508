"""Gamma-Gamma: CDNOW spend of the repeat buyers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

from regulars.errors import SchemaError
from regulars.models import GammaGammaModel


@pytest.fixture(scope="module")
def fitted(cdnow_cbs: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow_cbs)


def test_params_against_fader_hardie_lee_2005(fitted: GammaGammaModel) -> None:
    """p=6.25, q=3.74, v=15.44 on CDNOW's 946 repeat buyers (Fader, Hardie and Lee 2005,
    "RFM and CLV", JMR 42(4); Fader and Hardie 2013, "The Gamma-Gamma model of monetary
    value").  The mean spends of the full-precision summary are used; rounded to cents
    they give v=15.45."""
    assert {k: round(v, 2) for k, v in fitted.params_.items()} == {"p": 6.25, "q": 3.74, "v": 15.44}
    assert fitted.n_customers_ == 946


def test_log_likelihood_is_the_density(fitted: GammaGammaModel, cdnow_cbs: pd.DataFrame) -> None:
    """Fader and Hardie (2013), eq. (2), evaluated row by row."""
    p, q, v = fitted._theta()
    rows = cdnow_cbs[cdnow_cbs["frequency"] > 0]
    x, m = rows["frequency"].to_numpy(dtype=float), rows["monetary_value"].to_numpy(dtype=float)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )
    assert fitted.log_likelihood_ == pytest.approx(ll.sum(), rel=1e-12)


def test_expected_spend_hardie_spreadsheet(
    fitted: GammaGammaModel, cdnow_cbs: pd.DataFrame
) -> None:
    """The first ten CDNOW customers: 24.65, 18.91, 35.17 (x=0: the population mean), ...

    Hardie's Gamma-Gamma spreadsheet (brucehardie.com/notes/025), as transcribed in
    lifetimes' tests.
    """
    got = fitted.expected_spend(cdnow_cbs.head(10))
    published = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    np.testing.assert_allclose(got, published, atol=0.006)


def test_gradient_matches_finite_differences(cdnow_cbs: pd.DataFrame) -> None:
    model = GammaGammaModel()
    captured: dict[str, object] = {}

    def grab(stats: object, n: float, k: int) -> GammaGammaModel:
        captured["stats"] = stats
        return model

    model._fit_stats = grab  # type: ignore[method-assign]
    model.fit(cdnow_cbs)
    stats = captured["stats"]
    z = np.log([5.0, 3.0, 20.0])
    _, grad = model._log_likelihood(z, stats)
    h = 1e-6
    numeric = [
        (model._log_likelihood(z + h * e, stats)[0] - model._log_likelihood(z - h * e, stats)[0])
        / (2 * h)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_customers_without_repeat_purchases_are_ignored(
    fitted: GammaGammaModel, cdnow_cbs: pd.DataFrame
) -> None:
    buyers = cdnow_cbs[cdnow_cbs["frequency"] > 0]
    assert GammaGammaModel().fit(buyers).params_ == fitted.params_


def test_spend_must_be_positive_for_repeat_buyers() -> None:
    rows = pd.DataFrame({"frequency": [2, 1, 0], "monetary_value": [10.0, 0.0, 0.0]})
    with pytest.raises(SchemaError, match=r"1 customer .* monetary_value <= 0 \(e.g. row 1"):
        GammaGammaModel().fit(rows)


def test_infinite_mean_spend_is_an_error() -> None:
    model = GammaGammaModel()
    model.params_ = {"p": 0.5, "q": 0.8, "v": 10.0}
    with pytest.raises(SchemaError, match="mean spend is infinite"):
        model.expected_spend({"frequency": [0, 1], "monetary_value": [0.0, 20.0]})
    assert model.expected_spend({"frequency": [3], "monetary_value": [20.0]})[0] == pytest.approx(
        0.5 * (10 + 60) / (1.5 + 0.8 - 1)
    )


def test_no_repeat_buyers() -> None:
    with pytest.raises(SchemaError, match="no customer with frequency >= 1"):
        GammaGammaModel().fit({"frequency": [0, 0], "monetary_value": [0.0, 0.0]})
