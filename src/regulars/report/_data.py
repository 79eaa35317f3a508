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
import decimal
import math
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


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


# What fills each kind of missing data, and the command that imports it.
_NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders": (
        N_(
            "Orders: who bought, when and for how much (order_id, customer_id, order_date, "
            "revenue; cost makes profit exact)."
        ),
        ("regulars import orders orders.csv",),
    ),
    "spend": (
        N_("Marketing spend per channel and period (channel, period_start, period_end, amount)."),
        ("regulars import spend spend.csv",),
    ),
    "channels": (
        N_(
            "The acquisition channel of each customer (customers.channel, mapped to kinds in "
            "[channels] of regulars.toml)."
        ),
        ("regulars import customers customers.csv --map channel=Source",),
    ),
    "subscriptions": (
        N_(
            "Subscriptions: plan, start and end dates, price and billing period "
            "(subscription_id, customer_id, start_date, price, billing_period)."
        ),
        ("regulars import subscriptions subscriptions.csv",),
    ),
    "referrals": (
        N_("Who referred whom (customers.referred_by holds the referrer's customer_id)."),
        ("regulars import customers customers.csv --map referred_by=ReferredBy",),
    ),
    "touches": (
        N_(
            "Touches: calls, emails, meetings and ideas sent to customers "
            "(customer_id, touched_at, kind)."
        ),
        ("regulars import touches touches.csv", "regulars touch C-1042 --kind call --note ..."),
    ),
    "refunds": (
        N_("Refunds: orders with status refunded, or refund_amount and refund_date."),
        ("regulars import orders orders.csv --map refund_amount=Refund",),
    ),
    "packages": (
        N_("Package orders: orders with kind = package (and the discount given)."),
        ("regulars import orders orders.csv --map kind=Type --map discount=Discount",),
    ),
    "scores": (
        N_("Model scores: P(alive), expected orders and CLV for every customer."),
        ("regulars fit", "regulars score"),
    ),
    "holdout": (
        N_(
            "A holdout check of the purchase model (fit on a calibration period, compare with "
            "the orders that followed)."
        ),
        ("regulars fit --holdout auto",),
    ),
    "actions": (
        N_("This week's actions, computed from the scores and the playbooks in regulars.toml."),
        ("regulars score", "regulars actions"),
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

    def coverage(self) -> tuple[dt.date | None, dt.date | None]:
        """The first and last day the data cover (decides which periods are complete)."""
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
        number_format: Callable[[float], str] = str,
    ) -> None:
        self.workspace = workspace
        self.period = period
        self.start = start
        self.end = end
        self.translate = translate
        self.number_format = number_format
        self._frames: dict[str, pd.DataFrame] = {}
        self._checks: dict[str, bool] = {}
        self._context: Any = None
        self._end: dt.date | None = None
        self._coverage: tuple[dt.date | None, dt.date | None] | None = None
        #: What the report did before it was built (fit, score, actions), if anything.
        self.preparation: Any = None

    # -- checks ---------------------------------------------------------------------
    def _any(self, table: str, where: Callable[[Any], Any] | None = None) -> bool:
        """Whether ``table`` exists and has a row matching ``where``."""
        tables = self.context.tables
        if table in tables:
            t = tables[table]
        elif self.workspace.has_table(table):  # derived tables live in the workspace file
            t = self.workspace.table(table)
        else:
            return False
        if where is not None:
            t = t.filter(where(t))
        return bool(t.limit(1).count().execute() > 0)

    def has(self, kind: str) -> bool:
        if kind not in self._checks:
            self._checks[kind] = self._check(kind)
        return self._checks[kind]

    def _check(self, kind: str) -> bool:
        checks: dict[str, Callable[[], bool]] = {
            "orders": lambda: self._any("orders"),
            "guests": lambda: self._any("guest_orders"),
            "costs": lambda: self._any("orders", lambda t: t.cost.notnull()),
            "spend": lambda: self._any("spend"),
            "channels": lambda: self._any("customers", lambda t: t.channel.notnull()),
            "subscriptions": lambda: self._any("subscriptions"),
            "referrals": lambda: self._any("customers", lambda t: t.referred_by.notnull()),
            "touches": lambda: self._any("touches"),
            "refunds": lambda: self._any(
                "orders", lambda t: (t.status == "refunded") | (t.refund_amount.fill_null(0) > 0)
            ),
            "packages": lambda: self._any("orders", lambda t: t.kind == "package"),
            "scores": lambda: self._any("scores"),
            "holdout": lambda: self._any("model_fits", lambda t: t.holdout.notnull()),
            "actions": lambda: self._any("actions", lambda t: t.status == "open"),
        }
        return checks[kind]()

    def require(self, kind: str) -> None:
        if not self.has(kind):
            note = missing_note(kind, self.translate)
            raise MissingDataError(f"No {kind} in the workspace.", missing=note)

    def observation_end(self) -> dt.date:
        if self.end is not None:
            return self.end
        if self._end is None:
            self.require("orders")
            _start, end = self.coverage()
            if end is None:  # pragma: no cover - orders exist here
                raise MissingDataError("No orders.", missing=missing_note("orders", self.translate))
            self._end = end
        return self._end

    def coverage(self) -> tuple[dt.date | None, dt.date | None]:
        """``[workspace] data_start``/``data_end`` or the first and last order date;
        ``--to`` ends the coverage earlier (see :mod:`regulars.metrics._periods`)."""
        if self._coverage is None:
            from regulars.metrics._periods import coverage

            lo, hi = coverage(self.context) if self.has("orders") else (None, None)
            if self.end is not None:
                hi = self.end if hi is None else min(hi, self.end)
            self._coverage = (lo, hi)
        return self._coverage

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

    def metric(self, function: str, **kwargs: Any) -> pd.DataFrame:
        """Run ``regulars.metrics.<function>`` on the workspace and fetch the result."""
        from regulars.service import call_metric, metric_function

        defaults = {"period": self.period, "start": self.start, "end": self.end, "as_of": self.end}
        expr = call_metric(metric_function(function), self.context, defaults=defaults, **kwargs)
        return _floats(expr.to_pandas())


