"""Growth sources: the change in revenue split into upsell, new customers by channel
kind and win-backs, each with what it cost."""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from regulars.config import Config, Period
from regulars.metrics._common import (
    MetricContext,
    TablesLike,
    attach_channels,
    filter_periods,
    metric_context,
    order_facts,
    period_grid,
    referral_reward_costs,
    resolve_period,
    safe_ratio,
    spend_by_period,
    union_all,
)
from regulars.metrics._periods import left_censored_customers, mark_comparable
from regulars.metrics.growth import customer_windows, new_customer_rows, transitions_from_windows
from regulars.schema import CHANNEL_KINDS

__all__ = ["SOURCES", "growth_sources", "source_spend"]

#: The sources, in display order.
SOURCES: tuple[str, ...] = ("upsell", *(f"new_{k}" for k in CHANNEL_KINDS), "win_back")


def source_spend(ctx: MetricContext, period: Period) -> ir.Table:
    """Spend per period and source: columns ``period_index``, ``source``, ``spend``.

    Acquisition spend goes to ``new_<kind>`` by the channel kind of the spend row
    (referral rewards, when the referral ledger exists, to ``new_referral``);
    retention spend (``[metrics] retention_channels``) goes to ``upsell``.
    """
    s = spend_by_period(ctx, period)
    source = ibis.cases((s.is_retention, "upsell"), else_="new_" + s.channel_kind)
    parts = s.select("period_index", source=source, spend=s.amount)
    rewards = referral_reward_costs(ctx, period)
    if rewards is not None:
        parts = union_all(
            parts,
            rewards.select(
                "period_index",
                source=ibis.literal("new_referral"),
                spend=rewards.amount.cast(parts.spend.type()),
            ),
        )
    return parts.group_by("period_index", "source").aggregate(spend=parts.spend.sum())


def growth_sources(
    tables: TablesLike,
    /,
    *,
    period: Period | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Where the change in revenue came from, and what each source cost.

    Seed 002's count: "half of our growth came from upsell to existing customers,
    half of the new customers came through referrals, a quarter from cold
    acquisition, and that quarter cost by far the most".

    Parameters
    ----------
    tables : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``; ``customers`` for channel kinds and ``spend`` for costs.
    period : {"month", "quarter", "year"}, optional
        Default: ``[workspace] period``.
    start, end : date or ISO string, optional
        Keep only the periods that overlap ``[start, end]``.
    config : Config, optional
        Overrides the configuration of ``tables``.

    Returns
    -------
    ibis.Table
        Lazy and long: one row per period and source (every source in every period,
        from the first to the last period with an order).  Columns: ``period``,
        ``source`` (``upsell``, ``new_referral``, ``new_cold``, ``new_organic``,
        ``new_partner``, ``new_other``, ``win_back``), ``change`` (decimal),
        ``customers``, ``spend`` (decimal), ``cost_per_revenue_unit`` (spend per
        unit of added revenue; null unless the change is positive), ``complete`` and
        ``comparable`` (this period and the one before are both complete).

    Notes
    -----
    With the parts of :func:`~regulars.metrics.growth_accounting`:

    * upsell = expansion − contraction − churned: the net change from customers
      acquired before the period who were not won back in it; its customers are
      those whose revenue changed;
    * new_<kind> = new revenue of the customers acquired in the period through a
      channel of that kind (a referred customer is ``referral``);
    * win_back = resurrected revenue.

    The changes of one period add up to ``revenue_P − revenue_{P−1}`` exactly.
    """
    ctx = metric_context(tables, config)
    per = resolve_period(period, ctx.config)
    facts = order_facts(ctx, per)
    cw = customer_windows(facts, left_censored_customers(ctx), periods=ctx.customer_periods(per))
    tr = transitions_from_windows(cw)
    # A row is new exactly when its ``new`` part is positive and resurrected when its
    # ``resurrected`` part is (both are b − a > 0 there); upsell is the rest:
    # expansion − contraction − churned, which is zero on new and resurrected rows.
    t = tr.select(
        "customer_id",
        "period_index",
        "new",
        "resurrected",
        upsell=tr.expansion - tr.contraction - tr.churned,
    )
    zero = ibis.literal(0).cast(t.new.type())
    is_new, is_res = t.new > zero, t.resurrected > zero
    old = t.group_by("period_index").aggregate(
        win_back=t.resurrected.sum(),
        win_back_customers=is_res.cast("int64").sum(),
        upsell=t.upsell.sum(),
        upsell_customers=(~is_new & ~is_res & (t.upsell != zero)).cast("int64").sum(),
    )
    # Channels are needed only for the new customers (one row each): join just those,
    # taken from the per-customer windows rather than from the transitions.
    new = attach_channels(ctx, new_customer_rows(cw))
    new = new.group_by("period_index", source="new_" + new.channel_kind).aggregate(
        change=new.new.sum(), n=new.count()
    )
    rows = union_all(
        new,
        old.select(
            "period_index",
            source=ibis.literal("win_back"),
            change=old.win_back,
            n=old.win_back_customers,
        ),
        old.select(
            "period_index", source=ibis.literal("upsell"), change=old.upsell, n=old.upsell_customers
        ),
    )
    money = rows.change.type()
    agg = rows.group_by("period_index", "source").aggregate(
        change=rows.change.sum(), customers=rows.n.sum()
    )
    spend = source_spend(ctx, per)

    bounds = agg.aggregate(lo=agg.period_index.min(), hi=agg.period_index.max())
    grid = period_grid(bounds, per).cross_join(
        ibis.memtable(
            pa.table(
                {
                    "source": pa.array(SOURCES, pa.string()),
                    "_order": pa.array(range(len(SOURCES)), pa.int64()),
                }
            )
        )
    )
    a = agg.rename(_pi="period_index", _src="source")
    s = spend.rename(_si="period_index", _ssrc="source")
    out = grid.left_join(a, (grid.period_index == a._pi) & (grid.source == a._src))
    out = out.drop("_pi", "_src")
    out = out.left_join(s, (out.period_index == s._si) & (out.source == s._ssrc))
    out = out.drop("_si", "_ssrc")
    out = out.select(
        "period_index",
        "_order",
        "period",
        "source",
        change=out.change.fill_null(0).cast(money),
        customers=out.customers.fill_null(0).cast("int64"),
        spend=out.spend.fill_null(0).cast(spend.spend.type()),
    )
    out = out.mutate(
        cost_per_revenue_unit=ibis.cases(
            (out.change > 0, safe_ratio(out.spend, out.change)), else_=ibis.null("float64")
        )
    )
    out = mark_comparable(out, ctx, per)
    out = filter_periods(out, per, start, end)
    return out.order_by("period_index", "_order").drop("period_index", "_order")
