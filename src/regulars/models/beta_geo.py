"""The BG/NBD model of repeat buying (Fader, Hardie and Lee 2005).

While alive, a customer buys as a Poisson process with rate ``lambda``; after each
repeat purchase they drop out ("die") with probability ``p``.  Across customers
``lambda ~ Gamma(r, alpha)`` (shape ``r``, rate ``alpha``) and ``p ~ Beta(a, b)``.
The modified model (MBG/NBD, :mod:`regulars.models.modified_beta_geo`) also lets a
customer drop out right after the first purchase; both share this file's code.

The log-likelihood of a customer with ``x`` repeat purchases, the last at ``t_x``, seen
until ``T``, is computed as the log-sum-exp of its two terms (alive at ``T``; died just
after the last purchase), and its gradient analytically with digamma functions.  The
conditional expectation uses :func:`~regulars.models._numerics.beta_purchase_expectation`,
finite for every parameter value (the textbook formula divides by ``a - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import betainc, betaln, digamma, expit, gammaln

from regulars.models._base import Columns, FloatArray
from regulars.models._numerics import beta_purchase_expectation, log_nbd_pmf, logaddexp
from regulars.models._transactions import TransactionModel

__all__ = ["BetaGeoModel"]


@dataclass
class _Stats:
    """Distinct (x, t_x, T) tuples, with their distinct components for fast evaluation."""

    x: FloatArray
    w: FloatArray
    ux: FloatArray
    cx: NDArray[np.intp]
    ut: FloatArray
    ct: NDArray[np.intp]
    utx: FloatArray
    ctx: NDArray[np.intp]
    mean_t: float


def _codes(values: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    uniq, codes = np.unique(values, return_inverse=True)
    return uniq, codes.astype(np.intp)


class BetaGeoModel(TransactionModel):
    """BG/NBD model: beta-geometric dropout after each purchase, NBD purchasing.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters (see :class:`~regulars.models._base.BaseModel`).
    initial_params : mapping, optional
        Starting values for ``r``, ``alpha``, ``a``, ``b``.
    max_iter : int, default 2000
        Iterations of the optimizer per starting point.

    Attributes
    ----------
    params_ : dict
        ``r`` and ``alpha`` (shape and rate of the gamma distribution of purchase rates,
        ``alpha`` in the data's time unit), ``a`` and ``b`` (beta distribution of the
        dropout probability).
    log_likelihood_ : float
        Total log-likelihood over customers.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers" the
    easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.

    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008). Computing P(alive) using the
    BG/NBD model. http://brucehardie.com/notes/021/

    Examples
    --------
    >>> from regulars.models import BetaGeoModel
    >>> rfm = {"frequency": [0, 2, 5], "recency": [0.0, 30.4, 35.0], "T": [38.9, 38.9, 38.9]}
    >>> model = BetaGeoModel(initial_params={"r": 0.243, "alpha": 4.41, "a": 0.793, "b": 2.43})
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    #: MBG/NBD: the customer may also drop out right after the first purchase.
    _dropout_at_zero: ClassVar[bool] = False

    # -- likelihood -----------------------------------------------------------------
    def _make_stats(self, cols: Columns) -> _Stats:
        x, t_x, big_t = cols["frequency"], cols["recency"], cols["T"]
        ux, cx = _codes(x)
        ut, ct = _codes(big_t)
        utx, ctx = _codes(t_x)
        mean_t = float(np.average(big_t, weights=cols.weight))
        return _Stats(x, cols.weight, ux, cx, ut, ct, utx, ctx, mean_t if mean_t > 0 else 1.0)

    def _starting_points(self, stats: _Stats) -> list[FloatArray]:
        scale = stats.mean_t
        return [
            np.log([1.0, scale / 8.0, 1.0, 2.0]),
            np.log([0.5, scale, 0.5, 5.0]),
            np.log([2.0, scale / 30.0, 2.0, 1.0]),
        ]

    def _log_likelihood(self, z: NDArray[Any], stats: _Stats) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(z)
        mod = 1.0 if self._dropout_at_zero else 0.0
        ux = stats.ux
        # per distinct x: gamma and beta terms and their derivatives
        common = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        base = betaln(a, b)
        psi_ab = digamma(a + b)
        c1 = betaln(a, b + ux + mod) - base
        has2 = (ux > 0) | (mod > 0)
        b2 = np.where(has2, b + ux - 1.0 + mod, 1.0)
        c2 = np.where(has2, betaln(a + 1.0, b2) - base, -np.inf)
        psi_top = digamma(a + b + ux + mod)
        d_common_r = digamma(r + ux) - digamma(r) + np.log(alpha)
        d1_a = psi_ab - psi_top
        d1_b = digamma(b + ux + mod) - psi_top - digamma(b) + psi_ab
        d2_a = digamma(a + 1.0) - psi_top - digamma(a) + psi_ab
        d2_b = np.where(has2, digamma(b2) - psi_top - digamma(b) + psi_ab, 0.0)
        log_at = np.log(alpha + stats.ut)
        log_atx = np.log(alpha + stats.utx)
        cx, ct, ctx = stats.cx, stats.ct, stats.ctx
        rx = r + stats.x
        term1 = c1[cx] - rx * log_at[ct]
        term2 = c2[cx] - rx * log_atx[ctx]
        ll = common[cx] + logaddexp(term1, term2)
        p1 = expit(term1 - term2)  # posterior weight of "alive at T"
        p2 = 1.0 - p1
        w = stats.w
        g_r = d_common_r[cx] - p1 * log_at[ct] - p2 * log_atx[ctx]
        g_alpha = r / alpha - rx * (p1 / (alpha + stats.ut)[ct] + p2 / (alpha + stats.utx)[ctx])
        g_a = p1 * d1_a[cx] + p2 * d2_a[cx]
        g_b = p1 * d1_b[cx] + p2 * d2_b[cx]
        grad = np.array([w @ g_r * r, w @ g_alpha * alpha, w @ g_a * a, w @ g_b * b])
        return float(w @ ll), grad

    # -- predictions ----------------------------------------------------------------
    def _p_alive(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = theta
        mod = 1.0 if self._dropout_at_zero else 0.0
        has_death = (x > 0) | (mod > 0)
        denom = np.where(has_death, b + x - 1.0 + mod, 1.0)
        log_odds = (
            np.log(a) - np.log(denom) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        )
        return np.where(has_death, expit(-log_odds), 1.0)

    def _expected(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray, t: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = theta
        mod = 1.0 if self._dropout_at_zero else 0.0
        q = beta_purchase_expectation(a, b + x + mod, r + x, t / (alpha + big_t))
        return self._p_alive(theta, x, t_x, big_t) * q

    def _expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, a, b = theta
        if self._dropout_at_zero:
            return b / (a + b) * beta_purchase_expectation(a, b + 1.0, r, t / alpha)
        return beta_purchase_expectation(a, b, r, t / alpha)

    def _pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, a, b = theta
        mod = 1.0 if self._dropout_at_zero else 0.0
        base = betaln(a, b)
        alive = np.exp(betaln(a, b + n + mod) - base + log_nbd_pmf(n, r, alpha, t))
        # died after purchase n (after purchase 0 only for MBG/NBD): P(N(t) >= n)
        has2 = (n > 0) | (mod > 0)
        tail = np.where(n > 0, betainc(np.maximum(n, 1.0), r, t / (alpha + t)), 1.0)
        died = np.where(
            has2, np.exp(betaln(a + 1.0, np.maximum(b + n - 1.0 + mod, b)) - base) * tail, 0.0
        )
        return np.asarray(alive + died)
