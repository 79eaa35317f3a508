"""Pareto/NBD: CDNOW estimates (BTYD), predictions, and the A0 integral."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import gammaln

from regulars.models import ParetoNBDModel
from regulars.models._base import compress
from regulars.models._pareto_integral import log_pareto_integral


@pytest.fixture(scope="module")
def fitted(cdnow_rfm: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow_rfm)


def test_params_against_btyd(fitted: ParetoNBDModel) -> None:
    """r=0.553, alpha=10.578, s=0.606, beta=11.669 and LL=-9594.976 on the CDNOW summary.

    BTYD walkthrough 3.2 prints LL -9594.976 and the estimates (0.553, 10.580, 0.606,
    11.656..11.658, its optimizer stopping early in the flat beta direction);
    lifetimes' tests (from Fader and Hardie's note) have (0.553, 10.578, 0.606, 11.669).
    """
    assert {k: round(v, 3) for k, v in fitted.params_.items()} == {
        "r": 0.553,
        "alpha": 10.578,
        "s": 0.606,
        "beta": 11.669,
    }
    assert round(fitted.log_likelihood_, 3) == -9594.976


def test_log_likelihood_against_numerical_integration(
    fitted: ParetoNBDModel, cdnow_rfm: pd.DataFrame
) -> None:
    """The likelihood of Fader and Hardie (2005, eq. 22) with its integral by quadpack."""
    r, alpha, s, beta = fitted._theta()
    rows = cdnow_rfm.drop_duplicates().head(60)
    total = 0.0
    for x, t_x, big_t in rows.itertuples(index=False):
        died, _ = quad(
            lambda y, x=x: (alpha + y) ** -(r + x) * (beta + y) ** -(s + 1),
            t_x,
            big_t,
            epsabs=0,
            epsrel=1e-13,
        )
        alive = (alpha + big_t) ** -(r + x) * (beta + big_t) ** -s
        const = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        total += const + np.log(alive + s * died)
    model_ll = sum(
        fitted._log_likelihood(
            np.log(fitted._theta()),
            fitted._make_stats(compress(fitted._read(rows, "t", weighted=True))),
        )[:1]
    )
    assert model_ll == pytest.approx(total, rel=1e-11)


def test_btyd_walkthrough_predictions(fitted: ParetoNBDModel) -> None:
    """BTYD walkthrough 3.3: pnbd.Expectation(52) = 1.473434; customer 1516
    (x=26, t.x=30.857143, T=31): ConditionalExpectedTransactions(52) = 25.45647,
    PAlive = 0.997874.  BTYD's estimate of beta (11.656) differs from the optimum in
    the fourth digit, hence the tolerance of the conditional expectation."""
    row = {"frequency": 26, "recency": 30.857143, "T": 31}
    assert fitted.expected_purchases_new_customer(52) == pytest.approx(1.473434, rel=1e-6)
    assert fitted.expected_purchases(row, t=52)[0] == pytest.approx(25.45647, rel=1e-4)
    assert fitted.probability_alive(row)[0] == pytest.approx(0.997874, abs=2e-6)


def test_btyd_walkthrough_increasing_frequency_paradox(fitted: ParetoNBDModel) -> None:
    """BTYD walkthrough 3.3: t.x=20, T.cal=39, T.star=52 for x = 10, 15, 20, 25."""
    x = np.array([10.0, 15.0, 20.0, 25.0])
    got = fitted.expected_purchases({"frequency": x, "recency": 20.0, "T": 39.0}, t=52)
    np.testing.assert_allclose(got, [0.7062289, 0.1442396, 0.02250658, 0.00309267], rtol=1e-3)


def test_gradient_by_complex_step_matches_finite_differences(cdnow_rfm: pd.DataFrame) -> None:
    model = ParetoNBDModel()
    stats = model._make_stats(compress(model._read(cdnow_rfm, "t", weighted=True)))
    for z in (np.log([0.5, 10.0, 0.6, 12.0]), np.log([0.5, 10.0, 0.6, 90.0])):
        _, grad = model._log_likelihood(z, stats)
        h = 1e-6
        numeric = [
            (
                model._log_likelihood(z + h * e, stats)[0]
                - model._log_likelihood(z - h * e, stats)[0]
            )
            / (2 * h)
            for e in np.eye(4)
        ]
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-4)


def _quad_log_integral(
    r: float, alpha: float, s: float, beta: float, x: float, t_x: float, t_end: float
) -> float:
    value, _ = quad(
        lambda y: (alpha + y) ** -(r + x) * (beta + y) ** -(s + 1),
        t_x,
        t_end,
        epsabs=0,
        epsrel=1e-13,
        limit=200,
    )
    return float(np.log(value))


@pytest.mark.parametrize(
    ("r", "alpha", "s", "beta", "x", "t_x", "t_end"),
    [
        (0.55, 10.6, 0.61, 11.7, 2, 30.4, 38.9),  # series branch
        (0.55, 10.6, 0.61, 80.0, 2, 3.0, 38.9),  # beta >> alpha: quadrature
        (2.0, 300.0, 0.61, 1.0, 5, 1.0, 38.9),  # alpha >> beta: quadrature
        (0.3, 1.0, 2.0, 1.0, 0, 0.0, 500.0),  # alpha == beta
        (1.0, 5.0, 1.0, 5.0000001, 40, 30.0, 30.5),  # short interval
        (0.1, 0.01, 0.1, 50.0, 1, 0.0, 1000.0),
    ],
)
def test_log_pareto_integral_against_quadpack(
    r: float, alpha: float, s: float, beta: float, x: float, t_x: float, t_end: float
) -> None:
    got = log_pareto_integral(r, alpha, s, beta, np.array([x]), np.array([t_x]), np.array([t_end]))[
        0
    ]
    assert got == pytest.approx(_quad_log_integral(r, alpha, s, beta, x, t_x, t_end), abs=1e-9)


def test_log_pareto_integral_closed_form_when_alpha_equals_beta() -> None:
    r, a, s, x = 0.7, 3.0, 1.3, 4000.0
    t_x, t_end = np.array([10.0, 0.0]), np.array([1e6, 1e-3])
    got = log_pareto_integral(r, a, s, a, np.full(2, x), t_x, t_end)
    k = r + x + s  # the integrand is (a + y)^-(k + 1): I = ((a+t_x)^-k - (a+T)^-k) / k
    expected = -k * np.log(a + t_x) - np.log(k) + np.log1p(-(((a + t_x) / (a + t_end)) ** k))
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_continuous_across_alpha_equal_beta_and_branches() -> None:
    """No jump where alpha crosses beta, nor where the series gives way to quadrature."""
    r, s, beta, x, t_x, t_end = 0.5, 0.6, 11.0, 3.0, 5.0, 39.0
    args = (np.array([x]), np.array([t_x]), np.array([t_end]))
    at = log_pareto_integral(r, beta, s, beta, *args)[0]
    for eps in (1e-12, -1e-12, 1e-7, -1e-7):
        near = log_pareto_integral(r, beta * (1 + eps), s, beta, *args)[0]
        assert near == pytest.approx(at, abs=10 * abs(eps) * (r + x))
    edge = beta + 0.5 * (beta + t_x)  # omega = 1/2 at t_x: the series / quadrature boundary
    below = log_pareto_integral(r, edge * (1 - 1e-12), s, beta, *args)[0]
    above = log_pareto_integral(r, edge * (1 + 1e-12), s, beta, *args)[0]
    assert below == pytest.approx(above, abs=1e-10)


def test_pmf_sums_to_one_and_matches_the_mean(fitted: ParetoNBDModel) -> None:
    n = np.arange(0, 800)
    for t in (1.0, 39.0, 200.0):
        pmf = fitted.probability_of_purchases(n, t)
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert float(n @ pmf) == pytest.approx(fitted.expected_purchases_new_customer(t), rel=1e-8)


def test_pmf_against_numerical_integration(fitted: ParetoNBDModel) -> None:
    """P(X(t)=n) = S(t) NBD(n; t) + int_0^t NBD(n; tau) g(tau) dtau."""
    r, alpha, s, beta = fitted._theta()

    def nbd(n: int, t: float) -> float:
        return float(
            np.exp(
                gammaln(r + n)
                - gammaln(r)
                - gammaln(n + 1)
                + r * np.log(alpha / (alpha + t))
                + n * np.log(t / (alpha + t))
            )
        )

    t = 39.0
    for n in (0, 1, 3, 10):
        died, _ = quad(
            lambda tau, n=n: nbd(n, tau) * s * beta**s * (beta + tau) ** -(s + 1),
            0,
            t,
            epsabs=0,
            epsrel=1e-12,
        )
        expected = (beta / (beta + t)) ** s * nbd(n, t) + died
        assert fitted.probability_of_purchases(n, t) == pytest.approx(expected, rel=1e-9)
