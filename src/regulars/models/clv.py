"""Customer lifetime value from a purchase model and a spend model.

The definition is the one of the BTYD literature and of ``lifetimes``
(``GammaGammaFitter.customer_lifetime_value``): over ``horizon`` periods of
``time_unit_per_period`` model time units each,

    CLV = sum_{k=1}^{horizon} spend * (E[X(T, T + k u)] - E[X(T, T + (k-1) u)]) / (1 + d)^k,

where ``E[X(T, T + t)]`` is the purchase model's conditional expected number of
purchases in the next ``t`` time units (:meth:`expected_purchases`), ``u`` is
``time_unit_per_period``, ``d`` the discount rate per period, and ``spend`` the spend
model's conditional expected value per purchase (:meth:`GammaGammaModel.expected_spend`).
The purchases expected in period ``k`` are discounted as if they happened at its end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from regulars.models._base import FloatArray, TableLike, distinct, read_columns
from regulars.models._transactions import RFM_COLUMNS, TransactionModel

if TYPE_CHECKING:
    from regulars.models.gamma_gamma import GammaGammaModel

__all__ = ["customer_lifetime_value"]


def customer_lifetime_value(
    purchase_model: TransactionModel,
    spend_model: GammaGammaModel | None,
    data: TableLike,
    /,
    *,
    horizon: int,
    discount_rate: float,
    time_unit_per_period: float = 1.0,
) -> FloatArray:
    """Discounted expected spend of each customer over ``horizon`` periods.

    Parameters
    ----------
    purchase_model : BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        A fitted purchase model.
    spend_model : GammaGammaModel or None
        A fitted spend model.  With None the spend is 1 per purchase, and the result is
        the discounted expected number of purchases.
    data : table or dict of arrays
        ``frequency``, ``recency``, ``T`` (in the purchase model's time unit) and, with
        a spend model, ``monetary_value``.
    horizon : int
        Number of periods, e.g. 12 for a year of months.
    discount_rate : float
        Per period, e.g. 0.01 a month.
    time_unit_per_period : float, default 1.0
        Model time units in one period, e.g. ``365.25 / 12`` for a model fitted in days
        and monthly periods, ``52 / 12`` for weeks.  Must be a whole number for BG/BB.

    Returns
    -------
    ndarray
        One value per input row, in money units (or purchases without a spend model).

    Notes
    -----
    Each distinct ``(frequency, recency, T)`` is scored once.  For a customer who is
    likely dead the increments are small, so CLV = (P(alive) x purchases per period
    while alive x spend), discounted and summed.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. Journal of Marketing Research 42(4), 415-430.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a whole number of periods >= 1. Got {horizon!r}.")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError(
            f"discount_rate must be > -1 (per period, e.g. 0.01). Got {discount_rate!r}."
        )
    if not np.isfinite(time_unit_per_period) or time_unit_per_period <= 0:
        raise ValueError(f"time_unit_per_period must be > 0. Got {time_unit_per_period!r}.")
    names = (*RFM_COLUMNS, "monetary_value") if spend_model is not None else RFM_COLUMNS
    cols = read_columns(data, names, caller="customer_lifetime_value")
    codes, uniq = distinct(*(cols[n] for n in names))
    tuples: dict[str, Any] = dict(zip(names, uniq, strict=True))
    rfm = {n: tuples[n] for n in RFM_COLUMNS}
    spend = np.ones(uniq[0].shape) if spend_model is None else spend_model.expected_spend(tuples)
    value = np.zeros(uniq[0].shape)
    previous = np.zeros(uniq[0].shape)
    for k in range(1, int(horizon) + 1):
        current = purchase_model.expected_purchases(rfm, t=k * time_unit_per_period)
        value += spend * (current - previous) / (1.0 + discount_rate) ** k
        previous = current
    return np.asarray(value[codes])
