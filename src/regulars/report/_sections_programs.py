"""Sections 8-9: the referral program, guarantee and packages."""

from __future__ import annotations

from typing import Any

import pandas as pd

from regulars.report._charts import OKABE_ITO, bar_chart, records
from regulars.report._context import ReportContext, to_float
from regulars.report._model import Chart, Figure, MissingDataError, Section, TableView
from regulars.report._parts import frame_rows

__all__ = ["guarantee_packages_section", "referrals_section"]


# -- 8. referrals ---------------------------------------------------------------------


def _whole(value: Any) -> int:
    """A count that may be missing (a customer in a referral cycle): missing is 0."""
    return 0 if value is None or pd.isna(value) else int(value)


def _whole_max(column: pd.Series) -> int | None:
    """The largest known count of ``column``, or None when none is known."""
    top = column.max(skipna=True) if len(column) else None
    return None if top is None or pd.isna(top) else int(top)


def referrals_section(ctx: ReportContext) -> Section:
    """The referral tree in numbers, the top referrers and the rewards ledger."""
    t = ctx.t
    section = Section("referrals", t._("Referral program"))
    try:
        ctx.data.require("orders")
        ctx.data.require("referrals")
        per = ctx.data.frame("referrals")
        tree = ctx.data.frame("referral_tree")
        top = ctx.data.frame("top_referrers")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    roots = tree.loc[tree["depth"] == 0]
    # Customers caught in a referral cycle belong to no tree: their sizes are missing.
    largest, deepest = _whole_max(tree["tree_size"]), _whole_max(tree["tree_depth"])
    referred = tree.loc[tree["depth"].fillna(-1) >= 1]
    section.figures.extend(
        [
            Figure(t._("Referred customers"), t.number(len(referred))),
            Figure(
                t._("Customers who referred someone"),
                t.number(int((tree["direct_referrals"] > 0).sum())),
            ),
            Figure(t._("Referral trees"), t.number(len(roots))),
            Figure(
                t._("Largest tree"),
                t.number(largest) if largest is not None else "–",
                detail=t._("deepest chain: {depth} levels").format(depth=t.number(deepest))
                if deepest is not None
                else "",
            ),
        ]
    )
    if not top.empty:
        money = t._("Revenue of referred customers, {currency}").format(currency=t.currency)
        rows = frame_rows(
            top,
            referrer=("customer_id", str),
            direct=("direct_referrals", _whole),
            descendants=("descendants", _whole),
            revenue=("referred_revenue", to_float),
        )
        spec = bar_chart(
            t._("Top referrers: customers they brought"),
            records(rows),
            x="referrer",
            y="direct",
            x_title="",
            y_title=t._("Customers referred directly"),
            x_order=[str(r["referrer"]) for r in rows],
            horizontal=True,
            color_range=[OKABE_ITO["green"]],
            height=max(140, 26 * len(rows)),
            tooltip=[
                ("referrer", t._("Referrer"), "nominal"),
                ("direct", t._("Customers referred directly"), "number"),
                ("descendants", t._("Whole subtree"), "number"),
                ("revenue", money, "money"),
            ],
        )
        section.charts.append(Chart("top-referrers", t._("Top referrers"), spec))
    _rewards(ctx, section)
    problems = ctx.data.frame("referral_problems")
    if not problems.empty:
        section.notes.append(
            t._(
                "{n} referral links cannot be right (self-referrals, cycles, unknown referrers); "
                "their rewards are blocked. See regulars metrics referrals."
            ).format(n=t.number(len(problems)))
        )
    if not per.empty:
        cur, prev = ctx.focus(per["period"].tolist(), strict=False)
        now, before = ctx.row(per, cur), ctx.row(per, prev)
        text = t._("Referrals brought {share} of new customers in {period}").format(
            share=t.percent(to_float(now.get("referred_share_of_new"))), period=ctx.label(cur)
        )
        if before:
            text += t._(" (was {share} in {prev})").format(
                share=t.percent(to_float(before.get("referred_share_of_new"))), prev=ctx.label(prev)
            )
        text += t._(", and referred customers brought {share} of revenue.").format(
            share=t.percent(to_float(now.get("referred_share_of_revenue")))
        )
        section.takeaway = text
    return section


