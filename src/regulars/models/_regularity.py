"""The regularity statistic of the CNBD-k models, computed inside the engine.

:class:`~regulars.models.ModifiedBetaGeoCNBDModel` chooses its regularity ``k`` by
likelihood, and the likelihood of Erlang-k inter-purchase times needs, besides
``frequency``, ``recency`` and ``T``, one more number per customer: ``litt``, the sum
of the logs of the times between consecutive purchase periods.  This module computes it
as one Ibis expression over the same purchase periods as
:func:`~regulars.models.rfm_summary`, so only one row per customer leaves the engine.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from regulars.models._rfm import (
    TIME_UNIT_DAYS,
    TIME_UNITS,
    DateLike,
    TimeUnit,
    _check_choice,
    _to_date,
    purchase_periods,
)

__all__ = ["regularity_summary", "with_litt"]


def regularity_summary(
    transactions: Any,
    /,
    *,
    customer_id_col: str = "customer_id",
    datetime_col: str = "order_date",
    observation_end: DateLike | None = None,
    time_unit: TimeUnit = "D",
    merge_period: TimeUnit = "D",
) -> ir.Table:
    """One row per customer: ``customer_id`` and ``litt``.

    ``litt`` is the sum, over the customer's repeat purchase periods, of the log of the
    time since the previous purchase period, in ``time_unit`` (0 without repeat
    purchases).  Purchases merge by ``merge_period`` exactly as in
    :func:`~regulars.models.rfm_summary`, and only those up to ``observation_end``
    count; join the result to the RFM summary on ``customer_id`` and pass it to
    :class:`~regulars.models.ModifiedBetaGeoCNBDModel`.

    Parameters are those of :func:`~regulars.models.rfm_summary`.

    Notes
    -----
    One window function (the previous purchase period of each customer, ordered by
    the period, which is unique per customer) and one aggregation.  As BTYDplus's
    ``elog2cbs``, the inter-purchase times are the times between distinct purchase
    periods, so they are never zero.
    """
    _check_choice("time_unit", time_unit, TIME_UNITS)
    until = None if observation_end is None else _to_date(observation_end, "observation_end")
    periods = purchase_periods(
        transactions,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        until=until,
        merge_period=merge_period,
    )
    window = ibis.window(group_by=periods.customer_id, order_by=[periods.period])
    with_prev = periods.mutate(_prev=periods.period.lag().over(window))
    days = (with_prev.period.delta(with_prev._prev, unit="day")).cast("float64")
    gap = days / TIME_UNIT_DAYS[time_unit]
    log_gap = ibis.cases((with_prev._prev.notnull(), gap.ln()), else_=ibis.literal(0.0))
    return with_prev.group_by("customer_id").aggregate(litt=log_gap.sum().cast("float64"))


def with_litt(
    rfm: ir.Table,
    transactions: ir.Table,
    observation_end: DateLike,
    time_unit: TimeUnit,
    *,
    merge_period: TimeUnit = "D",
    customer_id_col: str = "customer_id",
    datetime_col: str = "order_date",
) -> ir.Table:
    """``rfm`` (with ``customer_id``) plus its customers' ``litt`` (0 when absent)."""
    litt = regularity_summary(
        transactions,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        observation_end=observation_end,
        time_unit=time_unit,
        merge_period=merge_period,
    ).rename(_cid="customer_id")
    joined = rfm.left_join(litt, rfm["customer_id"] == litt["_cid"])
    return joined.select(*rfm.columns, litt=joined["litt"].fill_null(0.0))
