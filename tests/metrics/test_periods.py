"""Complete periods and left-censored customers (regulars/metrics/_periods.py)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from _metrics_oracle import CHANNELS, assert_frames_equal, growth, new_vs_returning, sources
from oracles_periods import complete, coverage, left_censored

from regulars.config import Config, WorkspaceSettings
from regulars.errors import ConfigError
from regulars.metrics import (
    cohort_retention,
    growth_accounting,
    growth_sources,
    revenue_retention,
)
from regulars.metrics import new_vs_returning as nvr_metric
from regulars.metrics._periods import left_censored_customers


def _orders(days: list[tuple[str, dt.date]]) -> dict[str, list]:
    return {
        "order_id": [str(i) for i in range(len(days))],
        "customer_id": [c for c, _ in days],
        "order_date": [d.isoformat() for _, d in days],
        "revenue": ["10"] * len(days),
    }


def _shop(
    seed: int, start: dt.date, end: dt.date, running: bool, spread: int = 20
) -> dict[str, list]:
    """A shop from ``start`` to ``end``: 20 first customers a month, plus 200 who were
    customers before the data start (when ``running``) ordering in the first weeks."""
    rng = random.Random(seed)
    days: list[tuple[str, dt.date]] = []
    span = (end - start).days
    n = 0
    for month in range(13):
        for _ in range(20):
            first = start + dt.timedelta(days=min(span, month * 30 + rng.randrange(30)))
            days.append((f"n{n}", first))
            if rng.random() < 0.4 and first + dt.timedelta(days=45) <= end:
                days.append((f"n{n}", first + dt.timedelta(days=45)))
            n += 1
    if running:
        for i in range(200):
            first = start + dt.timedelta(days=rng.randrange(spread))
            days.append((f"old{i}", first))
            days.append((f"old{i}", first + dt.timedelta(days=60 + rng.randrange(200))))
    return _orders([(c, d) for c, d in days if d <= end] + [("last", end)])


def _flags(df, col: str = "complete") -> dict[dt.date, bool]:
    return dict(zip(df["period"], df[col], strict=True))


def test_a_month_is_complete_when_the_data_cover_it(book, to_frame) -> None:
    ctx = book(
        orders=_orders(
            [("a", dt.date(2010, 12, 1)), ("b", dt.date(2011, 6, 3)), ("a", dt.date(2011, 12, 9))]
        )
    )
    df = to_frame(growth_accounting(ctx, period="month"))
    flags = _flags(df)
    assert flags[dt.date(2010, 12, 1)] is True
    assert flags[dt.date(2011, 11, 1)] is True
    assert flags[dt.date(2011, 12, 1)] is False
    comparable = _flags(df, "comparable")
    assert comparable[dt.date(2010, 12, 1)] is False  # no month before it
    assert comparable[dt.date(2011, 1, 1)] is True
    # 13 months from 1 Dec to 9 Dec: no year is complete.
    years = to_frame(growth_accounting(ctx, period="year"))
    assert years["complete"].tolist() == [False, False]
    quarters = _flags(to_frame(growth_accounting(ctx, period="quarter")))
    assert [quarters[dt.date(y, m, 1)] for y, m in ((2010, 10), (2011, 1), (2011, 10))] == [
        False,
        True,
        False,
    ]


def test_a_month_that_starts_mid_way_is_partial(book, to_frame) -> None:
    ctx = book(orders=_orders([("a", dt.date(2010, 12, 15)), ("a", dt.date(2011, 2, 28))]))
    flags = _flags(to_frame(growth_accounting(ctx, period="month")))
    assert flags == {
        dt.date(2010, 12, 1): False,
        dt.date(2011, 1, 1): True,
        dt.date(2011, 2, 1): True,
    }


def test_workspace_data_start_and_end_override_the_order_dates(book, to_frame) -> None:
    cfg = Config(workspace=WorkspaceSettings(data_start="2010-12-01", data_end="2011-01-20"))
    ctx = book(
        orders=_orders([("a", dt.date(2010, 12, 15)), ("a", dt.date(2011, 1, 10))]), config=cfg
    )
    flags = _flags(to_frame(growth_accounting(ctx, period="month")))
    assert flags == {dt.date(2010, 12, 1): True, dt.date(2011, 1, 1): False}


def test_bad_override_says_what_is_valid() -> None:
    with pytest.raises(ConfigError, match=r"data_start = '1 Dec'.*YYYY-MM-DD"):
        WorkspaceSettings(data_start="1 Dec")
    with pytest.raises(ConfigError, match="is after data_end"):
        WorkspaceSettings(data_start="2011-01-01", data_end="2010-01-01")


@pytest.mark.on_spark
def test_nrr_is_comparable_only_between_complete_periods(book, to_frame) -> None:
    ctx = book(orders=_shop(1, dt.date(2010, 12, 1), dt.date(2011, 12, 9), running=False))
    df = to_frame(revenue_retention(ctx, period="month"))
    row = df.loc[df["period"] == dt.date(2011, 12, 1)].iloc[0]
    assert not row["comparable"]
    assert not row["complete"]


@pytest.mark.parametrize(
    ("start", "spread"),
    [(dt.date(2010, 12, 1), 20), (dt.date(2010, 12, 15), 20), (dt.date(2010, 12, 1), 55)],
)
@pytest.mark.on_spark
def test_running_shop_first_customers_are_left_censored(book, to_frame, start, spread) -> None:
    """Customers from before the data show up over the first weeks (``spread`` days):
    the window grows while a month's first customers stay above twice the baseline."""
    end = dt.date(2011, 12, 9)
    data = _shop(2, start, end, running=True, spread=spread)
    ctx = book(orders=data)
    got = set(to_frame(left_censored_customers(ctx))["customer_id"])
    days = [dt.date.fromisoformat(d) for d in data["order_date"]]
    first: dict[str, dt.date] = {}
    for c, d in zip(data["customer_id"], days, strict=True):
        first[c] = min(first.get(c, d), d)
    lo, hi = coverage(days)
    want = left_censored(first, lo, hi)
    assert got == want
    assert {f"old{i}" for i in range(200)} <= got
    # The new-vs-returning split: the censored customers are returning, never new.
    df = to_frame(nvr_metric(ctx, period="month"))
    assert_frames_equal(df, new_vs_returning(book.inputs, "month"))
    assert df["left_censored_customers"].sum() >= 200
    assert df.iloc[0]["new_customers"] == 0
    # Growth accounting and sources: never new; resurrected (a win-back) when they
    # first show after the first month.
    ga = to_frame(growth_accounting(ctx, period="month"), sort=["period"])
    assert_frames_equal(ga, growth(book.inputs, "month"))
    src_ctx = book(orders=data, config=Config(channels=CHANNELS))
    src = to_frame(growth_sources(src_ctx, period="month"), sort=[])
    assert_frames_equal(src, sources(book.inputs, "month", CHANNELS))
    cohorts = to_frame(cohort_retention(ctx, period="month"))
    flagged = sorted(set(cohorts.loc[cohorts["left_censored"], "cohort"]))
    assert flagged[0] == dt.date(2010, 12, 1)
    assert complete(dt.date(2011, 1, 1), "month", lo, hi)


def test_a_shop_that_opens_with_the_data_has_no_left_censored_customers(book, to_frame) -> None:
    ctx = book(orders=_shop(3, dt.date(2010, 12, 1), dt.date(2011, 12, 9), running=False))
    assert to_frame(left_censored_customers(ctx)).empty
    df = to_frame(nvr_metric(ctx, period="month"))
    assert df["left_censored_customers"].sum() == 0


@pytest.mark.parametrize(
    ("business_start", "censored"), [("2005-01-01", True), ("2010-12-01", False)]
)
def test_business_start_decides(book, to_frame, business_start, censored) -> None:
    running = business_start == "2010-12-01"  # a burst the detector would flag
    cfg = Config(workspace=WorkspaceSettings(business_start=business_start))
    data = _shop(4, dt.date(2010, 12, 1), dt.date(2011, 12, 9), running=running)
    got = to_frame(left_censored_customers(book(orders=data, config=cfg)))
    assert (not got.empty) is censored
