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

from regulars.models._base import Columns, FloatArray, distinct
from regulars.models._numerics import beta_purchase_expectation, dot, log_nbd_pmf
from regulars.models._transactions import TransactionModel

__all__ = ["BetaGeoModel"]


@dataclass
class _Stats:
    """Sufficient statistics, arranged so that one likelihood evaluation is cheap.

    Customers whose likelihood has a single term (BG/NBD without repeat purchases) only
    need ``log(alpha + T)`` for each distinct ``T``.  For the others the terms that
    depend on one component only (``x``, ``T`` or ``t_x``) are computed once per distinct
    value and summed with precomputed weights; only the log-sum-exp of the two terms
    costs one ``exp`` and one ``log1p`` per distinct tuple.
    """

    single_t: FloatArray  # distinct T of the one-term customers, and their weights
    single_w: FloatArray
    x: FloatArray  # two-term tuples
    w: FloatArray
    ux: FloatArray
    cx: NDArray[np.intp]
    wx: FloatArray  # weight per distinct x
    ut: FloatArray
    ct: NDArray[np.intp]
    utx: FloatArray
    ctx: NDArray[np.intp]
    wtx: FloatArray  # weight per distinct t_x, and weight times x
    wxtx: FloatArray
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
        x, t_x, big_t, w = cols["frequency"], cols["recency"], cols["T"], cols.weight
        two = (x > 0) | self._dropout_at_zero
        single_t, single_codes = _codes(big_t[~two])
        single_w = np.bincount(single_codes, weights=w[~two], minlength=single_t.size)
        x, t_x, big_t, w = x[two], t_x[two], big_t[two], w[two]
        ux, cx = _codes(x)
        ut, ct = _codes(big_t)
        utx, ctx = _codes(t_x)
        mean_t = float(np.average(cols["T"], weights=cols.weight))
        return _Stats(
            single_t=single_t,
            single_w=single_w.astype(float),
            x=x,
            w=w,
            ux=ux,
            cx=cx,
            wx=np.bincount(cx, weights=w, minlength=ux.size).astype(float),
            ut=ut,
            ct=ct,
            utx=utx,
            ctx=ctx,
            wtx=np.bincount(ctx, weights=w, minlength=utx.size).astype(float),
            wxtx=np.bincount(ctx, weights=w * x, minlength=utx.size).astype(float),
            mean_t=mean_t if mean_t > 0 else 1.0,
        )

    def _starting_points(self, stats: _Stats) -> list[FloatArray]:
        scale = stats.mean_t
        return [
            np.log([1.0, scale / 8.0, 1.0, 2.0]),
            np.log([0.5, scale, 0.5, 5.0]),
            np.log([2.0, scale / 30.0, 2.0, 1.0]),
        ]

    def _log_likelihood(self, z: NDArray[Any], stats: _Stats) -> tuple[float, FloatArray]:
        """Total log-likelihood and gradient (FHL 2005 eq. 6; BDF 2007 eq. 4 for MBG/NBD).

        Per customer ``ll = common(x) + term2 + softplus(term1 - term2)`` with ``term1``
        "alive at T" and ``term2`` "died after the last purchase"; the gradient of the
        softplus is the posterior probability ``p1`` of being alive.
        """
        r, alpha, a, b = np.exp(z)
        mod = 1.0 if self._dropout_at_zero else 0.0
        log_alpha = np.log(alpha)
        # one-term customers (BG/NBD, x = 0): r log(alpha / (alpha + T))
        log_single = np.log(alpha + stats.single_t)
        sw = stats.single_w
        ll = r * (sw.sum() * log_alpha - sw @ log_single)
        g_r = sw.sum() * log_alpha - sw @ log_single
        g_alpha = r * (sw.sum() / alpha - sw @ (1.0 / (alpha + stats.single_t)))
        g_a = g_b = 0.0
        if stats.x.size:
            ux, wx = stats.ux, stats.wx
            base, psi_ab = betaln(a, b), digamma(a + b)
            b1, b2 = b + ux + mod, b + ux - 1.0 + mod
            c1 = betaln(a, b1) - base
            c2 = betaln(a + 1.0, b2) - base
            common = gammaln(r + ux) - gammaln(r) + r * log_alpha
            psi_top = digamma(a + b + ux + mod)
            d1_a = psi_ab - psi_top
            d1_b = digamma(b1) - psi_top - digamma(b) + psi_ab
            d2_a = digamma(a + 1.0) - psi_top - digamma(a) + psi_ab
            d2_b = digamma(b2) - psi_top - digamma(b) + psi_ab
            log_at = np.log(alpha + stats.ut)
            log_atx = np.log(alpha + stats.utx)
            cx, ct, ctx, w = stats.cx, stats.ct, stats.ctx, stats.w
            rx = r + stats.x
            gap = log_at[ct] - log_atx[ctx]  # log((alpha + T) / (alpha + t_x)) >= 0
            d = (c1 - c2)[cx] - rx * gap  # term1 - term2
            e = np.exp(-np.abs(d))
            softplus = np.maximum(d, 0.0) + np.log1p(e)
            p1 = np.where(d >= 0, 1.0, e) / (1.0 + e)  # sigmoid(d)
            wp1 = w * p1
            rx_w = r * stats.wtx + stats.wxtx  # sum of w (r + x) per distinct t_x
            ll += wx @ (common + c2) - log_atx @ rx_w + dot(w, softplus)
            g_r += (
                wx @ (digamma(r + ux) - digamma(r) + log_alpha)
                - log_atx @ stats.wtx
                - dot(wp1, gap)
            )
            inv_gap = 1.0 / (alpha + stats.ut)[ct] - 1.0 / (alpha + stats.utx)[ctx]
            g_alpha += r / alpha * wx.sum() - rx_w @ (1.0 / (alpha + stats.utx))
            g_alpha -= dot(wp1 * rx, inv_gap)
            wp1_x = np.bincount(cx, weights=wp1, minlength=ux.size)
            g_a = wx @ d2_a + wp1_x @ (d1_a - d2_a)
            g_b = wx @ d2_b + wp1_x @ (d1_b - d2_b)
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return float(ll), grad

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
        if x.size > 20_000:  # Q depends on (x, T, t) only: evaluate each distinct triple once
            codes, (ux, ut, uh) = distinct(x, big_t, t)
            q = beta_purchase_expectation(a, b + ux + mod, r + ux, uh / (alpha + ut))[codes]
        else:
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
