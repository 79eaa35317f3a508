"""The end of observation: the day up to which the data describes the business.

Metrics that depend on "now" (which subscriptions still run, which guarantee windows
are still open, which referral rewards are still held) take an ``as_of`` date.  By
default it is the latest date recorded in the data, so a result never depends on the
day it is computed.
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from regulars.errors import ConfigError
from regulars.metrics._common import MetricContext, union_all

__all__ = ["observation_end", "parse_as_of"]


def parse_as_of(as_of: _dt.date | str | None) -> _dt.date | None:
    """``as_of`` as a date (None stays None); a clear error for anything else."""
    if as_of is None or as_of == "":
        return None
    if isinstance(as_of, _dt.datetime):
        return as_of.date()
    if isinstance(as_of, _dt.date):
        return as_of
    try:
        return _dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ConfigError(
            f"as_of = {as_of!r} is not a date (expected YYYY-MM-DD, for example 2024-12-31)."
        ) from None


def observation_end(ctx: MetricContext, as_of: _dt.date | str | None = None) -> ir.Table:
    """A one-row table with column ``as_of``: the last day the data describes.

    ``as_of`` when given; otherwise the latest of the order dates, refund dates,
    subscription start dates and cancellation dates (``end_date`` is left out: a
    paid-up period can end in the future).
    """
    day = parse_as_of(as_of)
    s = ctx.table("subscriptions")
    if day is not None:
        # Aggregate first: a literal alone is not a reduction and would keep every row.
        one = s.aggregate(_n=s.count())
        return one.select(as_of=ibis.literal(day, type="date"))
    o = ctx.table("orders")
    dates = union_all(
        o.select(d=o.order_date.cast("date")),
        o.select(d=o.refund_date.cast("date")),
        s.select(d=s.start_date.cast("date")),
        s.select(d=s.cancel_date.cast("date")),
    )
    return dates.aggregate(as_of=dates.d.max())
