"""The shifted-beta-geometric (sBG) model of contract renewals (Fader and Hardie 2007).

Each subscriber renews at the end of every period with a fixed probability
``1 - theta`` until they cancel; across subscribers ``theta ~ Beta(alpha, beta)``.
The lifetime ``T`` (number of periods paid for) then has

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),
    S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta),

and the retention rate ``S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1)``
rises with ``t``: the subscribers likely to cancel leave first.  The discounted
expected residual lifetime of a subscriber who has renewed ``n - 1`` times (Fader and
Hardie 2010, eq. 6) is

    DERL = (beta + n - 1) / (alpha + beta + n - 1)
           * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d)),

computed here as its defining positive series, summed in log space until the remaining
tail is below 1e-16 of the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, digamma

from regulars.errors import SchemaError
from regulars.models._base import (
    BaseModel,
    FloatArray,
    TableLike,
    as_time,
    check_values,
    compress,
    read_columns,
    scalar_or_array,
)
from regulars.models._numerics import dot

__all__ = ["ShiftedBetaGeoModel"]

_COLUMNS = ("periods", "churned")


@dataclass
class _Stats:
    periods: FloatArray
    churned: FloatArray
    w: FloatArray


class ShiftedBetaGeoModel(BaseModel):
    """sBG model of subscription renewals (contractual, discrete periods).

    Fit either on survivor counts of a cohort with :meth:`fit_survivors`, or on one
    row per subscriber with :meth:`fit`: ``periods`` (periods paid for, >= 1) and
    ``churned`` (1 if the subscriber has cancelled after the last paid period, 0 if
    still active), with an optional ``weight``.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters.
    initial_params : mapping, optional
        Starting values for ``alpha`` and ``beta``.
    max_iter : int, default 2000
        Iterations of the optimizer per starting point.

    Attributes
    ----------
    params_ : dict
        ``alpha`` and ``beta`` of the beta distribution of the churn probability.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007). How to project customer retention.
    Journal of Interactive Marketing 21(1), 76-90.

    Fader, P. S. and Hardie, B. G. S. (2010). Customer-base valuation in a contractual
    setting: the perils of ignoring heterogeneity. Marketing Science 29(1), 85-93.

    Examples
    --------
    >>> from regulars.models import ShiftedBetaGeoModel
    >>> counts = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> model = ShiftedBetaGeoModel().fit_survivors(counts)
    >>> {k: round(v, 3) for k, v in model.params_.items()}
    {'alpha': 0.704, 'beta': 1.182}
    >>> round(model.log_likelihood_, 1)
    -1680.3
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")

    def fit(self, data: TableLike, /) -> Self:
        """Fit on one row per subscriber (or group): ``periods``, ``churned``, ``weight``."""
        caller = f"{type(self).__name__}.fit"
        cols = read_columns(data, _COLUMNS, caller=caller, weighted=True)
        periods, churned = cols["periods"], cols["churned"]
        check_values(
            cols,
            (periods < 1) | (periods != np.floor(periods)),
            "have periods that is not a whole number >= 1",
            "periods counts the periods a subscriber has paid for, the first one included.",
            caller,
            list(_COLUMNS),
        )
        check_values(
            cols,
            (churned != 0) & (churned != 1),
            "have churned other than 0 or 1",
            "churned is 1 for cancelled subscriptions, 0 for active ones.",
            caller,
            list(_COLUMNS),
        )
        cols = compress(cols)
        return self._fit_stats(
            _Stats(cols["periods"], cols["churned"], cols.weight),
            float(cols.weight.sum()),
            cols.size,
        )

    def fit_survivors(self, counts: Any, /) -> Self:
        """Fit on a cohort's survivor counts.

        Parameters
        ----------
        counts : sequence of numbers
            ``counts[t]`` is the number of subscribers still active at the start of
            period ``t``; ``counts[0]`` is the cohort size.  Non-increasing, at least two
            values.  The last value is treated as still active (censored).
        """
        caller = f"{type(self).__name__}.fit_survivors"
        try:
            arr = np.asarray(counts, dtype=float)
        except (TypeError, ValueError):
            raise SchemaError(f"{caller} needs a sequence of numbers; got {counts!r}.") from None
        if (
            arr.ndim != 1
            or arr.size < 2
            or not np.all(np.isfinite(arr))
            or arr[0] <= 0
            or np.any(arr < 0)
        ):
            raise SchemaError(
                f"{caller} needs at least two finite survivor counts >= 0 with counts[0] > 0 "
                f"(the cohort size), for example [1000, 631, 468]; got {list(arr)!r}."
            )
        drops = arr[:-1] - arr[1:]
        if np.any(drops < 0):
            t = int(np.flatnonzero(drops < 0)[0]) + 1
            raise SchemaError(
                f"{caller}: survivor counts must not increase, but counts[{t}] = {arr[t]:g} > "
                f"counts[{t - 1}] = {arr[t - 1]:g}. counts[t] is the number still active at the "
                "start of period t."
            )
        n = arr.size
        periods = np.concatenate([np.arange(1.0, n), [float(n)]])
        churned = np.concatenate([np.ones(n - 1), [0.0]])
        weight = np.concatenate([drops, arr[-1:]])
        keep = weight > 0
        stats = _Stats(periods[keep], churned[keep], weight[keep])
        return self._fit_stats(stats, float(arr[0]), int(keep.sum()))

    def _starting_points(self, stats: _Stats) -> list[FloatArray]:
        return [np.zeros(2), np.log([0.5, 2.0]), np.log([3.0, 10.0])]

    def _log_likelihood(self, z: NDArray[Any], stats: _Stats) -> tuple[float, FloatArray]:
        al, be = np.exp(z)
        t, died, w = stats.periods, stats.churned > 0, stats.w
        base, d_all = betaln(al, be), digamma(al + be)
        # churned after t periods: B(al+1, be+t-1); active: S(t-1) = B(al, be+t-1)
        first = np.where(died, al + 1.0, al)
        second = be + t - 1.0
        ll = betaln(first, second) - base
        top = digamma(first + second)
        d_al = digamma(first) - top - digamma(al) + d_all
        d_be = digamma(second) - top - digamma(be) + d_all
        return float(dot(w, ll)), np.array([dot(w, d_al) * al, dot(w, d_be) * be])

    # -- predictions ----------------------------------------------------------------
    def survival(self, t: Any) -> Any:
        """``S(t)``: share of a new cohort still active at the start of period ``t`` (S(0) = 1)."""
        al, be = self._theta()
        tt = as_time(t, integer=True)
        return scalar_or_array(np.exp(betaln(al, be + tt) - betaln(al, be)), t)

    def retention_rate(self, t: Any) -> Any:
        """``r(t) = S(t) / S(t-1)``: share of period ``t - 1``'s subscribers who renew (t >= 1)."""
        al, be = self._theta()
        tt = as_time(t, integer=True)
        if np.any(tt < 1):
            raise ValueError(
                f"retention_rate is defined for t >= 1 (the first renewal). Got {t!r}."
            )
        return scalar_or_array((be + tt - 1.0) / (al + be + tt - 1.0), t)

    def expected_residual_lifetime(self, discount_rate: Any, *, renewals: Any = 0) -> Any:
        """Discounted expected residual lifetime (DERL) of a subscriber, in periods.

        The expected number of further payments of a subscriber who has renewed
        ``renewals`` times and is about to decide on the next renewal, counting the
        next payment undiscounted and each later one discounted by ``1 + discount_rate``
        per period.  Multiply by the margin per period for the residual value.

        Parameters
        ----------
        discount_rate : float or array, > 0
            Per period (e.g. 0.1 for 10% a year with yearly contracts).
        renewals : int or array, default 0
            Renewals made so far (``n - 1`` in Fader and Hardie 2010).

        References
        ----------
        Fader, P. S. and Hardie, B. G. S. (2010), eq. (6).
        """
        al, be = self._theta()
        d = np.asarray(discount_rate, dtype=float)
        if not np.all(np.isfinite(d)) or np.any(d <= 0):
            raise ValueError(f"discount_rate must be > 0 (per period). Got {discount_rate!r}.")
        k = as_time(renewals, "renewals", integer=True)
        d_b, k_b = np.broadcast_arrays(d, k)
        log_z = -np.log1p(d_b.ravel())
        # term j (j >= 0): prod_{i=0}^{j} (be+k+i)/(al+be+k+i) * z^j
        b0 = be + k_b.ravel()
        total = np.full(log_z.shape, -np.inf)
        log_prod = np.zeros(log_z.shape)
        start = 0
        chunk = 1024
        while True:
            i = start + np.arange(chunk, dtype=float)[None, :]
            steps = (
                np.log(b0[:, None] + i)
                - np.log(al + b0[:, None] + i)
                + np.where(i > 0, log_z[:, None], 0.0)
            )
            logs = log_prod[:, None] + np.cumsum(steps, axis=1)
            m = np.maximum(total, logs.max(axis=1))
            total = m + np.log(np.exp(total - m) + np.exp(logs - m[:, None]).sum(axis=1))
            log_prod = logs[:, -1]
            # the ratio of successive terms is below z, so the tail is below term * z / (1 - z)
            tail = log_prod + log_z - np.log(-np.expm1(log_z))
            if np.all(tail < total - 37.0):
                break
            start += chunk
        return scalar_or_array(np.exp(total).reshape(d_b.shape), discount_rate, renewals)
