"""Cohort retention: customers and revenue kept by acquisition cohort, NRR and GRR.

A customer's cohort is the period of their first paid order, kept for life (see
:mod:`regulars.metrics._common`).  Both functions return lazy Ibis tables and use
only backend-neutral Ibis, so they run unchanged on DuckDB and on Spark.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.errors import ConfigError
from regulars.metrics._common import (
    TablesLike,
    attach_channels,
    filter_periods,
    index_to_start,
    metric_context,
    money_sum,
    order_facts,
    period_index,
    resolve_period,
    safe_ratio,
)
from regulars.metrics._periods import left_censored_customers, mark_comparable, mark_complete

__all__ = ["cohort_retention", "revenue_retention"]

#: What ``by=`` may split cohorts by.
By = Literal["channel_kind", "channel"]
_BY: tuple[str, ...] = ("channel_kind", "channel")
_PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


def _check_by(by: str | None) -> list[str]:
    if by is None:
        return []
    if by not in _BY:
        raise ConfigError(
            f"by = {by!r} is not valid. Valid values: {', '.join(map(repr, _BY))} or None "
            "(one row per cohort)."
        )
    return [by]


def cohort_retention(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    by: By | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Customer and revenue retention per acquisition cohort and period since acquisition.

    One row per cohort (and ``by`` group) and every period from the cohort's own
    period to the last period with an order, including periods in which nobody in
    the cohort ordered (zeros), so each cohort is a complete row of the triangle.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``; ``customers`` too when ``by`` is given.
    period : {"month", "quarter", "year"}, optional
        The period; default ``[workspace] period``.
    by : {"channel_kind", "channel"}, optional
        Split every cohort by the customers' acquisition channel kind (referral, cold,
        organic, partner, other) or channel name, to compare referred and
        cold-acquired cohorts side by side.
    start, end : date or ISO string, optional
        Keep only the cohorts acquired in periods overlapping ``[start, end]``.
    config : Config, optional
        Overrides the workspace configuration.

    Returns
    -------
    ibis.Table
        ``cohort`` (date), ``by`` column when given, ``period`` (date: the calendar
        period), ``periods_since`` (0 for the acquisition period), ``cohort_customers``,
        ``active_customers`` (cohort members with a paid order in the period),
        ``retention`` (active / cohort customers), ``revenue`` and ``profit`` (net of
        refunds, of all cohort members' orders in the period), ``revenue_retention``
        (revenue / the cohort's revenue in period 0), ``cumulative_revenue`` and
        ``cumulative_revenue_per_customer`` (revenue from period 0 to this one),
        ``complete`` (the data cover the calendar period from its first to its last
        day) and ``left_censored`` (the cohort holds customers who were already
        customers when the data start, so its "first order" is not theirs; see
        ``docs/metrics.md``, "History that starts in the middle").

    Notes
    -----
    Orders a customer placed before their first paid order (free or fully refunded
    ones) fall before the cohort and are not counted.  Revenue is net of refunds in
    the order's period, so a period's revenue can be negative when refunds exceed it.

    See Also
    --------
    revenue_retention : NRR and GRR per period.
    regulars.metrics.subscription_survival : Kaplan-Meier survival of subscriptions.
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    group = _check_by(by)
    facts = order_facts(ctx, per)
    members = ctx.first_paid(per).select("customer_id", "cohort_index")
    if group:
        members = attach_channels(ctx, members).select("customer_id", "cohort_index", *group)
    keys = ["cohort_index", *group]

    # Orders joined to their customer's cohort and summed straight into (cohort,
    # period); active customers are the distinct customers with a paid order there.
    # No per-customer-period table with sums is built.
    f = facts.select("customer_id", "period_index", "net_revenue", "profit", "is_paid")
    f = f.join(members, "customer_id")
    f = f.filter(f.period_index >= f.cohort_index)
    sums = f.group_by([*keys, "period_index"]).aggregate(
        revenue=f.net_revenue.sum(), profit=f.profit.sum()
    )
    paying = f.filter(f.is_paid).select("customer_id", *keys, "period_index").distinct()
    active = paying.group_by([*keys, "period_index"]).aggregate(active_customers=paying.count())
    act_keys = [*keys, "period_index"]
    active = active.rename({f"_p_{k}": k for k in act_keys})
    activity = sums.left_join(active, [sums[k] == active[f"_p_{k}"] for k in act_keys])
    activity = activity.select(
        *act_keys,
        active_customers=activity.active_customers.fill_null(0),
        revenue=activity.revenue,
        profit=activity.profit,
    )

    sizes = members.group_by(keys).aggregate(cohort_customers=members.count())
    last = facts.aggregate(_last=facts.period_index.max())
    grid = sizes.cross_join(last)
    grid = grid.mutate(periods_since=ibis.range(0, grid._last - grid.cohort_index + 1)).unnest(
        "periods_since"
    )
    grid = grid.mutate(periods_since=grid.periods_since.cast("int64"))
    grid = grid.mutate(period_index=grid.cohort_index + grid.periods_since).drop("_last")

    act = activity.rename({f"_a_{k}": k for k in [*keys, "period_index"]})
    pred = [grid[k] == act[f"_a_{k}"] for k in [*keys, "period_index"]]
    t = grid.left_join(act, pred)
    t = t.select(
        *keys,
        "period_index",
        "periods_since",
        "cohort_customers",
        active_customers=t.active_customers.fill_null(0),
        revenue=money_sum_fill(t.revenue),
        profit=money_sum_fill(t.profit),
    )
    cum = ibis.window(group_by=keys, order_by=[t.periods_since], rows=(None, 0))
    first_revenue = ibis.cases((t.periods_since == 0, t.revenue), else_=ibis.null()).max()
    t = t.mutate(
        retention=safe_ratio(t.active_customers, t.cohort_customers),
        revenue_retention=safe_ratio(t.revenue, first_revenue.over(group_by=keys)),
        cumulative_revenue=t.revenue.sum().over(cum),
    )
    t = t.mutate(
        cumulative_revenue_per_customer=safe_ratio(t.cumulative_revenue, t.cohort_customers)
    )
    t = mark_complete(t, ctx, per)
    censored = left_censored_customers(ctx)
    censored = censored.select(_ci=period_index(censored.first_date, per)).distinct()
    t = t.left_join(censored, t.cohort_index == censored._ci)
    t = t.mutate(left_censored=t._ci.notnull()).drop("_ci")
    t = filter_periods(t, per, start, end, index_col="cohort_index")
    out = t.select(
        index_to_start(t.cohort_index, per).name("cohort"),
        *group,
        index_to_start(t.period_index, per).name("period"),
        periods_since=t.periods_since,
        cohort_customers=t.cohort_customers.cast("int64"),
        active_customers=t.active_customers.cast("int64"),
        retention=t.retention,
        revenue=t.revenue,
        profit=t.profit,
        revenue_retention=t.revenue_retention,
        cumulative_revenue=t.cumulative_revenue,
        cumulative_revenue_per_customer=t.cumulative_revenue_per_customer,
        complete=t.complete,
        left_censored=t.left_censored,
    )
    return out.order_by(["cohort", *group, "periods_since"])


def money_sum_fill(value: ir.NumericValue) -> ir.NumericValue:
    """A money column with nulls (no rows joined) read as zero, keeping its type."""
    return ibis.coalesce(value, ibis.literal(0).cast(value.type()))


def revenue_retention(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    window: int | None = None,
    by: By | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Net and gross revenue retention (NRR, GRR) per period, over a window of periods.

    For period P with window L (default one year: 12 months, 4 quarters or 1 year):
    the *base* is every customer with positive net revenue in period P − L.  Then

    - ``nrr = Σ_base rev_P / Σ_base rev_{P−L}``: what the same customers pay now
      (expansion included, lost customers count 0);
    - ``grr = Σ_base min(max(rev_P, 0), rev_{P−L}) / Σ_base rev_{P−L}``: the same,
      with each customer capped at their earlier revenue, so GRR ≤ 1;
    - ``customer_retention``: the share of the base with positive revenue in P.

    New customers acquired after P − L never enter the base.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``; ``customers`` too when ``by`` is given.
    period : {"month", "quarter", "year"}, optional
        The period; default ``[workspace] period``.
    window : int, optional
        L, in periods (default one year).
    by : {"channel_kind", "channel"}, optional
        Split the base by acquisition channel kind or channel.
    start, end : date or ISO string, optional
        Keep only the periods overlapping ``[start, end]``.
    config : Config, optional
        Overrides the workspace configuration.

    Returns
    -------
    ibis.Table
        ``period``, ``by`` column when given, ``base_period`` (P − L),
        ``base_customers``, ``base_revenue``, ``revenue`` (the base's revenue in P),
        ``retained_revenue`` (capped), ``retained_customers``, ``nrr``, ``grr``,
        ``customer_retention``, ``complete`` (P is complete) and ``comparable`` (P and
        P − L are both complete: only then do NRR and GRR compare like with like).
        Every period from the first one that has a base period to the last period
        with an order appears (a period whose base is empty has null ratios).

    References
    ----------
    The capped-per-customer GRR and the uncapped NRR follow the usual SaaS
    definitions of gross and net dollar retention over a trailing year.
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    group = _check_by(by)
    lag = _PERIODS_PER_YEAR[per] if window is None else window
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 1:
        raise ConfigError(
            f"window = {window!r} is not valid (expected a whole number of periods, at "
            "least 1; for example window=12 with period='month' for a year)."
        )
    # The customer-period table has every period of the orders: its bounds are theirs.
    facts = ctx.customer_periods(per)
    cp = facts.select("customer_id", "period_index", "revenue")
    base = cp.filter(cp.revenue > 0)
    base = base.select(
        customer_id=base.customer_id,
        period_index=base.period_index + lag,
        base_revenue=base.revenue,
    )
    if group:
        base = attach_channels(ctx, base).select(
            "customer_id", "period_index", "base_revenue", *group
        )
    now = cp.rename(_cid="customer_id", _pidx="period_index", _rev="revenue")
    j = base.left_join(now, [base.customer_id == now._cid, base.period_index == now._pidx])
    rev = j._rev.fill_null(0)
    capped = ibis.least(ibis.greatest(rev, 0), j.base_revenue)
    agg = j.group_by(["period_index", *group]).aggregate(
        base_customers=j.count(),
        base_revenue=j.base_revenue.sum(),
        revenue=money_sum(rev),
        retained_revenue=money_sum(capped),
        retained_customers=(rev > 0).cast("int64").sum(),
    )

    bounds = facts.aggregate(_lo=facts.period_index.min() + lag, _hi=facts.period_index.max())
    grid = bounds.select(period_index=ibis.range(bounds._lo, bounds._hi + 1)).unnest("period_index")
    grid = grid.select(period_index=grid.period_index.cast("int64"))
    if group:
        seen = agg.select(*group).distinct()
        grid = grid.cross_join(seen)
    a = agg.rename({f"_g_{k}": k for k in ["period_index", *group]})
    t = grid.left_join(a, [grid[k] == a[f"_g_{k}"] for k in ["period_index", *group]])
    zero = ibis.literal(0)
    t = t.select(
        "period_index",
        *group,
        base_customers=t.base_customers.fill_null(0).cast("int64"),
        base_revenue=money_sum_fill(t.base_revenue),
        revenue=money_sum_fill(t.revenue),
        retained_revenue=money_sum_fill(t.retained_revenue),
        retained_customers=t.retained_customers.fill_null(zero).cast("int64"),
    )
    t = mark_comparable(t, ctx, per, lag=lag)
    t = filter_periods(t, per, start, end)
    out = t.select(
        index_to_start(t.period_index, per).name("period"),
        *group,
        base_period=index_to_start(t.period_index - lag, per),
        base_customers=t.base_customers,
        base_revenue=t.base_revenue,
        revenue=t.revenue,
        retained_revenue=t.retained_revenue,
        retained_customers=t.retained_customers,
        nrr=safe_ratio(t.revenue, t.base_revenue),
        grr=safe_ratio(t.retained_revenue, t.base_revenue),
        customer_retention=safe_ratio(t.retained_customers, t.base_customers),
        complete=t.complete,
        comparable=t.comparable,
    )
    return out.order_by(["period", *group])
