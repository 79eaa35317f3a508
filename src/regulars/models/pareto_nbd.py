"""The Pareto/NBD model of repeat buying (Schmittlein, Morrison and Colombo 1987).

While alive, a customer buys as a Poisson process with rate ``lambda``; their lifetime
is exponential with rate ``mu``.  Across customers ``lambda ~ Gamma(r, alpha)`` and
``mu ~ Gamma(s, beta)`` (shapes ``r, s``; rates ``alpha, beta``), independently.

The likelihood (Fader and Hardie 2005, eq. 22) is

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [ (alpha+T)^-(r+x) (beta+T)^-s + s I ],
    I = int_{t_x}^{T} (alpha+y)^-(r+x) (beta+y)^-(s+1) dy,

where the first term is "alive at T" and ``s I`` is "died between t_x and T".  ``I``
(the ``A_0`` term of the literature, times ``s / (r+s+x)``) is computed by
:class:`~regulars.models._pareto_integral.ParetoIntegral` as the difference of two
tails ``int_t^inf``, each computed once per distinct ``(x, t)`` pair by a Gauss
hypergeometric series (with a log-concave quadrature where the series would converge
slowly), with no overflow for any ``x`` or ``T``.  The gradient is analytic and real,
computed in the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import digamma, exprel, gammaln

from regulars.models._base import Columns, FloatArray
from regulars.models._numerics import dot, log_integrate, log_nbd_pmf, logaddexp
from regulars.models._pareto_integral import ParetoIntegral, log_pareto_integral
from regulars.models._transactions import TransactionModel

__all__ = ["ParetoNBDModel"]


@dataclass
class _Stats:
    x: FloatArray
    t_x: FloatArray
    t_end: FloatArray
    w: FloatArray
    mean_t: float
    integral: ParetoIntegral
    x_values: FloatArray  # the distinct frequencies
    x_codes: NDArray[np.intp]  # each tuple's index into x_values


def _log_terms(
    theta: FloatArray, x: FloatArray, t_x: FloatArray, t_end: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Log of the constant, of the "alive" term and of the "died" term, per customer."""
    r, alpha, s, beta = theta
    const = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + t_end) - s * np.log(beta + t_end)
    died = np.log(s) + log_pareto_integral(r, alpha, s, beta, x, t_x, t_end)
    return const, alive, died


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model: exponential lifetimes and Poisson purchasing, both gamma-mixed.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters.
    initial_params : mapping, optional
        Starting values for ``r``, ``alpha``, ``s``, ``beta``.
    max_iter : int, default 2000
        Iterations of the optimizer per starting point.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha`` (gamma distribution of purchase rates) and ``s``, ``beta``
        (gamma distribution of dropout rates); ``alpha`` and ``beta`` are in the data's
        time unit.
    log_likelihood_ : float
        Total log-likelihood over customers.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting your customers:
    who are they and what will they do next? Management Science 33(1), 1-24.

    Fader, P. S. and Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def _make_stats(self, cols: Columns) -> _Stats:
        mean_t = float(np.average(cols["T"], weights=cols.weight))
        x_values, x_codes = np.unique(cols["frequency"], return_inverse=True)
        return _Stats(
            cols["frequency"],
            cols["recency"],
            cols["T"],
            cols.weight,
            mean_t if mean_t > 0 else 1.0,
            ParetoIntegral.of(cols["frequency"], cols["recency"], cols["T"]),
            x_values,
            x_codes.ravel().astype(np.intp),
        )

    def _starting_points(self, stats: _Stats) -> list[FloatArray]:
        scale = stats.mean_t
        return [
            np.log([1.0, scale / 4.0, 1.0, scale / 4.0]),
            np.log([0.5, scale, 0.5, scale]),
            np.log([2.0, scale / 20.0, 2.0, scale / 2.0]),
        ]

    def _log_likelihood(self, z: NDArray[Any], stats: _Stats) -> tuple[float, FloatArray]:
        """The log-likelihood and its analytic gradient in the log-parameters."""
        theta = np.exp(np.asarray(z, dtype=float))
        r, alpha, s, beta = (float(v) for v in theta)
        x, t_end, w, codes = stats.x, stats.t_end, stats.w, stats.x_codes
        log_i, g_i = stats.integral.with_gradient(r, alpha, s, beta)
        assert g_i is not None
        la, lb = np.log(alpha + t_end), np.log(beta + t_end)
        alive = -(r + x) * la - s * lb
        died = np.log(s) + log_i
        both = logaddexp(alive, died)
        p_alive = np.exp(alive - both)
        p_died = np.exp(died - both)  # 0 where the customer bought at T
        lg = (gammaln(r + stats.x_values) - gammaln(r))[codes]
        psi = (digamma(r + stats.x_values) - digamma(r))[codes]
        ll = dot(w, lg + both) + float(w.sum()) * (r * np.log(alpha) + s * np.log(beta))
        w_alive, w_died = w * p_alive, w * p_died
        wsum = float(w.sum())
        grad = np.array(
            [
                dot(w, psi) + wsum * np.log(alpha) - dot(w_alive, la) + dot(w_died, g_i[0]),
                wsum * r / alpha - dot(w_alive, (r + x) / (alpha + t_end)) + dot(w_died, g_i[1]),
                wsum * np.log(beta) - dot(w_alive, lb) + dot(w_died, 1.0 / s + g_i[2]),
                wsum * s / beta - s * dot(w_alive, 1.0 / (beta + t_end)) + dot(w_died, g_i[3]),
            ]
        )
        return float(ll), grad * theta

    # -- predictions ----------------------------------------------------------------
    def _p_alive(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        _, alive, died = _log_terms(theta, x, t_x, big_t)
        return np.asarray(np.exp(alive - logaddexp(alive, died)))

    def _expected(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray, t: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = theta
        ell = np.log1p(t / (beta + big_t))
        per_alive = (r + x) / (alpha + big_t) * (beta + big_t) * ell * exprel(-(s - 1.0) * ell)
        return self._p_alive(theta, x, t_x, big_t) * per_alive

    def _expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, s, beta = theta
        ell = np.log1p(t / beta)
        return np.asarray(r / alpha * beta * ell * exprel(-(s - 1.0) * ell))

    def _pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        """``S(t) NBD(n; t) + int_0^t NBD(n; tau) g(tau) d tau`` (death at ``tau``).

        ``g`` is the Pareto (II) density of the lifetime.  The integral is computed in
        ``eta = log(tau)``, where its log is concave.
        """
        r, alpha, s, beta = theta
        out = np.where(n == 0, 1.0, 0.0)
        pos = t > 0
        if not pos.any():
            return out
        n, t = n[pos], t[pos]
        survive = log_nbd_pmf(n, r, alpha, t) + s * (np.log(beta) - np.log(beta + t))
        const = (
            gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1.0)
            + r * np.log(alpha)
            + np.log(s)
            + s * np.log(beta)
        )

        def log_f(eta: FloatArray, idx: NDArray[np.intp]) -> FloatArray:
            nn = n[idx][:, None]
            return (
                const[idx][:, None]
                + (nn + 1.0) * eta
                - (r + nn) * np.logaddexp(np.log(alpha), eta)
                - (s + 1.0) * np.logaddexp(np.log(beta), eta)
            )

        def slope(eta: FloatArray, nn: FloatArray) -> FloatArray:
            sa = 1.0 / (1.0 + alpha * np.exp(-eta))
            sb = 1.0 / (1.0 + beta * np.exp(-eta))
            return (nn + 1.0) - (r + nn) * sa - (s + 1.0) * sb

        def step(eta: FloatArray, idx: NDArray[np.intp]) -> FloatArray:
            nn = n[idx]
            sa = 1.0 / (1.0 + alpha * np.exp(-eta))
            sb = 1.0 / (1.0 + beta * np.exp(-eta))
            d1 = np.abs(slope(eta, nn))
            d2 = (r + nn) * sa * (1.0 - sa) + (s + 1.0) * sb * (1.0 - sb)
            return np.minimum.reduce(
                [
                    np.ones_like(eta),
                    4.0 / np.maximum(d1, 1e-300),
                    1.5 / np.sqrt(np.maximum(d2, 1e-300)),
                ]
            )

        # the mode of the concave log integrand, by bisection on its slope
        lo = np.full(n.shape, np.log(min(alpha, beta)) - 60.0)
        hi = np.full(n.shape, np.log(max(alpha, beta)) + 60.0)
        for _ in range(100):
            mid = (lo + hi) / 2.0
            up = slope(mid, n) > 0
            lo = np.where(up, mid, lo)
            hi = np.where(up, hi, mid)
        top = np.log(t)
        start = np.minimum((lo + hi) / 2.0, top)
        died = log_integrate(log_f, step, start - 400.0, top, start)
        out[pos] = np.exp(logaddexp(survive, died))
        return out
