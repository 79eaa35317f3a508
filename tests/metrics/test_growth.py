"""growth_accounting: oracle, hand-checked edge cases, identities, row order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import hypothesis.strategies as st
import ibis
import pytest
from _metrics_oracle import assert_frames_equal, growth, random_book, shuffled
from hypothesis import HealthCheck, given, settings

from regulars.config import Config
from regulars.errors import ConfigError
from regulars.metrics import growth_accounting

PARTS = ["new", "expansion", "contraction", "churned", "resurrected", "retained"]


def _orders(*rows: tuple) -> dict[str, list]:
    """(order_id, customer_id, date, revenue[, status, refund]) rows as columns."""
    cols: dict[str, list] = {
        k: []
        for k in ("order_id", "customer_id", "order_date", "revenue", "status", "refund_amount")
    }
    for r in rows:
        r = (*r, None, None)[:6]
        for k, v in zip(cols, r, strict=True):
            cols[k].append(v)
    return cols


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.on_spark
def test_matches_oracle_on_random_books(book, to_frame, period, seed):
    ctx = book(**random_book(seed))
    got = to_frame(growth_accounting(ctx, period=period), sort=["period"])
    assert_frames_equal(got, growth(book.inputs, period))


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_customer_counts_match_oracle(book, to_frame, period):
    ctx = book(**random_book(3))
    got = to_frame(growth_accounting(ctx, period=period, measure="customers"), sort=["period"])
    assert_frames_equal(got, growth(book.inputs, period, measure="customers"))


@pytest.mark.on_spark
def test_hand_checked_month_by_month(book, to_frame):
    # a: 100 in Jan, 150 in Feb (expansion 50), nothing in Mar (churn 150), 40 in May
    #    (resurrected).  b: only order in the first period (new, then churned).
    # c: two orders on one day in Feb (new 30).  April has no orders at all.
    ctx = book(
        orders=_orders(
            ("1", "a", "2024-01-05", "100.00"),
            ("2", "a", "2024-02-05", "150.00"),
            ("3", "b", "2024-01-31", "20.00"),
            ("4", "c", "2024-02-10 09:00", "10.00"),
            ("5", "c", "2024-02-10 17:00", "20.00"),
            ("6", "a", "2024-05-01", "40.00"),
        )
    )
    df = to_frame(growth_accounting(ctx, period="month"), sort=["period"])
    assert df["period"].tolist() == [dt.date(2024, m, 1) for m in range(1, 6)]
    d = lambda *xs: [Decimal(x) for x in xs]  # noqa: E731
    assert df["revenue"].tolist() == d("120", "180", "0", "0", "40")
    assert df["new"].tolist() == d("120", "30", "0", "0", "0")
    assert df["expansion"].tolist() == d("0", "50", "0", "0", "0")
    assert df["churned"].tolist() == d("0", "20", "180", "0", "0")
    assert df["resurrected"].tolist() == d("0", "0", "0", "0", "40")
    assert df["retained"].tolist() == d("0", "100", "0", "0", "0")
    assert df["quick_ratio"].tolist()[1] == pytest.approx(80 / 20)


@pytest.mark.on_spark
def test_refunds_and_cancellations(book, to_frame):
    # a's first order is fully refunded (status only): a is new in Feb, not Jan.
    # b is refunded more than the order (bad data): revenue goes negative, the
    # identity still holds.  c's cancelled order does not exist.
    ctx = book(
        orders=_orders(
            ("1", "a", "2024-01-05", "100.00", "refunded"),
            ("2", "a", "2024-02-05", "50.00"),
            ("3", "b", "2024-01-05", "10.00"),
            ("4", "b", "2024-02-05", "10.00", "refunded", "25.00"),
            ("5", "c", "2024-02-07", "99.00", "cancelled"),
        )
    )
    df = to_frame(growth_accounting(ctx, period="month"), sort=["period"])
    assert df["revenue"].tolist() == [Decimal("10.00"), Decimal("35.00")]
    assert df["new"].tolist() == [Decimal("10.00"), Decimal("50.00")]
    assert df["churned"].tolist() == [Decimal("0"), Decimal("25.00")]


def test_acquired_and_lost_in_one_period(book, to_frame):
    # Bought in January, fully refunded in January: never a customer.
    ctx = book(
        orders=_orders(
            ("1", "a", "2024-01-05", "100.00", "refunded", "100.00"),
            ("2", "b", "2024-01-06", "10.00"),
        )
    )
    df = to_frame(growth_accounting(ctx, period="month", measure="customers"))
    assert df.loc[0, "customers"] == 1
    assert df.loc[0, "new"] == 1


def test_from_to_keeps_previous_period_context(book, to_frame):
    ctx = book(orders=_orders(("1", "a", "2024-01-05", "100.00"), ("2", "a", "2024-02-05", "80")))
    df = to_frame(growth_accounting(ctx, period="month", start="2024-02-01", end="2024-02-29"))
    assert df["period"].tolist() == [dt.date(2024, 2, 1)]
    assert df.loc[0, "contraction"] == Decimal("20.00")
    assert df.loc[0, "new"] == Decimal("0")


def test_reordering_rows_changes_nothing(book, to_frame):
    data = random_book(7)
    a = to_frame(growth_accounting(book(**data), period="month"))
    b = to_frame(growth_accounting(book(**shuffled(data, 1)), period="month"))
    assert_frames_equal(a, b)


def test_bad_arguments_say_what_is_valid(book):
    ctx = book(orders=_orders(("1", "a", "2024-01-05", "1")))
    with pytest.raises(ConfigError, match="Valid periods: month, quarter, year"):
        growth_accounting(ctx, period="week")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Valid measures: revenue, customers"):
        growth_accounting(ctx, measure="orders")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a date"):
        growth_accounting(ctx, start="31/01/2024")


def test_default_period_comes_from_config(book, to_frame):
    cfg = Config()
    cfg.workspace.period = "quarter"
    ctx = book(orders=_orders(("1", "a", "2024-05-05", "1")), config=cfg)
    df = to_frame(growth_accounting(ctx))
    assert df["period"].tolist() == [dt.date(2024, 4, 1)]


# -- properties (DuckDB only: hypothesis runs many examples) -------------------------

money = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=2)
order = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(min_value=0, max_value=700),
    money,
    st.sampled_from([None, "paid", "refunded", "cancelled"]),
    st.one_of(st.none(), money),
)


books = st.lists(order, min_size=1, max_size=25)
periods = st.sampled_from(["month", "quarter", "year"])
quick = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
thorough = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(rows=books, period=periods)
def test_parts_add_up_for_any_order_book(rows, period):
    _check_identities(rows, period)


@pytest.mark.slow
@thorough
@given(rows=books, period=periods)
def test_parts_add_up_for_many_order_books(rows, period):
    _check_identities(rows, period)


def _check_identities(rows, period):
    from conftest import to_contract_arrow

    data = _orders(
        *[
            (str(i), c, dt.datetime(2023, 1, 1) + dt.timedelta(days=d), abs(r), s, f)
            for i, (c, d, r, s, f) in enumerate(rows)
        ]
    )
    con = ibis.duckdb.connect()
    orders = con.create_table("orders", to_contract_arrow("orders", data))
    rev = growth_accounting({"orders": orders}, period=period).to_pyarrow().to_pylist()
    prev = Decimal(0)
    for r in rev:
        change = r["new"] + r["expansion"] + r["resurrected"] - r["contraction"] - r["churned"]
        assert r["revenue"] - prev == change
        assert min(r[k] for k in PARTS) >= 0
        prev = r["revenue"]
    cust = growth_accounting({"orders": orders}, period=period, measure="customers")
    prev_n = 0
    for r in cust.to_pyarrow().to_pylist():
        assert r["customers"] - prev_n == r["new"] + r["resurrected"] - r["churned"]
        assert r["customers"] == r["retained"] + r["new"] + r["resurrected"]
        prev_n = r["customers"]
