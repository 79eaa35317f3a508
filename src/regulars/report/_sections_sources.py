"""Section 4: where growth came from, with one base for every share.

Shares are shares of the *gains* (the sum of the sources that added revenue), the
same number in the sentence and in the table.  A source that lost revenue (existing
customers who spent less) is said in words, never as a negative share.  Sources with
no customers and no revenue collapse into one "data needed" line, and without any
channel data new customers are simply "new customers", not "other channels".
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from regulars.report._charts import waterfall
from regulars.report._context import ReportContext, to_float
from regulars.report._data import missing_note
from regulars.report._model import Chart, Missing, MissingDataError, Section, TableView

__all__ = ["gain_shares", "growth_sources_section"]

_SOURCE_ORDER = (
    "upsell",
    "new_referral",
    "new_cold",
    "new_organic",
    "new_partner",
    "new_other",
    "win_back",
)
_CHANNEL_SOURCES = ("new_referral", "new_cold", "new_organic", "new_partner")


def _source_names(ctx: ReportContext, *, channels: bool) -> dict[str, str]:
    t = ctx.t
    return {
        "upsell": t._("Upsell"),
        "new_referral": t._("Referrals"),
        "new_cold": t._("Cold"),
        "new_organic": t._("Organic"),
        "new_partner": t._("Partners"),
        "new_other": t._("Other channels") if channels else t._("New customers"),
        "win_back": t._("Win-backs"),
    }


def _source_phrases(ctx: ReportContext, *, channels: bool) -> dict[str, str]:
    """Sources as they read inside a sentence."""
    t = ctx.t
    return {
        "upsell": t._("upsell"),
        "new_referral": t._("referrals"),
        "new_cold": t._("cold acquisition"),
        "new_organic": t._("organic channels"),
        "new_partner": t._("partners"),
        "new_other": t._("other channels") if channels else t._("new customers"),
        "win_back": t._("win-backs"),
    }


def gain_shares(changes: dict[str, float]) -> dict[str, float]:
    """Each gaining source's share of the gains (the sum of the positive changes)."""
    gains = {s: c for s, c in changes.items() if math.isfinite(c) and c > 0}
    total = sum(gains.values())
    return {s: c / total for s, c in gains.items()} if total > 0 else {}


