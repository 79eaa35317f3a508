"""Growth accounting: the change in revenue split into new, expansion, contraction,
churned and resurrected revenue, and the same split of customers."""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.errors import ConfigError
from regulars.metrics._common import (
    TablesLike,
    customer_period_revenue,
    filter_periods,
    metric_context,
    order_facts,
    period_grid,
    resolve_period,
    safe_ratio,
    union_all,
)
from regulars.metrics._periods import left_censored_customers, mark_comparable

__all__ = [
    "customer_transitions",
    "customer_windows",
    "growth_accounting",
    "new_customer_rows",
    "transitions_from_windows",
]

Measure = Literal["revenue", "customers"]
MEASURES: tuple[str, ...] = ("revenue", "customers")
PARTS = ("new", "expansion", "contraction", "churned", "resurrected", "retained")


def customer_transitions(
    facts: ir.Table, censored: ir.Table | None = None, *, periods: ir.Table | None = None
) -> ir.Table:
    """One row per customer and period P where the customer had revenue in P or P−1.

    ``facts`` is :func:`~regulars.metrics._common.order_facts`.  Customers only appear
    in the periods that can change their state, so the table grows with the orders,
    not with customers × periods.  Rows after the last order period are dropped.

    Columns
    -------
    customer_id, period_index
    previous, current : decimal
        Net revenue of the customer in P−1 and in P.
    first_index : int64
        Where ``current`` is positive: P when P is the customer's first period with
        positive revenue, an earlier period otherwise (null elsewhere).  Only its
        comparison with ``period_index`` (new vs resurrected) is meaningful.
    status : string
        ``new``, ``retained`` (paid in both), ``resurrected``, ``churned``, or
        ``adjustment`` (no positive revenue in either period; only refunds larger than
        their order and credit notes without an invoice produce these).
    new, expansion, contraction, churned, resurrected, retained : decimal
        The customer's share of each part (contraction and churned as positive
        magnitudes); ``new + expansion + resurrected − contraction − churned`` equals
        ``current − previous`` exactly.
    """
    return transitions_from_windows(customer_windows(facts, censored, periods=periods))


def customer_windows(
    facts: ir.Table, censored: ir.Table | None = None, *, periods: ir.Table | None = None
) -> ir.Table:
    """Net revenue per customer and period with the customer's neighbouring periods.

    Columns: ``customer_id``, ``period_index``, ``revenue`` (net, every customer-period
    with a non-cancelled order), ``_prev_p``/``_prev_rev`` (the customer's previous
    period with an order and its revenue), ``_next_p`` (their next period with an
    order) and ``_first_pos`` (their first period with positive revenue).

    ``censored`` (a table with ``customer_id``: the left-censored customers) marks the
    customers who were customers before the data start: their ``_first_pos`` is the
    period before their first one in the data, so they are never new; when they first
    appear in the data after the first period they are resurrected.
    """
    if periods is None:  # the metrics pass the shared one (MetricContext.customer_periods)
        periods = customer_period_revenue(facts)
    cp = periods.select("customer_id", "period_index", "revenue")
    # One sorted pass per customer.  period_index is unique within a customer's rows
    # (they are grouped by it), so the window order has no ties.  All three windows
    # share one partitioning and order, so the engine sorts once.
    w = ibis.window(group_by=cp.customer_id, order_by=cp.period_index)
    whole = ibis.window(group_by=cp.customer_id, order_by=cp.period_index, rows=(None, None))
    cw = cp.mutate(
        _prev_p=cp.period_index.lag().over(w),
        _prev_rev=cp.revenue.lag().over(w),
        _next_p=cp.period_index.lead().over(w),
        # The customer's first period with positive revenue: paid before P <=> it is < P.
        _first_pos=cp.period_index.min(where=cp.revenue > 0).over(whole),
    )
    if censored is not None:
        known = censored.select(_lc="customer_id")
        cw = cw.left_join(known, cw.customer_id == known._lc)
        cw = cw.mutate(
            _first_pos=ibis.cases((cw._lc.notnull(), cw._first_pos - 1), else_=cw._first_pos)
        ).drop("_lc")
    return cw


