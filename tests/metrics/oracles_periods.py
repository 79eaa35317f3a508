"""Plain-Python oracles of complete periods and left-censored customers.

Written from docs/metrics.md ("Complete periods", "History that starts in the
middle"), independently of regulars.metrics._periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

SLACK = {"month": 2, "quarter": 7, "year": 14}
MONTHS = {"month": 1, "quarter": 3, "year": 12}


def last_day(start: dt.date, period: str) -> dt.date:
    m = start.month - 1 + MONTHS[period]
    return dt.date(start.year + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)


def coverage(days: Iterable[dt.date], data_start: str = "", data_end: str = "") -> tuple:
    """(first day, last day) of the data: order dates unless overridden."""
    ds = [d.date() if isinstance(d, dt.datetime) else d for d in days]
    lo = dt.date.fromisoformat(data_start) if data_start else min(ds)
    hi = dt.date.fromisoformat(data_end) if data_end else max(ds)
    return lo, hi


def complete(start: dt.date, period: str, lo: dt.date, hi: dt.date) -> bool:
    slack = dt.timedelta(days=SLACK[period])
    return lo - slack <= start and hi + slack >= last_day(start, period)


def month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def left_censored(
    first: dict[str, dt.date], lo: dt.date, hi: dt.date, business_start: str = ""
) -> set[str]:
    """Customers already customers when the data start (docs/metrics.md)."""
    w0 = month_index(lo)
    w1 = w0 if lo.day <= 1 + SLACK["month"] else w0 + 1
    after = [
        m
        for m in range(w1 + 1, month_index(hi) + 2)
        if complete(dt.date(m // 12, m % 12 + 1, 1), "month", lo, hi)
    ]
    count = {m: sum(1 for d in first.values() if month_index(d) == m) for m in after}
    # The later half: months after w1 + floor(len(after) / 2).
    late = [m for m in after if m > w1 + len(after) // 2]
    baseline = sum(count[m] for m in late) / len(late) if late else 0.0
    end = w1
    for m in after[:6]:
        if count[m] > 2 * baseline:
            end = m
        else:
            break
    window = {c for c, d in first.items() if month_index(d) <= end}
    if business_start:
        return window if dt.date.fromisoformat(business_start) < lo else set()
    n_first = sum(1 for d in first.values() if month_index(d) <= w1)
    if len(after) < 2 or n_first < 10:
        return set()
    return window if n_first / (w1 - w0 + 1) > 2 * baseline else set()
