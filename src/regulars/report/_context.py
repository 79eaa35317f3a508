"""What every section builder receives: the data, the translator and the period."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from regulars.report._data import DataSource, period_end
from regulars.report._i18n import Translator

__all__ = ["ReportContext", "share", "to_float"]

# A period counts as complete when the data reach its last day, give or take this.
_COMPLETE_SLACK = {"month": 2, "quarter": 7, "year": 14}


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
    def label(self, start: Any) -> str:
        """The period starting on ``start`` as the reader sees it (``Q1 2025``)."""
        if start is None:
            return ""
        return self.t.period_label(start, self.period)

    def labels(self, periods: Sequence[dt.date]) -> list[str]:
        return [self.label(p) for p in periods]

    def period_title(self) -> str:
        """The axis title of the period grain: ``Month``, ``Quarter`` or ``Year``."""
        t = self.t
        return {"month": t._("Month"), "quarter": t._("Quarter"), "year": t._("Year")}[self.period]

    def period_order(self, df: pd.DataFrame) -> list[str]:
        """The labels of the distinct periods of ``df``, oldest first (a chart's x order)."""
        return self.labels(sorted(df["period"].unique().tolist())) if not df.empty else []

    def focus(self, periods: Sequence[dt.date]) -> tuple[dt.date | None, dt.date | None]:
        """The period the headline is about and the one before it.

        The focus is the latest *complete* period: the latest whose last day the
        data reach (within a few days).  When none is complete, the latest one.
        """
        ordered = sorted(set(periods))
        if not ordered:
            return None, None
        end = self.data.observation_end()
        slack = dt.timedelta(days=_COMPLETE_SLACK[self.period])
        complete = [p for p in ordered if period_end(p, self.period) <= end + slack]
        cur = complete[-1] if complete else ordered[-1]
        before = [p for p in ordered if p < cur]
        return cur, (before[-1] if before else None)

    def partial_note(self, periods: Sequence[dt.date], cur: dt.date | None) -> list[str]:
        """A note when the latest period is still running and is left out of the focus."""
        if cur is None or not periods or max(periods) <= cur:
            return []
        latest = max(periods)
        return [
            self.t._(
                "{latest} is not complete yet (the data end on {end}); it is shown in the "
                "charts but the figures compare {cur} with the period before."
            ).format(
                latest=self.label(latest),
                end=self.t.date(self.data.observation_end()),
                cur=self.label(cur),
            )
        ]

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
        text = sign + self.t.percent(abs(rel))
        return text, (1 if rel > 0.005 else -1 if rel < -0.005 else 0)
