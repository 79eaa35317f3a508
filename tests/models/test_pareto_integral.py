"""The Pareto/NBD integral and likelihood against independent computations.

Oracles: mpmath's quadrature at 30 digits (values, and gradients under the integral
sign), and a plain quadpack likelihood whose maximum the fits must
reach.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import gammaln

from regulars.models import ParetoNBDModel
from regulars.models._base import Columns, compress
from regulars.models._pareto_integral import ParetoIntegral, log_pareto_tail


def _mp_integrals(
    p: float, alpha: float, q: float, beta: float, lo: float, hi: float
) -> tuple[mp.mpf, list[mp.mpf]]:
    """``log I`` for ``I = int_lo^hi (alpha+y)^-p (beta+y)^-q dy`` (``hi`` may be inf), and
    the derivatives of ``log I`` in ``(p, alpha, q, beta)``, by mpmath at 30 digits.

    The derivatives are differentiated under the integral sign (each its own quadrature).
    The interval is cut at ``lo + h (2^k - 1)``, ``h`` a quarter of the integrand's scale
    at ``lo`` and ``k < 200`` (power-law tails), so that every piece is smooth at its own
    scale.
    """
    with mp.workdps(30):
        h = (min(alpha, beta) + lo) / (p + q) / 4.0
        cuts = [lo + h * (mp.mpf(2) ** k - 1) for k in range(1, 200)]
        top = mp.mpf(hi) if np.isfinite(hi) else mp.inf
        points = [mp.mpf(lo), *(c for c in cuts if c < hi), top]

        def f(y: mp.mpf) -> mp.mpf:
            return (alpha + y) ** (-p) * (beta + y) ** (-q)

        value = mp.quad(f, points)
        factors = [
            lambda y: -mp.log(alpha + y),
            lambda y: -p / (alpha + y),
            lambda y: -mp.log(beta + y),
            lambda y: -q / (beta + y),
        ]
        grad = [mp.quad(lambda y, g=g: g(y) * f(y), points) / value for g in factors]
        return mp.log(value), grad


def _random_tuples(n: int, seed: int) -> list[tuple[float, ...]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        r, s = 10 ** rng.uniform(-2, 1, 2)
        alpha, beta = 10 ** rng.uniform(-3, 4, 2)
        x = float(rng.choice([0, 1, 2, 5, 20, 100, 500]))
        t_end = 10 ** rng.uniform(-1, 3.5)
        t_x = 0.0 if x == 0 else t_end * rng.uniform()
        rows.append((r, alpha, s, beta, x, t_x, t_end))
    return rows


EXTREME = [
    (0.55, 10.6, 0.61, 11.7, 2.0, 30.4, 38.9),  # CDNOW-like
    (0.2, 1e4, 0.5, 1e-3, 500.0, 0.0, 1000.0),  # alpha >> beta, x = 500, t_x = 0
    (0.2, 1e-3, 0.5, 1e4, 500.0, 0.0, 1000.0),  # beta >> alpha
    (0.1, 0.01, 0.1, 50.0, 1.0, 0.0, 1000.0),
    (0.3, 1.0, 2.0, 1.0, 0.0, 0.0, 500.0),  # alpha == beta
    (1.0, 5.0, 1.0, 5.0000001, 40.0, 30.0, 30.5),  # a short interval
    (0.05, 2.0, 3.0, 2000.0, 0.0, 0.0, 3000.0),  # years of weeks
    (4.0, 0.5, 0.02, 0.5, 300.0, 1.0, 1.0 + 1e-6),  # a very short interval
]


@pytest.mark.parametrize("row", EXTREME + _random_tuples(16, seed=7))
def test_integral_and_gradient_against_mpmath(row: tuple[float, ...]) -> None:
    r, alpha, s, beta, x, t_x, t_end = row
    got, grad = ParetoIntegral.of(np.array([x]), np.array([t_x]), np.array([t_end])).with_gradient(
        r, alpha, s, beta
    )
    assert grad is not None
    expected, expected_grad = _mp_integrals(r + x, alpha, s + 1, beta, t_x, t_end)
    assert got[0] == pytest.approx(float(expected), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad[:, 0], np.array(expected_grad, dtype=float), rtol=1e-10)


@pytest.mark.parametrize(
    ("p", "alpha", "q", "beta", "t"),
    [
        (0.6, 10.0, 1.6, 12.0, 0.0),  # the series
        (500.2, 1e-3, 1.5, 1e4, 0.0),  # beta >> alpha, huge exponent: quadrature + series
        (0.3, 1e4, 1.01, 1e-3, 0.0),  # alpha >> beta: quadrature + series
        (2.0, 3.0, 1.5, 3.0, 7.0),  # alpha == beta
    ],
)
def test_tail_against_mpmath(p: float, alpha: float, q: float, beta: float, t: float) -> None:
    got, _ = log_pareto_tail(np.array([p]), alpha, q, beta, np.array([t]))
    expected, _ = _mp_integrals(p, alpha, q, beta, t, np.inf)
    assert got[0] == pytest.approx(float(expected), rel=1e-12)


def test_pairs_are_shared_and_results_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 400).astype(float)
    t_end = rng.integers(1, 30, 400).astype(float)
    t_x = np.where(x > 0, np.floor(t_end * rng.uniform(size=400)), 0.0)
    integral = ParetoIntegral.of(x, t_x, t_end)
    assert integral.pair_x.size < 2 * x.size
    np.testing.assert_array_equal(integral.pair_x[integral.code_x], x)
    np.testing.assert_array_equal(integral.pair_t[integral.code_t], t_end)
    order = rng.permutation(400)
    a, _ = integral.with_gradient(0.5, 8.0, 0.7, 12.0)
    b, _ = ParetoIntegral.of(x[order], t_x[order], t_end[order]).with_gradient(0.5, 8.0, 0.7, 12.0)
    np.testing.assert_array_equal(a[order], b)


# -- the fit reaches the maximum of an independent likelihood ----------------------------


def _quadpack_log_likelihood(
    theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, t_end: np.ndarray, w: np.ndarray
) -> float:
    """Fader and Hardie (2005, eq. 22), its integral by quadpack, tuple by tuple."""
    r, alpha, s, beta = theta
    total = 0.0
    for xi, txi, ti, wi in zip(x, t_x, t_end, w, strict=True):
        died = 0.0
        if ti > txi:
            died, _ = quad(
                lambda y, xi=xi: (alpha + y) ** -(r + xi) * (beta + y) ** -(s + 1),
                txi,
                ti,
                epsabs=0.0,
                epsrel=1e-13,
                limit=200,
            )
        alive = (alpha + ti) ** -(r + xi) * (beta + ti) ** -s
        const = gammaln(r + xi) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        total += wi * (const + np.log(alive + s * died))
    return total


def _assert_at_the_quadpack_maximum(model: ParetoNBDModel, rfm: pd.DataFrame) -> None:
    cols = Columns(
        {k: rfm[k].to_numpy(float) for k in ("frequency", "recency", "T")},
        np.ones(len(rfm)),
        "test",
    )
    c = compress(cols)
    args = (c["frequency"], c["recency"], c["T"], c.weight)
    z = np.log(model._theta())
    ll = _quadpack_log_likelihood(np.exp(z), *args)
    assert model.log_likelihood_ == pytest.approx(ll, rel=1e-10)
    h = 1e-5
    grad = np.array(
        [
            (
                _quadpack_log_likelihood(np.exp(z + h * e), *args)
                - _quadpack_log_likelihood(np.exp(z - h * e), *args)
            )
            / (2 * h)
            for e in np.eye(4)
        ]
    )
    newton = model._cov_log @ grad  # the Newton step in the log-parameters
    assert np.max(np.abs(newton)) < 1e-6


@pytest.mark.slow
def test_cdnow_fit_is_the_maximum_of_a_quadpack_likelihood(cdnow_rfm: pd.DataFrame) -> None:
    _assert_at_the_quadpack_maximum(ParetoNBDModel().fit(cdnow_rfm), cdnow_rfm)


@pytest.mark.slow
def test_simulated_fit_is_the_maximum_of_a_quadpack_likelihood() -> None:
    """A Pareto/NBD book: 1,500 customers, exponential lifetimes, Poisson purchases."""
    rng = np.random.default_rng(11)
    n = 1500
    lam = rng.gamma(0.8, 1.0 / 6.0, n)
    mu = rng.gamma(0.9, 1.0 / 30.0, n)
    big_t = np.round(rng.uniform(10.0, 80.0, n), 1)
    life = rng.exponential(1.0 / mu)
    horizon = np.minimum(life, big_t)
    x = rng.poisson(lam * horizon)
    t_x = np.where(x > 0, np.round(horizon * rng.beta(np.maximum(x, 1), 1.0), 1), 0.0)
    rfm = pd.DataFrame({"frequency": x.astype(float), "recency": t_x, "T": big_t})
    _assert_at_the_quadpack_maximum(ParetoNBDModel().fit(rfm), rfm)


def test_value_only_pass_equals_the_gradient_pass() -> None:
    """Scoring asks for values only: the same panels and terms, so the same bits."""
    rng = np.random.default_rng(20261206)
    for r, alpha, s, beta in [(0.98, 12.6, 1.17, 50.0), (0.05, 0.01, 3.0, 2e3), (4.0, 900, 0.3, 2)]:
        n = 2_000
        t_end = rng.uniform(0.0, 300.0, n)
        t_x = t_end * rng.uniform(0.0, 1.0, n) ** 3
        x = np.where(t_x > 0, rng.integers(1, 60, n), 0).astype(float)
        with_grad, grad = ParetoIntegral.of(x, t_x, t_end).with_gradient(r, alpha, s, beta)
        value, none = ParetoIntegral.of(x, t_x, t_end).with_gradient(
            r, alpha, s, beta, gradient=False
        )
        assert grad is not None
        assert none is None
        np.testing.assert_array_equal(value, with_grad)
        tail, _ = log_pareto_tail(r + x, alpha, s + 1.0, beta, t_end)
        tail_only, no_grad = log_pareto_tail(r + x, alpha, s + 1.0, beta, t_end, gradient=False)
        assert no_grad is None
        np.testing.assert_array_equal(tail_only, tail)
