"""new_vs_returning: oracle, hand-checked cases, efficiency, row order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from _metrics_oracle import assert_frames_equal, new_vs_returning, random_book, shuffled

from regulars.config import Config
from regulars.metrics import new_vs_returning as metric


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.on_spark
def test_matches_oracle_on_random_books(book, to_frame, period, seed):
    ctx = book(**random_book(seed))
    got = to_frame(metric(ctx, period=period), sort=["period"])
    assert_frames_equal(got, new_vs_returning(book.inputs, period))


@pytest.mark.on_spark
def test_the_three_charts_by_hand(book, to_frame):
    # a: new in Jan (2 orders the same day), returning in Feb.  b: first order
    # refunded in Jan (not a customer yet), new in Feb with cost known.
    ctx = book(
        orders={
            "order_id": ["1", "2", "3", "4", "5"],
            "customer_id": ["a", "a", "a", "b", "b"],
            "order_date": ["2024-01-03", "2024-01-03", "2024-02-01", "2024-01-09", "2024-02-02"],
            "revenue": ["100", "50", "200", "80", "60"],
            "cost": [None, None, None, "30", "40"],
            "status": [None, None, None, "refunded", None],
        },
        spend={
            "channel": ["cold", "retention"],
            "period_start": ["2024-01-01", "2024-02-01"],
            "period_end": ["2024-01-31", "2024-02-29"],
            "amount": ["100", "30"],
        },
    )
    df = to_frame(metric(ctx, period="month"), sort=["period"])
    jan, feb = df.to_dict("records")
    assert (jan["new_customers"], jan["returning_customers"]) == (1, 0)
    assert (jan["new_orders"], jan["returning_orders"]) == (2, 0)
    assert jan["new_revenue"] == Decimal("150.00")
    # 45.00 margin profit of a, minus the 30.00 cost of b's refunded order.
    assert jan["new_profit"] == Decimal("15.00")
    assert jan["new_efficiency"] == pytest.approx(15 / 100)
    assert (feb["new_customers"], feb["returning_customers"]) == (1, 1)
    assert feb["returning_revenue"] == Decimal("200.00")
    assert feb["returning_profit"] == Decimal("60.00")
    assert feb["returning_efficiency"] == pytest.approx(60 / 30)
    assert feb["new_profit"] == Decimal("20.00")
    assert feb["new_efficiency"] is None or feb["new_efficiency"] != feb["new_efficiency"]


def test_groups_add_up_to_the_period_revenue(book, to_frame):
    ctx = book(**random_book(6))
    df = to_frame(metric(ctx, period="month"))
    rows = [r for r in book.inputs["orders"].to_pylist() if r["status"] != "cancelled"]
    total = Decimal(0)
    for r in rows:
        refund = r["refund_amount"]
        if refund is None:
            refund = r["revenue"] if r["status"] == "refunded" else Decimal(0)
        total += r["revenue"] - refund
    assert sum(df["new_revenue"]) + sum(df["returning_revenue"]) == total


def test_retention_channels_are_configurable(book, to_frame):
    cfg = Config()
    cfg.metrics.retention_channels = ["newsletter"]
    ctx = book(
        orders={
            "order_id": ["1"],
            "customer_id": ["a"],
            "order_date": ["2024-01-03"],
            "revenue": ["10"],
        },
        spend={
            "channel": ["newsletter", "retention"],
            "period_start": ["2024-01-01"] * 2,
            "period_end": ["2024-01-31"] * 2,
            "amount": ["7", "5"],
        },
        config=cfg,
    )
    df = to_frame(metric(ctx, period="month"))
    assert df.loc[0, "retention_spend"] == Decimal("7.00")
    assert df.loc[0, "acquisition_spend"] == Decimal("5.00")


def test_periods_without_orders_appear(book, to_frame):
    ctx = book(
        orders={
            "order_id": ["1", "2"],
            "customer_id": ["a", "a"],
            "order_date": ["2024-01-03", "2024-04-03"],
            "revenue": ["10", "10"],
        }
    )
    df = to_frame(metric(ctx, period="month"))
    assert df["period"].tolist() == [dt.date(2024, m, 1) for m in range(1, 5)]
    assert df["returning_orders"].tolist() == [0, 0, 0, 1]


def test_reordering_rows_changes_nothing(book, to_frame):
    data = random_book(8)
    a = to_frame(metric(book(**data), period="quarter"))
    b = to_frame(metric(book(**shuffled(data, 2)), period="quarter"))
    assert_frames_equal(a, b)
