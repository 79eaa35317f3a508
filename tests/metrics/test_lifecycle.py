"""lifecycle: oracle, the activity window, hand-checked states, row order."""

from __future__ import annotations

import pytest
from _metrics_oracle import assert_frames_equal, lifecycle, random_book, shuffled

from regulars.config import Config
from regulars.errors import ConfigError
from regulars.metrics import lifecycle as metric

STATES = ["new", "won_back", "active", "at_risk", "lapsed"]


@pytest.mark.parametrize(("period", "window"), [("month", 3), ("month", 1), ("quarter", 2)])
@pytest.mark.parametrize("seed", [9, 10])
@pytest.mark.on_spark
def test_matches_oracle_on_random_books(book, to_frame, period, window, seed):
    ctx = book(**random_book(seed))
    got = to_frame(metric(ctx, period=period, window=window), sort=["period"])
    assert_frames_equal(got, lifecycle(book.inputs, period, window))


def test_states_add_up_to_customers(book, to_frame):
    ctx = book(**random_book(11))
    df = to_frame(metric(ctx, period="month"))
    assert (df[STATES].sum(axis=1) == df["customers"]).all()


def test_quarterly_buyer_is_not_lapsing_every_month(book, to_frame):
    # Orders every three months: with a window of 3 months the customer is never
    # lapsed; with a window of 2 they lapse and are won back each time.
    dates = ["2024-01-10", "2024-04-10", "2024-07-10", "2024-10-10"]
    orders = {
        "order_id": list("1234"),
        "customer_id": ["a"] * 4,
        "order_date": dates,
        "revenue": ["100"] * 4,
    }
    ctx = book(orders=orders)
    df = to_frame(metric(ctx, period="month", window=3))
    assert df["lapsed"].sum() == 0
    assert df["at_risk"].tolist() == [0, 0, 1, 0, 0, 1, 0, 0, 1, 0]
    df2 = to_frame(metric(ctx, period="month", window=2))
    assert df2["won_back"].sum() == 3
    assert df2["newly_lapsed"].sum() == 3


@pytest.mark.on_spark
def test_gap_longer_than_window(book, to_frame):
    orders = {
        "order_id": ["1", "2"],
        "customer_id": ["a", "a"],
        "order_date": ["2024-01-10", "2024-09-10"],
        "revenue": ["100", "100"],
    }
    df = to_frame(metric(book(orders=orders), period="month", window=3))
    assert df["active"].tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert df["at_risk"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert df["lapsed"].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 0]
    assert df["won_back"].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_window_defaults_to_config(book, to_frame):
    cfg = Config()
    cfg.workspace.activity_window = 1
    orders = {
        "order_id": ["1", "2"],
        "customer_id": ["a", "a"],
        "order_date": ["2024-01-10", "2024-03-10"],
        "revenue": ["1", "1"],
    }
    df = to_frame(metric(book(orders=orders, config=cfg), period="month"))
    assert df["lapsed"].tolist() == [0, 1, 0]
    assert df["won_back"].tolist() == [0, 0, 1]


def test_bad_window(book):
    ctx = book(
        orders={
            "order_id": ["1"],
            "customer_id": ["a"],
            "order_date": ["2024-01-01"],
            "revenue": ["1"],
        }
    )
    with pytest.raises(ConfigError, match="at least 1"):
        metric(ctx, window=0)


def test_reordering_rows_changes_nothing(book, to_frame):
    data = random_book(12)
    a = to_frame(metric(book(**data), period="month"))
    b = to_frame(metric(book(**shuffled(data, 3)), period="month"))
    assert_frames_equal(a, b)
