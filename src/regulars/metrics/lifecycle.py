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


def purchase_spells(facts: ir.Table, window: int) -> ir.Table:
    """One row per customer and period with a paid order, with the gap around it.

    Columns: ``customer_id``, ``period_index``, ``previous_index`` (the customer's
    previous period with a paid order, null for the first), ``end_index`` (the last
    period before the next paid order, or the last period with any order), and
    ``event`` (``new``, ``won_back`` when at least ``window`` periods without a paid
    order came before, else ``active``).

    The window order is ``period_index`` within one customer, which is unique there
    (the rows are distinct customer-periods), so lag and lead are deterministic.
    """
    paid = facts.filter(facts.is_paid).select("customer_id", "period_index").distinct()
    w = ibis.window(group_by=paid.customer_id, order_by=paid.period_index)
    hi = facts.aggregate(_hi=facts.period_index.max())
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
    facts = order_facts(ctx, per)
    spells = purchase_spells(facts, n)

    events = spells.select("period_index", state=spells.event)
    quiet = spells.select(
        "period_index",
        _q=ibis.range(
            spells.period_index + 1, ibis.least(spells.end_index, spells.period_index + n - 1) + 1
        ),
    ).unnest("_q")
    quiet = quiet.select(
        period_index=quiet._q.cast("int64"),
        state=ibis.cases((quiet._q - quiet.period_index >= n - 1, "at_risk"), else_="active"),
    )
    states = union_all(events, quiet)
    counts = states.group_by("period_index").aggregate(
        **{s: (states.state == s).cast("int64").sum() for s in ("new", "won_back", "active")},
        at_risk=(states.state == "at_risk").cast("int64").sum(),
    )

    lapse = spells.filter(spells.period_index + n <= spells.end_index)
    starts = lapse.select(period_index=lapse.period_index + n, delta=ibis.literal(1), begin=1)
    stops = lapse.select(period_index=lapse.end_index + 1, delta=ibis.literal(-1), begin=0)
    deltas = union_all(starts, stops)
    deltas = deltas.group_by("period_index").aggregate(
        delta=deltas.delta.sum(), newly_lapsed=deltas.begin.sum()
    )

    bounds = facts.aggregate(lo=facts.period_index.min(), hi=facts.period_index.max())
    grid = period_grid(bounds, per)
    c = counts.rename(_ci="period_index")
    d = deltas.rename(_di="period_index")
    out = grid.left_join(c, grid.period_index == c._ci).drop("_ci")
    out = out.left_join(d, out.period_index == d._di).drop("_di")
    out = out.select(
        "period_index",
        "period",
        *[out[s].fill_null(0).cast("int64").name(s) for s in ("new", "won_back", "active")],
        at_risk=out.at_risk.fill_null(0).cast("int64"),
        _delta=out.delta.fill_null(0).cast("int64"),
        newly_lapsed=out.newly_lapsed.fill_null(0).cast("int64"),
    )
    # The grid has one row per period_index, so this running order has no ties.
    running = ibis.window(order_by=out.period_index, rows=(None, 0))
    out = out.mutate(
        customers=out.new.sum().over(running).cast("int64"),
        lapsed=out._delta.sum().over(running).cast("int64"),
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
