"""Sections 1-4: headline figures, new vs returning, growth accounting, growth sources."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from regulars.report._charts import OKABE_ITO, bar_chart, line_chart, records
from regulars.report._context import ReportContext, share, to_float
from regulars.report._i18n import Translator
from regulars.report._model import Chart, Figure, MissingDataError, Section
from regulars.report._parts import movement_chart

__all__ = [
    "growth_accounting_section",
    "headline_section",
    "new_vs_returning_section",
]

NEW_COLOR = OKABE_ITO["orange"]
RETURNING_COLOR = OKABE_ITO["blue"]


def _periods(df: pd.DataFrame) -> list[dt.date]:
    return sorted(df["period"].unique().tolist()) if not df.empty else []


def _total(row: dict[str, Any], *cols: str) -> float:
    return sum(to_float(row.get(c)) for c in cols)


# -- 1. headline ----------------------------------------------------------------------


@dataclass(frozen=True)
class _BusinessRevenue:
    """Guest checkouts in the headline (docs/data.md, "Guest orders").

    Customer figures read customers' orders only.  The headline revenue is the
    business's: with ``[workspace] guest_revenue = "include"`` it counts guest
    checkouts and says how much came from each; with ``"exclude"`` it says the guest
    amount is left out.  A workspace without guest orders reads as before.
    """

    now: dict[str, Any]
    before: dict[str, Any]

    @classmethod
    def of(cls, ctx: ReportContext, cur: Any, prev: Any) -> _BusinessRevenue:
        if not ctx.data.has("guests"):
            return cls({}, {})
        df = ctx.data.frame("business_revenue")
        return cls(ctx.row(df, cur), ctx.row(df, prev))

    @property
    def includes(self) -> bool:
        return bool(self.now.get("includes_guests"))

    def totals(self, customers: tuple[float, float]) -> tuple[float, float]:
        """The revenue now and before: the customers', plus the guests' when they count."""
        if not self.includes:
            return customers
        before = customers[1] + to_float(self.before.get("guest_revenue", 0.0))
        return customers[0] + to_float(self.now.get("guest_revenue", 0.0)), before

    def text(self, t: Translator, revenue: float, customers: float) -> str:
        """``revenue`` as money, with the guest clause when the period has guest orders."""
        amount = t.money(revenue)
        guests = to_float(self.now.get("guest_revenue"))
        if not self.now or (not self.now.get("guest_orders") and not guests):
            return amount
        if self.includes:
            return t._(
                "{revenue} ({customers} from customers, {guests} from guest checkouts)"
            ).format(revenue=amount, customers=t.money(customers), guests=t.money(guests))
        return t._("{revenue} (customers only; {guests} from guest checkouts left out)").format(
            revenue=amount, guests=t.money(guests)
        )


def headline_section(ctx: ReportContext) -> Section:
    """Revenue, profit, orders and customers in the focus period vs the one before."""
    t = ctx.t
    section = Section("headline", t._("Headline figures"))
    try:
        ctx.data.require("orders")
        nvr = ctx.data.frame("new_vs_returning")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    periods = _periods(nvr)
    cur, prev = ctx.focus(periods)
    now, before = ctx.row(nvr, cur), ctx.row(nvr, prev)
    left_out = ctx.left_out(periods)
    if not periods:
        section.takeaway = t._("There are no orders in the chosen dates.")
        return section
    if not now:
        # No complete period: say so rather than call a few weeks a whole period.
        section.takeaway = left_out[0] if left_out else ""
        return section
    section.notes.extend(left_out)

    def pair(*cols: str) -> tuple[float, float]:
        return _total(now, *cols), _total(before, *cols) if before else math.nan

    business = _BusinessRevenue.of(ctx, cur, prev)
    customers = pair("new_revenue", "returning_revenue")
    revenue, revenue_before = business.totals(customers)
    items = [
        (t._("Revenue"), (revenue, revenue_before), "money"),
        (t._("Profit"), pair("new_profit", "returning_profit"), "money"),
        (t._("Orders"), pair("new_orders", "returning_orders"), "number"),
        (t._("Customers who ordered"), pair("new_customers", "returning_customers"), "number"),
        (t._("New customers"), pair("new_customers"), "number"),
    ]
    vs = t._("vs {period}").format(period=ctx.label(prev)) if prev else ""
    for label, (a, b), kind in items:
        value = t.money(a) if kind == "money" else t.number(a)
        change, direction = ctx.change_text(a, b)
        section.figures.append(
            Figure(label, value, f"{change} {vs}".strip() if change else "", direction)
        )
    # The share of the revenue shown above (with guest checkouts when they count).
    ret_share = share(_total(now, "returning_revenue"), revenue)
    prev_share = share(_total(before, "returning_revenue"), revenue_before) if before else math.nan
    section.figures.append(
        Figure(
            t._("Revenue from returning customers"),
            t.percent(ret_share),
            t._("{share} in {period}").format(share=t.percent(prev_share), period=ctx.label(prev))
            if prev and math.isfinite(prev_share)
            else "",
            0,
        )
    )
    revenue_text = business.text(t, revenue, customers[0])
    if prev and math.isfinite(revenue_before) and revenue_before > 0:
        rel = revenue / revenue_before - 1
        msg = (
            t._(
                "Revenue in {period} was {revenue}, up {change} from {prev}; returning customers "
                "brought {share} of it."
            )
            if rel >= 0
            else t._(
                "Revenue in {period} was {revenue}, down {change} from {prev}; returning "
                "customers brought {share} of it."
            )
        )
        section.takeaway = msg.format(
            period=ctx.label(cur),
            revenue=revenue_text,
            change=t.percent(abs(rel)),
            prev=ctx.label(prev),
            share=t.percent(ret_share),
        )
    else:
        section.takeaway = t._(
            "Revenue in {period} was {revenue}; returning customers brought {share} of it."
        ).format(period=ctx.label(cur), revenue=revenue_text, share=t.percent(ret_share))
    if not ctx.data.has("costs"):
        section.notes.append(
            t._(
                "No order has a cost, so profit is revenue × the default margin in "
                "regulars.toml. Import orders with a cost column for exact profit."
            )
        )
    return section


# -- 2. new vs returning --------------------------------------------------------------


def _group_rows(
    ctx: ReportContext, df: pd.DataFrame, new_col: str, ret_col: str
) -> list[dict[str, object]]:
    t = ctx.t
    rows: list[dict[str, object]] = []
    for rec in df.to_dict("records"):
        for group, col in ((t._("New"), new_col), (t._("Returning"), ret_col)):
            rows.append(
                {
                    "period": ctx.label(rec["period"]),
                    "group": group,
                    "value": to_float(rec.get(col)),
                }
            )
    return records(rows)


def new_vs_returning_section(ctx: ReportContext) -> Section:
    """Seed 003's three charts: orders, profit and efficiency of new vs returning."""
    t = ctx.t
    section = Section("new-vs-returning", t._("New vs returning customers"))
    try:
        ctx.data.require("orders")
        df = ctx.data.frame("new_vs_returning")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    periods = _periods(df)
    order = ctx.labels(periods)
    groups = [t._("New"), t._("Returning")]
    colors = [NEW_COLOR, RETURNING_COLOR]
    cur_label = t.currency
    p_title = ctx.period_title()

    def grouped(name: str, title: str, new_col: str, ret_col: str, y_title: str, fmt: str) -> Chart:
        spec = bar_chart(
            title,
            _group_rows(ctx, df, new_col, ret_col),
            x="period",
            y="value",
            x_title=p_title,
            y_title=y_title,
            x_order=order,
            y_format=fmt,
            color="group",
            color_title=t._("Customers"),
            color_domain=groups,
            color_range=colors,
            stacked=False,
            tooltip=[
                ("period", p_title, "nominal"),
                ("group", t._("Customers"), "nominal"),
                ("value", y_title, fmt),
            ],
        )
        return Chart(name, title, spec)

    section.charts.append(
        grouped(
            "orders-new-vs-returning",
            t._("Orders"),
            "new_orders",
            "returning_orders",
            t._("Orders"),
            "number",
        )
    )
    section.charts.append(
        grouped(
            "profit-new-vs-returning",
            t._("Profit"),
            "new_profit",
            "returning_profit",
            t._("Profit, {currency}").format(currency=cur_label),
            "money",
        )
    )
    if "new_efficiency" in df.columns and ctx.data.has("spend"):
        if df["returning_efficiency"].isna().all():
            section.notes.append(
                t._(
                    "Efficiency of returning customers needs retention spend: list the "
                    "channels you spend on keeping customers in [metrics] retention_channels "
                    "of regulars.toml."
                )
            )
        section.charts.append(
            grouped(
                "efficiency-new-vs-returning",
                t._("Efficiency: profit per unit of acquisition or retention spend"),
                "new_efficiency",
                "returning_efficiency",
                t._("Profit per 1 {currency} spent").format(currency=cur_label),
                "decimal",
            )
        )
    else:
        try:
            ctx.data.require("spend")
        except MissingDataError as exc:
            section.missing.append(exc.missing)

    cur, prev = ctx.focus(periods)
    now, before = ctx.row(df, cur), ctx.row(df, prev)
    if now:
        s_now = share(
            _total(now, "returning_profit"), _total(now, "new_profit", "returning_profit")
        )
        s_prev = (
            share(
                _total(before, "returning_profit"), _total(before, "new_profit", "returning_profit")
            )
            if before
            else math.nan
        )
        new_orders, ret_orders = _total(now, "new_orders"), _total(now, "returning_orders")
        # No comparison when one side is empty ("0.0× as many orders").
        orders_ratio = share(ret_orders, new_orders) if new_orders > 0 < ret_orders else math.nan
        if math.isfinite(s_prev):
            msg = (
                t._(
                    "Returning customers brought {share} of profit in {period}, up from {prev} in "
                    "{prev_period}."
                )
                if s_now >= s_prev
                else t._(
                    "Returning customers brought {share} of profit in {period}, down from {prev} "
                    "in {prev_period}."
                )
            )
        else:
            msg = t._("Returning customers brought {share} of profit in {period}.")
        section.takeaway = msg.format(
            share=t.percent(s_now),
            period=ctx.label(cur),
            prev=t.percent(s_prev),
            prev_period=ctx.label(prev) if prev else "",
        )
        if math.isfinite(orders_ratio):
            section.notes.append(
                t._("They placed {ratio} as many orders as new customers.").format(
                    ratio=t.ratio(orders_ratio)
                )
            )
    section.notes.extend(_censored_note(ctx, df))
    return section


