"""Subscriptions: MRR and its movements, renewal rates, survival and sBG projections.

The conventions (``[subscriptions]`` in ``regulars.toml``) are described in
:mod:`regulars.metrics._spans` and in ``docs/metrics.md``: when churn counts
(``churn_at``), whether MRR is net of discounts (``discounts``), and how a customer
who starts and stops inside one period counts (``same_period``).
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.metrics._common import (
    TablesLike,
    filter_periods,
    index_to_start,
    metric_context,
    period_index,
    resolve_period,
    safe_ratio,
    union_all,
)
from regulars.metrics._renewals import (
    renewal_rates,
    subscription_projection,
    subscription_survival,
)
from regulars.metrics._spans import cents_to_money, subscription_spans

__all__ = [
    "renewal_rates",
    "subscription_movements",
    "subscription_projection",
    "subscription_spans",
    "subscription_survival",
]


# -- MRR movements -------------------------------------------------------------------


def subscription_movements(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    as_of: _dt.date | str | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """MRR per period and its movements: new, expansion, contraction, churned, reactivation.

    MRR is taken per customer at the end of each period (the last period ends at
    ``as_of``): the sum of the MRR of the customer's subscriptions that count on that
    day.  Between the ends of P − 1 and P, with m0 and m1 a customer's MRR:

    - new: m1 when m0 = 0 and the customer never had MRR before;
    - reactivation: m1 when m0 = 0 and the customer had MRR before;
    - expansion: m1 − m0 when 0 < m0 < m1;
    - contraction: m0 − m1 when 0 < m1 < m0;
    - churned: m0 when m1 = 0 < m0.

    So ``mrr_P − mrr_{P−1} = new + expansion + reactivation − contraction − churned``
    to the cent.  With ``same_period = "both"`` a customer whose subscriptions start
    and stop inside P (zero MRR at both ends) adds their MRR to new (or reactivation)
    and to churned.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``subscriptions`` (and ``orders``, see :func:`subscription_spans`).
    period : {"month", "quarter", "year"}, optional
        The period; default ``[workspace] period``.
    as_of : date or ISO string, optional
        The end of observation (default: the latest date in the data).
    start, end : date or ISO string, optional
        Keep only the periods overlapping ``[start, end]``.
    config : Config, optional
        Overrides the workspace configuration (``[subscriptions]`` conventions).

    Returns
    -------
    ibis.Table
        ``period``, ``mrr``, ``new``, ``expansion``, ``contraction``, ``churned``,
        ``reactivation``, ``net_change``, ``customers``, ``new_customers``,
        ``expansion_customers``, ``contraction_customers``, ``churned_customers``,
        ``reactivated_customers``, ``mrr_churn_rate`` and ``customer_churn_rate``
        (churned MRR or customers over the MRR or customers at the start of the
        period, plus those that arrived and left inside it).  Money
        is DECIMAL(18, 2) in the workspace currency; every period from the first
        subscription to ``as_of`` appears.
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    both = ctx.config.subscriptions.same_period == "both"
    sp = subscription_spans(ctx, as_of=as_of)
    sp = sp.filter(sp.mrr_cents > 0)
    a_idx = period_index(sp.as_of, per)
    first = period_index(sp.start, per)
    open_at_end = sp.stop.isnull() | (sp.stop > sp.as_of)
    last = ibis.cases((open_at_end, a_idx), else_=period_index(sp.stop, per) - 1)
    sp = sp.mutate(_first=first, _last=last, _aidx=a_idx)

    active = sp.filter(sp._first <= sp._last)
    active = active.mutate(_idx=ibis.range(active._first, active._last + 1)).unnest("_idx")
    cur = active.group_by(customer_id=active.customer_id, idx=active._idx.cast("int64")).aggregate(
        m1=active.mrr_cents.sum()
    )
    flash = sp.filter(sp._first > sp._last)
    flash = flash.group_by(customer_id=flash.customer_id, idx=flash._first).aggregate(
        f=flash.mrr_cents.sum()
    )
    prev = cur.select(_c=cur.customer_id, _i=cur.idx + 1, m0=cur.m1)
    a_end = sp.aggregate(_aidx=sp._aidx.max(), _lo=sp._first.min())

    keys = union_all(
        cur.select("customer_id", "idx"),
        prev.select(customer_id=prev._c, idx=prev._i),
        *([flash.select("customer_id", "idx")] if both else []),
    ).distinct()
    c1 = cur.rename(_c1="customer_id", _i1="idx")
    rows = keys.left_join(c1, [keys.customer_id == c1._c1, keys.idx == c1._i1])
    rows = rows.left_join(prev, [rows.customer_id == prev._c, rows.idx == prev._i])
    if both:
        fl = flash.rename(_cf="customer_id", _if="idx")
        rows = rows.left_join(fl, [rows.customer_id == fl._cf, rows.idx == fl._if])
        f_raw = rows.f.fill_null(0)
    else:
        f_raw = ibis.literal(0, type="int64")
    rows = rows.select(
        "customer_id",
        "idx",
        m1=rows.m1.fill_null(0),
        m0=rows.m0.fill_null(0),
        f=f_raw,
    )
    rows = rows.cross_join(a_end)
    rows = rows.filter(rows.idx <= rows._aidx)
    # A flash customer counts only when they have no MRR at either end of the period.
    rows = rows.mutate(f=ibis.cases(((rows.m0 == 0) & (rows.m1 == 0), rows.f), else_=0))
    started = ibis.cases(((rows.m1 > 0) | (rows.f > 0), rows.idx), else_=ibis.null("int64"))
    rows = rows.mutate(_first_idx=started.min().over(group_by="customer_id"))
    m0, m1, f = rows.m0, rows.m1, rows.f
    arrives = (m0 == 0) & (m1 > 0)
    is_first = rows.idx == rows._first_idx
    zero = ibis.literal(0, type="int64")
    rows = rows.mutate(
        new=ibis.cases((arrives & is_first, m1), else_=zero)
        + ibis.cases((is_first, f), else_=zero),
        reactivation=ibis.cases((arrives & ~is_first, m1), else_=zero)
        + ibis.cases((~is_first, f), else_=zero),
        expansion=ibis.cases(((m0 > 0) & (m1 > m0), m1 - m0), else_=zero),
        contraction=ibis.cases(((m1 > 0) & (m0 > m1), m0 - m1), else_=zero),
        churned=ibis.cases(((m0 > 0) & (m1 == 0), m0), else_=zero) + f,
    )
    agg = rows.group_by(_idx="idx").aggregate(
        mrr=rows.m1.sum(),
        mrr_start=rows.m0.sum() + rows.f.sum(),
        new=rows.new.sum(),
        expansion=rows.expansion.sum(),
        contraction=rows.contraction.sum(),
        churned=rows.churned.sum(),
        reactivation=rows.reactivation.sum(),
        customers=(rows.m1 > 0).cast("int64").sum(),
        customers_start=((rows.m0 > 0) | (rows.f > 0)).cast("int64").sum(),
        new_customers=(rows.new > 0).cast("int64").sum(),
        expansion_customers=(rows.expansion > 0).cast("int64").sum(),
        contraction_customers=(rows.contraction > 0).cast("int64").sum(),
        churned_customers=(rows.churned > 0).cast("int64").sum(),
        flash=rows.f.sum(),
        reactivated_customers=(rows.reactivation > 0).cast("int64").sum(),
    )
    grid = a_end.select(period_index=ibis.range(a_end._lo, a_end._aidx + 1)).unnest("period_index")
    grid = grid.select(period_index=grid.period_index.cast("int64"))
    t = grid.left_join(agg, grid.period_index == agg._idx)
    counts = [
        "customers",
        "customers_start",
        "new_customers",
        "expansion_customers",
        "contraction_customers",
        "churned_customers",
        "reactivated_customers",
    ]
    money = [
        "mrr",
        "mrr_start",
        "flash",
        "new",
        "expansion",
        "contraction",
        "churned",
        "reactivation",
    ]
    t = t.select(
        "period_index",
        **{c: t[c].fill_null(0).cast("int64") for c in money + counts},
    )
    t = filter_periods(t, per, start, end)
    out = t.select(
        period=index_to_start(t.period_index, per),
        **{c: cents_to_money(t[c]) for c in money if c not in ("mrr_start", "flash")},
        net_change=cents_to_money(t.mrr - t.mrr_start + t.flash),
        **{c: t[c] for c in counts if c != "customers_start"},
        mrr_churn_rate=safe_ratio(t.churned, t.mrr_start),
        customer_churn_rate=safe_ratio(t.churned_customers, t.customers_start),
    )
    return out.order_by(["period"])
