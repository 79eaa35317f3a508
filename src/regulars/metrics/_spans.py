"""Subscription spans: when each subscription counts, whether it churned, its MRR.

Every subscription is turned into a *span*: the day it starts counting and the day it
stops (see :func:`subscription_spans`), and its monthly recurring revenue (MRR).  The
conventions come from ``[subscriptions]`` in ``regulars.toml`` and are defined in
``docs/metrics.md``:

``churn_at``
    ``period_end`` (default): a subscription counts through the last day of its paid
    period (``end_date``) and stops the day after; ``cancellation``: it stops on
    ``cancel_date``.  When the preferred date is missing the other one is used.
``discounts``
    ``net`` (default): MRR is the list MRR times the paid share of the customer's
    subscription orders during the subscription (``revenue / (revenue + discount)``);
    ``list``: the list price.
``same_period``
    ``both`` (default): a customer with no MRR at either end of a period, whose
    subscriptions started and stopped inside it, counts as new (or reactivated) and as
    churned in that period; ``neither``: such a customer does not appear.

MRR is normalised to a month from the price per billing period: week × 52 / 12,
month × 1, quarter / 3, year / 12, rounded half-up to the cent.  It is kept in integer
cents inside the engine, so the movements add up exactly.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from regulars.config import Config
from regulars.metrics._asof import observation_end
from regulars.metrics._common import (
    MONEY,
    MetricContext,
    TablesLike,
    metric_context,
    safe_ratio,
)

__all__ = ["MRR_FACTORS", "cents_to_money", "subscription_spans"]

#: (numerator, denominator) turning a price per billing period into a monthly amount.
MRR_FACTORS: dict[str, tuple[int, int]] = {
    "week": (52, 12),
    "month": (1, 1),
    "quarter": (1, 3),
    "year": (1, 12),
}


# -- spans ---------------------------------------------------------------------------


def _cents(value: ir.NumericValue) -> ir.IntegerValue:
    """A money value as integer cents (exact for DECIMAL(18, 2))."""
    return (value.cast(MONEY) * 100).cast("int64")


def cents_to_money(cents: ir.IntegerValue) -> ir.DecimalValue:
    """Integer cents back to a ``DECIMAL(18, 2)`` money value, exactly."""
    return (cents.cast(dt.Decimal(18, 0)) * ibis.literal(Decimal("0.01"), type=MONEY)).cast(MONEY)


def _round_half_up(num: ir.IntegerValue, den: int) -> ir.IntegerValue:
    """``round(num / den)`` half-up for non-negative integers, in integer arithmetic."""
    if den == 1:
        return num
    return (num + den // 2) // den


def _list_mrr_cents(price: ir.NumericValue, billing: ir.StringValue) -> ir.IntegerValue:
    c = _cents(price)
    pairs = [
        (billing == name, _round_half_up(c * num, den)) for name, (num, den) in MRR_FACTORS.items()
    ]
    return ibis.cases(*pairs, else_=ibis.null("int64"))


def subscription_spans(
    data: TablesLike,
    /,
    *,
    as_of: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """One row per valid subscription: when it counts, whether it churned, its MRR.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``subscriptions``; ``orders`` for net-of-discount MRR and the default
        ``as_of``.
    as_of : date or ISO string, optional
        The end of observation (default: :func:`observation_end`).
    config : Config, optional
        Overrides the workspace configuration (``[subscriptions]``).

    Returns
    -------
    ibis.Table
        ``subscription_id``, ``customer_id``, ``plan``, ``billing_period``, ``start``
        (date), ``stop`` (first day it no longer counts under ``churn_at``; null while
        open-ended), ``churned`` (``stop <= as_of``), ``as_of``, ``list_mrr_cents``,
        ``mrr_cents`` (after the ``discounts`` convention), ``discount_share``.

    Notes
    -----
    A subscription without a start, with an unknown billing period, with a negative
    price or whose stop is not after its start is left out.
    """
    ctx = metric_context(data, config)
    conv = ctx.config.subscriptions
    s = ctx.table("subscriptions")
    end_next = s.end_date.cast("date") + ibis.interval(days=1)
    cancel = s.cancel_date.cast("date")
    if conv.churn_at == "period_end":
        stop = ibis.coalesce(end_next, cancel)
    else:
        stop = ibis.coalesce(cancel, end_next)
    spans = s.select(
        subscription_id=s.subscription_id,
        customer_id=s.customer_id,
        plan=s.plan,
        billing_period=s.billing_period,
        start=s.start_date.cast("date"),
        stop=stop,
        list_mrr_cents=_list_mrr_cents(s.price, s.billing_period),
    )
    spans = spans.cross_join(observation_end(ctx, as_of))
    spans = spans.filter(
        spans.start.notnull(),
        spans.list_mrr_cents.notnull(),
        spans.list_mrr_cents >= 0,
        spans.start <= spans.as_of,
        spans.stop.isnull() | (spans.stop > spans.start),
    )
    spans = spans.mutate(churned=spans.stop.notnull() & (spans.stop <= spans.as_of))
    if conv.discounts == "list":
        return spans.mutate(
            mrr_cents=spans.list_mrr_cents, discount_share=ibis.literal(0.0, type="float64")
        )
    return _net_of_discounts(ctx, spans)


def _net_of_discounts(ctx: MetricContext, spans: ir.Table) -> ir.Table:
    o = ctx.table("orders")
    o = o.filter(o.status.fill_null("paid") != "cancelled", o.kind == "subscription")
    o = o.select(
        _cid=o.customer_id,
        _day=o.order_date.cast("date"),
        _gross=o.revenue.cast(MONEY) + o.discount.cast(MONEY).fill_null(Decimal("0.00")),
        _disc=o.discount.cast(MONEY).fill_null(Decimal("0.00")),
    )
    upto = ibis.cases((spans.churned, spans.stop), else_=spans.as_of + ibis.interval(days=1))
    keyed = spans.select("subscription_id", "customer_id", "start", _upto=upto)
    j = keyed.join(
        o,
        [keyed.customer_id == o._cid, o._day >= keyed.start, o._day < keyed._upto],
    )
    shares = j.group_by(_sid="subscription_id").aggregate(_g=j._gross.sum(), _d=j._disc.sum())
    shares = shares.mutate(
        _share=ibis.cases((shares._g.cast("float64") > 0, safe_ratio(shares._d, shares._g)))
    )
    out = spans.left_join(shares, spans.subscription_id == shares._sid)
    share = out._share.fill_null(0.0)
    net = ibis.cases(
        (share > 0, (out.list_mrr_cents.cast("float64") * (1.0 - share) + 0.5).floor()),
        else_=out.list_mrr_cents,
    ).cast("int64")
    return out.mutate(mrr_cents=net, discount_share=share).drop("_sid", "_g", "_d", "_share")
