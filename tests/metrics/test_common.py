"""The shared machinery: periods, order facts, channels, spend, the context."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import regulars.metrics as metrics
from regulars.config import Config
from regulars.errors import ConfigError, SchemaError
from regulars.metrics._common import (
    customer_channels,
    date_bounds,
    first_paid_orders,
    metric_context,
    order_facts,
    period_grid,
    period_index,
    period_start,
    spend_by_period,
)


@pytest.mark.parametrize(
    ("period", "day", "first"),
    [
        ("month", "2024-02-29 23:59", dt.date(2024, 2, 1)),
        ("quarter", "2024-06-30", dt.date(2024, 4, 1)),
        ("quarter", "2024-10-01", dt.date(2024, 10, 1)),
        ("year", "2023-12-31", dt.date(2023, 1, 1)),
    ],
)
def test_period_start_is_the_iso_first_day(book, to_frame, period, day, first):
    ctx = book(
        orders={"order_id": ["1"], "customer_id": ["a"], "order_date": [day], "revenue": ["1"]}
    )
    o = ctx.table("orders")
    df = to_frame(
        o.select(p=period_start(o.order_date, period), i=period_index(o.order_date, period))
    )
    assert df.loc[0, "p"] == first


@pytest.mark.on_spark
def test_period_grid_has_no_holes(book, to_frame):
    df = to_frame(period_grid((2023 * 4 + 2, 2024 * 4 + 1), "quarter"))
    assert df["period"].tolist() == [
        dt.date(2023, 7, 1),
        dt.date(2023, 10, 1),
        dt.date(2024, 1, 1),
        dt.date(2024, 4, 1),
    ]


@pytest.mark.on_spark
def test_order_facts_refunds_margin_and_rounding(book, to_frame):
    ctx = book(
        orders={
            "order_id": ["1", "2", "3", "4", "5", "6"],
            "customer_id": ["a"] * 6,
            "order_date": ["2024-01-01"] * 6,
            "revenue": ["1.25", "100", "100", "100", "100", "10"],
            "cost": [None, "60", None, None, None, None],
            "status": [None, "paid", "refunded", "refunded", "cancelled", "refunded"],
            "refund_amount": [None, None, None, "40", None, "11.25"],
        }
    )
    df = to_frame(order_facts(ctx, "month"), sort=["order_id"])
    assert df["order_id"].tolist() == ["1", "2", "3", "4", "6"]
    assert df["net_revenue"].tolist() == [Decimal(x) for x in ("1.25", "100", "0", "60", "-1.25")]
    # 1.25 × 0.3 = 0.375 and −1.25 × 0.3 = −0.375 round half away from zero.
    assert df["profit"].tolist() == [Decimal(x) for x in ("0.38", "40", "0", "18", "-0.38")]
    assert df["is_paid"].tolist() == [True, True, False, True, False]


@pytest.mark.on_spark
def test_first_paid_order_skips_refunded_first_orders(book, to_frame):
    ctx = book(
        orders={
            "order_id": ["1", "2", "3"],
            "customer_id": ["a", "a", "b"],
            "order_date": ["2024-01-01", "2024-03-01", "2024-02-01"],
            "revenue": ["10", "10", "10"],
            "status": ["refunded", None, "cancelled"],
        }
    )
    df = to_frame(first_paid_orders(order_facts(ctx, "month")))
    assert df["customer_id"].tolist() == ["a"]
    assert df.loc[0, "cohort"] == dt.date(2024, 3, 1)


def test_channel_kinds_and_referral(book, to_frame):
    cfg = Config(channels={"ads": "cold", "friends": "referral"})
    ctx = book(
        customers={
            "customer_id": ["1", "2", "3", "4", "5"],
            "channel": ["ads", "friends", "ads", None, "unknown"],
            "referred_by": [None, "1", "1", None, None],
        },
        config=cfg,
    )
    df = to_frame(customer_channels(ctx), sort=["customer_id"])
    assert df["channel"].tolist() == ["ads", "friends", "referral", "(none)", "unknown"]
    assert df["channel_kind"].tolist() == ["cold", "referral", "referral", "other", "other"]


@pytest.mark.on_spark
def test_spend_is_spread_by_days(book, to_frame):
    # 31 days: 10 in January, 21 in February -> 100 × 10/31 = 32.258 -> 32.26, 67.74.
    cfg = Config(channels={"ads": "cold"})
    ctx = book(
        spend={
            "channel": ["ads", "retention"],
            "period_start": ["2024-01-22", "2024-03-01"],
            "period_end": ["2024-02-21", "2024-03-31"],
            "amount": ["100", "5"],
        },
        config=cfg,
    )
    df = to_frame(
        spend_by_period(ctx, "month").select(
            "channel", "period", "amount", "channel_kind", "is_retention"
        ),
        sort=["period"],
    )
    assert df["amount"].tolist() == [Decimal("32.26"), Decimal("67.74"), Decimal("5.00")]
    assert df["channel_kind"].tolist() == ["cold", "cold", "other"]
    assert df["is_retention"].tolist() == [False, False, True]


def test_date_bounds_and_their_errors():
    assert date_bounds("month", "2024-02-10", dt.date(2024, 3, 1)) == (2024 * 12 + 1, 2024 * 12 + 2)
    with pytest.raises(ConfigError, match="is after end"):
        date_bounds("month", "2024-03-01", "2024-02-01")


def test_context_errors():
    with pytest.raises(TypeError, match="Expected a Workspace"):
        metric_context(42)
    ctx = metric_context({})
    assert ctx.table("spend").count().to_pyarrow().as_py() == 0
    with pytest.raises(SchemaError, match=r"Available tables: \(none\)"):
        ctx.table("scores")


def test_workspace_is_accepted(tmp_path, to_frame):
    from regulars.store import Workspace

    ws = Workspace.init(tmp_path / "ws")
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue) "
        "VALUES ('1', 'a', TIMESTAMP '2024-01-02 10:00', 12.5)"
    )
    df = to_frame(metrics.growth_accounting(ws, period="year"))
    assert df.loc[0, "new"] == Decimal("12.50")
    ws.close()


def test_public_api_is_pinned():
    assert metrics.__all__ == sorted(metrics.__all__)
    mine = {
        "MetricContext",
        "channel_economics",
        "cold_funding",
        "growth_accounting",
        "growth_sources",
        "lifecycle",
        "metric_context",
        "new_vs_returning",
    }
    assert mine <= set(metrics.__all__)
    for name in metrics.__all__:
        assert getattr(metrics, name) is not None
