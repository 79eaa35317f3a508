"""Seeded simulated books with known truth, for the diagnostics and ``auto`` tests.

Each function returns ``(orders, churned)``: one row per order (``customer_id``,
``order_date``, ``revenue``) over two years, and a boolean Series (indexed by
customer id) telling who has truly stopped buying before the end.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

START = dt.date(2023, 1, 1)
DAYS = 730


def _frame(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "revenue"])
    frame["order_date"] = pd.Timestamp(START) + pd.to_timedelta(frame["day"], unit="D")
    return frame[["customer_id", "order_date", "revenue"]]


def churning_shop(n: int = 1500, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    """A shop where about a third of the customers stop buying for good.

    Customers join over the first 18 months and buy as a Poisson process (rate from a
    gamma distribution, about one order every 6 weeks on average).  A third of them
    (chosen at random) stop at a uniform time between their first order and 120 days
    before the end; the others buy until the end.
    """
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, float]] = []
    churned = {}
    for i in range(n):
        cid = f"c{i:05d}"
        join = int(rng.integers(0, 540))
        rate = rng.gamma(2.0, 1 / 80.0)  # orders per day
        stop = DAYS
        dead = rng.random() < 1 / 3
        if dead:
            stop = int(rng.integers(join + 1, DAYS - 120))
        churned[cid] = dead
        spend = rng.gamma(3.0, 15.0)
        day = join
        rows.append((cid, day, round(float(rng.gamma(4.0, spend / 4.0)), 2) + 1))
        while True:
            day += max(1, int(np.ceil(rng.exponential(1 / rate))))
            if day >= stop:
                break
            rows.append((cid, day, round(float(rng.gamma(4.0, spend / 4.0)), 2) + 1))
    return _frame(rows), pd.Series(churned, name="churned")


def bursty_book(n: int = 1500, seed: int = 2) -> tuple[pd.DataFrame, pd.Series]:
    """A book where BG/NBD degenerates: heavy buyers buy in bursts and never leave.

    Two thirds of the customers never leave but buy in one-week bursts (2 to 6 orders
    a few days apart), a burst every 2 to 5 months.  The other third buy once or twice
    and are gone.  The BG/NBD assumes that a customer without repeat purchases is
    alive and can only lose a customer right after a repeat purchase, so it explains
    the silent one- and two-time buyers by slow buying and pushes the dropout
    probability to 0 (``a -> 0``): P(alive) is about 1 for everyone.
    """
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, float]] = []
    churned = {}
    for i in range(n):
        cid = f"b{i:05d}"
        join = int(rng.integers(0, 365))
        spend = rng.gamma(3.0, 15.0)
        dead = rng.random() < 1 / 3
        churned[cid] = dead
        day = join
        if dead:
            # one or two orders a few weeks apart, then gone for good
            rows.append((cid, day, round(float(spend), 2) + 1))
            if rng.random() < 0.5:
                rows.append((cid, day + int(rng.integers(7, 42)), round(float(spend), 2) + 1))
            continue
        gap = rng.uniform(60, 150)
        while day < DAYS:
            for _ in range(int(rng.integers(2, 7))):
                if day >= DAYS:
                    break
                rows.append((cid, day, round(float(rng.gamma(4.0, spend / 4.0)), 2) + 1))
                day += int(rng.integers(1, 3))
            day += max(1, int(rng.exponential(gap)))
    return _frame(rows), pd.Series(churned, name="churned")


def rfm(orders: pd.DataFrame, end: dt.date | None = None) -> pd.DataFrame:
    """Plain pandas RFM in weeks (orders on the same day merge), indexed by customer."""
    end_ts = pd.Timestamp(end or START + dt.timedelta(days=DAYS - 1))
    days = orders.assign(day=orders["order_date"].dt.normalize())
    days = days[days["day"] <= end_ts].drop_duplicates(["customer_id", "day"])
    g = days.groupby("customer_id")["day"]
    first, last, count = g.min(), g.max(), g.count()
    return pd.DataFrame(
        {
            "frequency": (count - 1).astype(float),
            "recency": (last - first).dt.days / 7.0,
            "T": (end_ts - first).dt.days / 7.0,
        }
    )


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``positive`` (ties count half)."""
    pos, neg = score[positive], score[~positive]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))