def new_customer_rows(cw: ir.Table) -> ir.Table:
    """The ``new`` rows of :func:`customer_transitions`, straight from
    :func:`customer_windows`: ``customer_id``, ``period_index``, ``new``.

    A customer is new in their first period with positive revenue; their revenue in
    the period before is then not positive, so the new part is ``current − previous``.
    """
    first = cw.filter((cw.revenue > 0) & (cw._first_pos == cw.period_index))
    previous = ibis.cases(
        (first._prev_p == first.period_index - 1, first._prev_rev),
        else_=ibis.literal(0).cast(first.revenue.type()),
    )
    return first.select(
        "customer_id",
        "period_index",
        new=(first.revenue - previous).cast(first.revenue.type()),
    )


def transitions_from_windows(cw: ir.Table) -> ir.Table:
    """:func:`customer_transitions` from :func:`customer_windows` (to share them)."""
    money = cw.revenue.type()
    zero = ibis.literal(0).cast(money)
    cur = cw.select(
        "customer_id",
        "period_index",
        previous=ibis.cases((cw._prev_p == cw.period_index - 1, cw._prev_rev), else_=zero).cast(
            money
        ),
        current=cw.revenue,
        first_index=ibis.cases(
            (cw._first_pos < cw.period_index, cw.period_index - 1),
            (cw.revenue > 0, cw.period_index),
            else_=ibis.null("int64"),
        ),
    )
    # The period after each customer-period without revenue of its own: a leaver.
    gone = cw.filter(cw._next_p.isnull() | (cw._next_p > cw.period_index + 1))
    gone = gone.filter(gone.revenue != 0)
    out = gone.select(
        "customer_id",
        period_index=gone.period_index + 1,
        previous=gone.revenue,
        current=zero,
        first_index=ibis.null("int64"),
    )
    tr = union_all(cur, out)
    last = cw.aggregate(_hi=cw.period_index.max())
    tr = tr.cross_join(last)
    tr = tr.filter(tr.period_index <= tr._hi).drop("_hi")

    a, b = tr.previous, tr.current
    d = b - a
    was, now = a > 0, b > 0
    kept = was & now
    entered = ~was & now
    is_new = entered & (tr.first_index == tr.period_index)
    is_res = entered & (tr.first_index < tr.period_index)
    left = was & ~now
    other = ~was & ~now

    def part(cond: ir.BooleanValue, value: ir.NumericValue) -> ir.NumericValue:
        return ibis.cases((cond, value), else_=zero).cast(money)

    status = ibis.cases(
        (is_new, "new"),
        (is_res, "resurrected"),
        (kept, "retained"),
        (left, "churned"),
        else_="adjustment",
    )
    return tr.mutate(
        status=status,
        new=part(is_new, d),
        expansion=part((kept | other) & (d > 0), d),
        contraction=part((kept | other) & (d < 0), -d),
        churned=part(left, -d),
        resurrected=part(is_res, d),
        retained=part(kept, ibis.least(a, b)),
    )


