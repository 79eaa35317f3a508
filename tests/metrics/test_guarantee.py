"""guarantee: refunds inside the money-back window and pending revenue, new vs returning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from _metrics_oracle import random_book, shuffled
from oracles_retention import SimData, assert_same, observation_end, simulated
from oracles_retention import guarantee as guarantee_oracle

from regulars.config import Config, GuaranteeConfig
from regulars.metrics.guarantee import guarantee

MONEY = ("revenue", "refunds", "late_refunds", "pending_revenue", "settled_revenue")
FLOATS = ("refund_rate", "refund_share")


@pytest.fixture(scope="session")
def sim() -> SimData:
    return simulated()


def _cfg(days: int) -> Config:
    return Config(guarantee=GuaranteeConfig(days=days))


ORDERS = {
    "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7"],
    "customer_id": ["a", "a", "b", "b", "c", "c", "d"],
    "order_date": [
        "2024-01-01",
        "2024-03-10",
        "2024-01-05",
        "2024-02-01",
        "2024-02-03",
        "2024-04-01",
        "2024-04-20",
    ],
    "revenue": ["100", "200", "50", "80", "60", "100", "40"],
    "status": [None, None, "refunded", None, None, None, "cancelled"],
    "refund_amount": [None, "20", None, None, "70", None, None],
    "refund_date": [None, "2024-03-20", "2024-01-20", None, "2024-06-01", None, None],
}


@pytest.mark.on_spark
def test_hand_checked(book, to_frame):
    ctx = book(orders=ORDERS, config=_cfg(30))
    df = to_frame(guarantee(ctx, period="month")).set_index(["period", "customer_type"])
    jan = df.loc[(dt.date(2024, 1, 1), "new")]
    # a's first order, and b's first order refunded in full inside the window.
    assert (jan.orders, jan.customers, jan.refunded_orders) == (2, 2, 1)
    assert (jan.refunds, jan.refund_rate) == (Decimal("50.00"), 0.5)
    # c: refund larger than the order, four months late; b's Feb order is b's first paid.
    feb = df.loc[(dt.date(2024, 2, 1), "new")]
    assert (feb.orders, feb.refunded_orders, feb.late_refunds) == (2, 0, Decimal("70.00"))
    mar = df.loc[(dt.date(2024, 3, 1), "returning")]
    assert (mar.refunded_orders, mar.refunds) == (1, Decimal("20.00"))
    # April: c's order (window to May 1) is settled by as_of (Jun 1, the last refund).
    assert df.loc[(dt.date(2024, 4, 1), "new")].pending_orders == 0
    assert df.loc[(dt.date(2024, 2, 1), "returning")].orders == 0  # periods stay dense


def test_pending_inside_the_window(book, to_frame):
    ctx = book(orders=ORDERS, config=_cfg(90))
    df = to_frame(guarantee(ctx, period="month", as_of="2024-04-15"))
    pending = df[df.pending_orders > 0]
    assert set(pending.period) == {dt.date(2024, 2, 1), dt.date(2024, 3, 1), dt.date(2024, 4, 1)}
    apr = df[(df.period == dt.date(2024, 4, 1)) & (df.customer_type == "new")].iloc[0]
    assert (apr.pending_revenue, apr.settled_revenue) == (Decimal("100.00"), Decimal("0.00"))


def test_no_guarantee_means_nothing_pending(book, to_frame):
    ctx = book(orders=ORDERS, config=_cfg(0))
    df = to_frame(guarantee(ctx))
    assert df.pending_orders.sum() == 0
    assert df.refunded_orders.sum() == 0


@pytest.mark.parametrize("days", [0, 30, 90])
@pytest.mark.parametrize("period", ["month", "quarter"])
@pytest.mark.on_spark
def test_matches_oracle_on_random_books(book, to_frame, days, period):
    data = random_book(6)
    # Refund dates: some inside 30 days, some later, some missing.
    n = len(data["orders"]["order_id"])
    data["orders"]["refund_date"] = [
        None
        if i % 3 == 0
        else (data["orders"]["order_date"][i] + dt.timedelta(days=(i * 7) % 120)).date()
        for i in range(n)
    ]
    ctx = book(config=_cfg(days), **data)
    orders = book.inputs["orders"].to_pandas()
    want = guarantee_oracle(orders, _cfg(days), period, observation_end(orders, None))
    got = to_frame(guarantee(ctx, period=period))
    assert_same(got, want, keys=["period", "customer_type"], money_cols=MONEY, float_cols=FLOATS)


def test_matches_oracle_on_simulated_book(book, to_frame, sim):
    ctx = book(orders=sim.orders, config=_cfg(90))
    orders = book.inputs["orders"].to_pandas()
    want = guarantee_oracle(orders, _cfg(90), "quarter", observation_end(orders, None))
    got = to_frame(guarantee(ctx, period="quarter"))
    assert_same(got, want, keys=["period", "customer_type"], money_cols=MONEY, float_cols=FLOATS)
    # The simulated studio, like seed 003: new customers ask for their money back far more.
    new = got[got.customer_type == "new"]
    ret = got[got.customer_type == "returning"]
    assert new.refunded_orders.sum() / new.orders.sum() > ret.refunded_orders.sum() / max(
        ret.orders.sum(), 1
    )


def test_results_do_not_depend_on_row_order(book, to_frame):
    data = random_book(2)
    a = to_frame(guarantee(book(config=_cfg(30), **data)))
    b = to_frame(guarantee(book(config=_cfg(30), **shuffled(data, 5))))
    assert a.equals(b)
