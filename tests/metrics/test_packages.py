"""packages: package uptake, and the discount given against the revenue kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from _metrics_oracle import random_book, shuffled
from oracles_retention import SimData, assert_same, simulated
from oracles_retention import packages as packages_oracle

from regulars.config import Config
from regulars.metrics.packages import packages

MONEY = (
    "revenue",
    "package_revenue",
    "package_discount",
    "package_refunds",
    "package_revenue_kept",
)
FLOATS = (
    "package_order_share",
    "package_customer_share",
    "package_discount_rate",
    "package_revenue_share",
    "discount_per_revenue_kept",
)


@pytest.fixture(scope="session")
def sim() -> SimData:
    return simulated()


@pytest.mark.on_spark
def test_hand_checked(book, to_frame):
    ctx = book(
        orders={
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "customer_id": ["a", "a", "b", "c", "c"],
            "order_date": ["2024-01-01", "2024-01-01", "2024-01-05", "2024-03-03", "2024-03-04"],
            "revenue": ["700", "100", "50", "90", "10"],
            "discount": ["300", None, "10", None, None],
            "kind": ["package", None, "package", "package", "one-off"],
            "status": [None, None, "refunded", None, "cancelled"],
        }
    )
    df = to_frame(packages(ctx, period="month"), sort=["period"])
    jan = df.iloc[0]
    assert (jan.orders, jan.package_orders, jan.customers, jan.package_customers) == (3, 2, 2, 2)
    assert (jan.package_revenue, jan.package_discount) == (Decimal("750.00"), Decimal("310.00"))
    assert jan.package_discount_rate == pytest.approx(310 / 1060)
    # b's package was refunded in full: 700 kept, against 310 of discount.
    assert (jan.package_refunds, jan.package_revenue_kept) == (Decimal("50.00"), Decimal("700.00"))
    assert jan.discount_per_revenue_kept == pytest.approx(310 / 700)
    assert df.period.tolist() == [dt.date(2024, m, 1) for m in (1, 2, 3)]
    assert df.iloc[1].orders == 0  # February has no orders at all


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
@pytest.mark.on_spark
def test_matches_oracle_on_random_books(book, to_frame, period):
    data = random_book(8)
    n = len(data["orders"]["order_id"])
    data["orders"]["discount"] = [None if i % 2 else Decimal(i % 17) for i in range(n)]
    ctx = book(**data)
    want = packages_oracle(book.inputs["orders"].to_pandas(), Config(), period)
    got = to_frame(packages(ctx, period=period))
    assert_same(got, want, keys=["period"], money_cols=MONEY, float_cols=FLOATS)


def test_matches_oracle_on_simulated_book(book, to_frame, sim):
    ctx = book(orders=sim.orders, config=sim.config)
    want = packages_oracle(book.inputs["orders"].to_pandas(), sim.config, "quarter")
    got = to_frame(packages(ctx, period="quarter"))
    assert_same(got, want, keys=["period"], money_cols=MONEY, float_cols=FLOATS)
    assert got.package_orders.sum() > 0


def test_results_do_not_depend_on_row_order(book, to_frame):
    data = random_book(8)
    a = to_frame(packages(book(**data)))
    b = to_frame(packages(book(**shuffled(data, 9))))
    assert a.equals(b)
