"""The low/high columns of the ``scores`` table: parameter uncertainty of each score.

:func:`interval_columns` scores the distinct purchase tuples ``(frequency, recency,
T)`` and spend tuples ``(frequency, monetary_value)`` under parameter draws (see
:mod:`regulars.models.uncertainty`) and returns, per tuple, the 90% interval of P(alive)
and of the expected orders in a year, and the spread of ``log`` of each CLV factor.
They are added to the scored tuples of ``regulars.models._scoring.scored_tuples`` and
joined to the customers with them.
CLV is ``expected spend x discounted expected orders``; the two factors come from
independent models, so ``sd(log CLV)^2`` is the sum of their squared spreads, and
``clv_low/high = clv exp(-/+ z sd)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from scipy.special import logit

from regulars.errors import SchemaError
from regulars.models._rfm import TIME_UNIT_DAYS, TimeUnit
from regulars.models._scoring import (
    MONTH_DAYS,
    _factorizable,
    _horizon,
)
from regulars.models._threads import in_order
from regulars.models.uncertainty import (
    _DiscountedPairs,
    _Running,
    _scores,
    _with_z,
    _z_level,
    parameter_draws,
)

__all__ = ["INTERVAL_COLUMNS", "has_uncertainty", "interval_columns"]

#: Draws of the parameters per score (each scores every distinct tuple once).
N_DRAWS = 20
LEVEL = 0.9
SEED = 20_151_015
INTERVAL_COLUMNS = (
    "p_alive_low",
    "p_alive_high",
    "expected_orders_365d_low",
    "expected_orders_365d_high",
    "clv_low",
    "clv_high",
)
_EPS = 1e-12


def has_uncertainty(model: Any) -> bool:
    cov = np.asarray(getattr(model, "_cov_log", np.nan), dtype=float)
    return cov.ndim == 2 and bool(np.all(np.isfinite(cov)))


def interval_columns(
    keys: dict[str, Any],
    spend_keys: dict[str, Any] | None,
    purchase: Any,
    spend: Any | None,
    *,
    clv_horizon: int,
    discount_rate: float,
    time_unit: TimeUnit,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Per purchase tuple of ``keys`` (``frequency, recency, T``): the P(alive) and
    1-year order intervals and ``_sd_dep``; per spend tuple of ``spend_keys``
    (``frequency, monetary_value``): ``_sd_spend`` (None when the CLV gets no
    interval).  Columns in the order of the keys' rows."""
    unit_days = TIME_UNIT_DAYS[time_unit]
    tuples = {k: np.asarray(keys[k], dtype=float) for k in ("frequency", "recency", "T")}
    n = tuples["frequency"].shape[0]
    zq = _z_level(LEVEL)
    t_year = _horizon(purchase, 365 / unit_days)
    x, big_t = tuples["frequency"], tuples["T"]
    u, inv = np.unique(x + 1j * big_t, return_inverse=True)
    pairs = (u.real.copy(), u.imag.copy(), inv.reshape(-1))
    use_pairs = _factorizable(purchase) and not getattr(purchase, "_discrete", False)
    # MBG/CNBD-k: no (x, T) shortcut, so an expectation per draw costs as much as a whole
    # scoring run; only its P(alive) gets an interval (its orders and CLV get NULL)
    p_only = not _factorizable(purchase)
    if p_only:
        theta0 = purchase._theta()
        args = (tuples["frequency"], tuples["recency"], tuples["T"])
        p0 = np.clip(np.asarray(purchase._p_alive(theta0, *args), dtype=float), 0.0, 1.0)
        e0 = np.full(n, np.nan)
    else:
        p0, e0 = _scores(purchase, tuples, t_year, pairs if use_pairs else None)
        p0, e0 = np.asarray(p0, dtype=float), np.asarray(e0, dtype=float)
    months = clv_horizon
    rate = (1.0 + discount_rate) ** (1.0 / 12.0) - 1.0
    dep_pairs = (
        _DiscountedPairs(
            purchase,
            tuples,
            horizon=months,
            discount_rate=rate,
            time_unit_per_period=MONTH_DAYS / unit_days,
        )
        if use_pairs and spend is not None
        else None
    )
    run_p, run_e, run_d = _Running(n), _Running(n), _Running(n)

    def one_draw(z: Any) -> tuple[Any, Any, Any]:
        """This draw's logit P(alive), log orders in a year and log discounted orders."""
        model = _with_z(purchase, z)
        if p_only:
            p = np.clip(model._p_alive(model._theta(), *args), 0.0, 1.0)
            return logit(np.clip(np.asarray(p, dtype=float), _EPS, 1.0 - _EPS)), None, None
        p, e = _scores(model, tuples, t_year, pairs if use_pairs else None)
        lp = logit(np.clip(np.asarray(p, dtype=float), _EPS, 1.0 - _EPS))
        le = np.log(np.maximum(np.asarray(e, dtype=float), 1e-300))
        if spend is None or dep_pairs is None:
            return lp, le, None
        dep = dep_pairs.value(model, None, z, p_alive=p)  # this draw's P(alive)
        return lp, le, np.log(np.maximum(np.asarray(dep, dtype=float), 1e-300))

    # the draws on the machine's cores, added in their order: the same sums as one loop
    draws = parameter_draws(purchase, n_draws=N_DRAWS, seed=SEED)
    for lp_z, le_z, ld_z in in_order(one_draw, draws):
        run_p.add(lp_z)
        if le_z is not None:
            run_e.add(le_z)
        if ld_z is not None:
            run_d.add(ld_z)
    lp = logit(np.clip(p0, _EPS, 1.0 - _EPS))
    le = np.log(np.maximum(e0, 1e-300))
    columns: dict[str, Any] = {}
    columns["p_alive_low"] = np.minimum(1.0 / (1.0 + np.exp(-(lp - zq * run_p.sd))), p0)
    columns["p_alive_high"] = np.maximum(1.0 / (1.0 + np.exp(-(lp + zq * run_p.sd))), p0)
    columns["expected_orders_365d_low"] = np.where(e0 > 0, np.exp(le - zq * run_e.sd), 0.0)
    columns["expected_orders_365d_high"] = np.where(e0 > 0, np.exp(le + zq * run_e.sd), 0.0)
    columns["_sd_dep"] = run_d.sd if spend is not None else np.zeros(n)
    for name in ("expected_orders_365d_low", "expected_orders_365d_high"):
        if p_only:  # NULL, not NaN
            columns[name] = pa.nulls(n, pa.float64())
    if spend is None or dep_pairs is None or spend_keys is None:
        # MBG/CNBD-k: its expectation has no (x, T) shortcut, so twelve CLV horizons
        # per draw would cost far more than scoring; its CLV gets no interval
        return columns, None
    stuples = {k: np.asarray(spend_keys[k], dtype=float) for k in ("frequency", "monetary_value")}
    m = stuples["frequency"].shape[0]
    run_s = _Running(m)
    for z in parameter_draws(spend, n_draws=N_DRAWS, seed=SEED + 1):
        try:
            value = np.asarray(_with_z(spend, z).expected_spend(stuples), dtype=float)
        except SchemaError:  # a draw with q <= 1: the mean spend is infinite
            continue
        run_s.add(np.log(np.maximum(value, 1e-300)))
    spend_columns: dict[str, Any] = {}
    # if many draws imply an infinite mean spend, the CLV has no upper bound: no interval
    ok = run_s.k >= max(2, int(0.9 * N_DRAWS))
    spend_columns["_sd_spend"] = run_s.sd if ok else pa.nulls(m, pa.float64())
    return columns, spend_columns


def z_value() -> float:
    return _z_level(LEVEL)
