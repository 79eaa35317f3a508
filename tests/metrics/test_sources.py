"""growth_sources: oracle, parts add up to the change, costs, row order."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from _metrics_oracle import CHANNELS, assert_frames_equal, random_book, shuffled, sources

from regulars.config import Config
from regulars.metrics import growth_accounting, growth_sources


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
@pytest.mark.parametrize("seed", [13, 14])
@pytest.mark.on_spark
def test_matches_oracle_on_random_books(book, to_frame, period, seed):
    ctx = book(**random_book(seed), config=Config(channels=CHANNELS))
    got = to_frame(growth_sources(ctx, period=period), sort=[])
    assert_frames_equal(got, sources(book.inputs, period, CHANNELS))


@pytest.mark.on_spark
def test_parts_add_up_to_the_change(book, to_frame):
    ctx = book(**random_book(15), config=Config(channels=CHANNELS))
    src = to_frame(growth_sources(ctx, period="month"), sort=[])
    total = defaultdict(Decimal)
    for r in src.itertuples():
        total[r.period] += r.change
    ga = to_frame(growth_accounting(ctx, period="month"), sort=["period"])
    prev = Decimal(0)
    for r in ga.itertuples():
        assert total[r.period] == r.revenue - prev
        prev = r.revenue


@pytest.mark.on_spark
def test_seed_002_story(book, to_frame):
    # In March: existing customer a grows by 100 and x (only in orders) leaves with
    # 5 (upsell 95); referred r brings 50; cold c brings 50 at a cost of 300 (6 per
    # unit); w, quiet in February, comes back with 40.
    ctx = book(
        orders={
            "order_id": [str(i) for i in range(7)],
            "customer_id": ["a", "w", "a", "r", "c", "w", "x"],
            "order_date": [
                "2024-02-05",
                "2024-01-06",
                "2024-03-05",
                "2024-03-06",
                "2024-03-07",
                "2024-03-08",
                "2024-02-01",
            ],
            "revenue": ["100", "30", "200", "50", "50", "40", "5"],
        },
        customers={
            "customer_id": ["a", "r", "c", "w"],
            "channel": ["newsletter", None, "google-ads", None],
            "referred_by": [None, "a", None, None],
        },
        spend={
            "channel": ["google-ads", "friends"],
            "period_start": ["2024-03-01"] * 2,
            "period_end": ["2024-03-31"] * 2,
            "amount": ["300", "20"],
        },
        config=Config(channels=CHANNELS),
    )
    df = to_frame(growth_sources(ctx, period="month", start="2024-03-01"), sort=[])
    by = {r.source: r for r in df.itertuples()}
    assert by["upsell"].change == Decimal("95.00")
    assert by["upsell"].customers == 2
    assert by["new_referral"].change == Decimal("50.00")
    assert by["new_referral"].spend == Decimal("20.00")
    assert by["new_cold"].change == Decimal("50.00")
    assert by["new_cold"].cost_per_revenue_unit == pytest.approx(6.0)
    assert by["win_back"].change == Decimal("40.00")
    assert by["win_back"].customers == 1
    # March revenue 340 against February's 105.
    assert sum(r.change for r in df.itertuples()) == Decimal("235.00")


def test_every_source_in_every_period(book, to_frame):
    ctx = book(
        orders={
            "order_id": ["1", "2"],
            "customer_id": ["a", "b"],
            "order_date": ["2024-01-01", "2024-04-01"],
            "revenue": ["1", "2"],
        }
    )
    df = to_frame(growth_sources(ctx, period="month"), sort=[])
    assert len(df) == 4 * 7


def test_reordering_rows_changes_nothing(book, to_frame):
    data = random_book(16)
    cfg = Config(channels=CHANNELS)
    a = to_frame(growth_sources(book(**data, config=cfg), period="month"), sort=[])
    b = to_frame(growth_sources(book(**shuffled(data, 4), config=cfg), period="month"), sort=[])
    assert_frames_equal(a, b)
