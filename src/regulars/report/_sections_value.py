"""Sections 5, 10 and 11: channel economics, customer value, and this week's actions."""

from __future__ import annotations

import pandas as pd

from regulars.report._charts import bar_chart, interval_chart, records
from regulars.report._context import ReportContext, to_float
from regulars.report._model import Chart, MissingDataError, Section, TableView

__all__ = ["actions_section", "channels_section", "customer_value_section"]


def channels_section(ctx: ReportContext) -> Section:
    """CAC, payback and CLV:CAC per channel; flags channels the others pay for."""
    t = ctx.t
    section = Section("channels", t._("Channel economics"))
    for kind in ("channels", "spend"):
        try:
            ctx.data.require(kind)
        except MissingDataError as exc:
            section.missing.append(exc.missing)
    return section


def customer_value_section(ctx: ReportContext) -> Section:
    """CLV distribution, P(alive) by frequency and recency, and the holdout fit."""
    t = ctx.t
    section = Section("customer-value", t._("Customer value"))
    try:
        ctx.data.require("scores")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
    return section


def playbook_names(ctx: ReportContext) -> dict[str, str]:
    """Playbooks as the reader sees them."""
    t = ctx.t
    return {
        "keep_in_touch": t._("Keep in touch"),
        "next_step": t._("Offer the next step"),
        "package_offer": t._("Offer a package"),
        "ask_for_referral": t._("Ask for a referral"),
        "renewal_due": t._("Renewal due"),
        "win_back": t._("Win back"),
        "guarantee_check_in": t._("Guarantee check-in"),
        "pay_referral_reward": t._("Pay a referral reward"),
    }


def actions_section(ctx: ReportContext) -> Section:
    """The top actions of the week with their reasons, and playbook effectiveness."""
    t = ctx.t
    section = Section("actions", t._("This week's actions"))
    try:
        ctx.data.require("actions")
        acts = ctx.data.frame("open_actions")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    names = playbook_names(ctx)
    money = t._("Value at stake, {currency}").format(currency=t.currency)
    by_pb = (
        acts.groupby("playbook")
        .agg(actions=("action_id", "count"), value=("value_at_stake", "sum"))
        .reset_index()
        .sort_values(["value", "playbook"], ascending=[False, True])
    )
    rows = [
        {
            "playbook": names.get(str(r["playbook"]), str(r["playbook"])),
            "actions": int(r["actions"]),
            "value": to_float(r["value"]),
        }
        for r in by_pb.to_dict("records")
    ]
    order = [str(r["playbook"]) for r in rows]
    spec = bar_chart(
        t._("Open actions by playbook: money at stake"),
        records(rows),
        x="playbook",
        y="value",
        x_title="",
        y_title=money,
        x_order=order,
        y_format="money",
        horizontal=True,
        height=max(120, 34 * len(rows)),
        tooltip=[
            ("playbook", t._("Playbook"), "nominal"),
            ("actions", t._("Open actions"), "number"),
            ("value", money, "money"),
        ],
    )
    section.charts.append(Chart("actions-by-playbook", t._("Actions by playbook"), spec))
    top = acts.head(10)
    section.tables.append(
        TableView(
            "top-actions",
            t._("Top actions this week"),
            (
                t._("Customer"),
                t._("Playbook"),
                t._("Why"),
                money,
                t._("Due"),
            ),
            tuple(
                (
                    str(r["name"]),
                    names.get(str(r["playbook"]), str(r["playbook"])),
                    str(r["reason"] or ""),
                    t.money(to_float(r["value_at_stake"])),
                    t.date(pd.Timestamp(r["due"]).date()) if pd.notna(r["due"]) else "–",
                )
                for r in top.to_dict("records")
            ),
            (False, False, False, True, True),
        )
    )
    total = float(acts["value_at_stake"].astype(float).sum())
    section.takeaway = t.ngettext(
        "{n} action is open this week, with {value} at stake; start with {customer}.",
        "{n} actions are open this week, with {value} at stake; start with {customer}.",
        len(acts),
    ).format(
        n=t.number(len(acts)),
        value=t.money(total),
        customer=str(top.iloc[0]["name"]),
    )
    _effectiveness(ctx, section)
    return section


def _effectiveness(ctx: ReportContext, section: Section) -> None:
    """Treated vs held-out repurchase per playbook, with the confidence interval."""
    t = ctx.t
    eff = ctx.data.frame("playbook_effectiveness")
    names = playbook_names(ctx)
    ready = eff.loc[(eff["treated"] > 0) & (eff["held_out"] > 0)] if not eff.empty else eff
    if ready.empty:
        pending = int(eff["pending"].sum()) if not eff.empty else 0
        section.notes.append(
            t._(
                "Playbook effectiveness appears once actions are older than the effect "
                "window: then treated customers are compared with the random holdout "
                "({pending} actions are still inside the window)."
            ).format(pending=t.number(pending))
        )
        return
    lift = t._("Repurchase lift (treated − held out)")
    rows = [
        {
            "playbook": names.get(str(r["playbook"]), str(r["playbook"])),
            "lift": to_float(r["repurchase_lift"]),
            "low": to_float(r["repurchase_lift_low"]),
            "high": to_float(r["repurchase_lift_high"]),
            "treated": int(r["treated"]),
            "held_out": int(r["held_out"]),
        }
        for r in ready.to_dict("records")
    ]
    spec = interval_chart(
        t._("Does it work? Repurchase lift against the holdout, with 95% interval"),
        records(rows),
        y="playbook",
        x="lift",
        low="low",
        high="high",
        x_title=lift,
        y_title="",
        tooltip=[
            ("playbook", t._("Playbook"), "nominal"),
            ("treated", t._("Treated customers"), "number"),
            ("held_out", t._("Held-out customers"), "number"),
            ("lift", lift, "percent"),
            ("low", t._("Interval from"), "percent"),
            ("high", t._("Interval to"), "percent"),
        ],
    )
    section.charts.append(Chart("playbook-effectiveness", t._("Playbook effectiveness"), spec))
    section.tables.append(
        TableView(
            "playbook-effectiveness",
            t._("Playbook effectiveness"),
            (
                t._("Playbook"),
                t._("Treated"),
                t._("Held out"),
                t._("Repurchase, treated"),
                t._("Repurchase, held out"),
                t._("Lift (95% interval)"),
                t._("Extra revenue, {currency}").format(currency=t.currency),
            ),
            tuple(
                (
                    names.get(str(r["playbook"]), str(r["playbook"])),
                    t.number(int(r["treated"])),
                    t.number(int(r["held_out"])),
                    t.percent(to_float(r["treated_repurchase"])),
                    t.percent(to_float(r["held_out_repurchase"])),
                    t._("{lift} ({low} to {high})").format(
                        lift=t.percent(to_float(r["repurchase_lift"])),
                        low=t.percent(to_float(r["repurchase_lift_low"])),
                        high=t.percent(to_float(r["repurchase_lift_high"])),
                    ),
                    t.money(to_float(r["incremental_revenue"])),
                )
                for r in ready.to_dict("records")
            ),
            (False, True, True, True, True, True, True),
        )
    )
    proven = [
        names.get(str(r["playbook"]), str(r["playbook"]))
        for r in ready.to_dict("records")
        if to_float(r["repurchase_lift_low"]) > 0
    ]
    section.notes.append(
        t._("Playbooks whose lift is clearly above zero: {names}.").format(names=", ".join(proven))
        if proven
        else t._("No playbook has a lift clearly above zero yet; keep the holdout running.")
    )