def _projection(data: ReportData) -> pd.DataFrame:
    """The sBG projection for the billing period most subscriptions use."""
    subs = data.context.tables["subscriptions"]
    counts = subs.group_by("billing_period").aggregate(n=subs.count()).to_pandas()
    if counts.empty:
        return pd.DataFrame()
    billing = str(counts.sort_values(["n", "billing_period"], ascending=[False, True]).iloc[0, 0])
    # Yearly start cohorts: a few large cohorts fit better (and faster) than many small.
    return data.metric("subscription_projection", billing_period=billing, period="year")


def _floats(df: pd.DataFrame) -> pd.DataFrame:
    """Decimal columns as floats: the report only displays and compares them."""
    for col in df.columns:
        if df[col].dtype == object:
            sample = df[col].dropna()
            if not sample.empty and isinstance(sample.iloc[0], decimal.Decimal):
                df[col] = df[col].astype(float)
    return df


#: Open actions the report lists, from the top of the ranked list.
TOP_ACTIONS = 10


def _open_actions(data: ReportData) -> pd.DataFrame:
    from regulars.actions import open_actions

    return _floats(open_actions(data.workspace).to_pandas())


def _top_actions(data: ReportData) -> pd.DataFrame:
    """The first :data:`TOP_ACTIONS` open actions, in list order."""
    from regulars.actions import open_actions

    return _floats(open_actions(data.workspace).limit(TOP_ACTIONS).to_pandas())


def _actions_by_playbook(data: ReportData) -> pd.DataFrame:
    """Per playbook, the open actions and their value at stake, grouped in the engine
    (only one row per playbook reaches pandas)."""
    a = data.workspace.table("actions")
    a = a.filter(a.status == "open")
    by = a.group_by("playbook").agg(
        actions=a.count(), value=a.value_at_stake.cast("float64").sum().fill_null(0.0)
    )
    return _floats(by.order_by([by.value.desc(), by.playbook]).to_pandas())


def _effectiveness(data: ReportData) -> pd.DataFrame:
    from regulars.actions import playbook_effectiveness

    return _floats(playbook_effectiveness(data.workspace, today=data.end).to_pandas())


