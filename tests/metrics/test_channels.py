"""channel_economics and cold_funding: oracle, CAC, payback, CLV:CAC, referral."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from _metrics_oracle import CHANNELS, assert_frames_equal, channel_economics, random_book, shuffled

from regulars.config import Config
from regulars.metrics import channel_economics as metric
from regulars.metrics import cold_funding


@pytest.mark.parametrize(("period", "horizon"), [("month", 12), ("quarter", 4), ("month", 3)])
@pytest.mark.parametrize("seed", [17, 18])
@pytest.mark.on_spark
def test_matches_oracle_on_random_books(book, to_frame, period, horizon, seed):
    ctx = book(**random_book(seed), config=Config(channels=CHANNELS))
    got = to_frame(metric(ctx, period=period, horizon=horizon), sort=["period", "channel"])
    want = channel_economics(book.inputs, period, CHANNELS, horizon)
    want = want.sort_values(["period", "channel"]).reset_index(drop=True)
    assert_frames_equal(got, want)


def _story(book, **extra):
    # Cold: c1, c2 in January for 300; each brings 100 in Jan (30 profit at the 30%
    # margin) and 500 in April (150 profit): cumulative 60 < 300 in January, 360 in
    # April, so the cohort pays back after 3 periods.  r is referred by c1.
    return book(
        orders={
            "order_id": [str(i) for i in range(6)],
            "customer_id": ["c1", "c2", "c1", "c2", "r", "r"],
            "order_date": [
                "2024-01-05",
                "2024-01-06",
                "2024-04-05",
                "2024-04-06",
                "2024-01-20",
                "2024-02-20",
            ],
            "revenue": ["100", "100", "500", "500", "40", "60"],
        },
        customers={
            "customer_id": ["c1", "c2", "r"],
            "channel": ["google-ads", "google-ads", "google-ads"],
            "referred_by": [None, None, "c1"],
        },
        spend={
            "channel": ["google-ads"],
            "period_start": ["2024-01-01"],
            "period_end": ["2024-01-31"],
            "amount": ["300"],
        },
        config=Config(channels=CHANNELS),
        **extra,
    )


@pytest.mark.on_spark
def test_cac_payback_and_referral_channel(book, to_frame):
    df = to_frame(metric(_story(book), period="month"), sort=["period", "channel"])
    cold = df[df.channel == "google-ads"].iloc[0]
    assert cold.customers == 2
    assert cold.spend == Decimal("300.00")
    assert cold.cac == pytest.approx(150.0)
    assert cold.first_year_revenue == Decimal("1200.00")
    assert cold.first_year_profit == Decimal("360.00")
    assert cold.payback_periods == 3
    assert not cold.first_year_complete
    ref = df[df.channel == "referral"].iloc[0]
    assert (ref.channel_kind, ref.customers, ref.spend) == ("referral", 1, Decimal("0.00"))
    assert ref.payback_periods == 0
    assert ref.clv == pytest.approx(30.0)


def test_clv_comes_from_scores_when_they_exist(book, to_frame):
    scores = pa.table({"customer_id": ["c1", "c2"], "clv": [900.0, 300.0]})
    df = to_frame(metric(_story(book, scores=scores), period="month"), sort=["channel"])
    cold = df[df.channel == "google-ads"].iloc[0]
    assert cold.clv == pytest.approx(600.0)
    assert cold.clv_to_cac == pytest.approx(600.0 / 150.0)


def test_scores_without_clv_fall_back_to_history(book, to_frame):
    scores = pa.table({"customer_id": ["c1", "c2"], "clv": pa.array([None, None], pa.float64())})
    df = to_frame(metric(_story(book, scores=scores), period="month"), sort=["channel"])
    cold = df[df.channel == "google-ads"].iloc[0]
    assert cold.clv == pytest.approx(180.0)


def test_cold_funding(book, to_frame):
    df = to_frame(cold_funding(_story(book), period="month"), sort=["period"])
    jan = df.iloc[0]
    assert jan.cold_spend == Decimal("300.00")
    assert jan.cold_profit == Decimal("60.00")
    assert jan.cold_net == Decimal("-240.00")
    assert jan.other_profit == Decimal("12.00")
    assert not jan.funded
    assert df["funded"].tolist()[1:] == [True, True, True]


def test_reordering_rows_changes_nothing(book, to_frame):
    data = random_book(19)
    cfg = Config(channels=CHANNELS)
    a = to_frame(metric(book(**data, config=cfg), period="month"), sort=["period", "channel"])
    b = to_frame(
        metric(book(**shuffled(data, 5), config=cfg), period="month"), sort=["period", "channel"]
    )
    assert_frames_equal(a, b)


@pytest.mark.on_spark
def test_referral_rewards_are_the_referral_channels_cac(book, to_frame):
    from regulars.config import ReferralRule, ReferralsConfig
    from regulars.metrics import growth_sources

    cfg = Config(
        channels=CHANNELS,
        referrals=ReferralsConfig(rules=[ReferralRule(kind="fixed", amount=25.0)]),
    )
    ctx = _story(book)
    ctx = type(ctx)(ctx.tables, cfg)
    econ = to_frame(metric(ctx, period="month"), sort=["period", "channel"])
    ref = econ[econ.channel == "referral"].iloc[0]
    assert ref.spend == Decimal("25.00")
    assert ref.cac == pytest.approx(25.0)
    src = to_frame(growth_sources(ctx, period="month", end="2024-01-31"), sort=[])
    row = src[src.source == "new_referral"].iloc[0]
    assert (row.change, row.spend) == (Decimal("40.00"), Decimal("25.00"))
    assert row.cost_per_revenue_unit == pytest.approx(25 / 40)