def _rewards(ctx: ReportContext, section: Section) -> None:
    """The rewards ledger summed by status, with its latest lines."""
    t = ctx.t
    ledger = ctx.data.frame("referral_rewards")
    if ledger.empty:
        section.notes.append(
            t._(
                "No reward rules are set, so no rewards are due. Add [[referrals.rules]] to "
                "regulars.toml (fixed amount, percentage or double-sided, with caps)."
            )
        )
        return
    status_names = {
        "pending": t._("Pending (guarantee window open)"),
        "earned": t._("Earned"),
        "capped": t._("Capped"),
        "blocked": t._("Blocked"),
    }
    cur = t.currency
    agg = (
        ledger.groupby("status").agg(n=("referee", "count"), amount=("amount", "sum")).reset_index()
    )
    section.tables.append(
        TableView(
            "reward-ledger",
            t._("Rewards ledger"),
            (t._("Status"), t._("Rewards"), t._("Amount, {currency}").format(currency=cur)),
            tuple(
                (
                    status_names.get(str(r["status"]), str(r["status"])),
                    t.number(int(r["n"])),
                    t.money(to_float(r["amount"])),
                )
                for r in agg.to_dict("records")
            ),
            (False, True, True),
        )
    )
    latest = ledger.sort_values(["earned_at", "referee"], ascending=[False, True]).head(10)
    section.tables.append(
        TableView(
            "reward-ledger-latest",
            t._("Latest rewards"),
            (
                t._("Paid to"),
                t._("For referring"),
                t._("Rule"),
                t._("Amount, {currency}").format(currency=cur),
                t._("Status"),
            ),
            tuple(
                (
                    str(r["payee"]),
                    str(r["referee"]),
                    str(r["rule"]),
                    t.money(to_float(r["amount"]), 2),
                    status_names.get(str(r["status"]), str(r["status"])),
                )
                for r in latest.to_dict("records")
            ),
            (False, False, False, True, False),
        )
    )


# -- 9. guarantee and packages --------------------------------------------------------


def guarantee_packages_section(ctx: ReportContext) -> Section:
    """Refunds inside the guarantee window, and package uptake with its discount."""
    t = ctx.t
    section = Section("guarantee-packages", t._("Guarantee and packages"))
    try:
        ctx.data.require("orders")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    texts = []
    workspace = getattr(ctx.data, "workspace", None)
    days = workspace.config.guarantee.days if workspace is not None else None
    if days == 0:
        # No money-back guarantee (a shop, say): no refund rate "under the guarantee".
        section.notes.append(
            t._(
                "No money-back guarantee: [guarantee] days = 0 in regulars.toml. Set the "
                "window in days to follow refunds under a guarantee."
            )
        )
    else:
        try:
            ctx.data.require("refunds")
            texts.append(_guarantee(ctx, section))
        except MissingDataError as exc:
            section.missing.append(exc.missing)
    kind = workspace.config.workspace.kind if workspace is not None else None
    try:
        ctx.data.require("packages")
        texts.append(_packages(ctx, section))
    except MissingDataError as exc:
        if kind != "shop":  # a shop sells products, not packages: nothing is missing
            section.missing.append(exc.missing)
    section.takeaway = " ".join(x for x in texts if x)
    return section