_LOADERS: dict[str, Callable[[ReportData], pd.DataFrame]] = {
    "open_actions": _open_actions,
    "top_actions": _top_actions,
    "actions_by_playbook": _actions_by_playbook,
    "playbook_effectiveness": _effectiveness,
    "new_vs_returning": lambda d: d.metric("new_vs_returning"),
    "business_revenue": lambda d: d.metric("business_revenue"),
    "growth_accounting": lambda d: d.metric("growth_accounting"),
    "growth_sources": lambda d: d.metric("growth_sources"),
    "cohort_retention": lambda d: d.metric("cohort_retention"),
    "cohort_retention_by_kind": lambda d: d.metric("cohort_retention", by="channel_kind"),
    "revenue_retention": lambda d: d.metric("revenue_retention"),
    "subscription_movements": lambda d: d.metric("subscription_movements"),
    "channel_economics": lambda d: d.metric("channel_economics"),
    "cold_funding": lambda d: d.metric("cold_funding"),
    "guarantee": lambda d: d.metric("guarantee"),
    "packages": lambda d: d.metric("packages"),
    "referrals": lambda d: d.metric("referrals"),
    "referral_tree": lambda d: d.metric("referral_tree"),
    "top_referrers": lambda d: d.metric("top_referrers", n=10),
    "referral_rewards": lambda d: d.metric("referral_rewards"),
    "referral_problems": lambda d: d.metric("referral_problems"),
    "renewal_rates": lambda d: d.metric("renewal_rates"),
    "subscription_projection": lambda d: _projection(d),
}


# -- customer value: aggregated in the engine, whatever the number of customers ------

_FREQ_BINS = ((0, "0"), (1, "1"), (2, "2"), (3, "3–4"), (5, "5–9"), (10, "10+"))
_GAP_BINS = ((0, "0–3"), (91, "3–6"), (182, "6–12"), (365, "12–24"), (730, "24+"))


def _customer_activity(data: ReportData) -> Any:
    """Per customer: repeat orders (distinct paid-order days − 1) and days since the last.

    Paid orders are those of :func:`regulars.ledger.purchases`, as in the models.
    Built once per report (computed once on Spark): two frames read it.
    """
    return data.context.once("report:customer_activity", lambda: _activity(data))


def _activity(data: ReportData) -> Any:
    import ibis

    from regulars.ledger import credit_window_days, purchases

    o = data.context.tables["orders"]
    end = data.observation_end()
    o = o.filter(o.order_date.cast("date") <= end)
    o = purchases(o, credit_window_days=credit_window_days(data.context.config))
    per = o.group_by("customer_id").aggregate(
        days=o.order_date.cast("date").nunique(), last=o.order_date.cast("date").max()
    )
    return per.select(
        "customer_id",
        frequency=(per.days - 1).cast("int64"),
        gap=(ibis.literal(end).epoch_days() - per.last.epoch_days()).cast("int64"),
    )


def _bin(value: Any, bins: tuple[tuple[int, str], ...]) -> tuple[Any, Any]:
    import ibis

    label = ibis.cases(*[(value >= lo, name) for lo, name in reversed(bins)], else_=bins[0][1])
    order = ibis.cases(
        *[(value >= lo, i) for i, (lo, _) in reversed(list(enumerate(bins)))], else_=0
    )
    return label, order


def _score_table(data: ReportData) -> Any:
    """The ``scores`` table on the engine of the orders (Spark reads its own copy of the
    scores), so joins with the customers' activity or names run on one backend."""
    tables = data.context.tables
    return tables["scores"] if "scores" in tables else data.workspace.table("scores")


def _scores(data: ReportData) -> Any:
    s = _score_table(data)
    return s.select("customer_id", p_alive=s.p_alive.cast("float64"), clv=s.clv.cast("float64"))


def _p_alive_matrix(data: ReportData) -> pd.DataFrame:
    s = _scores(data)
    act = _customer_activity(data)
    j = s.join(act, "customer_id")
    flabel, forder = _bin(j.frequency, _FREQ_BINS)
    glabel, gorder = _bin(j.gap, _GAP_BINS)
    j = j.mutate(frequency_bin=flabel, frequency_order=forder, gap_bin=glabel, gap_order=gorder)
    out = j.group_by(["frequency_bin", "frequency_order", "gap_bin", "gap_order"]).aggregate(
        customers=j.count(), p_alive=j.p_alive.mean()
    )
    return out.to_pandas().sort_values(["frequency_order", "gap_order"]).reset_index(drop=True)


