"""Sections 1-4: headline figures, new vs returning, growth accounting, growth sources."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from regulars.report._charts import OKABE_ITO, bar_chart, line_chart, records, waterfall
from regulars.report._context import ReportContext, share, to_float
from regulars.report._model import Chart, Figure, MissingDataError, Section, TableView
from regulars.report._parts import movement_chart

__all__ = [
    "growth_accounting_section",
    "growth_sources_section",
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
    if not now:
        section.takeaway = t._("There are no orders in the chosen dates.")
        return section

    def pair(*cols: str) -> tuple[float, float]:
        return _total(now, *cols), _total(before, *cols) if before else math.nan

    items = [
        (t._("Revenue"), pair("new_revenue", "returning_revenue"), "money"),
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
    ret_share = share(
        _total(now, "returning_revenue"), _total(now, "new_revenue", "returning_revenue")
    )
    prev_share = (
        share(
            _total(before, "returning_revenue"), _total(before, "new_revenue", "returning_revenue")
        )
        if before
        else math.nan
    )
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
    revenue, revenue_before = pair("new_revenue", "returning_revenue")
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
            revenue=t.money(revenue),
            change=t.percent(abs(rel)),
            prev=ctx.label(prev),
            share=t.percent(ret_share),
        )
    else:
        section.takeaway = t._(
            "Revenue in {period} was {revenue}; returning customers brought {share} of it."
        ).format(period=ctx.label(cur), revenue=t.money(revenue), share=t.percent(ret_share))
    section.notes.extend(ctx.partial_note(periods, cur))
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
        orders_ratio = share(_total(now, "returning_orders"), _total(now, "new_orders"))
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
    return section


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
    df = df.sort_values("period").iloc[1:] if len(df) > 1 else df  # first period has no P-1
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


# -- 4. growth sources ----------------------------------------------------------------

_SOURCE_ORDER = (
    "upsell",
    "new_referral",
    "new_cold",
    "new_organic",
    "new_partner",
    "new_other",
    "win_back",
)


def _source_names(ctx: ReportContext) -> dict[str, str]:
    t = ctx.t
    return {
        "upsell": t._("Upsell"),
        "new_referral": t._("Referrals"),
        "new_cold": t._("Cold"),
        "new_organic": t._("Organic"),
        "new_partner": t._("Partners"),
        "new_other": t._("Other channels"),
        "win_back": t._("Win-backs"),
    }


def _source_phrases(ctx: ReportContext) -> dict[str, str]:
    """Sources as they read inside a sentence."""
    t = ctx.t
    return {
        "upsell": t._("upsell"),
        "new_referral": t._("referrals"),
        "new_cold": t._("cold acquisition"),
        "new_organic": t._("organic channels"),
        "new_partner": t._("partners"),
        "new_other": t._("other channels"),
        "win_back": t._("win-backs"),
    }


def growth_sources_section(ctx: ReportContext) -> Section:
    """The change in revenue as a waterfall by source, with what each source cost."""
    t = ctx.t
    section = Section("growth-sources", t._("Where growth came from"))
    try:
        ctx.data.require("orders")
        df = ctx.data.frame("growth_sources")
        ga = ctx.data.frame("growth_accounting")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    periods = _periods(df)
    cur, prev = ctx.focus(periods)
    if cur is None or prev is None:
        section.takeaway = t._("Growth sources need at least two periods of orders.")
        return section
    rows = df.loc[df["period"] == cur]
    by_source = {
        str(r["source"]): {str(k): v for k, v in r.items()} for r in rows.to_dict("records")
    }
    names = _source_names(ctx)
    rev_prev = to_float(ctx.row(ga, prev).get("revenue"))
    rev_now = to_float(ctx.row(ga, cur).get("revenue"))
    money_title = t._("Revenue, {currency}").format(currency=t.currency)
    steps: list[dict[str, object]] = [
        {
            "label": t._("Revenue {period}").format(period=ctx.label(prev)),
            "amount": rev_prev,
            "kind": "total",
            "customers": None,
            "spend": None,
        },
    ]
    table_rows = []
    total_change = rev_now - rev_prev
    known = [s for s in _SOURCE_ORDER if s in by_source] + sorted(
        set(by_source) - set(_SOURCE_ORDER)
    )
    for src in known:
        rec = by_source[src]
        change = to_float(rec.get("change"))
        spend = to_float(rec.get("spend"))
        customers = to_float(rec.get("customers"))
        label = names.get(src, src)
        steps.append(
            {
                "label": label,
                "amount": change,
                "kind": "step",
                "customers": customers,
                "spend": spend,
            }
        )
        per_unit = spend / change if change > 0 and math.isfinite(spend) and spend > 0 else math.nan
        table_rows.append(
            (
                label,
                t.money(change),
                t.percent(share(change, total_change)) if total_change > 0 else "–",
                t.number(customers),
                t.money(spend) if math.isfinite(spend) and spend > 0 else "–",
                t.number(per_unit, 2) if math.isfinite(per_unit) else "–",
            )
        )
    steps.append(
        {
            "label": t._("Revenue {period}").format(period=ctx.label(cur)),
            "amount": rev_now,
            "kind": "total",
            "customers": None,
            "spend": None,
        }
    )
    spec = waterfall(
        t._("Change in revenue from {prev} to {cur}, by source").format(
            prev=ctx.label(prev), cur=ctx.label(cur)
        ),
        steps,
        y_title=money_title,
        tooltip=[
            ("label", t._("Source"), "nominal"),
            ("amount", money_title, "money"),
            ("customers", t._("Customers"), "number"),
            ("spend", t._("Spend, {currency}").format(currency=t.currency), "money"),
        ],
    )
    section.charts.append(Chart("growth-sources", t._("Growth sources"), spec, wide=True))
    section.tables.append(
        TableView(
            "growth-sources",
            t._("Growth sources in {period}").format(period=ctx.label(cur)),
            (
                t._("Source"),
                t._("Change, {currency}").format(currency=t.currency),
                t._("Share of growth"),
                t._("Customers"),
                t._("Spend, {currency}").format(currency=t.currency),
                t._("Spend per 1 {currency} of growth").format(currency=t.currency),
            ),
            tuple(table_rows),
            (False, True, True, True, True, True),
        )
    )
    if not ctx.data.has("spend"):
        try:
            ctx.data.require("spend")
        except MissingDataError as exc:
            section.missing.append(exc.missing)
    section.takeaway = _sources_takeaway(ctx, by_source, total_change, cur)
    return section


def _sources_takeaway(
    ctx: ReportContext, by_source: dict[str, dict[str, Any]], total: float, cur: dt.date
) -> str:
    """Seed 002's sentence: which sources brought the growth, and what the dearest cost."""
    t = ctx.t
    names = _source_phrases(ctx)
    changes = {s: to_float(r.get("change")) for s, r in by_source.items()}
    gains = {s: c for s, c in changes.items() if math.isfinite(c) and c > 0}
    losses = {s: c for s, c in changes.items() if math.isfinite(c) and c < 0}
    gross = sum(gains.values())
    if not gains or not math.isfinite(total):
        return ""
    top = sorted(gains.items(), key=lambda kv: -kv[1])[:3]
    listed = ", ".join(
        t._("{source} {share}").format(source=names.get(s, s), share=t.percent(c / gross))
        for s, c in top
    )
    if not losses and total >= 0:
        text = t._("Revenue grew by {total} in {period}: {parts}.").format(
            total=t.money(total), period=ctx.label(cur), parts=listed
        )
    elif total >= 0:
        text = t._("Revenue grew by {total} in {period}; of the {gross} gained: {parts}.").format(
            total=t.money(total), period=ctx.label(cur), gross=t.money(gross), parts=listed
        )
    else:
        text = t._("Revenue fell by {total} in {period}; of the {gross} gained: {parts}.").format(
            total=t.money(-total), period=ctx.label(cur), gross=t.money(gross), parts=listed
        )
    if "upsell" in losses:
        text += (
            " "
            + t._("Existing customers spent {amount} less than the year before.").format(
                amount=t.money(-losses["upsell"])
            )
            if ctx.period == "year"
            else " "
            + t._("Existing customers spent {amount} less than the period before.").format(
                amount=t.money(-losses["upsell"])
            )
        )
    costs = {
        s: to_float(by_source[s].get("spend")) / c
        for s, c in gains.items()
        if to_float(by_source[s].get("spend")) > 0
    }
    if len(costs) >= 2:
        dear = max(costs, key=lambda s: costs[s])
        cheap = min(costs, key=lambda s: costs[s])
        text += " " + t._(
            "Growth from {dear} cost {dear_cost} {currency} per 1 {currency} of revenue, "
            "{times} as much as from {cheap}."
        ).format(
            dear=names.get(dear, dear),
            dear_cost=t.number(costs[dear], 2),
            currency=t.currency,
            times=t.ratio(costs[dear] / costs[cheap]),
            cheap=names.get(cheap, cheap),
        )
    return text
