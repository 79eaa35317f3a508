"""The numerical building blocks: quadrature, log-space helpers, the BG/NBD expectation."""

from __future__ import annotations

import decimal

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import betaln, hyp2f1

from regulars.models._base import complex_step_gradient
from regulars.models._numerics import (
    _quadrature_q,
    _series_q,
    beta_purchase_expectation,
    log1mexp,
    log_integrate,
    logaddexp,
)


def _q_by_quadpack(a: float, b: float, k: float, u: float) -> float:
    def f(p: float) -> float:
        return float(
            -np.expm1(-k * np.log1p(p * u))
            / p
            * np.exp((a - 1) * np.log(p) + (b - 1) * np.log1p(-p) - betaln(a, b))
        )

    value, _ = quad(f, 0, 1, epsabs=0, epsrel=1e-12, limit=500, points=[1 / (1 + u)])
    return float(value)


@pytest.mark.parametrize(
    ("a", "b", "k", "u"),
    [
        (0.79, 2.43, 0.24, 1.1),  # CDNOW-like, series
        (0.79, 4.43, 2.24, 0.3),
        (3.0, 20.0, 5.0, 5.0),  # quadrature (z > 3/4)
        (1.5, 0.5, 4.0, 0.5),  # quadrature (a + b < k + 1)
        (150.0, 30.0, 2.0, 0.7),  # quadrature (large a)
    ],
)
def test_beta_purchase_expectation_against_quadpack(a: float, b: float, k: float, u: float) -> None:
    assert beta_purchase_expectation(a, b, k, u) == pytest.approx(
        _q_by_quadpack(a, b, k, u), rel=1e-9
    )


def test_beta_purchase_expectation_is_the_textbook_formula_away_from_a_equal_1() -> None:
    """(a+b-1)/(a-1) [1 - 2F1(k, a-1; a+b-1; -u)] (FHL 2005, eq. 10 before the Euler step)."""
    a, b, k, u = 2.5, 3.0, 1.7, np.array([0.1, 0.5, 2.0, 10.0])
    textbook = (a + b - 1) / (a - 1) * (1 - hyp2f1(k, a - 1, a + b - 1, -u))
    np.testing.assert_allclose(beta_purchase_expectation(a, b, k, u), textbook, rtol=1e-12)


def test_beta_purchase_expectation_is_smooth_at_a_equal_1() -> None:
    at = beta_purchase_expectation(1.0, 2.0, 0.5, 3.0)
    for eps in (1e-10, -1e-10, 1e-6, -1e-6):
        assert beta_purchase_expectation(1.0 + eps, 2.0, 0.5, 3.0) == pytest.approx(
            at, abs=10 * abs(eps)
        )


def test_series_and_quadrature_agree() -> None:
    rng = np.random.default_rng(3)
    a = 10 ** rng.uniform(-3, 2, 400)
    b = 10 ** rng.uniform(-1, 3, 400)
    k = 10 ** rng.uniform(-3, 1, 400)
    u = 10 ** rng.uniform(-3, 0.4, 400)
    keep = a + b - k - 1 >= 0
    series, ok = _series_q(a[keep], b[keep], k[keep], u[keep], 600)
    assert ok.all()
    np.testing.assert_allclose(series, _quadrature_q(a[keep], b[keep], k[keep], u[keep]), rtol=1e-9)


def test_log_integrate_known_integrals() -> None:
    # a narrow Gaussian far from the start and a steep exponential at the edge
    def log_f(y: np.ndarray, idx: np.ndarray) -> np.ndarray:
        centre = np.array([3.0, 0.0])[idx][:, None]
        width = np.array([1e-3, 1.0])[idx][:, None]
        return np.where(idx[:, None] == 0, -0.5 * ((y - centre) / width) ** 2, -1e4 * y)

    def step(y: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.where(idx == 0, 1e-3, 4e-4)

    got = log_integrate(
        log_f, step, np.array([-10.0, 0.0]), np.array([10.0, 1.0]), np.array([3.0, 0.0])
    )
    np.testing.assert_allclose(np.exp(got), [np.sqrt(2 * np.pi) * 1e-3, 1e-4], rtol=1e-12)


def test_log_helpers() -> None:
    a = np.array([-np.inf, -1000.0, 0.0, 700.0])
    b = np.array([-np.inf, -1000.0, -50.0, 710.0])
    expected = np.array(
        [-np.inf, -1000.0 + np.log(2.0), np.log1p(np.exp(-50.0)), 710.0 + np.log1p(np.exp(-10.0))]
    )
    np.testing.assert_allclose(logaddexp(a, b), expected, rtol=1e-15)
    x = [-1e-20, -1e-5, -0.5, -40.0, -800.0]
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        exact = [float((1 - decimal.Decimal(v).exp()).ln()) for v in x]
    np.testing.assert_allclose(log1mexp(np.array(x)), exact, rtol=1e-14)
    z = logaddexp(np.array([1.0 + 1e-30j]), np.array([2.0]))
    assert z.imag[0] == pytest.approx(1e-30 * np.exp(1.0) / (np.exp(1.0) + np.exp(2.0)), rel=1e-12)


def test_complex_step_gradient_is_exact() -> None:
    value, grad = complex_step_gradient(
        lambda z: np.sum(np.exp(z) * np.log1p(z**2)), np.array([0.3, -1.2])
    )
    z = np.array([0.3, -1.2])
    assert value == pytest.approx(np.sum(np.exp(z) * np.log1p(z**2)), rel=1e-15)
    np.testing.assert_allclose(
        grad, np.exp(z) * np.log1p(z**2) + np.exp(z) * 2 * z / (1 + z**2), rtol=1e-15
    )