def _nice_step(raw: float) -> float:
    if not raw > 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * exp:
            return m * exp
    return 10 * exp


def _clv_histogram(data: ReportData) -> pd.DataFrame:
    import ibis

    s = _scores(data)
    s = s.filter(s.clv.notnull())
    p99 = s.clv.quantile(0.99).execute()
    if p99 is None or not math.isfinite(float(p99)):  # no CLV (no spend model)
        return pd.DataFrame()
    step = _nice_step(float(p99 or 0) / 12)
    top = 12
    b = ibis.greatest(ibis.least((s.clv / step).floor().cast("int64"), top), 0)
    m = s.mutate(b=b)
    h = m.group_by("b").aggregate(customers=m.count(), clv=m.clv.sum()).to_pandas()
    h = h.sort_values("b").reset_index(drop=True)
    fmt = data.number_format

    def label(k: int) -> str:
        if k >= top:
            return f"≥ {fmt(top * step)}"
        return f"{fmt(k * step)}–{fmt((k + 1) * step)}"

    h["label"] = [label(int(k)) for k in h["b"]]
    return h


def _score_summary(data: ReportData) -> pd.DataFrame:
    s = _scores(data)
    q80 = s.clv.quantile(0.8).execute()
    act = _customer_activity(data)
    j = s.join(act, "customer_id")
    total = s.clv.sum().execute()
    top = s.filter(s.clv >= q80).clv.sum().execute()
    gone = j.filter((j.p_alive < 0.5) & (j.frequency >= 1)).count().execute()
    total_f = float(total or 0)
    return pd.DataFrame(
        [
            {
                "total_clv": total_f,
                "top20_share": float(top or 0) / total_f if total_f else math.nan,
                "likely_gone_repeaters": int(gone),
            }
        ]
    )


