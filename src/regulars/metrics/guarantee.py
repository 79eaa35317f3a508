"""The money-back guarantee: refunds inside the window, and revenue still pending.

The window of an order runs ``[guarantee] days`` from its date.  While it is open the
order's revenue is *pending*: the customer can still ask for the money back.  A
refund counts as inside the window when its ``refund_date`` is at most ``days`` after
the order date; a refund without a ``refund_date`` is taken to be inside it.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.metrics._asof import observation_end
from regulars.metrics._common import (
    MONEY,
    TablesLike,
    filter_periods,
    index_to_start,
    metric_context,
    money_sum,
    order_facts,
    resolve_period,
    safe_ratio,
    union_all,
)

__all__ = ["guarantee"]

CUSTOMER_TYPES = ("new", "returning")


def guarantee(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    as_of: _dt.date | str | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Refund rate inside the guarantee window and pending revenue, new vs returning.

    Orders are counted in the period of their date (cancelled orders are left out).
    An order is *returning* when its customer had a paid order in an earlier period,
    otherwise *new* (a first order refunded in full stays new: that is the guarantee
    at work).

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``.
    period : {"month", "quarter", "year"}, optional
        The period; default ``[workspace] period``.
    as_of : date or ISO string, optional
        The day pending windows are judged on (default: the latest date in the data).
    start, end : date or ISO string, optional
        Keep only the periods overlapping ``[start, end]``.
    config : Config, optional
        Overrides the workspace configuration (``[guarantee] days``).

    Returns
    -------
    ibis.Table
        One row per period and ``customer_type`` (new, returning), every period from
        the first to the last order: ``orders``, ``customers``, ``revenue`` (before
        refunds), ``refunded_orders`` and ``refunds`` (refunds inside the window),
        ``refund_rate`` (refunded orders / orders), ``refund_share`` (refunds /
        revenue), ``late_refunds`` (refunds after the window), ``pending_orders`` and
        ``pending_revenue`` (net revenue of orders whose window is still open on
        ``as_of``), ``settled_revenue`` (the rest of the net revenue).
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    days = ctx.config.guarantee.days
    facts = order_facts(ctx, per, extra=("refund_date",))
    first = ctx.first_paid(per).select("customer_id", _cohort="cohort_index")
    f = facts.left_join(first, "customer_id")
    f = f.mutate(_rdate=f.refund_date)
    f = f.cross_join(observation_end(ctx, as_of))
    returning = f._cohort.notnull() & (f._cohort < f.period_index)
    window_end = f.order_date + ibis.interval(days=days)
    refunded = f.refund > 0
    if days > 0:
        inside = refunded & (f._rdate.isnull() | (f._rdate.cast("date") <= window_end))
        pending = f.as_of < window_end
    else:
        inside = ibis.literal(False)
        pending = ibis.literal(False)
    f = f.select(
        "period_index",
        "customer_id",
        "revenue",
        "refund",
        "net_revenue",
        returning=returning,
        inside=inside,
        pending=pending,
    )
    zero = ibis.literal(Decimal("0.00"), type=MONEY)
    # Grouped by a boolean, named after the (small) aggregation.
    agg = f.group_by(_pi="period_index", _ret="returning").aggregate(
        orders=f.count(),
        customers=f.customer_id.nunique(),
        revenue=money_sum(f.revenue),
        refunded_orders=f.count(where=f.inside),
        refunds=money_sum(f.refund, where=f.inside),
        late_refunds=money_sum(f.refund, where=~f.inside),
        pending_orders=f.count(where=f.pending),
        pending_revenue=money_sum(f.net_revenue, where=f.pending),
        settled_revenue=money_sum(f.net_revenue, where=~f.pending),
    )
    agg = agg.mutate(_ct=ibis.cases((agg._ret, "returning"), else_="new")).drop("_ret")
    bounds = facts.aggregate(_lo=facts.period_index.min(), _hi=facts.period_index.max())
    grid = bounds.select(period_index=ibis.range(bounds._lo, bounds._hi + 1)).unnest("period_index")
    grid = grid.select(period_index=grid.period_index.cast("int64"))
    types = union_all(*[bounds.select(customer_type=ibis.literal(c)) for c in CUSTOMER_TYPES])
    grid = grid.cross_join(types)
    t = grid.left_join(agg, [grid.period_index == agg._pi, grid.customer_type == agg._ct])
    counts = ["orders", "customers", "refunded_orders", "pending_orders"]
    money = ["revenue", "refunds", "late_refunds", "pending_revenue", "settled_revenue"]
    t = t.select(
        "period_index",
        "customer_type",
        **{c: t[c].fill_null(0).cast("int64") for c in counts},
        **{c: ibis.coalesce(t[c], zero) for c in money},
    )
    t = filter_periods(t, per, start, end)
    out = t.select(
        index_to_start(t.period_index, per).name("period"),
        "customer_type",
        "orders",
        "customers",
        "revenue",
        "refunded_orders",
        "refunds",
        refund_rate=safe_ratio(t.refunded_orders, t.orders),
        refund_share=safe_ratio(t.refunds, t.revenue),
        late_refunds=t.late_refunds,
        pending_orders=t.pending_orders,
        pending_revenue=t.pending_revenue,
        settled_revenue=t.settled_revenue,
    )
    return out.order_by(["period", "customer_type"])
