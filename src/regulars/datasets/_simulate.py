"""``simulate``: draw a whole service business and return it as Arrow tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from regulars.datasets import _arrow as A
from regulars.datasets._book import SimulatedBook
from regulars.datasets._calendar import Calendar, make_calendar, parse_start
from regulars.datasets._extras import draw_details, draw_feedback, draw_spend, draw_touches
from regulars.datasets._lifecycle import Lives, draw_lives, draw_referrers
from regulars.datasets._orders import KIND_NAMES, STATUS_NAMES, Orders, draw_orders, product_names
from regulars.datasets._params import SimulationParams, currency_scale
from regulars.errors import ConfigError
from regulars.schema import table

__all__ = ["orders_table", "simulate"]


def _names(values: list[str] | tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(values), type=pa.string()), pa.array(index, type=pa.int64()))


def _width(n: int) -> int:
    return max(5, len(str(n)))


def orders_table(
    cal: Calendar,
    orders: Orders,
    params: SimulationParams,
    *,
    customer_offset: int = 0,
    order_offset: int = 0,
    customer_width: int = 5,
    order_width: int = 6,
) -> pa.Table:
    """The ``orders`` contract table of ``orders`` (ids start after the offsets)."""
    names, cats = product_names(params)
    n = len(orders)
    number = np.arange(1, n + 1, dtype=np.int64) + order_offset
    no_refund = orders.refund_day < 0
    return A.table_from_columns(
        table("orders"),
        {
            "order_id": A.ids("INV-", number, order_width),
            "customer_id": A.ids("C-", orders.customer + 1 + customer_offset, customer_width),
            "order_date": A.timestamps(cal.epoch_day, orders.day, orders.seconds),
            "revenue": A.money(orders.revenue),
            "cost": A.money(orders.cost, ~orders.cost_known),
            "quantity": pa.array(orders.quantity, type=pa.float64()),
            "unit_price": A.money(orders.unit_price, ~orders.single_line),
            "product": _names(names, orders.product),
            "category": _names(cats, orders.product),
            "kind": _names(KIND_NAMES, orders.kind),
            "discount": A.money(orders.discount),
            "status": _names(STATUS_NAMES, orders.status),
            "refund_amount": A.money(orders.refund),
            "refund_date": A.dates(cal.epoch_day, orders.refund_day, no_refund),
        },
    )


def _order_lines_table(orders: Orders, params: SimulationParams, order_width: int) -> pa.Table:
    names, cats = product_names(params)
    return A.table_from_columns(
        table("order_lines"),
        {
            "order_id": A.ids("INV-", orders.line_order + 1, order_width),
            "line_no": pa.array(orders.line_no.astype(np.int32), type=pa.int32()),
            "product": _names(names, orders.line_product),
            "category": _names(cats, orders.line_product),
            "quantity": pa.array(orders.line_quantity, type=pa.float64()),
            "unit_price": A.money(orders.line_unit_price),
            "revenue": A.money(orders.line_revenue),
        },
    )


def _customers_table(
    rng: np.random.Generator,
    lives: Lives,
    referrer: np.ndarray,
    cal: Calendar,
    params: SimulationParams,
    width: int,
) -> pa.Table:
    details = draw_details(rng, lives)
    n = len(lives)
    no_ref = referrer < 0
    return A.table_from_columns(
        table("customers"),
        {
            "customer_id": A.ids("C-", np.arange(1, n + 1), width),
            "name": pa.array(details.name, type=pa.string()),
            "email": pa.array(details.email, type=pa.string()),
            "phone": pa.array(details.phone, type=pa.string()),
            "acquired_at": A.dates(cal.epoch_day, lives.acq),
            "channel": _names([c.name for c in params.channels], lives.channel),
            "referred_by": A.ids("C-", referrer + 1, width, no_ref),
            "segment": _names([s[0] for s in params.segments], lives.segment),
            "attributes": pa.array(details.attributes, type=pa.string()),
        },
    )


def _subscriptions_table(
    lives: Lives, cal: Calendar, params: SimulationParams, width: int
) -> pa.Table:
    subs = lives.subs
    order = np.lexsort((subs.plan, subs.customer, subs.start_day))
    active = subs.end_day[order] < 0
    return A.table_from_columns(
        table("subscriptions"),
        {
            "subscription_id": A.ids("SUB-", np.arange(1, len(order) + 1), _width(len(order))),
            "customer_id": A.ids("C-", subs.customer[order] + 1, width),
            "plan": _names([p.name for p in params.plans], subs.plan[order]),
            "start_date": A.dates(cal.epoch_day, subs.start_day[order]),
            "end_date": A.dates(cal.epoch_day, subs.end_day[order], active),
            "cancel_date": A.dates(cal.epoch_day, subs.cancel_day[order], active),
            "price": A.money(subs.price_cents[order]),
            "billing_period": _names([p.billing_period for p in params.plans], subs.plan[order]),
        },
    )


def simulate(
    *,
    n_customers: int = 2000,
    years: int = 4,
    start: str | dt.date = "2022-01-01",
    seed: int = 0,
    currency: str = "EUR",
    params: SimulationParams | None = None,
) -> SimulatedBook:
    """Simulate a service business (a studio, agency or practice) with a fixed seed.

    Customers arrive through referral, cold, organic and partner channels, buy
    repeatedly with their own latent rhythm, grow their orders over time (upsell),
    take monthly and yearly plans, buy discounted packages, sometimes ask for their
    money back under a 90-day guarantee, lapse, and sometimes come back.  The studio
    keeps in touch with them and asks for feedback.  ``docs/simulator.md`` describes
    the generating process and every parameter.

    Parameters
    ----------
    n_customers : int, default 2000
        Customers acquired over the whole period.
    years : int, default 4
        Length of the simulation; every date falls in ``[start, start + years)``.
    start : str or datetime.date, default "2022-01-01"
        First day.
    seed : int, default 0
        Random seed; the same seed gives byte-identical tables.
    currency : str, default "EUR"
        ISO code of the money columns; prices are scaled to look plausible in it.
    params : SimulationParams, optional
        Every other knob (rates, catalogue, channels...).

    Returns
    -------
    SimulatedBook
        One Arrow table per contract table.

    Examples
    --------
    >>> book = simulate(n_customers=200, years=2, seed=1)
    >>> book.customers.num_rows
    200
    >>> book.orders.column_names[:4]
    ['order_id', 'customer_id', 'order_date', 'revenue']
    """
    params = params or SimulationParams()
    if n_customers < 1:
        raise ConfigError(f"n_customers = {n_customers!r} must be at least 1.")
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError(
            f"currency = {currency!r} is not an ISO 4217 code (expected three letters, "
            "for example EUR, USD or RUB)."
        )
    currency = currency.upper()
    first = parse_start(start)
    cal = make_calendar(first, years, params)
    scale = params.price_scale if params.price_scale is not None else currency_scale(currency)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    lives = draw_lives(streams[0], cal, n_customers, params, scale)
    referrer = draw_referrers(streams[1], lives, params)
    orders = draw_orders(streams[2], cal, lives, params, scale)
    touches = draw_touches(streams[3], cal, lives, orders, params)
    feedback = draw_feedback(streams[4], cal, lives, orders, params)
    spend = draw_spend(streams[5], cal, lives, params, scale)

    cw = _width(n_customers)
    ow = _width(len(orders))
    touch_table = A.table_from_columns(
        table("touches"),
        {
            "touch_id": A.ids(
                "T-", np.arange(1, len(touches.customer) + 1), _width(len(touches.customer))
            ),
            "customer_id": A.ids("C-", touches.customer + 1, cw),
            "touched_at": A.timestamps(cal.epoch_day, touches.day, touches.seconds),
            "kind": pa.array(touches.kind, type=pa.string()),
            "note": pa.array(touches.note, type=pa.string()),
            "outcome": pa.array(touches.outcome, type=pa.string()),
        },
    )
    feedback_table = A.table_from_columns(
        table("feedback"),
        {
            "customer_id": A.ids("C-", feedback.customer + 1, cw),
            "feedback_date": A.dates(cal.epoch_day, feedback.day),
            "score": pa.array(feedback.score, type=pa.float64()),
            "comment": pa.array(feedback.comment, type=pa.string()),
        },
    )
    spend_table = A.table_from_columns(
        table("spend"),
        {
            "channel": pa.array(spend.channel, type=pa.string()),
            "period_start": A.dates(cal.epoch_day, spend.start_day),
            "period_end": A.dates(cal.epoch_day, spend.end_day),
            "amount": A.money(spend.amount),
        },
    )
    return SimulatedBook(
        customers=_customers_table(streams[6], lives, referrer, cal, params, cw),
        orders=orders_table(cal, orders, params, customer_width=cw, order_width=ow),
        order_lines=_order_lines_table(orders, params, ow),
        subscriptions=_subscriptions_table(lives, cal, params, cw),
        touches=touch_table,
        spend=spend_table,
        feedback=feedback_table,
        start=cal.start,
        end=cal.end,
        currency=currency,
        seed=seed,
        channels=params.channel_kinds,
        params=params,
    )
