"""The per-customer facts against plain Python: orders, order days, visits and the
gap between visits, on random books with bursts of orders and several on one day."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from conftest import Book
from regulars.actions._features import build_context


@pytest.mark.parametrize("seed", range(4))
def test_orders_days_and_visits_match_plain_python(book: Book, seed: int) -> None:
    rng = random.Random(seed)
    visit_days = rng.choice([0, 3, 7])
    book.set("actions", visit_days=visit_days)
    start = dt.date(2023, 1, 1)
    days: dict[str, list[dt.date]] = {}
    for c in range(30):
        customer = f"C{c:02d}"
        mine = []
        for _ in range(rng.randrange(1, 9)):
            day = start + dt.timedelta(days=rng.randrange(0, 500))
            # bursts: a few orders within days of each other, some on the same day
            for _ in range(rng.choice([1, 1, 2, 3])):
                mine.append(day + dt.timedelta(days=rng.choice([0, 0, 1, 2, 5, 9])))
        days[customer] = mine
        for d in mine:
            book.order(customer, d.isoformat(), revenue=round(rng.uniform(10, 500), 2))
    today = dt.date(2024, 12, 31)
    ctx = build_context(book.ws, today)
    got = {r["customer_id"]: r for r in ctx.customers.to_pyarrow().to_pylist()}
    assert set(got) == set(days)
    for customer, mine in days.items():
        distinct = sorted(set(mine))
        starts = [
            d for i, d in enumerate(distinct) if i == 0 or (d - distinct[i - 1]).days > visit_days
        ]
        r = got[customer]
        assert r["orders"] == len(mine)
        assert r["order_days"] == len(distinct)
        assert r["first_order"] == distinct[0]
        assert r["last_order"] == distinct[-1]
        assert r["visits"] == len(starts)
        if len(starts) > 1:
            gap = (starts[-1] - distinct[0]).days / (len(starts) - 1)
            assert r["mean_gap_days"] == pytest.approx(gap)
        else:
            assert r["mean_gap_days"] is None
