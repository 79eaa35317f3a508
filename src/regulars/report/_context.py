"""What every section builder receives: the data, the translator and the period."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from regulars.metrics._periods import period_is_complete
from regulars.report._data import DataSource
from regulars.report._i18n import PeriodName, Translator

__all__ = ["ReportContext", "share", "to_float"]


def to_float(value: Any) -> float:
    """A float from a Decimal, numpy scalar or None (NaN)."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def share(part: float, whole: float) -> float:
    """``part / whole``, NaN when the whole is zero or missing."""
    if not math.isfinite(whole) or whole == 0 or not math.isfinite(part):
        return math.nan
    return part / whole


@dataclass
class ReportContext:
    """The data source, the translator and the period grain of one report."""

    data: DataSource
    t: Translator
    period: str

    # -- periods ----------------------------------------------------------------------
    def label(self, start: Any) -> PeriodName:
        """The period starting on ``start`` as the reader sees it (``Q1 2025``), with the
        forms sentences use (``{period.in_}``, see :class:`PeriodName`)."""
        if start is None:
            return PeriodName("")
        return self.t.period_name(start, self.period)

    def labels(self, periods: Sequence[dt.date]) -> list[str]:
        return [self.label(p) for p in periods]

    def period_title(self) -> str:
        """The axis title of the period grain: ``Month``, ``Quarter`` or ``Year``."""
        t = self.t
        return {"month": t._("Month"), "quarter": t._("Quarter"), "year": t._("Year")}[self.period]

    def period_order(self, df: pd.DataFrame) -> list[str]:
        """The labels of the distinct periods of ``df``, oldest first (a chart's x order)."""
        return self.labels(sorted(df["period"].unique().tolist())) if not df.empty else []

    def coverage(self) -> tuple[dt.date | None, dt.date | None]:
        """The first and the last day the data cover (see docs/metrics.md)."""
        return self.data.coverage()

    def is_complete(self, start: dt.date) -> bool:
        """Whether the data cover the period starting on ``start`` from end to end."""
        lo, hi = self.coverage()
        return period_is_complete(start, self.period, lo, hi)

    def focus(
        self, periods: Sequence[dt.date], *, strict: bool = True
    ) -> tuple[dt.date | None, dt.date | None]:
        """The period a section's figures are about, and the one it is compared with.

        The focus is the latest *complete* period (the data cover it from its first to
        its last day).  The period before it is returned only when it is complete too,
        so a comparison never sets nine days against a whole month.  With no complete
        period the focus is None, or the latest period when ``strict`` is False (for
        states at a date, such as MRR at the end of a period).
        """
        ordered = sorted(set(periods))
        if not ordered:
            return None, None
        complete = [p for p in ordered if self.is_complete(p)]
        if not complete:
            return (None, None) if strict else (ordered[-1], None)
        cur = complete[-1]
        before = [p for p in ordered if p < cur]
        prev = before[-1] if before and self.is_complete(before[-1]) else None
        return cur, prev

    def left_out(self, periods: Sequence[dt.date]) -> list[str]:
        """Notes naming the periods left out of the comparisons because they are partial."""
        t = self.t
        lo, hi = self.coverage()
        partial = [p for p in sorted(set(periods)) if not self.is_complete(p)]
        if not partial or lo is None or hi is None:
            return []
        names = ", ".join(self.label(p) for p in partial)
        if len(partial) == len(set(periods)):
            return [
                t._(
                    "No period is complete: the data run from {start} to {end}, so no "
                    "{grain} is covered from its first to its last day. Choose a shorter "
                    "period (--period month) to compare complete periods."
                ).format(start=t.date(lo), end=t.date(hi), grain=self.grain_name())
            ]
        return [
            t._(
                "Left out of the comparisons: {periods}, not covered from the first to the "
                "last day (the data run from {start} to {end}). The charts show them."
            ).format(periods=names, start=t.date(lo), end=t.date(hi))
        ]

    def grain_name(self) -> str:
        """``month``, ``quarter`` or ``year`` in the reader's language, lower case."""
        t = self.t
        return {"month": t._("month"), "quarter": t._("quarter"), "year": t._("year")}[self.period]

    # -- rows -------------------------------------------------------------------------
    @staticmethod
    def row(df: pd.DataFrame, period: dt.date | None) -> dict[str, Any]:
        """The row of ``df`` for ``period`` as a dict ({} when absent)."""
        if period is None or df.empty:
            return {}
        hit = df.loc[df["period"] == period]
        if hit.empty:
            return {}
        return {str(k): v for k, v in hit.iloc[0].to_dict().items()}

    def change_text(self, now: float, before: float, *, money: bool = False) -> tuple[str, int]:
        """``+12% vs 2024``-style text and its direction (+1, -1, 0)."""
        if not math.isfinite(before) or before == 0 or not math.isfinite(now):
            return "", 0
        rel = now / before - 1
        sign = "+" if rel > 0 else ("−" if rel < 0 else "±")
        text = self.t.isolate(sign + self.t.percent(abs(rel)))
        return text, (1 if rel > 0.005 else -1 if rel < -0.005 else 0)
