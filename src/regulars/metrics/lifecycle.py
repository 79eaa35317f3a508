"""Activity-based lifecycle: new, active, at risk, lapsed and won-back customers."""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.errors import ConfigError
from regulars.metrics._common import (
    TablesLike,
    filter_periods,
    metric_context,
    order_facts,
    period_grid,
    resolve_period,
    union_all,
)

__all__ = ["lifecycle", "purchase_spells"]

STATES = ("new", "won_back", "active", "at_risk", "lapsed")
_EVENTS = ("new", "won_back", "active")
#: The per-period steps that add up to the counts (see :func:`lifecycle`).
_STEPS = ("_new", "_won_back", "_active", "_quiet", "_at_risk", "_lapse", "_newly")


def purchase_spells(paid: ir.Table, span: ir.Table, window: int) -> ir.Table:
    """One row per customer and period with a paid order, with the gap around it.

    ``paid`` holds each customer and period with a paid order once (``customer_id``,
    ``period_index``); the last period of ``span`` (any table with ``period_index``:
    the order facts, or the customer periods) ends the last spells.

    Columns: ``customer_id``, ``period_index``, ``previous_index`` (the customer's
    previous period with a paid order, null for the first), ``end_index`` (the last
    period before the next paid order, or the last period with any order), and
    ``event`` (``new``, ``won_back`` when at least ``window`` periods without a paid
    order came before, else ``active``).

    The window order is ``period_index`` within one customer, which is unique there
    (the rows are distinct customer-periods), so lag and lead are deterministic.
    """
    w = ibis.window(group_by=paid.customer_id, order_by=paid.period_index)
    hi = span.aggregate(_hi=span.period_index.max())
    spells = paid.mutate(
        previous_index=paid.period_index.lag().over(w),
        _next=paid.period_index.lead().over(w),
    ).cross_join(hi)
    spells = spells.mutate(
        end_index=ibis.coalesce(spells._next - 1, spells._hi),
        event=ibis.cases(
            (spells.previous_index.isnull(), "new"),
            (spells.period_index - spells.previous_index > window, "won_back"),
            else_="active",
        ),
    )
    return spells.drop("_next", "_hi")


def lifecycle(
    tables: TablesLike,
    /,
    *,
    period: Period | None = None,
    window: int | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """How many customers are new, active, at risk, lapsed or won back, per period.

    Service customers buy in lumps: a client who orders every quarter is not lost in
    the two months between orders.  A customer is lapsed only after ``window``
    periods in a row without a paid order.

    Parameters
    ----------
    tables : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``.
    period : {"month", "quarter", "year"}, optional
        Default: ``[workspace] period``.
    window : int, optional
        Periods without a paid order after which a customer is lapsed.  Default:
        ``[workspace] activity_window``, counted in periods of ``period``.
    start, end : date or ISO string, optional
        Keep only the periods that overlap ``[start, end]``.
    config : Config, optional
        Overrides the configuration of ``tables``.

    Returns
    -------
    ibis.Table
        Lazy; one row per period from the first to the last period with an order.
        Columns: ``period``, ``customers`` (acquired so far), ``new``, ``won_back``,
        ``active``, ``at_risk``, ``lapsed`` (these five add up to ``customers``), and
        ``newly_lapsed`` (lapsed customers whose lapse began in this period).

    Notes
    -----
    For a customer acquired by period P, let ``g`` be the number of periods since
    their last paid order (0 if they paid in P) and ``N`` the window:

    * new: first paid order in P;
    * won back: paid in P after at least ``N`` periods without a paid order;
    * active: paid in P otherwise, or ``1 ≤ g ≤ N − 2``;
    * at risk: ``g = N − 1`` (one more quiet period and they lapse);
    * lapsed: ``g ≥ N``.

    With ``N = 1`` nobody is at risk: a period without an order is a lapse.
    """
    ctx = metric_context(tables, config)
    per = resolve_period(period, ctx.config)
    n = ctx.config.workspace.activity_window if window is None else window
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(
            f"window = {n!r} is not valid: expected a whole number of periods, at least 1 "
            "(the periods without an order after which a customer is lapsed)."
        )
    if ctx.customer_periods_stored(per):
        # Stored once per data version (growth accounting and growth sources read them
        # too): the paid customer-periods without grouping the orders again.
        span = ctx.customer_periods(per)
        paid = span.filter(span.orders > 0).select("customer_id", "period_index")
    else:  # grouping the orders here is cheaper than the whole customer-period table
        span = order_facts(ctx, per)
        paid = span.filter(span.is_paid).select("customer_id", "period_index").distinct()
    # Six steps below read the spells: on Spark they are computed once (a window over
    # every customer's paid periods), not once per step; DuckDB shares the subquery.
    spells = ctx.once(f"spells_{per}_{n}", lambda: purchase_spells(paid, span, n))

    # Every count is a sum of +1/-1 steps per period, accumulated over the grid below,
    # so no row per customer and quiet period is ever made.  After a paid order in p
    # (and until the next one, end_index + 1) a customer is active in p+1 .. p+n-2,
    # at risk in p+n-1 and lapsed from p+n on.
    sp = spells
    zero, one = ibis.literal(0, type="int64"), ibis.literal(1, type="int64")

    def step(t: ir.Table, at: ir.IntegerValue, **cols: ir.Value) -> ir.Table:
        values = {c: cols.get(c, zero) for c in _STEPS}
        return t.select(period_index=at, **values)

    quiet_hi = ibis.least(sp.end_index, sp.period_index + n - 2)
    quiet = sp.filter(sp.period_index + 1 <= quiet_hi)
    risk = sp.filter(sp.period_index + n - 1 <= sp.end_index) if n >= 2 else sp.limit(0)
    lapse = sp.filter(sp.period_index + n <= sp.end_index)
    steps = union_all(
        step(sp, sp.period_index, **{f"_{e}": (sp.event == e).cast("int64") for e in _EVENTS}),
        step(quiet, quiet.period_index + 1, _quiet=one),
        step(quiet, ibis.least(quiet.end_index, quiet.period_index + n - 2) + 1, _quiet=-one),
        step(risk, risk.period_index + n - 1, _at_risk=one),
        step(lapse, lapse.period_index + n, _lapse=one, _newly=one),
        step(lapse, lapse.end_index + 1, _lapse=-one),
    )
    deltas = steps.group_by("period_index").aggregate(**{c: steps[c].sum() for c in _STEPS})

    bounds = span.aggregate(lo=span.period_index.min(), hi=span.period_index.max())
    grid = period_grid(bounds, per)
    d = deltas.rename(_di="period_index")
    out = grid.left_join(d, grid.period_index == d._di).drop("_di")
    out = out.select(
        "period_index", "period", **{c: out[c].fill_null(0).cast("int64") for c in _STEPS}
    )
    # The grid has one row per period_index, so this running order has no ties.
    running = ibis.window(order_by=out.period_index, rows=(None, 0))
    out = out.mutate(
        new=out._new,
        won_back=out._won_back,
        active=(out._active + out._quiet.sum().over(running)).cast("int64"),
        at_risk=out._at_risk,
        lapsed=out._lapse.sum().over(running).cast("int64"),
        newly_lapsed=out._newly,
        customers=out._new.sum().over(running).cast("int64"),
    )
    out = out.select(
        "period_index",
        "period",
        "customers",
        *STATES,
        "newly_lapsed",
    )
    out = filter_periods(out, per, start, end)
    return out.order_by("period_index").drop("period_index")