def _step(label: str, amount: float, kind: str, customers: Any, spend: Any) -> dict[str, object]:
    return {"label": label, "amount": amount, "kind": kind, "customers": customers, "spend": spend}


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
    periods = sorted(df["period"].unique().tolist()) if not df.empty else []
    cur, prev = ctx.focus(periods)
    if cur is None or prev is None:
        section.takeaway = t._(
            "Growth sources compare two complete periods in a row; the data do not have them yet."
        )
        section.notes.extend(ctx.left_out(periods))
        return section
    has_channels = ctx.data.has("channels") or ctx.data.has("referrals")
    has_spend = ctx.data.has("spend")
    rows = df.loc[df["period"] == cur]
    by_source = {
        str(r["source"]): {str(k): v for k, v in r.items()} for r in rows.to_dict("records")
    }
    names = _source_names(ctx, channels=has_channels)
    rev_prev = to_float(ctx.row(ga, prev).get("revenue"))
    rev_now = to_float(ctx.row(ga, cur).get("revenue"))
    changes = {s: to_float(r.get("change")) for s, r in by_source.items()}
    shares = gain_shares(changes)

    def empty(src: str) -> bool:
        rec = by_source[src]
        return to_float(rec.get("customers")) == 0 and changes[src] == 0

    known = [s for s in _SOURCE_ORDER if s in by_source]
    known += sorted(set(by_source) - set(_SOURCE_ORDER))
    shown = [s for s in known if not (empty(s) or (not has_channels and s in _CHANNEL_SOURCES))]
    collapsed = [s for s in known if s not in shown]
    steps = [
        _step(t._("Revenue {period}").format(period=ctx.label(prev)), rev_prev, "total", None, None)
    ]
    table_rows = []
    no_data = t._("no data")
    for src in shown:
        rec = by_source[src]
        change = changes[src]
        spend = to_float(rec.get("spend"))
        customers = to_float(rec.get("customers"))
        label = names.get(src, src)
        if src == "upsell" and change < 0:
            label = t._("Existing customers spent less")
        steps.append(_step(label, change, "step", customers, spend if has_spend else None))
        per_unit = spend / change if change > 0 and spend > 0 else math.nan
        table_rows.append(
            (
                label,
                t.money(change),
                t.percent(shares[src]) if src in shares else "–",
                t.number(customers),
                t.money(spend) if has_spend else no_data,
                (t.number(per_unit, 2) if math.isfinite(per_unit) else "–")
                if has_spend
                else no_data,
            )
        )
    steps.append(
        _step(t._("Revenue {period}").format(period=ctx.label(cur)), rev_now, "total", None, None)
    )
    money_title = t._("Revenue, {currency}").format(currency=t.currency)
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
            *(
                [("spend", t._("Spend, {currency}").format(currency=t.currency), "money")]
                if has_spend
                else []
            ),
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
                t._("Share of the gains"),
                t._("Customers"),
                t._("Spend, {currency}").format(currency=t.currency),
                t._("Spend per 1 {currency} of growth").format(currency=t.currency),
            ),
            tuple(table_rows),
            (False, True, True, True, True, True),
            note=t._(
                "Shares are shares of the revenue gained ({gains}): the sources that added "
                "revenue. Losses are not a share of growth."
            ).format(gains=t.money(sum(c for c in changes.values() if c > 0))),
        )
    )
    if collapsed:
        section.missing.append(_collapsed_note(ctx, collapsed, names, has_channels))
    if not has_spend:
        section.missing.append(missing_note("spend", t._))
    section.notes.extend(ctx.left_out(periods))
    section.takeaway = _sources_takeaway(
        ctx, by_source, changes, shares, rev_now - rev_prev, cur, has_channels, has_spend
    )
    return section


def _per_unit_text(ctx: ReportContext, value: float) -> str:
    return ctx.t.number(value, 2) if math.isfinite(value) else "–"


def _collapsed_note(
    ctx: ReportContext, collapsed: list[str], names: dict[str, str], has_channels: bool
) -> Missing:
    """One line for every source with no customers and no revenue in the period."""
    t = ctx.t
    listed = ", ".join(names[s] for s in collapsed)
    if not has_channels:
        what = t._(
            "{sources}: no data, because no customer has an acquisition channel. {needs}"
        ).format(sources=listed, needs=t._(missing_note("channels", str).what))
        return Missing(what, missing_note("channels", str).commands)
    return Missing(
        t._("{sources}: no customers and no revenue in this period.").format(sources=listed)
    )


def _sources_takeaway(
    ctx: ReportContext,
    by_source: dict[str, dict[str, Any]],
    changes: dict[str, float],
    shares: dict[str, float],
    total: float,
    cur: dt.date,
    has_channels: bool,
    has_spend: bool,
) -> str:
    """Seed 002's sentence: which sources brought the growth, and what the dearest cost.

    The shares are :func:`gain_shares`, the same numbers as the table's.
    """
    t = ctx.t
    names = _source_phrases(ctx, channels=has_channels)
    gross = sum(c for c in changes.values() if math.isfinite(c) and c > 0)
    losses = {s: c for s, c in changes.items() if math.isfinite(c) and c < 0}
    if not shares or not math.isfinite(total):
        return ""
    top = sorted(shares.items(), key=lambda kv: -kv[1])[:3]
    listed = ", ".join(
        t._("{source} {share}").format(source=names.get(s, s), share=t.percent(v)) for s, v in top
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
        amount = t.money(-losses["upsell"])
        text += " " + (
            t._("Existing customers spent {amount} less than the year before.")
            if ctx.period == "year"
            else t._("Existing customers spent {amount} less than the period before.")
        ).format(amount=amount)
    costs = {
        s: to_float(by_source[s].get("spend")) / changes[s]
        for s in shares
        if to_float(by_source[s].get("spend")) > 0
    }
    if has_spend and len(costs) >= 2:
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