def _guarantee(ctx: ReportContext, section: Section) -> str:
    t = ctx.t
    g = ctx.data.frame("guarantee")
    types = {"new": t._("New"), "returning": t._("Returning")}
    p_title = ctx.period_title()
    rate = t._("Orders refunded under the guarantee")
    rows = frame_rows(
        g.loc[g["orders"].map(int) > 0],
        period=("period", ctx.label),
        group=("customer_type", lambda v: types.get(str(v), str(v))),
        rate=("refund_rate", to_float),
        orders=("orders", int),
        refunded=("refunded_orders", int),
        refunds=("refunds", to_float),
    )
    spec = bar_chart(
        t._("Refund rate inside the guarantee window"),
        records(rows),
        x="period",
        y="rate",
        x_title=p_title,
        y_title=rate,
        x_order=ctx.period_order(g),
        y_format=".1%",
        color="group",
        color_title=t._("Customers"),
        color_domain=[types["new"], types["returning"]],
        color_range=[OKABE_ITO["orange"], OKABE_ITO["blue"]],
        stacked=False,
        tooltip=[
            ("period", p_title, "nominal"),
            ("group", t._("Customers"), "nominal"),
            ("orders", t._("Orders"), "number"),
            ("refunded", t._("Refunded orders"), "number"),
            ("refunds", t._("Refunds, {currency}").format(currency=t.currency), "money"),
            ("rate", rate, ".1%"),
        ],
    )
    section.charts.append(Chart("guarantee", t._("Guarantee refunds"), spec))
    cur, _prev = ctx.focus(g["period"].tolist(), strict=False)
    now = g.loc[g["period"] == cur]
    by = {str(r["customer_type"]): r for r in now.to_dict("records")}
    new, ret = by.get("new", {}), by.get("returning", {})
    text = t._(
        "Under the guarantee, {new} of new customers' orders were refunded in {period}, against "
        "{ret} for returning customers."
    ).format(
        new=t.percent(to_float(new.get("refund_rate")), 1),
        ret=t.percent(to_float(ret.get("refund_rate")), 1),
        period=ctx.label(cur),
    )
    last = g.loc[g["period"] == g["period"].max()]
    pending = float(last["pending_revenue"].astype(float).sum()) if not last.empty else 0.0
    if pending > 0:
        text += " " + t._("{amount} of revenue is still inside the window (pending).").format(
            amount=t.money(pending)
        )
    return text


def _packages(ctx: ReportContext, section: Section) -> str:
    t = ctx.t
    p = ctx.data.frame("packages")
    if p.empty:
        return ""
    p_title = ctx.period_title()
    share_title = t._("Share of revenue from packages")
    rows = frame_rows(
        p,
        period=("period", ctx.label),
        share=("package_revenue_share", to_float),
        orders=("package_orders", lambda v: int(v or 0)),
        customers=("package_customers", lambda v: int(v or 0)),
        discount=("package_discount", to_float),
        rate=("package_discount_rate", to_float),
    )
    spec = bar_chart(
        t._("Packages: share of revenue, and the discount they cost"),
        records(rows),
        x="period",
        y="share",
        x_title=p_title,
        y_title=share_title,
        x_order=ctx.period_order(p),
        y_format="percent",
        color_range=[OKABE_ITO["purple"]],
        tooltip=[
            ("period", p_title, "nominal"),
            ("orders", t._("Package orders"), "number"),
            ("customers", t._("Package customers"), "number"),
            ("discount", t._("Discount given, {currency}").format(currency=t.currency), "money"),
            ("rate", t._("Discount off list price"), "percent"),
            ("share", share_title, "percent"),
        ],
    )
    section.charts.append(Chart("packages", t._("Packages"), spec))
    cur, _prev = ctx.focus(p["period"].tolist(), strict=False)
    now = ctx.row(p, cur)
    return t._(
        "Packages brought {share} of revenue in {period}, bought by {customers} customers, "
        "at {rate} off list price ({discount})."
    ).format(
        share=t.percent(to_float(now.get("package_revenue_share"))),
        period=ctx.label(cur),
        customers=t.number(to_float(now.get("package_customers"))),
        rate=t.percent(to_float(now.get("package_discount_rate"))),
        discount=t.money(to_float(now.get("package_discount"))),
    )
