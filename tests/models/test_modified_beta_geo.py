"""MBG/NBD: CDNOW estimates, the likelihood against a direct formula, predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln

from regulars.models import BetaGeoModel, ModifiedBetaGeoModel
from regulars.models._base import compress


@pytest.fixture(scope="module")
def fitted(cdnow_rounded: pd.DataFrame) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel().fit(cdnow_rounded)


def _direct_log_likelihood(params: dict[str, float], data: pd.DataFrame) -> float:
    """Batislam, Denizel and Filiztekin (2007), eq. (4), evaluated row by row."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, big_t = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    alive = betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
    died = betaln(a + 1, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + np.logaddexp(alive, died)
    return float(ll.sum())


def test_params_against_btydplus_and_lifetimes(fitted: ModifiedBetaGeoModel) -> None:
    """r=0.525, alpha=6.183, a=0.891, b=1.614 on the CDNOW summary.

    The values lifetimes' tests take from BTYDplus (mbgnbd.EstimateParameters).
    """
    assert {k: round(v, 3) for k, v in fitted.params_.items()} == {
        "r": 0.525,
        "alpha": 6.183,
        "a": 0.891,
        "b": 1.614,
    }


def test_log_likelihood_is_the_direct_formula(
    fitted: ModifiedBetaGeoModel, cdnow_rounded: pd.DataFrame
) -> None:
    direct = _direct_log_likelihood(fitted.params_, cdnow_rounded)
    assert fitted.log_likelihood_ == pytest.approx(direct, rel=1e-12)
    assert round(fitted.log_likelihood_, 2) == -9582.13
    # a slightly better fit than the BG/NBD's -9582.43 with the same number of parameters
    assert fitted.log_likelihood_ > BetaGeoModel().fit(cdnow_rounded).log_likelihood_


def test_gradient_matches_finite_differences(cdnow_rounded: pd.DataFrame) -> None:
    model = ModifiedBetaGeoModel()
    stats = model._make_stats(compress(model._read(cdnow_rounded, "t", weighted=True)))
    z = np.log([0.6, 7.0, 0.9, 1.5])
    _, grad = model._log_likelihood(z, stats)
    h = 1e-6
    numeric = [
        (model._log_likelihood(z + h * e, stats)[0] - model._log_likelihood(z - h * e, stats)[0])
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_customers_without_repeat_purchases_may_be_dead(fitted: ModifiedBetaGeoModel) -> None:
    p = fitted.probability_alive({"frequency": [0, 0], "recency": [0, 0], "T": [1.0, 38.86]})
    r, alpha, a, b = fitted._theta()
    expected = 1.0 / (1.0 + a / b * ((alpha + np.array([1.0, 38.86])) / alpha) ** r)
    np.testing.assert_allclose(p, expected, rtol=1e-13)
    assert p[1] < p[0] < 1.0


def test_conditional_expectation_close_to_bgnbd(fitted: ModifiedBetaGeoModel) -> None:
    """The paper example (x=2, t_x=30.43, T=38.86, 39 weeks) is 1.226 under BG/NBD."""
    got = fitted.expected_purchases({"frequency": 2, "recency": 30.43, "T": 38.86}, t=39)[0]
    assert got == pytest.approx(1.226, rel=0.05)


def test_new_customer_expectation_is_the_limit_of_the_conditional(
    fitted: ModifiedBetaGeoModel,
) -> None:
    """A customer just acquired (x = 0, T = 0) is a new customer."""
    t = np.array([1.0, 10.0, 100.0])
    cond = fitted.expected_purchases({"frequency": 0, "recency": 0, "T": np.zeros(3)}, t=t)
    np.testing.assert_allclose(cond, fitted.expected_purchases_new_customer(t), rtol=1e-12)


def test_pmf_sums_to_one_and_matches_the_mean(fitted: ModifiedBetaGeoModel) -> None:
    n = np.arange(0, 600)
    pmf = fitted.probability_of_purchases(n, 39.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
    assert float(n @ pmf) == pytest.approx(fitted.expected_purchases_new_customer(39.0), rel=1e-8)
