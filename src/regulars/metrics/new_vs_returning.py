"""New vs returning customers per period: orders, revenue, profit and efficiency."""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.metrics._common import (
    MetricContext,
    TablesLike,
    filter_periods,
    metric_context,
    money_sum,
    order_facts,
    period_grid,
    referral_reward_costs,
    resolve_period,
    safe_ratio,
    spend_by_period,
    union_all,
)
from regulars.metrics._periods import left_censored_customers, mark_comparable

__all__ = ["new_vs_returning", "period_spend"]


def period_spend(ctx: MetricContext, period: Period) -> ir.Table:
    """Acquisition and retention spend per period.

    Columns: ``period_index``, ``acquisition_spend`` (spend of every channel not in
    ``[metrics] retention_channels``, plus referral rewards when the referral ledger
    exists), ``retention_spend``.  Only periods with spend appear.
    """
    s = spend_by_period(ctx, period)
    parts = s.select(
        "period_index",
        acquisition=ibis.cases((s.is_retention, 0), else_=s.amount).cast(s.amount.type()),
        retention=ibis.cases((s.is_retention, s.amount), else_=0).cast(s.amount.type()),
    )
    rewards = referral_reward_costs(ctx, period)
    if rewards is not None:
        zero = ibis.literal(0).cast(parts.acquisition.type())
        parts = union_all(
            parts,
            rewards.select(
                "period_index",
                acquisition=rewards.amount.cast(parts.acquisition.type()),
                retention=zero,
            ),
        )
    return parts.group_by("period_index").aggregate(
        acquisition_spend=parts.acquisition.sum(), retention_spend=parts.retention.sum()
    )