def growth_accounting(
    tables: TablesLike,
    /,
    *,
    period: Period | None = None,
    measure: Measure = "revenue",
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """One row per period: new, expansion, contraction, churned, resurrected, retained.

    Subscription, package and one-off revenue sit in one ledger: a customer's revenue
    in a period is the net revenue of all their orders in it.  The parts add up to the
    change in revenue to the cent (see Notes).

    Parameters
    ----------
    tables : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``.
    period : {"month", "quarter", "year"}, optional
        Default: ``[workspace] period``.
    measure : {"revenue", "customers"}
        Split revenue (money) or customer counts.
    start, end : date or ISO string, optional
        Keep only the periods that overlap ``[start, end]``.  The parts are computed
        on the whole history, so the first kept period still compares with the period
        before it.
    config : Config, optional
        Overrides the configuration of ``tables``.

    Returns
    -------
    ibis.Table
        Lazy; one row per period from the first to the last period with an order,
        including periods without orders.  Columns: ``period`` (date of the period's
        first day); ``revenue`` (or ``customers``: customers with positive revenue);
        ``new``, ``expansion``, ``contraction``, ``churned``, ``resurrected``,
        ``retained`` (contraction and churned are positive magnitudes); ``quick_ratio``;
        ``complete`` (the data cover the period from its first to its last day) and
        ``comparable`` (this period and the one before are both complete: only then
        is the change a fair comparison; see ``docs/metrics.md``, "Complete periods").

    Notes
    -----
    For customer c and period P let ``a`` be c's net revenue in P−1 and ``b`` in P
    (zero before the first period).

    * new: ``b`` when ``a ≤ 0 < b`` and P is c's first period with positive revenue;
    * resurrected: the same when c had positive revenue before P−1;
    * expansion / contraction: ``b − a`` when both are positive (positive part and
      negative part);
    * churned: ``a − b`` when ``a > 0 ≥ b`` (``a`` when ``b`` is zero);
    * retained: ``min(a, b)`` when both are positive.

    So ``revenue_P − revenue_{P−1} = new + expansion + resurrected − contraction −
    churned`` for every period, the first included.  Customers who were already
    customers when the data start (left-censored, see ``docs/metrics.md``) are never
    new: in a later period they are resurrected.  Quick ratio = ``(new + expansion
    + resurrected) / (contraction + churned)``, null when the denominator is zero.
    Customer counts: ``customers_P − customers_{P−1} = new + resurrected − churned``,
    ``customers_P = retained + new + resurrected``, and the customer quick ratio is
    ``(new + resurrected) / churned``.

    References
    ----------
    .. [1] Jonathan Hsu, "Growth Accounting & Backtraced Growth Accounting" (2018).

    Examples
    --------
    >>> import datetime as dt, ibis, pyarrow as pa
    >>> from regulars.engine import arrow_schema
    >>> rows = [("1", "a", dt.datetime(2024, 1, 5), 100),
    ...         ("2", "a", dt.datetime(2024, 2, 5), 150),
    ...         ("3", "b", dt.datetime(2024, 2, 9), 80)]
    >>> orders = ibis.memtable(pa.Table.from_pylist(
    ...     [dict(zip(["order_id", "customer_id", "order_date", "revenue"], r)) for r in rows],
    ...     schema=arrow_schema("orders")))
    >>> df = growth_accounting({"orders": orders}, period="month").execute()
    >>> [str(x) for x in df.loc[1, ["revenue", "new", "expansion"]]]
    ['230.00', '80.00', '50.00']
    """
    ctx = metric_context(tables, config)
    per = resolve_period(period, ctx.config)
    if measure not in MEASURES:
        raise ConfigError(
            f"measure = {measure!r} is not valid. Valid measures: {', '.join(MEASURES)}. "
            "Use --measure revenue or --measure customers."
        )
    facts = order_facts(ctx, per)
    tr = customer_transitions(
        facts, left_censored_customers(ctx), periods=ctx.customer_periods(per)
    )
    if measure == "revenue":
        agg = tr.group_by("period_index").aggregate(
            revenue=tr.current.sum(), **{p: tr[p].sum() for p in PARTS}
        )
        up = agg.new + agg.expansion + agg.resurrected
        down = agg.contraction + agg.churned
        total = "revenue"
    else:
        kept = (tr.previous > 0) & (tr.current > 0)
        agg = tr.group_by("period_index").aggregate(
            customers=(tr.current > 0).cast("int64").sum(),
            new=(tr.status == "new").cast("int64").sum(),
            expansion=(kept & (tr.current > tr.previous)).cast("int64").sum(),
            contraction=(kept & (tr.current < tr.previous)).cast("int64").sum(),
            churned=(tr.status == "churned").cast("int64").sum(),
            resurrected=(tr.status == "resurrected").cast("int64").sum(),
            retained=kept.cast("int64").sum(),
        )
        up = agg.new + agg.resurrected
        down = agg.churned
        total = "customers"
    agg = agg.mutate(quick_ratio=safe_ratio(up, down)).rename(_pi="period_index")
    bounds = agg.aggregate(lo=agg._pi.min(), hi=agg._pi.max())
    grid = period_grid(bounds, per)
    out = grid.left_join(agg, grid.period_index == agg._pi)
    cols = [total, *PARTS]
    out = out.select(
        "period_index",
        "period",
        *[out[c].fill_null(0).cast(agg[c].type()).name(c) for c in cols],
        quick_ratio=out.quick_ratio,
    )
    out = mark_comparable(out, ctx, per)
    out = filter_periods(out, per, start, end)
    return out.order_by("period_index").drop("period_index")
