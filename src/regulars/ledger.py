"""The order ledger: the one definition of a paid order, its refunds and net revenue.

Metrics, models, actions and the report all read orders through :func:`order_ledger`
(or :func:`purchases`), so they count the same orders and the same money.
``docs/data.md`` ("Paid orders, returns and credit notes") states the rule for users:

Cancelled orders
    An order with status ``cancelled`` is ignored everywhere.
Refunds
    An order's own refund is ``refund_amount``; status ``refunded`` without an amount
    refunds the whole revenue.
Credit notes
    A *credit note* is an order with revenue 0 (all its lines are negative) and a
    refund above 0, such as the cancellation invoice ``C541433``.  It is a return:
    never an order, a purchase or a repeat.  Its amount is netted against the invoice
    it reverses when one is found:

    (a) the invoice whose id is the credit note's id without its ``C`` prefix
        (``C541433`` -> ``541433``), of the same customer;
    (b) else the same customer's most recent order on or before the credit note's day,
        at most ``credit_window_days`` earlier, whose net revenue (after its own
        refunds) is exactly the credit note's amount.  An invoice takes at most one
        credit note this way: when several pick the same invoice, the earliest is
        netted and the others look again among the orders left (up to three rounds;
        then they stay unlinked).

    The invoice's refund then grows by the credit note's amount and its refund date
    becomes the credit note's day; the credit note itself keeps no money.  A credit
    note with no invoice stays a negative amount of its customer on its own day.
Net revenue and paid orders
    Net revenue is ``revenue - refund``, exact to the cent.  It is not capped: a refund
    larger than its order (an over-refund) leaves a negative net revenue, so the
    totals of every metric add up to the money that came in and went out.  An order is
    a *paid order* (a purchase) when it is not a credit note and its net revenue is
    above 0 after netting: a partial refund keeps a purchase with its net amount, a
    full refund or an over-refund does not.  An order without an amount (``revenue``
    empty, from a customer + date log) is a purchase whose money is unknown: its
    net revenue stays null, never 0 or 1 (unless its status is ``refunded``).
Guest orders
    Orders without a customer (``guest_orders``) follow the same rules through
    :func:`guest_ledger`, except that a guest credit note has no customer whose recent
    orders could be searched: it is netted only against the guest invoice its id names
    (rule a, ``C`` + the invoice's id), else it stays a negative amount on its own day.

Everything here is lazy, backend-neutral Ibis, so the ledger is computed by the engine
on DuckDB, Parquet files and Spark alike.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from regulars.engine import computed_once
from regulars.engine._backend import engine_name, engine_of

if TYPE_CHECKING:
    from regulars.config import Config

__all__ = [
    "DEFAULT_CREDIT_WINDOW_DAYS",
    "LEDGER_COLUMNS",
    "credit_window_days",
    "guest_ledger",
    "has_amounts",
    "order_ledger",
    "purchases",
]

#: How far back a credit note looks for an invoice of its exact amount when the
#: workspace has no money-back guarantee (``[guarantee] days = 0``).
DEFAULT_CREDIT_WINDOW_DAYS = 90

#: The columns :func:`order_ledger` computes (every other ``orders`` column is kept).
LEDGER_COLUMNS = (
    "revenue",
    "refund",
    "net_revenue",
    "refund_date",
    "is_credit_note",
    "credit_for",
    "is_purchase",
)

_MONEY = dt.Decimal(18, 2)
#: Rounds of amount matching: credit notes that lost their order to an earlier credit
#: note of the same amount look again among the orders left.
_AMOUNT_ROUNDS = 3
#: ``orders`` columns replaced by the ledger's own.
_REPLACED = ("revenue", "refund_amount", "refund_date")


def credit_window_days(config: Config | None) -> int:
    """The window for amount-matched credit notes: ``[guarantee] days``, else 90."""
    if config is None or config.guarantee.days <= 0:
        return DEFAULT_CREDIT_WINDOW_DAYS
    return int(config.guarantee.days)


def has_amounts(orders: ir.Table, /) -> bool:
    """False when ``orders`` has rows and none of them has an amount.

    A customer + date log is imported with ``revenue`` empty (unknown, never 0): every
    amount derived from it is unknown, so surfaces show "no amounts" instead of money
    and rank by orders.  An empty table has amounts (nothing says otherwise).  One
    small aggregate, computed by the engine.
    """
    counts = orders.aggregate(n=orders.count(), known=orders.revenue.count()).to_pyarrow()
    n, known = counts.column("n")[0].as_py(), counts.column("known")[0].as_py()
    return not (int(n or 0) > 0 and int(known or 0) == 0)


def _zero() -> ir.Scalar:
    return ibis.literal(Decimal("0.00"), type=_MONEY)


def _credit_links(credits: ir.Table, base: ir.Table, window_days: int) -> ir.Table:
    """``_c_id`` (credit note) -> ``_i_id`` (the invoice it is netted against).

    ``credits`` is :func:`_credit_notes` of ``base``.
    """
    if _known_empty(credits):  # no credit notes: nothing to link, no orders to scan
        return credits.select("_c_id", _i_id=credits._c_id)
    # Only customers with a credit note have invoices to net: keep the join inputs
    # small.  Computed once (on Spark), so the matching rounds below read these few
    # rows instead of scanning the orders again in every round.
    who = credits.select(_k=credits._c_cust).distinct()
    invoices = base.filter(~base._credit & (base._rev > 0))
    invoices = invoices.semi_join(who, invoices.customer_id == who._k)
    invoices = computed_once(
        invoices.select(
            _i_id=invoices.order_id,
            _i_cust=invoices.customer_id,
            _i_ts=invoices.order_date,
            _i_day=invoices._day,
            _i_net=(invoices._rev - invoices._own_refund).cast(_MONEY),
        )
    )
    # (a) The export links them: "C" + the invoice's id, same customer.
    by_id = credits.join(
        invoices,
        [
            credits._c_cust == invoices._i_cust,
            credits._c_id.startswith("C"),
            credits._c_id.substr(1) == invoices._i_id,
        ],
    ).select("_c_id", "_i_id")
    # (b) The same customer's most recent earlier order of exactly that amount.  Each
    # round links every credit note left to its best free order, and each order to
    # the earliest credit note that picked it; the others try again next round.
    links = by_id
    for _ in range(_AMOUNT_ROUNDS):
        rest = credits.anti_join(links, "_c_id")
        free = invoices.anti_join(links, "_i_id")
        gap = rest._c_day.epoch_days() - free._i_day.epoch_days()
        cand = rest.join(
            free,
            [
                rest._c_cust == free._i_cust,
                rest._c_amount == free._i_net,
                free._i_day <= rest._c_day,
                gap <= window_days,
            ],
        )
        latest = ibis.window(group_by=cand._c_id, order_by=[cand._i_ts.desc(), cand._i_id.desc()])
        cand = cand.mutate(_rank=ibis.row_number().over(latest))
        cand = cand.filter(cand._rank == 0)
        first = ibis.window(group_by=cand._i_id, order_by=[cand._c_ts, cand._c_id])
        cand = cand.mutate(_rank=ibis.row_number().over(first))
        found = cand.filter(cand._rank == 0).select("_c_id", "_i_id")
        links = computed_once(links.union(found, distinct=False))
    return links


def _known_empty(t: ir.Table) -> bool:
    """Whether ``t``, a table :func:`computed_once` made on Spark, has no rows.

    There it is already computed, so counting it costs one small job and spares the
    scans of the orders that would only find nothing.  Elsewhere (DuckDB) the ledger
    stays one lazy query, and the answer is False.
    """
    if engine_name(engine_of(t)) != "pyspark":  # DuckDB, or in-memory rows
        return False
    return int(t.count().to_pyarrow().as_py()) == 0


def _credit_notes(base: ir.Table) -> ir.Table:
    """The credit notes of ``base`` (the orders with the ledger's helper columns).

    Computed once (on Spark: one scan of the orders), for the matching rounds and the
    netting, which all read them.
    """
    credits = base.filter(base._credit)
    return computed_once(
        credits.select(
            _c_id=credits.order_id,
            _c_cust=credits.customer_id,
            _c_ts=credits.order_date,
            _c_day=credits._day,
            _c_amount=credits._own_refund,
        )
    )


def order_ledger(
    orders: ir.Table, /, *, credit_window_days: int = DEFAULT_CREDIT_WINDOW_DAYS
) -> ir.Table:
    """One row per non-cancelled order with its refund, net revenue and purchase flag.

    ``orders`` is the contract table (or any table with its columns); to see the
    ledger as of a day, filter ``orders`` to that day first, so later credit notes do
    not reach back.  The rule is in the module docstring and in docs/data.md.

    Columns
    -------
    every ``orders`` column except ``refund_amount``, and:
    revenue : decimal(18, 2)
        Gross revenue as imported (0 for a credit note, null without an amount).
    refund : decimal(18, 2)
        The order's own refund plus the credit notes netted against it.  A credit
        note netted against its invoice has 0 here; an unlinked one, its amount.
    net_revenue : decimal(18, 2)
        ``revenue - refund``: negative for an unlinked credit note and an
        over-refund, null for an order without an amount.
    refund_date : date
        When the money went back: the latest netted credit note's day, else the
        imported ``refund_date`` (an unlinked credit note: its own day; a netted
        one: null, its invoice carries the date).
    is_credit_note : boolean
        Revenue 0 and a refund above 0: a return, never a purchase.
    credit_for : string
        The invoice a credit note was netted against (null when unlinked, and for
        every other order).
    is_purchase : boolean
        A paid order: not a credit note, net revenue above 0 (or no amount at all).
    """
    return computed_once(ledger_expression(orders, credit_window_days=credit_window_days))


def purchases(
    orders: ir.Table, /, *, credit_window_days: int = DEFAULT_CREDIT_WINDOW_DAYS
) -> ir.Table:
    """The paid orders of :func:`order_ledger` (``is_purchase`` true), same columns."""
    ledger = order_ledger(orders, credit_window_days=credit_window_days)
    return ledger.filter(ledger.is_purchase)


def guest_ledger(guest_orders: ir.Table, /) -> ir.Table:
    """:func:`order_ledger` of ``guest_orders``: the same rules, without a customer.

    Cancelled guest orders are ignored, a refund is ``refund_amount`` (the whole
    revenue for status ``refunded`` without one), and a guest credit note (revenue 0,
    a refund above 0) is netted against the guest invoice its id names (``C`` + the
    invoice's id, rule a).  With no customer there are no recent orders of the same
    customer to match by amount (rule b), so any other guest credit note stays a
    negative amount on its own day.

    Columns: those of :func:`order_ledger` (``guest_orders`` has no ``customer_id``).
    """
    g = guest_orders
    # The credit note's "customer" is the invoice it names, every other order's is
    # itself: rule (a) then links exactly the named invoice, and rule (b) can only
    # find that same invoice again (an order of another guest never matches).
    names_invoice = (g.revenue.cast(_MONEY) == 0).fill_null(False) & g.order_id.startswith("C")
    key = ibis.cases((names_invoice, g.order_id.substr(1)), else_=g.order_id)
    ledger = order_ledger(g.mutate(customer_id=key.cast("string")))
    return ledger.drop("customer_id")


def ledger_expression(
    orders: ir.Table, /, *, credit_window_days: int = DEFAULT_CREDIT_WINDOW_DAYS
) -> ir.Table:
    """:func:`order_ledger` without its final step on Spark (computing the ledger once
    and keeping it in memory), for a caller that stores it anyway
    (:func:`regulars.engine.shared_table`).  On DuckDB the two are the same.  The
    credit notes and their links are still computed once on Spark, here."""
    o = orders.filter(orders.status.fill_null("paid") != "cancelled")
    status = o.status.fill_null("paid")
    revenue = o.revenue.cast(_MONEY)
    own_refund = ibis.coalesce(
        o.refund_amount.cast(_MONEY),
        ibis.cases((status == "refunded", revenue), else_=_zero()),
    )
    base = o.mutate(
        _rev=revenue,
        _own_refund=own_refund.cast(_MONEY),
        _day=o.order_date.cast("date"),
        _credit=((revenue == 0) & (own_refund > 0)).fill_null(False),
    )
    notes = _credit_notes(base)
    links = _credit_links(notes, base, credit_window_days)
    credits = notes.select(_n_id=notes._c_id, _n_day=notes._c_day, _n_amount=notes._c_amount)
    netted = credits.join(links, credits._n_id == links._c_id)
    netted = netted.group_by(_key="_i_id").aggregate(
        _credit_sum=netted._n_amount.sum().cast(_MONEY),
        _credit_day=netted._n_day.max(),
        _i_id=ibis.null("string"),
    )
    # One small table keyed by order id: the invoices' credits and the netted credit
    # notes' invoices (an order is one or the other), so the orders are joined once.
    adjust = netted.union(
        links.select(
            _key=links._c_id,
            _credit_sum=ibis.null(_MONEY),
            _credit_day=ibis.null("date"),
            _i_id=links._i_id,
        ),
        distinct=False,
    )
    j = base.left_join(adjust, base.order_id == adjust._key)
    credited = j._credit_sum.notnull()
    refund = ibis.cases(
        (j._i_id.notnull(), _zero()),
        (credited, (j._own_refund + j._credit_sum).cast(_MONEY)),
        else_=j._own_refund,
    ).cast(_MONEY)
    own_date = j.refund_date.cast("date")
    refund_date = ibis.cases(
        (credited & (own_date.isnull() | (own_date < j._credit_day)), j._credit_day),
        (j._credit & j._i_id.isnull(), ibis.coalesce(own_date, j._day)),
        (j._credit, ibis.null("date")),
        else_=own_date,
    )
    net = (j._rev - refund).cast(_MONEY)
    is_purchase = ~j._credit & ibis.cases(
        (j._rev.isnull(), j.status.fill_null("paid") != "refunded"),
        else_=(net > 0).fill_null(False),
    )
    keep = [c for c in orders.columns if c not in _REPLACED]
    ledger = j.select(
        *keep,
        revenue=j._rev,
        refund=refund,
        net_revenue=net,
        refund_date=refund_date,
        is_credit_note=j._credit,
        credit_for=j._i_id,
        is_purchase=is_purchase,
    )
    return ledger
