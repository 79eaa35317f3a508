"""Channel economics: CAC, first-year profit, payback and CLV:CAC per channel and
acquisition cohort; and whether cold acquisition is paid for by the other sources."""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.errors import ConfigError
from regulars.metrics._common import (
    MetricContext,
    TablesLike,
    attach_channels,
    channel_kind,
    filter_periods,
    first_paid_orders,
    index_to_start,
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

__all__ = ["channel_economics", "channel_spend", "cold_funding"]

_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


def channel_spend(ctx: MetricContext, period: Period, acquired: ir.Table) -> ir.Table:
    """Acquisition spend per channel name and period.

    ``acquired`` is the customers' acquisitions (``customer_id``, ``cohort_index``,
    ``channel``).  Retention channels are left out.  Referral rewards (when the
    referral ledger exists) are added to the channel and cohort of the referee they
    were earned for, or to channel ``referral`` in the reward's period when the
    referee is unknown.  Columns: ``channel``, ``period_index``, ``spend``.
    """
    s = spend_by_period(ctx, period)
    s = s.filter(~s.is_retention)
    parts = s.select("channel", "period_index", spend=s.amount)
    rewards = referral_reward_costs(ctx, period)
    if rewards is not None:
        a = acquired.select(_cid="customer_id", _ch="channel", _ci="cohort_index")
        r = rewards.left_join(a, rewards.referee == a._cid)
        parts = union_all(
            parts,
            r.select(
                channel=ibis.coalesce(r._ch, ibis.literal("referral")),
                period_index=ibis.coalesce(r._ci, r.period_index),
                spend=r.amount.cast(parts.spend.type()),
            ),
        )
    return parts.group_by("channel", "period_index").aggregate(spend=parts.spend.sum())


def _clv_means(ctx: MetricContext, acquired: ir.Table, by_period: ir.Table) -> ir.Table:
    """``channel``, ``cohort_index``, ``clv``: the mean model CLV of each cohort's
    customers when ``scores`` has CLVs for them, else their mean profit so far."""
    total = by_period.group_by("channel", "cohort_index").aggregate(_profit=by_period.profit.sum())
    sizes = acquired.group_by("channel", "cohort_index").aggregate(_n=acquired.count())
    sizes = sizes.rename(_sch="channel", _sci="cohort_index")
    j = total.inner_join(sizes, (total.channel == sizes._sch) & (total.cohort_index == sizes._sci))
    history = j.select("channel", "cohort_index", clv=safe_ratio(j._profit, j._n))
    if not (ctx.has("scores") and {"customer_id", "clv"} <= set(ctx.table("scores").columns)):
        return history
    sc = ctx.table("scores")
    sc = sc.select(_vid=sc.customer_id, _clv=sc.clv.cast("float64"))
    ac = acquired.left_join(sc, acquired.customer_id == sc._vid)
    model = ac.group_by("channel", "cohort_index").aggregate(_model=ac._clv.mean())
    model = model.rename(_mch="channel", _mci="cohort_index")
    m = history.left_join(
        model, (history.channel == model._mch) & (history.cohort_index == model._mci)
    )
    # A model without a spend part leaves clv empty: fall back to the history.
    return m.select("channel", "cohort_index", clv=ibis.coalesce(m._model, m.clv))


def channel_economics(
    tables: TablesLike,
    /,
    *,
    period: Period | None = None,
    horizon: int | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Acquisition cost and return of every channel, per acquisition cohort.

    Parameters
    ----------
    tables : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``, ``customers`` and ``spend``; uses ``scores`` (column
        ``clv``) when it exists.
    period : {"month", "quarter", "year"}, optional
        Default: ``[workspace] period``.
    horizon : int, optional
        Length of the "first year" in periods (default: one year: 12 months, 4
        quarters or 1 year).
    start, end : date or ISO string, optional
        Keep only the cohorts whose period overlaps ``[start, end]``.
    config : Config, optional
        Overrides the configuration of ``tables``.

    Returns
    -------
    ibis.Table
        Lazy; one row per channel and period that acquired a customer or had spend.
        Columns: ``period`` (the acquisition cohort), ``channel``, ``channel_kind``,
        ``customers`` (first paid orders in the period), ``spend``, ``cac``,
        ``first_year_revenue``, ``first_year_profit``, ``first_year_complete``,
        ``payback_periods``, ``clv``, ``clv_to_cac``.

    Notes
    -----
    * customers: customers whose first paid order falls in the period, by the channel
      in ``customers.channel`` (a customer with ``referred_by`` and no channel is
      channel ``referral``; one missing from ``customers`` is ``(none)``).
    * spend: the channel's acquisition spend in the period (spread by days, see
      ``docs/metrics.md``), plus the referral rewards earned for the cohort's
      referees.  CAC = spend / customers, null without customers.
    * first-year revenue and profit: net revenue and profit of the cohort's customers
      in the acquisition period and the ``horizon − 1`` periods after it;
      ``first_year_complete`` is false while those periods are not all in the data.
    * payback_periods: the smallest ``k ≥ 0`` such that the cohort's profit over its
      first ``k + 1`` periods reaches the spend; 0 when there was no spend; null when
      it has not paid back yet.
    * clv: mean ``scores.clv`` of the cohort's customers when the model scores hold
      CLVs for them, else their mean profit so far (historical CLV).  clv_to_cac = clv / CAC, null
      when CAC is zero or null.
    """
    ctx = metric_context(tables, config)
    per = resolve_period(period, ctx.config)
    h = _PER_YEAR[per] if horizon is None else horizon
    if isinstance(h, bool) or not isinstance(h, int) or h < 1:
        raise ConfigError(f"horizon = {h!r} is not valid: expected a whole number of periods ≥ 1.")
    facts = order_facts(ctx, per).select("customer_id", "period_index", "net_revenue", "profit")
    hi = facts.aggregate(_hi=facts.period_index.max())
    # Cohort and channel per customer first, then one join back to the orders, which
    # are summed straight into (channel, cohort, period): no per-customer-period table.
    first = first_paid_orders(order_facts(ctx, per)).select("customer_id", "cohort_index")
    acquired = attach_channels(ctx, first).select("customer_id", "cohort_index", "channel")
    # Joined on the column name, so ``acquired`` stays one shared subquery.
    cpc = facts.inner_join(acquired, "customer_id")

    cohorts = acquired.group_by("channel", "cohort_index").aggregate(customers=acquired.count())
    spend = channel_spend(ctx, per, acquired)
    sp = spend.rename(_sch="channel", _spi="period_index")
    base = cohorts.outer_join(sp, (cohorts.channel == sp._sch) & (cohorts.cohort_index == sp._spi))
    base = base.select(
        channel=ibis.coalesce(base.channel, base._sch),
        cohort_index=ibis.coalesce(base.cohort_index, base._spi),
        customers=base.customers.fill_null(0).cast("int64"),
        spend=base.spend.fill_null(0).cast(spend.spend.type()),
    )

    by_period = cpc.group_by("channel", "cohort_index", "period_index").aggregate(
        revenue=cpc.net_revenue.sum(), profit=cpc.profit.sum()
    )
    year = by_period.filter(by_period.period_index < by_period.cohort_index + h)
    first_year = year.group_by("channel", "cohort_index").aggregate(
        first_year_revenue=money_sum(year.revenue), first_year_profit=money_sum(year.profit)
    )

    # Payback: cumulative profit by period since acquisition.  period_index is unique
    # within a (channel, cohort) partition, so the running order has no ties.
    w = ibis.window(
        group_by=[by_period.channel, by_period.cohort_index],
        order_by=by_period.period_index,
        rows=(None, 0),
    )
    cum = by_period.mutate(cum_profit=by_period.profit.sum().over(w))
    cb = base.select(_bch="channel", _bci="cohort_index", _spend="spend")
    cum = cum.inner_join(cb, (cum.channel == cb._bch) & (cum.cohort_index == cb._bci))
    reached = cum.filter((cum._spend > 0) & (cum.cum_profit >= cum._spend))
    payback = reached.group_by("channel", "cohort_index").aggregate(
        payback_periods=(reached.period_index - reached.cohort_index).min()
    )

    clv_mean = _clv_means(ctx, acquired, by_period)

    out = base.view()
    for extra in (first_year, payback, clv_mean):
        e = extra.rename(_ech="channel", _eci="cohort_index").view()
        out = out.left_join(e, (out.channel == e._ech) & (out.cohort_index == e._eci))
        out = out.drop("_ech", "_eci")
    out = out.cross_join(hi)
    money = first_year.first_year_revenue.type()
    cac = safe_ratio(out.spend, out.customers)
    out = out.select(
        period_index=out.cohort_index,
        period=index_to_start(out.cohort_index, per),
        channel=out.channel,
        channel_kind=channel_kind(out.channel, ctx.config),
        customers=out.customers,
        spend=out.spend,
        cac=ibis.cases((out.customers > 0, cac), else_=ibis.null("float64")),
        first_year_revenue=out.first_year_revenue.fill_null(0).cast(money),
        first_year_profit=out.first_year_profit.fill_null(0).cast(money),
        first_year_complete=out.cohort_index + h - 1 <= out._hi,
        payback_periods=ibis.cases(
            ((out.spend == 0) & (out.customers > 0), 0),
            else_=out.payback_periods,
        ).cast("int64"),
        clv=out.clv,
    )
    out = out.mutate(clv_to_cac=safe_ratio(out.clv, out.cac))
    out = filter_periods(out, per, start, end)
    return out.order_by("period_index", "channel").drop("period_index")


def cold_funding(
    tables: TablesLike,
    /,
    *,
    period: Period | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Per period: does the profit of the other sources pay for cold acquisition?

    Seed 002: "if the other sources cannot pay for cold growth, cut it".

    Returns
    -------
    ibis.Table
        Lazy; one row per period from the first period with an order or spend to
        the last.  Columns: ``period``; ``cold_spend`` (acquisition spend of cold
        channels); ``cold_profit`` (profit in the period of customers acquired
        through cold channels); ``cold_net = cold_profit − cold_spend``;
        ``other_profit`` (profit of every other customer); ``other_spend`` (all
        other acquisition spend, referral rewards and retention spend);
        ``other_net = other_profit − other_spend``; ``funded``: true when
        ``cold_net ≥ 0`` or ``other_net ≥ −cold_net``.
    """
    ctx = metric_context(tables, config)
    per = resolve_period(period, ctx.config)
    # Orders joined to their customer's channel and summed per period: the same sums
    # as per customer-period, without building that table.
    f = attach_channels(ctx, order_facts(ctx, per).select("customer_id", "period_index", "profit"))
    is_cold = f.channel_kind == "cold"
    profit = f.group_by("period_index").aggregate(
        cold_profit=money_sum(f.profit, where=is_cold),
        other_profit=money_sum(f.profit, where=~is_cold),
    )
    s = spend_by_period(ctx, per)
    cold_s = ~s.is_retention & (s.channel_kind == "cold")
    parts = s.select(
        "period_index",
        cold=ibis.cases((cold_s, s.amount), else_=0),
        other=ibis.cases((cold_s, 0), else_=s.amount),
    )
    rewards = referral_reward_costs(ctx, per)
    if rewards is not None:
        parts = union_all(
            parts,
            rewards.select(
                "period_index",
                cold=ibis.literal(0).cast(parts.cold.type()),
                other=rewards.amount.cast(parts.other.type()),
            ),
        )
    spend = parts.group_by("period_index").aggregate(
        cold_spend=money_sum(parts.cold), other_spend=money_sum(parts.other)
    )
    idx = union_all(profit.select("period_index"), spend.select("period_index"))
    grid = period_grid(idx.aggregate(lo=idx.period_index.min(), hi=idx.period_index.max()), per)
    p = profit.rename(_pi="period_index")
    q = spend.rename(_si="period_index")
    out = grid.left_join(p, grid.period_index == p._pi).drop("_pi")
    out = out.left_join(q, out.period_index == q._si).drop("_si")
    pm, sm = profit.cold_profit.type(), spend.cold_spend.type()
    out = out.select(
        "period_index",
        "period",
        cold_spend=out.cold_spend.fill_null(0).cast(sm),
        cold_profit=out.cold_profit.fill_null(0).cast(pm),
        other_profit=out.other_profit.fill_null(0).cast(pm),
        other_spend=out.other_spend.fill_null(0).cast(sm),
    )
    out = out.mutate(
        cold_net=out.cold_profit - out.cold_spend,
        other_net=out.other_profit - out.other_spend,
    )
    out = out.mutate(funded=(out.cold_net >= 0) | (out.other_net >= -out.cold_net))
    out = out.select(
        "period_index",
        "period",
        "cold_spend",
        "cold_profit",
        "cold_net",
        "other_profit",
        "other_spend",
        "other_net",
        "funded",
    )
    out = filter_periods(out, per, start, end)
    return out.order_by("period_index").drop("period_index")