def new_vs_returning(
    tables: TablesLike,
    /,
    *,
    period: Period | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Orders, revenue, profit and efficiency of new and of returning customers.

    The three charts of seed 003: orders from new vs regular customers, the profit
    from each group, and the efficiency (profit per unit of cost) of each group.

    Parameters
    ----------
    tables : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``; ``customers`` and ``spend`` for efficiency.
    period : {"month", "quarter", "year"}, optional
        Default: ``[workspace] period``.
    start, end : date or ISO string, optional
        Keep only the periods that overlap ``[start, end]``.
    config : Config, optional
        Overrides the configuration of ``tables``.

    Returns
    -------
    ibis.Table
        Lazy; one row per period from the first period with an order or spend to the
        last, including empty periods.  Columns: ``period``, ``new_customers``,
        ``returning_customers``, ``new_orders``, ``returning_orders``,
        ``new_revenue``, ``returning_revenue``, ``new_profit``, ``returning_profit``,
        ``acquisition_spend``, ``retention_spend``, ``new_efficiency``,
        ``returning_efficiency``, ``left_censored_customers`` (of the returning
        customers, those seen for the first time in the data: already customers when
        the data start), ``complete`` (the data cover the period from its first to its
        last day) and ``comparable`` (this period and the one before are complete).

    Notes
    -----
    A customer is *new* in the period of their first paid order (see
    :mod:`regulars.ledger`: not cancelled, not a credit note, positive net revenue)
    and *returning* in every later period in which they place a paid order.  Customers
    and orders count paid orders only; revenue and profit are net of refunds and cover
    every non-cancelled order of the group (and its credit notes), so
    ``new_revenue + returning_revenue`` is the period's whole net revenue (orders of
    people who have not paid yet, such as a refunded first order, fall in the new
    group, whose acquisition they cost).

    When the data start inside a running business, the customers of the first weeks
    were customers before the data start (*left-censored*, see ``docs/metrics.md``):
    they are returning customers from their first order in the data on, never new.

    ``new_efficiency = new_profit / acquisition_spend`` and ``returning_efficiency =
    returning_profit / retention_spend``; each is null when its spend is zero.
    """
    ctx = metric_context(tables, config)
    per = resolve_period(period, ctx.config)
    first = ctx.first_paid(per).select("customer_id", "cohort_index")
    # Customers who were customers before the data start count as returning from
    # their first order in the data on.
    censored = left_censored_customers(ctx).select(_lc="customer_id")
    first = first.left_join(censored, first.customer_id == censored._lc)
    first = first.mutate(_censored=first._lc.notnull()).drop("_lc")
    if ctx.customer_periods_stored(per):
        sums, back = _split_customer_periods(ctx.customer_periods(per), first), None
    else:
        sums, back = _split_orders(order_facts(ctx, per), first)
    # New customers: those whose first paid order is in the period.
    arrivals = first.group_by(_ai="cohort_index").aggregate(
        new_customers=first.count(where=~first._censored),
        left_censored_customers=first.count(where=first._censored),
    )
    spend = period_spend(ctx, per)
    lo_hi = union_all(sums.select("period_index"), spend.select("period_index"))
    bounds = lo_hi.aggregate(lo=lo_hi.period_index.min(), hi=lo_hi.period_index.max())
    grid = period_grid(bounds, per)
    # Joined on the column name (no rename), so sums and spend stay shared subqueries.
    out = grid.left_join(sums, "period_index").drop("period_index_right")
    out = out.left_join(arrivals, out.period_index == arrivals._ai).drop("_ai")
    if back is not None:
        out = out.left_join(back, out.period_index == back._bi).drop("_bi")
    out = out.left_join(spend, "period_index").drop("period_index_right")
    counts = ["new_customers", "returning_customers", "new_orders", "returning_orders"]
    money = ["new_revenue", "returning_revenue", "new_profit", "returning_profit"]
    spends = ["acquisition_spend", "retention_spend"]
    filled = {c: out[c].fill_null(0).cast("int64") for c in counts}
    filled |= {c: out[c].fill_null(0).cast(sums[c].type()) for c in money}
    filled |= {c: out[c].fill_null(0).cast(spend[c].type()) for c in spends}
    censored_n = out.left_censored_customers.fill_null(0).cast("int64")
    out = out.select("period_index", "period", **filled, _lcn=censored_n)
    out = out.mutate(
        new_efficiency=safe_ratio(out.new_profit, out.acquisition_spend),
        returning_efficiency=safe_ratio(out.returning_profit, out.retention_spend),
        left_censored_customers=out._lcn,
    ).drop("_lcn")
    out = mark_comparable(out, ctx, per)
    out = filter_periods(out, per, start, end)
    return out.order_by("period_index").drop("period_index")


def _returning(t: ir.Table) -> ir.BooleanValue:
    """Returning in the row's period: a customer acquired in an earlier period, or
    one who was a customer before the data start."""
    return t.cohort_index.notnull() & (
        (t.cohort_index < t.period_index) | t._censored.fill_null(False)
    )


def _split_customer_periods(cp: ir.Table, first: ir.Table) -> ir.Table:
    """The sums per period from the stored customer-period table (net revenue, profit
    and paid orders of each customer in each period), returning customers included.

    A customer is new or returning for a whole period, so this is the split of the
    orders: one join of the customer-periods and one aggregation, no distinct count
    (on Spark, where the table is stored, this replaces a join of every order and a
    ``DISTINCT`` of the returning customer-periods).
    """
    c = cp.left_join(first, "customer_id")
    returning = _returning(c)
    new = ~returning
    revenue_t, profit_t = cp.revenue.type(), cp.profit.type()  # one sum of the orders
    return c.group_by("period_index").aggregate(
        new_orders=c.orders.sum(where=new),
        returning_orders=c.orders.sum(where=returning),
        new_revenue=money_sum(c.revenue, where=new).cast(revenue_t),
        returning_revenue=money_sum(c.revenue, where=returning).cast(revenue_t),
        new_profit=money_sum(c.profit, where=new).cast(profit_t),
        returning_profit=money_sum(c.profit, where=returning).cast(profit_t),
        returning_customers=c.count(where=returning & (c.orders > 0)),
    )


def _split_orders(facts: ir.Table, first: ir.Table) -> tuple[ir.Table, ir.Table]:
    """The sums per period from the orders, and the returning customers per period
    (``_bi``, ``returning_customers``) apart: where the customer-period table is not
    stored, classifying the orders one by one costs less than grouping them all by
    customer and period first."""
    f = facts.left_join(first, "customer_id")
    returning = _returning(f)
    new = ~returning
    sums = f.group_by("period_index").aggregate(
        new_orders=f.count(where=new & f.is_paid),
        returning_orders=f.count(where=returning & f.is_paid),
        new_revenue=money_sum(f.net_revenue, where=new),
        returning_revenue=money_sum(f.net_revenue, where=returning),
        new_profit=money_sum(f.profit, where=new),
        returning_profit=money_sum(f.profit, where=returning),
    )
    # Returning customers: distinct customers with a paid order in a later period.
    back = f.filter(f.is_paid & returning).select("customer_id", "period_index").distinct()
    return sums, back.group_by(_bi="period_index").aggregate(returning_customers=back.count())