def _censored_note(ctx: ReportContext, df: pd.DataFrame) -> list[str]:
    """Say that the first customers in the data were already customers before it."""
    t = ctx.t
    if "left_censored_customers" not in df.columns:
        return []
    counts = df.loc[df["left_censored_customers"] > 0]
    if counts.empty:
        return []
    n = int(counts["left_censored_customers"].sum())
    lo, _hi = ctx.coverage()
    return [
        t.ngettext(
            "{n} customer who ordered in the first weeks of the data ({periods}) was already "
            "a customer when the data start on {start}: they count as returning, not new. "
            "If the business opened then, set [workspace] business_start in regulars.toml.",
            "{n} customers who ordered in the first weeks of the data ({periods}) were already "
            "customers when the data start on {start}: they count as returning, not new. "
            "If the business opened then, set [workspace] business_start in regulars.toml.",
            n,
        ).format(
            n=t.number(n),
            periods=", ".join(ctx.label(p) for p in counts["period"]),
            start=t.date(lo) if lo is not None else "–",
        )
    ]


def _comparable(ctx: ReportContext, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of periods that are complete and follow a complete period."""
    ordered = _periods(df)
    keep = {
        p
        for i, p in enumerate(ordered)
        if i > 0 and ctx.is_complete(p) and ctx.is_complete(ordered[i - 1])
    }
    return df.loc[df["period"].isin(keep)].sort_values("period")


# -- 3. growth accounting -------------------------------------------------------------

_GA_PARTS = ("new", "expansion", "resurrected", "contraction", "churned")
_GA_COLORS = {
    "new": OKABE_ITO["orange"],
    "expansion": OKABE_ITO["blue"],
    "resurrected": OKABE_ITO["green"],
    "contraction": OKABE_ITO["purple"],
    "churned": OKABE_ITO["vermillion"],
}


def _ga_names(ctx: ReportContext) -> dict[str, str]:
    t = ctx.t
    return {
        "new": t._("New"),
        "expansion": t._("Expansion"),
        "resurrected": t._("Resurrected"),
        "contraction": t._("Contraction"),
        "churned": t._("Churned"),
    }


def growth_accounting_section(ctx: ReportContext) -> Section:
    """Stacked gains above zero and losses below, per period, and the quick ratio."""
    t = ctx.t
    section = Section("growth-accounting", t._("Growth accounting"))
    try:
        ctx.data.require("orders")
        df = ctx.data.frame("growth_accounting")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    all_periods = _periods(df)
    df = _comparable(ctx, df)
    if df.empty:
        section.takeaway = t._(
            "Growth accounting compares each period with the one before; it needs two "
            "complete periods in a row."
        )
        section.notes.extend(ctx.left_out(all_periods))
        return section
    section.notes.extend(ctx.left_out(all_periods))
    periods = _periods(df)
    order = ctx.labels(periods)
    names = _ga_names(ctx)
    p_title = ctx.period_title()
    spec = movement_chart(
        ctx,
        df,
        parts=_GA_PARTS,
        names=names,
        colors=_GA_COLORS,
        negative=("contraction", "churned"),
        title=t._("Where revenue was gained and lost"),
        y_title=t._("Revenue change, {currency}").format(currency=t.currency),
    )
    section.charts.append(Chart("growth-accounting", t._("Growth accounting"), spec, wide=True))
    qr = [
        {"period": ctx.label(r["period"]), "quick_ratio": to_float(r.get("quick_ratio"))}
        for r in df.to_dict("records")
    ]
    section.charts.append(
        Chart(
            "quick-ratio",
            t._("Quick ratio"),
            line_chart(
                t._("Quick ratio: gains ÷ losses (above 1 = growing)"),
                records(qr),
                x="period",
                y="quick_ratio",
                x_title=p_title,
                y_title=t._("Quick ratio"),
                x_order=order,
                y_format="ratio",
                rule_y=1.0,
            ),
        )
    )
    cur, _prev = ctx.focus(periods)
    now = ctx.row(df, cur)
    if now:
        gains = _total(now, "new", "expansion", "resurrected")
        losses = _total(now, "contraction", "churned")
        net = gains - losses
        msg = (
            t._(
                "In {period} revenue grew by {net}: {gains} gained (new {new}, expansion {exp}, "
                "win-backs {res}) against {losses} lost; quick ratio {qr}."
            )
            if net >= 0
            else t._(
                "In {period} revenue fell by {net}: {gains} gained (new {new}, expansion {exp}, "
                "win-backs {res}) against {losses} lost; quick ratio {qr}."
            )
        )
        section.takeaway = msg.format(
            period=ctx.label(cur),
            net=t.money(abs(net)),
            gains=t.money(gains),
            new=t.money(to_float(now.get("new"))),
            exp=t.money(to_float(now.get("expansion"))),
            res=t.money(to_float(now.get("resurrected"))),
            losses=t.money(losses),
            qr=t.ratio(to_float(now.get("quick_ratio"))),
        )
    return section
