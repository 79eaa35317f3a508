"""The Gamma-Gamma model of spend per transaction (Fader, Hardie and Lee 2005).

A customer's transaction values are gamma(``p``, ``nu``) with a customer-specific
rate ``nu ~ Gamma(q, v)``; the mean value is ``p / nu``.  Spend is assumed independent
of the purchase process.  The data are the number of repeat transactions ``x`` and
their mean value ``m`` (``frequency`` and ``monetary_value``); the density of the mean
``m`` of ``x`` transactions (Fader and Hardie 2013, eq. 2) is

    f(m | x) = Gamma(p x + q) / (Gamma(p x) Gamma(q)) v^q m^(p x - 1) x^(p x)
               / (v + x m)^(p x + q).

The log-likelihood splits into terms that depend on ``x`` only (evaluated once per
distinct ``x``), sums fixed by the data, and ``log(v + x m)`` per customer, so a fit
over a million customers costs one logarithm per customer and iteration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from scipy.special import digamma, gammaln

from regulars.errors import SchemaError
from regulars.models._base import (
    BaseModel,
    Columns,
    FloatArray,
    TableLike,
    check_values,
    compress,
    read_columns,
)
from regulars.models._diagnostics import spend_checks
from regulars.models._numerics import dot

__all__ = ["GammaGammaModel"]

_COLUMNS = ("frequency", "monetary_value")


@dataclass
class _Stats:
    xm: FloatArray  # x * m per distinct (x, m)
    x: FloatArray
    w: FloatArray
    ux: FloatArray  # distinct x and the weight of each
    wx: FloatArray
    total: float
    sum_x_log_m: float
    sum_log_m: float
    mean_m: float


class GammaGammaModel(BaseModel):
    """Gamma-Gamma model of the mean transaction value of repeat buyers.

    ``fit`` uses the customers with ``frequency >= 1`` (the others carry no spend
    information) and needs ``monetary_value > 0`` for them: the mean value of the
    repeat transactions, in money units.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters.
    initial_params : mapping, optional
        Starting values for ``p``, ``q``, ``v``.
    max_iter : int, default 2000
        Iterations of the optimizer per starting point.

    Attributes
    ----------
    params_ : dict
        ``p`` (shape of the transaction values), ``q`` and ``v`` (shape and rate of the
        gamma distribution of the customer-level rate ``nu``; ``v`` in money units).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. Journal of Marketing Research 42(4), 415-430.

    Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
    http://brucehardie.com/notes/025/

    Colombo, R. and Jiang, W. (1999). A stochastic RFM model. Journal of Interactive
    Marketing 13(3), 2-12.
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")

    def _read(self, data: TableLike, caller: str, *, weighted: bool) -> Columns:
        cols = read_columns(data, _COLUMNS, caller=caller, weighted=weighted)
        x, m = cols["frequency"], cols["monetary_value"]
        show = list(_COLUMNS)
        check_values(
            cols,
            (x < 0) | (x != np.floor(x)),
            "have a frequency that is not a whole number >= 0",
            "frequency counts repeat purchases.",
            caller,
            show,
        )
        check_values(
            cols,
            (x >= 1) & (m <= 0),
            "have repeat purchases but a monetary_value <= 0",
            "monetary_value is the mean value of the repeat purchases and must be > 0; drop "
            "customers whose repeat purchases are all free, or add a small amount.",
            caller,
            show,
        )
        return cols

    def fit(self, data: TableLike, /) -> Self:
        """Fit on ``frequency`` and ``monetary_value`` (optional ``weight``).

        Rows with ``frequency == 0`` are ignored.  Returns self with ``params_``,
        ``log_likelihood_`` (total over the repeat buyers), ``n_customers_`` (repeat
        buyers), ``n_distinct_`` and ``diagnostics_``: the parameter checks and the
        model's own assumptions (spend varies; spend per purchase does not follow the
        number of purchases, Spearman ``|rho| < 0.3``), see
        :class:`~regulars.models.Diagnostics`.
        """
        caller = f"{type(self).__name__}.fit"
        cols = self._read(data, caller, weighted=True)
        buyers = cols["frequency"] >= 1
        if not buyers.any():
            raise SchemaError(
                f"The data passed to {caller} has no customer with frequency >= 1 (repeat buyers)."
            )
        cols = compress(
            Columns(
                {k: v[buyers] for k, v in cols.arrays.items()}, cols.weight[buyers], cols.source
            )
        )
        x, m, w = cols["frequency"], cols["monetary_value"], cols.weight
        ux, inverse = np.unique(x, return_inverse=True)
        stats = _Stats(
            xm=x * m,
            x=x,
            w=w,
            ux=ux,
            wx=np.bincount(inverse, weights=w).astype(float),
            total=float(w.sum()),
            sum_x_log_m=float(dot(w, x * np.log(m))),
            sum_log_m=float(dot(w, np.log(m))),
            mean_m=float(np.average(m, weights=w)),
        )
        self._fit_stats(stats, stats.total, cols.size)
        if hasattr(self, "diagnostics_"):  # set by _fit_stats with the parameter checks
            spend_checks(self.diagnostics_, self.params_["p"], x, m, w)
        return self

    def _starting_points(self, stats: _Stats) -> list[FloatArray]:
        mean = stats.mean_m
        return [np.log([2.0, 2.0, mean]), np.log([1.0, 1.0, 1.0]), np.log([6.0, 4.0, mean / 2.0])]

    def _log_likelihood(self, z: NDArray[Any], stats: _Stats) -> tuple[float, FloatArray]:
        p, q, v = np.exp(z)
        ux, wx = stats.ux, stats.wx
        px = p * ux
        per_x = gammaln(px + q) - gammaln(px) - gammaln(q) + px * np.log(ux)
        log_vxm = np.log(v + stats.xm)
        wlog = stats.w * log_vxm
        ll = (
            wx @ per_x
            + stats.total * q * np.log(v)
            + p * stats.sum_x_log_m
            - stats.sum_log_m
            - p * float(dot(stats.x, wlog))
            - q * float(wlog.sum())
        )
        psi_all = digamma(px + q)
        d_p = (
            wx @ (ux * (psi_all - digamma(px) + np.log(ux)))
            + stats.sum_x_log_m
            - float(dot(stats.x, wlog))
        )
        d_q = wx @ (psi_all - digamma(q)) + stats.total * np.log(v) - float(wlog.sum())
        d_v = stats.total * q / v - float(dot(stats.w, (p * stats.x + q) / (v + stats.xm)))
        return float(ll), np.array([d_p * p, d_q * q, d_v * v])

    def expected_spend(self, data: TableLike, /) -> FloatArray:
        """Conditional expected mean transaction value of each customer.

        ``E[M | x, m] = p (v + x m) / (p x + q - 1)``: a weighted average of the
        population mean ``p v / (q - 1)`` and the customer's own mean ``m``, with more
        weight on ``m`` the more purchases the customer made.  For ``frequency == 0``
        it is the population mean.

        Raises
        ------
        SchemaError
            Where ``p x + q <= 1``: the model then implies an infinite mean spend
            (a very heavy tail); refit with a penalizer or check the data.
        """
        self._check_fitted()
        caller = f"{type(self).__name__}.expected_spend"
        cols = self._read(data, caller, weighted=False)
        p, q, v = self._theta()
        x, m = cols["frequency"], cols["monetary_value"]
        denom = p * x + q - 1.0
        if np.any(denom <= 0):
            raise SchemaError(
                f"{caller}: with q = {q:.4g} and p = {p:.4g} the model's mean spend is infinite "
                f"for customers with frequency <= {(1.0 - q) / p:.3g}; their expected spend is "
                "undefined. Refit with penalizer=0.01, or score only customers with more repeat "
                "purchases."
            )
        return np.asarray(p * (v + np.where(x >= 1, x * m, 0.0)) / denom)
