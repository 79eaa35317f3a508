"""The BG/BB model for discrete transaction opportunities (Fader, Hardie and Shang 2010).

At each transaction opportunity (a year for an annual event, a month for a monthly
newsletter...) a living customer transacts with probability ``p`` and, at the start of
each opportunity after the first, dies with probability ``theta``.  Across customers
``p ~ Beta(alpha, beta)`` and ``theta ~ Beta(gamma, delta)``.  The data are ``x``
transactions in ``n`` opportunities, the last at opportunity ``t_x`` (the columns
``frequency``, ``recency`` and ``T``).

The likelihood (FHS 2010, eq. 5) is a sum of ``n - t_x + 1`` products of beta
functions; it is summed in log space, in chunks, with its analytic gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, digamma, gammaln

from regulars.models._base import Columns, FloatArray
from regulars.models._numerics import dot, logaddexp
from regulars.models._transactions import TransactionModel

__all__ = ["BetaGeoBetaBinomModel"]

_CHUNK = 512


@dataclass
class _Stats:
    x: FloatArray
    t_x: FloatArray
    n: FloatArray
    w: FloatArray


def _log_sum(
    count: FloatArray, log_term: Callable[[NDArray[np.intp], FloatArray], FloatArray]
) -> FloatArray:
    """``log sum_{i=0}^{count-1} exp(log_term(lanes, i))`` per lane (-inf for count 0)."""
    out = np.full(count.shape, -np.inf)
    top = int(count.max()) if count.size else 0
    for first in range(0, top, _CHUNK):
        lanes = np.flatnonzero(count > first)
        i = first + np.arange(min(_CHUNK, top - first), dtype=float)[None, :]
        vals = np.where(i < count[lanes, None], log_term(lanes, i), -np.inf)
        m = vals.max(axis=1)
        chunk = m + np.log(np.exp(vals - m[:, None]).sum(axis=1))
        out[lanes] = logaddexp(out[lanes], chunk)
    return out


class BetaGeoBetaBinomModel(TransactionModel):
    """BG/BB model: beta-Bernoulli transactions, beta-geometric dropout, discrete time.

    ``frequency`` is the number of repeat transactions, ``recency`` the opportunity of
    the last one (0 if none) and ``T`` the number of opportunities observed; all are
    whole numbers.  Horizons ``t`` in the predictions count future opportunities.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters.
    initial_params : mapping, optional
        Starting values for ``alpha``, ``beta``, ``gamma``, ``delta``.
    max_iter : int, default 2000
        Iterations of the optimizer per starting point.

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta`` (beta distribution of the transaction probability) and
        ``gamma``, ``delta`` (beta distribution of the dropout probability).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-base analysis in a
    discrete-time noncontractual setting. Marketing Science 29(6), 1086-1108.
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _discrete: ClassVar[bool] = True

    def _make_stats(self, cols: Columns) -> _Stats:
        return _Stats(cols["frequency"], cols["recency"], cols["T"], cols.weight)

    def _starting_points(self, stats: _Stats) -> list[FloatArray]:
        return [np.zeros(4), np.log([0.5, 0.5, 0.5, 2.0]), np.log([2.0, 2.0, 0.5, 5.0])]

    def _log_likelihood(self, z: NDArray[Any], stats: _Stats) -> tuple[float, FloatArray]:
        al, be, ga, de = np.exp(z)
        x, t_x, n, w = stats.x, stats.t_x, stats.n, stats.w
        base_ab, base_gd = betaln(al, be), betaln(ga, de)
        d_ab = digamma(al + be)
        d_gd = digamma(ga + de)
        # "alive through n": B(al+x, be+n-x) B(ga, de+n)
        l0 = betaln(al + x, be + n - x) - base_ab + betaln(ga, de + n) - base_gd
        g0 = np.stack(
            [
                digamma(al + x) - digamma(al + be + n) - digamma(al) + d_ab,
                digamma(be + n - x) - digamma(al + be + n) - digamma(be) + d_ab,
                digamma(ga) - digamma(ga + de + n) - digamma(ga) + d_gd,
                digamma(de + n) - digamma(ga + de + n) - digamma(de) + d_gd,
            ]
        )
        # died at opportunity t_x + i + 1, i = 0 .. n - t_x - 1
        count = n - t_x
        top = int(count.max()) if count.size else 0
        m = l0.copy()
        acc = np.ones_like(l0)
        gacc = g0.copy()
        for first in range(0, top, _CHUNK):
            lanes = np.flatnonzero(count > first)
            i = first + np.arange(min(_CHUNK, top - first), dtype=float)[None, :]
            xl, tl = x[lanes, None], t_x[lanes, None]
            mb = be + tl - xl + i
            md = de + tl + i
            li = betaln(al + xl, mb) - base_ab + betaln(ga + 1.0, md) - base_gd
            li = np.where(i < count[lanes, None], li, -np.inf)
            d_top_ab = digamma(al + be + tl + i)
            d_top_gd = digamma(ga + de + 1.0 + tl + i)
            gi = [
                digamma(al + xl) - d_top_ab - digamma(al) + d_ab,
                digamma(mb) - d_top_ab - digamma(be) + d_ab,
                digamma(ga + 1.0) - d_top_gd - digamma(ga) + d_gd,
                digamma(md) - d_top_gd - digamma(de) + d_gd,
            ]
            new_m = np.maximum(m[lanes], li.max(axis=1))
            scale = np.exp(m[lanes] - new_m)
            e = np.exp(li - new_m[:, None])
            acc[lanes] = acc[lanes] * scale + e.sum(axis=1)
            for k in range(4):
                gacc[k, lanes] = gacc[k, lanes] * scale + (e * np.where(e > 0, gi[k], 0.0)).sum(
                    axis=1
                )
            m[lanes] = new_m
        ll = m + np.log(acc)
        grad = np.einsum("kj,j->k", gacc / acc, w) * np.array([al, be, ga, de])
        return float(dot(w, ll)), grad

    # -- predictions ------------------------------------------------------------------
    def _log_lik_rows(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, n: FloatArray
    ) -> FloatArray:
        al, be, ga, de = theta
        base = betaln(al, be) + betaln(ga, de)
        alive = betaln(al + x, be + n - x) + betaln(ga, de + n) - base

        def term(lanes: NDArray[np.intp], i: FloatArray) -> FloatArray:
            xl, tl = x[lanes, None], t_x[lanes, None]
            return betaln(al + xl, be + tl - xl + i) + betaln(ga + 1.0, de + tl + i) - base

        return logaddexp(alive, _log_sum(n - t_x, term))

    def _p_alive(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """P(alive at opportunity n + 1), the quantity of FHS (2010), Table 6."""
        al, be, ga, de = theta
        log_alive_next = (
            betaln(al + x, be + big_t - x)
            - betaln(al, be)
            + betaln(ga, de + big_t + 1.0)
            - betaln(ga, de)
        )
        return np.asarray(np.exp(log_alive_next - self._log_lik_rows(theta, x, t_x, big_t)))

    def _future_sum(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        """``log sum_{j=1}^{t} B(gamma, delta+n+j) / B(gamma, delta)`` per row."""
        _, _, ga, de = theta
        return _log_sum(
            t, lambda lanes, j: betaln(ga, de + n[lanes, None] + j + 1.0) - betaln(ga, de)
        )

    def _expected(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray, t: FloatArray
    ) -> FloatArray:
        al, be, _, _ = theta
        log_num = (
            betaln(al + x + 1.0, be + big_t - x)
            - betaln(al, be)
            + self._future_sum(theta, big_t, t)
        )
        return np.asarray(np.exp(log_num - self._log_lik_rows(theta, x, t_x, big_t)))

    def _expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        al, be, _, _ = theta
        return np.asarray(al / (al + be) * np.exp(self._future_sum(theta, np.zeros_like(t), t)))

    def _pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        """FHS (2010), eq. 7: alive through ``t``, or died after opportunity ``i``."""
        al, be, ga, de = theta
        base = betaln(al, be) + betaln(ga, de)
        ok = n <= t
        nn = np.minimum(n, t)

        def log_choose(a: Any, b: Any) -> Any:
            return gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0)

        alive = log_choose(t, nn) + betaln(al + nn, be + t - nn) + betaln(ga, de + t) - base

        def term(lanes: NDArray[np.intp], i: FloatArray) -> FloatArray:
            k = nn[lanes, None]
            ii = k + i  # i runs over k .. t - 1
            return (
                log_choose(ii, k) + betaln(al + k, be + ii - k) + betaln(ga + 1.0, de + ii) - base
            )

        died = _log_sum(t - nn, term)
        return np.where(ok, np.exp(logaddexp(alive, died)), 0.0)
