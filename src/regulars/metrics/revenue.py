"""The business's revenue per period: customers, guest checkouts, and the total."""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period
from regulars.errors import ConfigError
from regulars.ledger import guest_ledger
from regulars.metrics._common import (
    MONEY,
    MetricContext,
    TablesLike,
    filter_periods,
    index_to_start,
    metric_context,
    money_sum,
    order_facts,
    period_grid,
    period_index,
    resolve_period,
    union_all,
)
from regulars.metrics._periods import mark_complete

__all__ = ["business_revenue"]

GuestRevenue = Literal["exclude", "include"]


def _guest_table(ctx: MetricContext) -> ir.Table:
    """``guest_orders`` with every column of its contract (empty when there is none)."""
    from regulars.engine import arrow_schema
    from regulars.schema import GUEST_ORDERS

    schema = arrow_schema(GUEST_ORDERS)
    if not ctx.has("guest_orders"):
        return ibis.memtable(schema.empty_table())
    t = ctx.table("guest_orders")
    missing = {f.name: ibis.null(ibis.dtype(f.type)) for f in schema if f.name not in t.columns}
    return t.mutate(**missing) if missing else t


def _guest_facts(ctx: MetricContext, period: Period) -> ir.Table:
    """One row per non-cancelled guest order of :func:`regulars.ledger.guest_ledger`."""
    ledger = ctx.once("guest_ledger", lambda: guest_ledger(_guest_table(ctx)))
    # A credit note netted against its invoice carries no money of its own.
    g = ledger.filter(~(ledger.is_credit_note & ledger.credit_for.notnull()))
    return g.select(
        period_index=period_index(g.order_date.cast("date"), period),
        net_revenue=g.net_revenue.cast(MONEY),
        is_paid=g.is_purchase,
    )


def _check_setting(value: str) -> GuestRevenue:
    if value not in ("exclude", "include"):
        raise ConfigError(
            f"guest_revenue = {value!r} is not valid: use 'exclude' (default) or 'include' "
            "([workspace] guest_revenue in regulars.toml)."
        )
    return value  # type: ignore[return-value]


def business_revenue(
    tables: TablesLike,
    /,
    *,
    period: Period | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    guest_revenue: GuestRevenue | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Net revenue per period: from customers, from guest checkouts, and the total.

    Customer analytics read customers' orders only; this is the one number that may
    count guest checkouts (orders without a customer id, kept in ``guest_orders``),
    as ``[workspace] guest_revenue`` says.

    Parameters
    ----------
    tables : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders``; ``guest_orders`` when the business has guest checkouts.
    period : {"month", "quarter", "year"}, optional
        Default: ``[workspace] period``.
    start, end : date or ISO string, optional
        Keep only the periods that overlap ``[start, end]``.
    guest_revenue : {"exclude", "include"}, optional
        Whether ``revenue`` counts guest checkouts.  Default: ``[workspace]
        guest_revenue`` (``"exclude"``).
    config : Config, optional
        Overrides the configuration of ``tables``.

    Returns
    -------
    ibis.Table
        Lazy; one row per period from the first period with an order (of a customer or
        a guest) to the last, including empty periods.  Columns: ``period``,
        ``customer_revenue`` (net revenue of the customers' orders: the sum of
        ``new_revenue`` and ``returning_revenue`` of
        :func:`~regulars.metrics.new_vs_returning`), ``guest_revenue`` (net revenue of
        the guest orders), ``guest_orders`` (paid guest orders), ``revenue``
        (``customer_revenue + guest_revenue`` with ``"include"``, else
        ``customer_revenue``), ``includes_guests`` (the setting, on every row) and
        ``complete`` (the data cover the period from its first to its last day).

    Notes
    -----
    Both sides follow :mod:`regulars.ledger`: cancelled orders are ignored, net revenue
    is ``revenue - refund`` in the period of the order, and a credit note netted
    against its invoice lowers the invoice; an unlinked one counts, negative, on its
    own day.  A guest credit note is netted only against the guest invoice its id
    names (``C`` + the invoice's id): there is no customer whose orders could be
    matched by amount.  Money is exact (decimal, to the cent).  Orders without an
    amount add nothing.
    """
    ctx = metric_context(tables, config)
    per = resolve_period(period, ctx.config)
    setting = _check_setting(guest_revenue or ctx.config.workspace.guest_revenue)
    include = setting == "include"
    facts = order_facts(ctx, per)
    customers = facts.group_by("period_index").aggregate(
        customer_revenue=money_sum(facts.net_revenue)
    )
    g = _guest_facts(ctx, per)
    guests = g.group_by("period_index").aggregate(
        guest_revenue=money_sum(g.net_revenue), guest_orders=g.count(where=g.is_paid)
    )
    both = union_all(customers.select("period_index"), guests.select("period_index"))
    grid = period_grid(both.aggregate(lo=both.period_index.min(), hi=both.period_index.max()), per)
    out = grid.left_join(customers, "period_index").drop("period_index_right")
    out = out.left_join(guests, "period_index").drop("period_index_right")
    customer = out.customer_revenue.fill_null(0).cast(MONEY)
    guest = out.guest_revenue.fill_null(0).cast(MONEY)
    total = (customer + guest).cast(MONEY) if include else customer
    out = out.select(
        "period_index",
        period=index_to_start(out.period_index, per),
        customer_revenue=customer,
        guest_revenue=guest,
        guest_orders=out.guest_orders.fill_null(0).cast("int64"),
        revenue=total,
        includes_guests=ibis.literal(include),
    )
    out = mark_complete(out, ctx, per)
    out = filter_periods(out, per, start, end)
    return out.order_by("period_index").drop("period_index")