def _holdout(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The holdout check stored by the latest ``regulars fit``: bins, totals, tracking."""
    import json

    fits = data.workspace.table("model_fits")
    fits = fits.filter((fits.kind == "purchase") & fits.holdout.notnull())
    latest = fits.order_by([fits.fitted_at.desc(), fits.fit_id.desc()]).limit(1)
    row = (
        latest.select("model", "time_unit", holdout=latest.holdout.cast("string"))
        .to_pyarrow()
        .to_pylist()
    )
    if not row:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    check = json.loads(row[0]["holdout"])
    bins = pd.DataFrame(check.get("bins", []))
    tracking = pd.DataFrame(check.get("tracking", []))
    totals = pd.DataFrame(
        [
            {
                "model": row[0]["model"],
                "time_unit": row[0]["time_unit"],
                "calibration_end": check.get("calibration_end"),
                "observation_end": check.get("observation_end"),
                "actual_total": check.get("actual_total"),
                "predicted_total": check.get("predicted_total"),
                "error": check.get("error"),
                "quality": check.get("quality"),
            }
        ]
    )
    return bins, totals, tracking


def _model_choice(data: ReportData) -> pd.DataFrame:
    """The latest fit's ``auto`` comparison and each model's diagnostics, one row per
    candidate (``model``, the three holdout errors, ``chosen``, ``passes``, ``problems``)
    and one row per problem of the fitted purchase and spend models (``kind`` = fit)."""
    import json

    fits = data.workspace.table("model_fits")
    if "selection" not in fits.columns:
        return pd.DataFrame()
    latest = fits.filter(fits.kind == "purchase").order_by(
        [fits.fitted_at.desc(), fits.fit_id.desc()]
    )
    row = (
        latest.limit(1)
        .select(
            "fitted_at",
            selection=latest.selection.cast("string"),
            diagnostics=latest.diagnostics.cast("string"),
        )
        .to_pyarrow()
        .to_pylist()
    )
    if not row:
        return pd.DataFrame()
    spend = fits.filter((fits.kind == "spend") & (fits.fitted_at == row[0]["fitted_at"]))
    spend_diag = spend.select(d=spend.diagnostics.cast("string")).to_pyarrow().to_pylist()
    out: list[dict[str, Any]] = []
    selection = json.loads(row[0]["selection"] or "null") or {}
    for c in selection.get("candidates", []):
        out.append(
            {
                "kind": "candidate",
                "model": c.get("model"),
                "aggregate_error": c.get("aggregate_error"),
                "customer_error": c.get("customer_error"),
                "tracking_error": c.get("tracking_error"),
                "chosen": bool(c.get("chosen")),
                "problems": len(c.get("problems") or []) + (1 if c.get("failed") else 0),
                "regularised": bool(c.get("regularised")),
                "message": "",
            }
        )
    for text in [row[0]["diagnostics"], *(r["d"] for r in spend_diag)]:
        diag = json.loads(text or "null") or {}
        for problem in diag.get("problems", []):
            out.append(
                {
                    "kind": "problem",
                    "model": diag.get("model"),
                    "message": f"{problem.get('message', '')} {problem.get('fix', '')}".strip(),
                }
            )
    return pd.DataFrame(out)


def _covariate_effects(data: ReportData) -> pd.DataFrame:
    """The effects ``regulars fit --covariates`` stored with the latest fit, one row per
    effect (``process``, ``term``, ``ratio``, ``lower_95``, ``upper_95``, ``column``,
    ``reference``, ``model``); empty when the latest fit has none."""
    import json

    if not data.workspace.has_table("model_fits"):
        return pd.DataFrame()
    fits = data.workspace.table("model_fits")
    if "covariates" not in fits.columns:
        return pd.DataFrame()
    latest = fits.filter(fits.kind == "purchase").order_by(
        [fits.fitted_at.desc(), fits.fit_id.desc()]
    )
    row = latest.limit(1).select(c=latest.covariates.cast("string")).to_pyarrow().to_pylist()
    stored = json.loads(row[0]["c"] or "null") if row else None
    if not stored:
        return pd.DataFrame()
    refs = stored.get("references") or {}
    out = []
    for e in stored.get("effects") or []:
        column, has_level, _level = str(e.get("term", "")).partition("=")
        out.append(
            {
                "process": e.get("process"),
                "term": e.get("term"),
                "ratio": e.get("ratio"),
                "lower_95": e.get("lower_95"),
                "upper_95": e.get("upper_95"),
                "column": column,
                "reference": refs.get(column) if has_level else None,
                "model": stored.get("model"),
            }
        )
    return pd.DataFrame(out)


def _top_customers(data: ReportData, n: int = 10) -> pd.DataFrame:
    """The ``n`` customers with the highest CLV (expected orders when there is no CLV),
    with their 90% intervals (null for scores from before intervals were stored)."""
    import ibis

    s = _score_table(data)  # joined with the engine's customers

    def col(name: str) -> Any:
        return s[name].cast("float64") if name in s.columns else ibis.null("float64")

    names = (
        "clv",
        "clv_low",
        "clv_high",
        "p_alive",
        "p_alive_low",
        "p_alive_high",
        "expected_orders_365d",
        "expected_orders_365d_low",
        "expected_orders_365d_high",
    )
    scores = s.select("customer_id", **{name: col(name) for name in names})
    top = scores.order_by(
        [
            scores.clv.desc(nulls_first=False),
            scores.expected_orders_365d.desc(nulls_first=False),
            scores.customer_id,
        ]
    ).limit(n)
    customers = data.context.tables["customers"]
    named = top.left_join(
        customers.select("customer_id", customer_name=customers.name), "customer_id"
    )
    out = named.select(
        "customer_id", *names, name=ibis.coalesce(named.customer_name, named.customer_id)
    ).to_pandas()
    return out.sort_values(
        ["clv", "expected_orders_365d", "customer_id"],
        ascending=[False, False, True],
        na_position="last",
    ).reset_index(drop=True)


_LOADERS.update(
    {
        "covariate_effects": _covariate_effects,
        "top_customers": _top_customers,
        "model_choice": _model_choice,
        "p_alive_matrix": _p_alive_matrix,
        "clv_histogram": _clv_histogram,
        "score_summary": _score_summary,
        "holdout_bins": lambda d: _holdout(d)[0],
        "holdout_check": lambda d: _holdout(d)[1],
        "holdout_tracking": lambda d: _holdout(d)[2],
    }
)
