"""Honest uncertainty: intervals for P(alive), expected orders, CLV and the next period.

Two kinds of uncertainty, kept apart because they answer different questions:

* **Parameter uncertainty** ("how sure is the model of this customer's expectation?").
  The maximum-likelihood estimates are asymptotically normal in the log-parameters,
  with the inverse Hessian as covariance.  :func:`customer_intervals` and
  :func:`clv_intervals` draw ``n_draws`` parameter vectors from that normal, score the
  distinct ``(frequency, recency, T)`` tuples with each (the expensive part of the
  expected purchases once per distinct ``(frequency, T)`` pair, as in scoring), and
  report an interval per customer: the spread of the draws on the logit scale for
  P(alive) and on the log scale for expectations and CLV, around the estimate.
* **Outcome uncertainty** ("how many orders will this customer actually place?").  A
  customer's count in the next period varies far more than its expectation: even with
  known parameters it is a mixture of "gone" (0 orders) and a beta-geometric/NBD count.
  :func:`order_intervals` returns the 90% predictive interval of each customer's count:
  quantiles of the model's exact conditional distribution ``P(X(T, T+t) = n | history)``
  averaged over the parameter draws.  Its coverage is what a holdout can check.

:func:`aggregate_interval` gives the interval of the total orders (and revenue) of the
next period: expected total, plus a normal interval whose variance adds the customers'
count variances (independent given the parameters) and the variance of the expected
total across parameter draws (shared by all customers).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import betainc, betaln, expit, gammaln, logit, ndtri

from regulars.errors import NotFittedError, SchemaError
from regulars.models._base import FloatArray, TableLike, as_time, distinct, read_columns
from regulars.models._scoring import _factorizable
from regulars.models._transactions import RFM_COLUMNS
from regulars.models.beta_geo import BetaGeoModel

__all__ = [
    "AggregateInterval",
    "aggregate_interval",
    "clv_intervals",
    "customer_intervals",
    "order_intervals",
    "parameter_draws",
]

_EPS = 1e-12


def parameter_draws(model: Any, /, *, n_draws: int = 200, seed: int = 0) -> FloatArray:
    """``n_draws`` log-parameter vectors from the asymptotic normal of a fitted model.

    Rows are draws; columns follow the model's log-parameters (``log r, log alpha, ...``;
    for covariate models also the effects).  Raises if the model has no standard errors
    (a flat likelihood: the data do not pin the parameters down).
    """
    if not hasattr(model, "_cov_log"):
        name = type(model).__name__
        raise NotFittedError(f"This {name} is not fitted yet. Call fit(data) first.")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 2:
        raise ValueError(f"n_draws must be an int >= 2. Got {n_draws!r}.")
    cov = np.asarray(model._cov_log, dtype=float)
    if not np.all(np.isfinite(cov)):
        raise ValueError(
            f"{type(model).__name__} has no standard errors (its Hessian is not invertible), "
            "so its parameter uncertainty is unknown. Refit with penalizer=0.01 or more data."
        )
    z = _z_of(model)
    rng = np.random.default_rng(seed)
    return np.asarray(rng.multivariate_normal(z, cov, size=n_draws, method="eigh"))


def _z_of(model: Any) -> FloatArray:
    if hasattr(model, "_z"):
        return np.asarray(model._z, dtype=float)
    return np.log(model._theta())


def _with_z(model: Any, z: FloatArray) -> Any:
    """A copy of ``model`` whose parameters are ``exp(z)`` (effects ``z`` as they are)."""
    out = copy.copy(model)
    if hasattr(model, "_z"):
        out._z = z
        nb = len(model._base_names)
        out.params_ = dict(zip(model._base_names, np.exp(z[:nb]), strict=True))
    else:
        out.params_ = dict(zip(model._param_names, np.exp(z), strict=True))
    return out


class _Running:
    """Mean and variance of per-row values over draws (Welford), O(rows) memory."""

    def __init__(self, n: int) -> None:
        self.k = 0
        self.mean = np.zeros(n)
        self.m2 = np.zeros(n)

    def add(self, values: FloatArray) -> None:
        self.k += 1
        delta = values - self.mean
        self.mean += delta / self.k
        self.m2 += delta * (values - self.mean)

    @property
    def sd(self) -> FloatArray:
        return np.sqrt(self.m2 / max(self.k - 1, 1))


def _z_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.9). Got {level!r}.")
    return float(ndtri(0.5 + level / 2.0))  # the normal quantile (scipy.stats is slow to import)


def _scores(model: Any, rfm: dict[str, FloatArray], t: float, pairs: Any) -> tuple[Any, Any]:
    """P(alive) and expected purchases of the distinct tuples ``rfm`` under ``model``."""
    if pairs is None or not _factorizable(model):
        return model.probability_alive(rfm), model.expected_purchases(rfm, t=t)
    theta = model._theta()
    x, t_x, big_t = rfm["frequency"], rfm["recency"], rfm["T"]
    p = np.clip(model._p_alive(theta, x, t_x, big_t), 0.0, 1.0)
    ux, ut, inverse = pairs
    rep_tx = np.where(ux > 0, ut, 0.0)
    p_rep = model._p_alive(theta, ux, rep_tx, ut)
    e_rep = model._expected(theta, ux, rep_tx, ut, np.full(ux.shape, t))
    ok = p_rep > 1e-250
    given_alive = np.where(ok, e_rep / np.where(ok, p_rep, 1.0), 0.0)
    expected = p * given_alive[inverse]
    if not ok.all():
        bad = ~ok[inverse]
        expected[bad] = model._expected(theta, x[bad], t_x[bad], big_t[bad], np.full(bad.sum(), t))
    return p, np.maximum(expected, 0.0)


def _distinct_rfm(
    model: Any, data: TableLike, extra: tuple[str, ...] = ()
) -> tuple[NDArray[np.intp], dict[str, FloatArray], Any, TableLike]:
    """Codes and distinct rows of the RFM columns, and the (x, T) pairs for the shortcut."""
    covariate = hasattr(model, "design_")
    if covariate:  # covariate models score the rows as they are
        cols = read_columns(data, (*RFM_COLUMNS, *extra), caller="customer_intervals")
        n = cols.size
        return np.arange(n, dtype=np.intp), dict(cols.arrays), None, data
    names = (*RFM_COLUMNS, *extra)
    cols = read_columns(data, names, caller="customer_intervals")
    codes, uniq = distinct(*(cols[n] for n in names))
    rfm = dict(zip(names, uniq, strict=True))
    x, big_t = rfm["frequency"], rfm["T"]
    u, inv = np.unique(x + 1j * big_t, return_inverse=True)
    pairs = (u.real.copy(), u.imag.copy(), inv.reshape(-1))
    return codes, rfm, pairs, rfm


def customer_intervals(
    model: Any,
    data: TableLike,
    /,
    *,
    t: float,
    level: float = 0.9,
    n_draws: int = 50,
    seed: int = 0,
) -> pd.DataFrame:
    """P(alive) and expected purchases in the next ``t`` with parameter-uncertainty intervals.

    Parameters
    ----------
    model : a fitted purchase model
        BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, MBG/CNBD-k or a covariate model.
    data : table or dict of arrays
        ``frequency``, ``recency``, ``T`` (and the covariate columns of a covariate
        model), one row per customer.
    t : float
        Horizon in the model's time unit.
    level : float, default 0.9
        Coverage of the intervals.
    n_draws, seed
        Parameter draws from the asymptotic normal of the log-parameters.

    Returns
    -------
    pandas.DataFrame
        One row per input row: ``probability_alive``, ``probability_alive_low``,
        ``probability_alive_high``, ``expected_purchases``, ``expected_purchases_low``,
        ``expected_purchases_high``.  The estimate is the one at the maximum-likelihood
        parameters; the interval is ``estimate -/+ z sd`` on the logit (P(alive)) or log
        (expectation) scale, with ``sd`` the spread of the draws there.

    Notes
    -----
    This is the uncertainty of the *expectation*.  The number of orders a customer will
    actually place varies much more; see :func:`order_intervals`.
    """
    t = float(as_time(t))
    zq = _z_level(level)
    draws = parameter_draws(model, n_draws=n_draws, seed=seed)
    codes, _, pairs, scored = _distinct_rfm(model, data)
    p0, e0 = (np.asarray(v, dtype=float) for v in _scores(model, scored, t, pairs))
    n = p0.shape[0]
    run_p, run_e = _Running(n), _Running(n)
    for z in draws:
        p, e = _scores(_with_z(model, z), scored, t, pairs)
        run_p.add(logit(np.clip(p, _EPS, 1.0 - _EPS)))
        run_e.add(np.log(np.maximum(e, 1e-300)))
    lp = logit(np.clip(p0, _EPS, 1.0 - _EPS))
    le = np.log(np.maximum(e0, 1e-300))
    frame = pd.DataFrame(
        {
            "probability_alive": p0,
            "probability_alive_low": np.minimum(expit(lp - zq * run_p.sd), p0),
            "probability_alive_high": np.maximum(expit(lp + zq * run_p.sd), p0),
            "expected_purchases": e0,
            "expected_purchases_low": np.where(e0 > 0, np.exp(le - zq * run_e.sd), 0.0),
            "expected_purchases_high": np.where(e0 > 0, np.exp(le + zq * run_e.sd), 0.0),
        }
    )
    return frame.iloc[codes].reset_index(drop=True)


def clv_intervals(
    purchase_model: Any,
    spend_model: Any,
    data: TableLike,
    /,
    *,
    horizon: int,
    discount_rate: float,
    time_unit_per_period: float = 1.0,
    level: float = 0.9,
    n_draws: int = 50,
    seed: int = 0,
) -> pd.DataFrame:
    """Discounted CLV of each customer with a parameter-uncertainty interval.

    As :func:`~regulars.models.customer_lifetime_value` (same arguments), evaluated at
    the estimates and at ``n_draws`` joint draws of the purchase and the spend model's
    parameters (independent).  Returns ``clv``, ``clv_low`` and ``clv_high`` per row;
    the interval is ``clv * exp(-/+ z sd)`` with ``sd`` the spread of ``log(clv)``.
    """
    from regulars.models.clv import customer_lifetime_value

    zq = _z_level(level)
    names = (*RFM_COLUMNS, "monetary_value") if spend_model is not None else RFM_COLUMNS
    cols = read_columns(data, names, caller="clv_intervals")
    codes, uniq = distinct(*(cols[n] for n in names))
    tuples = dict(zip(names, uniq, strict=True))
    kwargs: dict[str, Any] = {
        "horizon": horizon,
        "discount_rate": discount_rate,
        "time_unit_per_period": time_unit_per_period,
    }
    p_draws = parameter_draws(purchase_model, n_draws=n_draws, seed=seed)
    s_draws = (
        parameter_draws(spend_model, n_draws=n_draws, seed=seed + 1)
        if spend_model is not None
        else [None] * n_draws
    )
    run = _Running(uniq[0].shape[0])
    if _factorizable(purchase_model):
        pairs = _DiscountedPairs(purchase_model, tuples, **kwargs)
        value = pairs.value(purchase_model, spend_model, np.log(purchase_model._theta()))
        for zp, zs in zip(p_draws, s_draws, strict=True):
            sm = _with_z(spend_model, zs) if zs is not None else None
            try:
                v = pairs.value(_with_z(purchase_model, zp), sm, zp)
            except SchemaError:  # a spend draw with an infinite mean spend (q <= 1)
                continue
            run.add(np.log(np.maximum(v, 1e-300)))
    else:
        value = np.asarray(customer_lifetime_value(purchase_model, spend_model, tuples, **kwargs))
        for zp, zs in zip(p_draws, s_draws, strict=True):
            sm = _with_z(spend_model, zs) if zs is not None else None
            try:
                v = customer_lifetime_value(_with_z(purchase_model, zp), sm, tuples, **kwargs)
            except SchemaError:  # a spend draw with an infinite mean spend (q <= 1)
                continue
            run.add(np.log(np.maximum(np.asarray(v), 1e-300)))
    lv = np.log(np.maximum(value, 1e-300))
    frame = pd.DataFrame(
        {
            "clv": value,
            "clv_low": np.where(value > 0, np.exp(lv - zq * run.sd), 0.0),
            "clv_high": np.where(value > 0, np.exp(lv + zq * run.sd), 0.0),
        }
    )
    return frame.iloc[codes].reset_index(drop=True)


class _DiscountedPairs:
    """CLV of the models whose expectation factorises, for many parameter draws.

    ``E[X(k)] = P(alive) G_k(x, T)``, so CLV is ``spend * P(alive) * D(x, T)`` with
    ``D = sum_k (G_k - G_(k-1)) / (1 + d)^k`` computed once per distinct ``(x, T)``
    pair.  ``D`` is the expensive part (one conditional expectation per pair and
    horizon); across parameter draws it is linearised in the log-parameters around the
    estimate (``log D`` by forward differences, one evaluation per parameter), while
    P(alive) and the spend are evaluated exactly for each draw.
    """

    def __init__(
        self,
        model: Any,
        tuples: dict[str, FloatArray],
        *,
        horizon: int,
        discount_rate: float,
        time_unit_per_period: float,
    ) -> None:
        self.tuples = tuples
        self.kwargs: dict[str, Any] = {
            "horizon": horizon,
            "discount_rate": discount_rate,
            "time_unit_per_period": time_unit_per_period,
        }
        x, big_t = tuples["frequency"], tuples["T"]
        u, inv = np.unique(x + 1j * big_t, return_inverse=True)
        self.ux, self.ut, self.inv = u.real.copy(), u.imag.copy(), inv.reshape(-1)
        self.z0 = np.log(model._theta())
        self.d0, self.ok = self._pair_sums(model, self.z0)
        self.slope = np.zeros((self.ux.shape[0], self.z0.shape[0]))
        h = 1e-5
        for j in range(self.z0.shape[0]):
            zj = self.z0.copy()
            zj[j] += h
            dj, okj = self._pair_sums(model, zj)
            good = self.ok & okj & (dj > 0) & (self.d0 > 0)
            self.slope[good, j] = (np.log(dj[good]) - np.log(self.d0[good])) / h

    def _pair_sums(self, model: Any, z: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
        theta = np.exp(z)
        ux, ut = self.ux, self.ut
        rep_tx = np.where(ux > 0, ut, 0.0)
        p_rep = model._p_alive(theta, ux, rep_tx, ut)
        ok = p_rep > 1e-250
        total = np.zeros(ux.shape[0])
        previous = np.zeros(ux.shape[0])
        step = float(self.kwargs["time_unit_per_period"])
        rate = float(self.kwargs["discount_rate"])
        for k in range(1, int(self.kwargs["horizon"]) + 1):
            e_rep = model._expected(theta, ux, rep_tx, ut, np.full(ux.shape, k * step))
            current = np.where(ok, e_rep / np.where(ok, p_rep, 1.0), 0.0)
            total += (current - previous) / (1.0 + rate) ** k
            previous = current
        return total, ok

    def value(
        self,
        model: Any,
        spend_model: Any,
        z: FloatArray,
        *,
        p_alive: FloatArray | None = None,
    ) -> FloatArray:
        """The discounted expected purchases (times the spend) of ``self.tuples`` under
        ``model``; ``p_alive``, if given, is its P(alive) of these tuples."""
        from regulars.models.clv import customer_lifetime_value

        pair = self.d0 * np.exp(self.slope @ (z - self.z0))
        x, t_x, big_t = self.tuples["frequency"], self.tuples["recency"], self.tuples["T"]
        if p_alive is None:
            p_alive = model._p_alive(model._theta(), x, t_x, big_t)
        p = np.clip(p_alive, 0.0, 1.0)
        out = p * pair[self.inv]
        if spend_model is not None:
            out = out * spend_model.expected_spend(self.tuples)
        bad = ~self.ok[self.inv]
        if bad.any():  # P(alive) underflows at the representative history: direct
            sub = {name: v[bad] for name, v in self.tuples.items()}
            out[bad] = customer_lifetime_value(model, spend_model, sub, **self.kwargs)
        return np.asarray(out)


# -- the count itself ------------------------------------------------------------------
def _bg_future_pmf(
    n: float, r: FloatArray, alpha: FloatArray, a: FloatArray, b: FloatArray, t: float
) -> FloatArray:
    """P(n purchases in t) of a customer alive now, with posterior (r, alpha, a, b).

    Purchases are Poisson(lambda), lambda ~ Gamma(r, alpha); after each purchase the
    customer drops out with p ~ Beta(a, b): the BG/NBD count of a new customer.
    """
    prob = t / (alpha + t)
    log_nbd = (
        gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) + r * np.log1p(-prob) + n * np.log(prob)
    )
    base = betaln(a, b)
    alive = np.exp(betaln(a, b + n) - base + log_nbd)
    if n == 0:
        return np.asarray(alive)
    died = np.exp(betaln(a + 1.0, b + n - 1.0) - base) * betainc(n, r, prob)
    return np.asarray(alive + died)


def order_intervals(
    model: Any,
    data: TableLike,
    /,
    *,
    t: float,
    level: float = 0.9,
    n_draws: int = 30,
    seed: int = 0,
    max_orders: int = 10_000,
) -> pd.DataFrame:
    """The predictive interval of each customer's number of orders in the next ``t``.

    For the BG/NBD and MBG/NBD models.  Given the history, the count is 0 with
    probability ``1 - P(alive)``, and otherwise a BG/NBD count with the posterior
    parameters ``(r + x, alpha + T, a, b + x)`` (``b + x + 1`` for the MBG/NBD).  This
    exact distribution is averaged over ``n_draws`` parameter draws.  A count is
    discrete, so the interval cannot hold exactly ``level`` of the probability: each
    end is the cut between two counts whose cumulative probability is *nearest* to
    ``(1 - level) / 2`` below and ``(1 + level) / 2`` above.  (Cutting at the first
    count that reaches the quantile instead would always hold more than ``level``; a
    customer who is almost surely gone gets ``[0, 0]`` either way.)

    Returns ``orders_low`` and ``orders_high`` (whole numbers) per row.
    """
    if not isinstance(model, BetaGeoModel) or hasattr(model, "design_"):
        raise TypeError(
            "order_intervals needs a fitted BetaGeoModel or ModifiedBetaGeoModel; got "
            f"{type(model).__name__}. Use customer_intervals for the other models."
        )
    t = float(as_time(t))
    _z_level(level)
    lo_q, hi_q = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    codes, rfm, _, _ = _distinct_rfm(model, data)
    x, t_x, big_t = rfm["frequency"], rfm["recency"], rfm["T"]
    mod = 1.0 if model._dropout_at_zero else 0.0
    zs = np.vstack([_z_of(model), parameter_draws(model, n_draws=n_draws, seed=seed)])
    thetas = np.exp(zs)
    alive = np.stack([np.clip(model._p_alive(th, x, t_x, big_t), 0.0, 1.0) for th in thetas])
    m = x.shape[0]
    cdf = np.zeros(m)
    low = np.zeros(m)
    high = np.full(m, float(max_orders))
    best_lo = np.full(m, lo_q)  # distance of the lower cut (below n = 0: CDF 0)
    best_hi = np.full(m, np.inf)
    active = np.arange(m)
    n = 0
    while active.size and n <= max_orders:
        pmf = np.zeros(active.size)
        for d, (r, alpha, a, b) in enumerate(thetas):
            future = _bg_future_pmf(
                float(n), r + x[active], alpha + big_t[active], a, b + x[active] + mod, t
            )
            pa = alive[d, active]
            pmf += pa * future + (1.0 - pa) * (n == 0)
        pmf /= thetas.shape[0]
        cdf[active] += pmf
        c = cdf[active]
        # the cut after n nearest to each tail's probability
        lo_dist = np.abs(c - lo_q)
        move = lo_dist < best_lo[active]
        low[active[move]] = n + 1
        best_lo[active[move]] = lo_dist[move]
        hi_dist = np.abs(c - hi_q)
        take = hi_dist < best_hi[active]
        high[active[take]] = n
        best_hi[active[take]] = hi_dist[take]
        active = active[c < hi_q + 0.5 * (1.0 - hi_q) + 1e-12]
        n += 1
    high = np.maximum(high, low)
    frame = pd.DataFrame({"orders_low": low, "orders_high": high})
    return frame.iloc[codes].reset_index(drop=True)


@dataclass(frozen=True)
class AggregateInterval:
    """Total orders (and revenue) of a group of customers over the next period."""

    orders: float
    orders_low: float
    orders_high: float
    revenue: float | None = None
    revenue_low: float | None = None
    revenue_high: float | None = None


def aggregate_interval(
    model: Any,
    data: TableLike,
    /,
    *,
    t: float,
    spend: Any | None = None,
    level: float = 0.9,
    n_draws: int = 50,
    seed: int = 0,
) -> AggregateInterval:
    """Expected total orders (and revenue) in the next ``t``, with a prediction interval.

    The total of many customers is close to normal.  Its variance is the sum of the
    customers' count variances, which are independent given the parameters (for the
    BG/NBD family from the exact conditional distribution; for other models the Poisson
    variance of a live customer's expectation is used, a lower bound), plus the variance
    of the expected total across parameter draws, which all customers share.  With
    ``spend`` (expected spend per order of each row, e.g. from the Gamma-Gamma model) the
    revenue interval scales each customer's count by their spend.
    """
    t = float(as_time(t))
    zq = _z_level(level)
    cols = read_columns(data, RFM_COLUMNS, caller="aggregate_interval")
    n_rows = cols.size
    money = np.ones(n_rows) if spend is None else np.asarray(spend, dtype=float).reshape(-1)
    if money.shape[0] != n_rows:
        raise ValueError(f"spend has {money.shape[0]} values for {n_rows} customers.")
    expected = np.asarray(model.expected_purchases(data, t=t), dtype=float)
    if isinstance(model, BetaGeoModel) and not hasattr(model, "design_"):
        second = _bg_second_moment(model, cols["frequency"], cols["recency"], cols["T"], t)
        var = np.maximum(second - expected**2, 0.0)
    else:
        var = expected
    totals = []
    for z in parameter_draws(model, n_draws=n_draws, seed=seed):
        e = np.asarray(_with_z(model, z).expected_purchases(data, t=t), dtype=float)
        totals.append((e.sum(), (e * money).sum()))
    spread = np.asarray(totals)
    orders = float(expected.sum())
    sd_orders = float(np.sqrt(var.sum() + spread[:, 0].var(ddof=1)))
    result = AggregateInterval(orders, max(orders - zq * sd_orders, 0.0), orders + zq * sd_orders)
    if spend is None:
        return result
    revenue = float((expected * money).sum())
    sd_rev = float(np.sqrt((var * money**2).sum() + spread[:, 1].var(ddof=1)))
    return AggregateInterval(
        result.orders,
        result.orders_low,
        result.orders_high,
        revenue,
        max(revenue - zq * sd_rev, 0.0),
        revenue + zq * sd_rev,
    )


def _bg_second_moment(
    model: BetaGeoModel, x: FloatArray, t_x: FloatArray, big_t: FloatArray, t: float
) -> FloatArray:
    """``E[X^2]`` of the holdout count given the history (BG/NBD family), by summation."""
    r, alpha, a, b = model._theta()
    mod = 1.0 if model._dropout_at_zero else 0.0
    codes, (ux, utx, ut) = distinct(x, t_x, big_t)
    pa = np.clip(model._p_alive(model._theta(), ux, utx, ut), 0.0, 1.0)
    out = np.zeros(ux.shape[0])
    cdf = np.zeros(ux.shape[0])
    active = np.arange(ux.shape[0])
    n = 0
    while active.size and n <= 100_000:
        f = _bg_future_pmf(float(n), r + ux[active], alpha + ut[active], a, b + ux[active] + mod, t)
        out[active] += n * n * f
        cdf[active] += f
        keep = (1.0 - cdf[active] > 1e-10) | (n < 2)
        active = active[keep]
        n += 1
    return np.asarray(pa * out)[codes]
