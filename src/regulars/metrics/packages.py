"""Service packages: how many customers buy them, and what the package discount costs.

A package is an order with ``kind = "package"``: several services sold together,
usually at a discount (seed 003 sold packages at up to 30% off).  The question is
whether the discount buys loyalty: the discount given is set against the revenue the
packages kept after refunds.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
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
)

__all__ = ["packages"]


def packages(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Package uptake per period, and the discount given against the revenue kept.

    Orders are counted in the period of their date; cancelled orders are left out.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``.
    period : {"month", "quarter", "year"}, optional
        The period; default ``[workspace] period``.
    start, end : date or ISO string, optional
        Keep only the periods overlapping ``[start, end]``.
    config : Config, optional
        Overrides the workspace configuration.

    Returns
    -------
    ibis.Table
        Every period from the first to the last order: ``orders``,
        ``package_orders``, ``package_order_share``, ``customers`` (with an order),
        ``package_customers``, ``package_customer_share``, ``revenue`` (net of
        refunds, all orders), ``package_revenue`` (before refunds),
        ``package_discount`` (the ``discount`` of package orders),
        ``package_discount_rate`` (discount / (package revenue + discount): the share
        off list price), ``package_refunds``, ``package_revenue_kept`` (package
        revenue − refunds), ``package_revenue_share`` (kept / revenue) and
        ``discount_per_revenue_kept`` (discount / revenue kept).
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    facts = order_facts(ctx, per, extra=("discount",))
    f = facts.mutate(_disc=facts.discount.cast(MONEY))
    is_pkg = f.kind == "package"
    zero = ibis.literal(Decimal("0.00"), type=MONEY)
    stored = ctx.customer_periods_stored(per)
    # Customers with an order: the rows of the stored customer-period table (one per
    # customer and period with a non-cancelled order) where it is stored, else a
    # distinct count here; one distinct count fewer over the orders.
    customers = {} if stored else {"customers": f.customer_id.nunique()}
    agg = f.group_by(_pi="period_index").aggregate(
        orders=f.count(),
        package_orders=is_pkg.cast("int64").sum(),
        **customers,
        package_customers=f.customer_id.nunique(where=is_pkg),
        revenue=money_sum(f.net_revenue),
        package_revenue=money_sum(f.revenue, where=is_pkg),
        package_discount=money_sum(ibis.coalesce(f._disc, zero), where=is_pkg),
        package_refunds=money_sum(f.refund, where=is_pkg),
        package_revenue_kept=money_sum(f.net_revenue, where=is_pkg),
    )
    if stored:
        cp = ctx.customer_periods(per)
        n = cp.group_by(_ci="period_index").aggregate(customers=cp.customer_id.count())
        agg = agg.left_join(n, agg._pi == n._ci).drop("_ci")
    bounds = facts.aggregate(_lo=facts.period_index.min(), _hi=facts.period_index.max())
    grid = bounds.select(period_index=ibis.range(bounds._lo, bounds._hi + 1)).unnest("period_index")
    grid = grid.select(period_index=grid.period_index.cast("int64"))
    t = grid.left_join(agg, grid.period_index == agg._pi)
    counts = ["orders", "package_orders", "customers", "package_customers"]
    money = [
        "revenue",
        "package_revenue",
        "package_discount",
        "package_refunds",
        "package_revenue_kept",
    ]
    t = t.select(
        "period_index",
        **{c: t[c].fill_null(0).cast("int64") for c in counts},
        **{c: ibis.coalesce(t[c], zero) for c in money},
    )
    t = filter_periods(t, per, start, end)
    out = t.select(
        index_to_start(t.period_index, per).name("period"),
        "orders",
        "package_orders",
        package_order_share=safe_ratio(t.package_orders, t.orders),
        customers=t.customers,
        package_customers=t.package_customers,
        package_customer_share=safe_ratio(t.package_customers, t.customers),
        revenue=t.revenue,
        package_revenue=t.package_revenue,
        package_discount=t.package_discount,
        package_discount_rate=safe_ratio(
            t.package_discount, t.package_revenue + t.package_discount
        ),
        package_refunds=t.package_refunds,
        package_revenue_kept=t.package_revenue_kept,
        package_revenue_share=safe_ratio(t.package_revenue_kept, t.revenue),
        discount_per_revenue_kept=safe_ratio(t.package_discount, t.package_revenue_kept),
    )
    return out.order_by(["period"])
