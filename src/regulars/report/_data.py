"""The numbers a report needs, pulled out of a workspace.

Only aggregated results leave the engine: each metric is computed by
:mod:`regulars.metrics` as a lazy Ibis expression and fetched as a small pandas frame
(one row per period, channel, cohort...).  When a part of the report needs data the
workspace does not hold, :meth:`ReportData.require` raises
:class:`~regulars.report._model.MissingDataError` carrying a note that says what to
import; section builders catch exactly that error and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from regulars.report._model import Missing, MissingDataError

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = [
    "DataSource",
    "ReportData",
    "missing_note",
    "period_end",
    "period_floor",
]


def period_floor(day: dt.date, period: str) -> dt.date:
    """First day of the month, quarter or year containing ``day``."""
    if period == "year":
        return dt.date(day.year, 1, 1)
    if period == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, day.month, 1)


def period_end(start: dt.date, period: str) -> dt.date:
    """Last day of the period that starts on ``start``."""
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    m = start.month - 1 + months
    nxt = dt.date(start.year + m // 12, m % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


# What fills each kind of missing data, and the command that imports it.
_NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders": (
        "Orders: who bought, when and for how much (order_id, customer_id, order_date, "
        "revenue; cost makes profit exact).",
        ("regulars import orders orders.csv",),
    ),
    "spend": (
        "Marketing spend per channel and period (channel, period_start, period_end, amount).",
        ("regulars import spend spend.csv",),
    ),
    "channels": (
        "The acquisition channel of each customer (customers.channel, mapped to kinds in "
        "[channels] of regulars.toml).",
        ("regulars import customers customers.csv --map channel=Source",),
    ),
    "subscriptions": (
        "Subscriptions: plan, start and end dates, price and billing period "
        "(subscription_id, customer_id, start_date, price, billing_period).",
        ("regulars import subscriptions subscriptions.csv",),
    ),
    "referrals": (
        "Who referred whom (customers.referred_by holds the referrer's customer_id).",
        ("regulars import customers customers.csv --map referred_by=ReferredBy",),
    ),
    "touches": (
        "Touches: calls, emails, meetings and ideas sent to customers "
        "(customer_id, touched_at, kind).",
        ("regulars import touches touches.csv", "regulars touch C-1042 --kind call --note ..."),
    ),
    "refunds": (
        "Refunds: orders with status refunded, or refund_amount and refund_date.",
        ("regulars import orders orders.csv --map refund_amount=Refund",),
    ),
    "packages": (
        "Package orders: orders with kind = package (and the discount given).",
        ("regulars import orders orders.csv --map kind=Type --map discount=Discount",),
    ),
    "scores": (
        "Model scores: P(alive), expected orders and CLV for every customer.",
        ("regulars fit", "regulars score"),
    ),
    "holdout": (
        "A holdout check of the purchase model (fit on a calibration period, compare with "
        "the orders that followed).",
        ("regulars fit --holdout 2025-01-01",),
    ),
    "actions": (
        "This week's actions, computed from the scores and the playbooks in regulars.toml.",
        ("regulars score", "regulars actions"),
    ),
    "outcomes": (
        "Recorded outcomes of actions (done, dismissed, accepted...), needed to measure "
        "playbook lift against the holdout.",
        ("regulars action done ID --outcome accepted",),
    ),
}


def missing_note(kind: str, translate: Callable[[str], str]) -> Missing:
    """The note for missing data of ``kind`` (a key of the table above), translated."""
    what, commands = _NEEDS[kind]
    return Missing(translate(what), commands)


class DataSource(Protocol):
    """What section builders read: metric frames and checks for missing data."""

    period: str

    def frame(self, name: str) -> pd.DataFrame:
        """The metric ``name`` as a small frame (raises MissingDataError if empty)."""
        ...

    def require(self, kind: str) -> None:
        """Raise MissingDataError when data of ``kind`` are missing."""
        ...

    def has(self, kind: str) -> bool:
        """Whether data of ``kind`` exist."""
        ...

    def observation_end(self) -> dt.date:
        """The last day the report covers."""
        ...


class ReportData:
    """Metric frames of one workspace for one period grain and date range.

    Parameters
    ----------
    workspace : Workspace
        The workspace to read.
    period : {"month", "quarter", "year"}
        The period grain of every metric.
    start, end : datetime.date, optional
        Keep only periods that overlap ``[start, end]``; ``end`` is also the end of
        observation (default: the date of the last order).
    translate : callable
        Translates the missing-data notes.
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        period: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        translate: Callable[[str], str] = str,
    ) -> None:
        self.workspace = workspace
        self.period = period
        self.start = start
        self.end = end
        self.translate = translate
        self._frames: dict[str, pd.DataFrame] = {}
        self._checks: dict[str, bool] = {}
        self._context: Any = None

    # -- checks ---------------------------------------------------------------------
    def _scalar(self, sql: str) -> Any:
        row = self.workspace.con.execute(sql).fetchone()
        return row[0] if row else None

    def _count(self, table: str, where: str = "TRUE") -> int:
        if not self.workspace.has_table(table):
            return 0
        return int(
            self._scalar(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" WHERE {where} LIMIT 1)')
        )

    def has(self, kind: str) -> bool:
        if kind not in self._checks:
            self._checks[kind] = self._check(kind)
        return self._checks[kind]

    def _check(self, kind: str) -> bool:
        checks: dict[str, Callable[[], bool]] = {
            "orders": lambda: self._count("orders") > 0,
            "costs": lambda: self._count("orders", "cost IS NOT NULL") > 0,
            "spend": lambda: self._count("spend") > 0,
            "channels": lambda: self._count("customers", "channel IS NOT NULL") > 0,
            "subscriptions": lambda: self._count("subscriptions") > 0,
            "referrals": lambda: self._count("customers", "referred_by IS NOT NULL") > 0,
            "touches": lambda: self._count("touches") > 0,
            "refunds": lambda: (
                self._count("orders", "status = 'refunded' OR coalesce(refund_amount, 0) > 0") > 0
            ),
            "packages": lambda: self._count("orders", "kind = 'package'") > 0,
            "scores": lambda: self._count("scores") > 0,
            "holdout": lambda: self._count("model_fits") > 0,
            "actions": lambda: self._count("scores") > 0,
            "outcomes": lambda: self._count("action_outcomes") > 0,
        }
        return checks[kind]()

    def require(self, kind: str) -> None:
        if not self.has(kind):
            note = missing_note(kind, self.translate)
            raise MissingDataError(f"No {kind} in the workspace.", missing=note)

    def observation_end(self) -> dt.date:
        if self.end is not None:
            return self.end
        self.require("orders")
        value = self._scalar(
            "SELECT max(order_date) FROM orders WHERE status IS DISTINCT FROM 'cancelled'"
        )
        if value is None:
            self.require("__never__")  # pragma: no cover - orders exist but all cancelled
        return pd.Timestamp(value).date()

    # -- frames ---------------------------------------------------------------------
    @property
    def context(self) -> Any:
        """The metrics' view of the workspace (tables on its backend plus config)."""
        if self._context is None:
            from regulars.metrics import MetricContext

            self._context = MetricContext.from_workspace(self.workspace)
        return self._context

    def frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            loader = _LOADERS[name]
            df = loader(self)
            self._frames[name] = self._clip(df)
        return self._frames[name]

    def _clip(self, df: pd.DataFrame) -> pd.DataFrame:
        """Normalise ``period`` to dates and keep the periods inside [start, end]."""
        for col in ("period", "cohort"):
            if col in df.columns:
                df[col] = pd.to_datetime(df[col]).dt.date
        if "period" not in df.columns:
            return df
        keep = pd.Series(True, index=df.index)
        if self.start is not None:
            first = period_floor(self.start, self.period)
            keep &= df["period"] >= first
        if self.end is not None:
            keep &= df["period"] <= self.end
        return df.loc[keep].reset_index(drop=True)


_LOADERS: dict[str, Callable[[ReportData], pd.DataFrame]] = {}
