"""Which periods the data cover completely, and who was a customer before the data start.

Complete periods
    The data cover the days from ``data_start`` to ``data_end``: the first and the last
    order date in ``orders`` (every row, cancelled ones included: they are data too),
    or ``[workspace] data_start`` / ``data_end`` in ``regulars.toml`` when set.  A
    period is *complete* when the data cover it from its first to its last day, give
    or take :data:`COMPLETE_SLACK_DAYS` (2 days for a month, 7 for a quarter, 14 for a
    year), so a shop closed on the last Sunday of a month still has that month.  Data
    from 1 Dec 2010 to 9 Dec 2011 have a complete December 2010 and a partial December
    2011; data from 15 Dec make December partial.  Comparisons between periods (growth
    accounting, growth sources, NRR and GRR) are only meaningful between complete
    periods.

Left-censored customers
    When the data start inside a running business, the customers who order in the
    first weeks were, for the most part, customers before the data start: their
    "first order" in the data is not their first order.  The detector compares first
    customers per month (a customer's month of first paid order in the data):

    * the *first month* is the first complete month of the data (with the partial
      month before it, if any);
    * the *baseline* is the mean number of first customers per month over the later
      half of the complete months after the first one (the months least mixed with
      customers from before the data);
    * the business was running when the data start when the first month (per month)
      holds more than :data:`CENSORING_FACTOR` (2) times the baseline, and at least
      :data:`CENSORING_MIN_CUSTOMERS` (10) customers: a business that opens grows its
      book from a few first customers, a running one shows its active customers at
      once;
    * then the *censoring window* is the first month plus each following month (up
      to :data:`FOLLOWING_MONTHS`, six) that still holds more than twice the baseline,
      and its customers are *left-censored*: "already customers when the data start".

    ``[workspace] business_start`` overrides the decision: a date before ``data_start``
    says the business was running (the window is found as above); a date on or after
    it says the business opened with the data, and nobody is left-censored.  With
    fewer than two complete months after the first there is no evidence, and nobody is
    left-censored unless ``business_start`` says so.
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from regulars.config import Period
from regulars.metrics._common import (
    MetricContext,
    index_to_start,
    period_index,
)

__all__ = [
    "CENSORING_FACTOR",
    "CENSORING_MIN_CUSTOMERS",
    "COMPLETE_SLACK_DAYS",
    "FOLLOWING_MONTHS",
    "censoring_window_end",
    "coverage",
    "coverage_table",
    "left_censored_customers",
    "mark_comparable",
    "mark_complete",
    "period_is_complete",
]

#: A period counts as complete when the data reach within this many days of its ends.
COMPLETE_SLACK_DAYS: dict[str, int] = {"month": 2, "quarter": 7, "year": 14}
#: Left-censored when the window has more than this many times the later monthly rate.
CENSORING_FACTOR = 2
#: ... and when the window holds at least this many customers (fewer prove nothing).
CENSORING_MIN_CUSTOMERS = 10
#: How many complete months after the window the detector compares with.
FOLLOWING_MONTHS = 6


def _date_literal(value: str) -> ir.DateScalar:
    return ibis.literal(_dt.date.fromisoformat(value), type="date")


def coverage_table(ctx: MetricContext) -> ir.Table:
    """One row: ``data_start``, ``data_end`` (dates) of the data (see the module notes)."""
    return ctx.once("coverage", lambda: _coverage_table(ctx))


def _coverage_table(ctx: MetricContext) -> ir.Table:
    o = ctx.table("orders")
    day = o.order_date.cast("date")
    cov = o.aggregate(data_start=day.min(), data_end=day.max())
    ws = ctx.config.workspace
    if ws.data_start:
        cov = cov.mutate(data_start=_date_literal(ws.data_start))
    if ws.data_end:
        cov = cov.mutate(data_end=_date_literal(ws.data_end))
    return cov


def coverage(ctx: MetricContext) -> tuple[_dt.date | None, _dt.date | None]:
    """:func:`coverage_table` as Python dates (None when there are no orders)."""
    row = coverage_table(ctx).to_pyarrow().to_pylist()[0]

    def as_date(value: object) -> _dt.date | None:
        if value is None:
            return None
        if isinstance(value, _dt.datetime):
            return value.date()
        return value if isinstance(value, _dt.date) else _dt.date.fromisoformat(str(value))

    return as_date(row["data_start"]), as_date(row["data_end"])


def _period_last_day(start: _dt.date, period: str) -> _dt.date:
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    m = start.month - 1 + months
    return _dt.date(start.year + m // 12, m % 12 + 1, 1) - _dt.timedelta(days=1)


def period_is_complete(
    start: _dt.date, period: str, data_start: _dt.date | None, data_end: _dt.date | None
) -> bool:
    """Whether the period beginning on ``start`` is complete (the Python twin of
    :func:`mark_complete`, for the report)."""
    if data_start is None or data_end is None:
        return False
    slack = _dt.timedelta(days=COMPLETE_SLACK_DAYS[period])
    return data_start <= start + slack and data_end >= _period_last_day(start, period) - slack


def _complete_expr(t: ir.Table, idx: ir.IntegerValue, period: Period) -> ir.BooleanValue:
    first = index_to_start(idx, period).epoch_days().cast("int64")
    last = index_to_start(idx + 1, period).epoch_days().cast("int64") - 1
    slack = COMPLETE_SLACK_DAYS[period]
    return ((t._d0 <= first + slack) & (t._d1 >= last - slack)).fill_null(False)


def _with_coverage(table: ir.Table, ctx: MetricContext) -> ir.Table:
    cov = coverage_table(ctx)
    cov = cov.select(
        _d0=cov.data_start.epoch_days().cast("int64"),
        _d1=cov.data_end.epoch_days().cast("int64"),
    )
    return table.cross_join(cov)


def mark_complete(
    table: ir.Table,
    ctx: MetricContext,
    period: Period,
    *,
    index_col: str = "period_index",
    name: str = "complete",
    lag: int = 0,
) -> ir.Table:
    """``table`` with a boolean column ``name``: is period ``index_col − lag`` complete?

    ``lag`` marks the period a row is compared with (1 for the previous period).
    """
    t = _with_coverage(table, ctx)
    ok = _complete_expr(t, t[index_col] - lag, period)
    return t.mutate(**{name: ok}).drop("_d0", "_d1")


def mark_comparable(
    table: ir.Table,
    ctx: MetricContext,
    period: Period,
    *,
    lag: int = 1,
    index_col: str = "period_index",
) -> ir.Table:
    """``table`` plus ``complete`` (its period is complete) and ``comparable`` (the
    period ``lag`` before it is complete too)."""
    t = _with_coverage(table, ctx)
    now = _complete_expr(t, t[index_col], period)
    base = _complete_expr(t, t[index_col] - lag, period)
    return t.mutate(complete=now, comparable=now & base).drop("_d0", "_d1")


def left_censored_customers(ctx: MetricContext) -> ir.Table:
    """The customers who were already customers when the data start.

    Columns: ``customer_id``, ``first_date`` (their first paid order in the data).
    Empty when the data start with the business (see the module notes).
    """
    return ctx.once("left_censored", lambda: _left_censored_customers(ctx))


def _left_censored_customers(ctx: MetricContext) -> ir.Table:
    first = ctx.first_paid("month").select("customer_id", "first_date", "cohort_index")
    cov = coverage_table(ctx)
    d0 = cov.data_start
    start_idx = period_index(d0, "month")
    # The window ends with the first complete month: the data's first month when they
    # start on (or within the slack of) its first day, else the month after it.
    slack = COMPLETE_SLACK_DAYS["month"]
    whole_first = d0.day() <= 1 + slack
    bounds = cov.select(
        _w0=start_idx,
        _w1=ibis.cases((whole_first, start_idx), else_=start_idx + 1),
        # The last complete month: the one before the month of data_end + slack + 1 day.
        _last=period_index(cov.data_end + ibis.interval(days=slack + 1), "month") - 1,
    )
    # First customers per complete month after the first one (zero-filled), and the
    # baseline: the mean over the later half of those months, the least contaminated
    # by customers from before the data.
    counts = first.group_by(_m="cohort_index").aggregate(_n=first.count())
    grid = bounds.select(_m=ibis.range(bounds._w1 + 1, bounds._last + 1)).unnest("_m")
    grid = grid.select(_m=grid._m.cast("int64")).cross_join(bounds)
    grid = grid.left_join(counts, grid._m == counts._m).drop("_m_right")
    grid = grid.mutate(_n=grid._n.fill_null(0), _mid=grid._w1 + (grid._last - grid._w1) // 2)
    late = grid._m > grid._mid
    stats = grid.aggregate(
        _a_months=grid.count(),
        _late_n=grid._n.sum(where=late),
        _late_months=grid.count(where=late),
    )
    # A month is still "early" while its first customers exceed factor × the baseline.
    grid = grid.cross_join(stats)
    high = grid._n * grid._late_months > CENSORING_FACTOR * grid._late_n.fill_null(0)
    calm = grid.filter(~high | (grid._m > grid._w1 + FOLLOWING_MONTHS))
    stop = calm.aggregate(_stop=calm._m.min())
    j = first.cross_join(bounds).cross_join(stats).cross_join(stop)
    window_end = ibis.coalesce(j._stop - 1, ibis.least(j._last, j._w1 + FOLLOWING_MONTHS))
    n_first = (j.cohort_index <= j._w1).cast("int64").sum()
    business_start = ctx.config.workspace.business_start
    if business_start:
        decide = cov.select(_censor=_date_literal(business_start) < cov.data_start)
    else:
        # First-month rate > factor × baseline, in integers.
        w_months = (j._w1 - j._w0 + 1).max()
        decide = j.aggregate(
            _censor=(j._a_months.max() >= 2)
            & (n_first >= CENSORING_MIN_CUSTOMERS)
            & (n_first * j._late_months.max() > CENSORING_FACTOR * j._late_n.max() * w_months)
        )
    marked = j.filter(j.cohort_index <= ibis.greatest(window_end, j._w1)).cross_join(decide)
    marked = marked.filter(marked._censor.fill_null(False))
    return marked.select("customer_id", "first_date")


def censoring_window_end(ctx: MetricContext, period: Period) -> ir.Table:
    """One row, ``window_index``: the last ``period`` index of the censoring window."""
    cov = coverage_table(ctx)
    d0 = cov.data_start
    slack = COMPLETE_SLACK_DAYS["month"]
    month_idx = period_index(d0, "month") + ibis.cases((d0.day() <= 1 + slack, 0), else_=1)
    last_month_start = index_to_start(month_idx, "month")
    return cov.select(window_index=period_index(last_month_start, period))
