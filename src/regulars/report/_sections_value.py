"""Sections 5, 10 and 11: channel economics, customer value, and this week's actions."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from regulars.report._charts import (
    OKABE_ITO,
    bar_chart,
    heatmap,
    interval_chart,
    records,
    scatter_with_line,
)
from regulars.report._context import ReportContext, to_float
from regulars.report._effects import effect_sentences
from regulars.report._i18n import Translator
from regulars.report._model import Chart, MissingDataError, Section, TableView
from regulars.report._parts import frame_rows
from regulars.report._reasons import reason_text
from regulars.report._sections_customers import kind_names

__all__ = ["actions_section", "channels_section", "customer_value_section"]


def channels_section(ctx: ReportContext) -> Section:
    """CAC, payback and CLV:CAC per channel; flags channels the others pay for."""
    t = ctx.t
    section = Section("channels", t._("Channel economics"))
    try:
        ctx.data.require("orders")
        ctx.data.require("channels")
        ce = ctx.data.frame("channel_economics")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    section.notes.extend(_covariate_notes(ctx))
    has_spend = ctx.data.has("spend")
    if not has_spend:
        try:
            ctx.data.require("spend")
        except MissingDataError as exc:
            section.missing.append(exc.missing)
    summary = _channel_summary(ce)
    if summary.empty:
        return section
    kinds = kind_names(ctx)
    cur = t.currency
    per_customer = t._("Per customer, {currency}").format(currency=cur)
    cac_rows: list[dict[str, Any]] = []
    for r in summary.to_dict("records"):
        if has_spend:  # unknown is not zero: no CAC bar without spend data
            cac_rows.append(
                {
                    "channel": r["channel"],
                    "measure": t._("Cost to acquire (CAC)"),
                    "value": r["cac"],
                }
            )
        cac_rows.append(
            {"channel": r["channel"], "measure": t._("First-year profit"), "value": r["fy_profit"]}
        )
    order = summary["channel"].tolist()
    measures = [t._("Cost to acquire (CAC)"), t._("First-year profit")][0 if has_spend else 1 :]
    bar_colors = [OKABE_ITO["vermillion"], OKABE_ITO["blue"]][0 if has_spend else 1 :]
    section.charts.append(
        Chart(
            "channel-cac",
            t._("CAC and first-year profit per channel"),
            bar_chart(
                t._("What a customer costs and what they bring in their first year"),
                records(cac_rows),
                x="channel",
                y="value",
                x_title=t._("Channel"),
                y_title=per_customer,
                x_order=order,
                y_format="money",
                color="measure",
                color_domain=measures,
                color_range=bar_colors,
                stacked=False,
                tooltip=[
                    ("channel", t._("Channel"), "nominal"),
                    ("measure", "", "nominal"),
                    ("value", per_customer, "money"),
                ],
            ),
        )
    )
    ratio_rows = [
        {"channel": r["channel"], "ratio": r["clv_to_cac"], "kind": kinds.get(r["kind"], r["kind"])}
        for r in summary.to_dict("records")
        if has_spend and math.isfinite(r["clv_to_cac"])
    ]
    if ratio_rows:
        section.charts.append(
            Chart(
                "channel-clv-cac",
                t._("CLV:CAC per channel"),
                bar_chart(
                    t._("CLV:CAC: value per unit of acquisition cost"),
                    records(ratio_rows),
                    x="channel",
                    y="ratio",
                    x_title=t._("Channel"),
                    y_title=t._("CLV ÷ CAC"),
                    x_order=[r["channel"] for r in ratio_rows],
                    y_format="ratio",
                    tooltip=[
                        ("channel", t._("Channel"), "nominal"),
                        ("kind", t._("Kind"), "nominal"),
                        ("ratio", t._("CLV ÷ CAC"), "ratio"),
                    ],
                ),
            )
        )
    no_data = t._("no data")
    section.tables.append(
        TableView(
            "channels",
            t._("Channels over the shown cohorts"),
            (
                t._("Channel"),
                t._("Kind"),
                t._("Customers"),
                t._("Spend, {currency}").format(currency=cur),
                t._("CAC, {currency}").format(currency=cur),
                t._("First-year profit per customer, {currency}").format(currency=cur),
                t._("CLV, {currency}").format(currency=cur),
                t._("CLV:CAC"),
                t._("Payback"),
            ),
            tuple(
                (
                    str(r["channel"]),
                    kinds.get(r["kind"], r["kind"]),
                    t.number(r["customers"]),
                    t.money(r["spend"]) if has_spend else no_data,
                    t.money(r["cac"]) if has_spend else no_data,
                    t.money(r["fy_profit"]),
                    t.money(r["clv"]),
                    t.ratio(r["clv_to_cac"]) if has_spend else no_data,
                    _payback_text(ctx, r["payback"]) if has_spend else no_data,
                )
                for r in summary.to_dict("records")
            ),
            (False, False, True, True, True, True, True, True, True),
            note=t._(
                "CAC = spend ÷ customers acquired; CLV from the model scores when they exist, "
                "else profit so far; payback = periods until the cohort's profit covers its spend "
                "(median over cohorts)."
            ),
        )
    )
    section.takeaway = _channels_takeaway(ctx, summary) if has_spend else ""
    return section


def _covariate_notes(ctx: ReportContext) -> list[str]:
    """The effects of the latest covariate fit in plain words (as ``regulars fit
    --covariates`` prints them), or one line on how to get them."""
    t = ctx.t
    effects = ctx.data.frame("covariate_effects")
    if effects.empty:
        return [
            t._(
                "Do customers of one channel kind buy more often or stay longer than cold "
                "ones? Fit the model with the channel kind as a covariate: regulars fit "
                "--covariates channel_kind."
            )
        ]
    references = {
        str(r["column"]): str(r["reference"])
        for r in effects.to_dict("records")
        if isinstance(r.get("reference"), str)
    }
    sentences = effect_sentences(effects.to_dict("records"), references, t)
    if not sentences:
        return []
    lead = t._(
        "How the customers' attributes go with buying and dropping out, from the last fit "
        "with covariates ({model}; 95% intervals; associations, not causes):"
    ).format(model=str(effects["model"].iloc[0]))
    return [lead, *sentences]


def _channel_summary(ce: pd.DataFrame) -> pd.DataFrame:
    """One row per channel over every cohort shown, weighted by customers."""
    rows = []
    for channel, g in ce.groupby("channel", sort=True):
        customers = float(g["customers"].sum())
        spend = float(g["spend"].fillna(0).astype(float).sum())
        done = g.loc[g["first_year_complete"].astype(bool)]
        fy_customers = float(done["customers"].sum())
        fy_profit = (
            float(done["first_year_profit"].astype(float).sum()) / fy_customers
            if fy_customers
            else math.nan
        )
        clv = (
            float((g["clv"].astype(float) * g["customers"]).sum()) / customers
            if customers
            else math.nan
        )
        cac = spend / customers if customers else math.nan
        paid = g.loc[g["spend"].astype(float) > 0, "payback_periods"]
        rows.append(
            {
                "channel": str(channel),
                "kind": str(g["channel_kind"].iloc[0]),
                "customers": customers,
                "spend": spend,
                "cac": cac,
                "fy_profit": fy_profit,
                "clv": clv,
                "clv_to_cac": clv / cac if cac and math.isfinite(cac) and cac > 0 else math.nan,
                "payback": float(paid.median())
                if len(paid) and paid.notna().all()
                else (math.inf if len(paid) else math.nan),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return (
        out.loc[out["customers"] > 0]
        .sort_values(["customers", "channel"], ascending=[False, True])
        .reset_index(drop=True)
    )


def _names(t: Translator, names: Iterable[Any]) -> str:
    """Channel names from the data, comma-separated; each a bidi isolate in Hebrew."""
    return ", ".join(t.isolate(str(n)) for n in names)


def _sentence(text: str) -> str:
    """Trim and start with a capital letter (channel names may be lower case)."""
    text = text.strip()
    return text[:1].upper() + text[1:]


def _payback_text(ctx: ReportContext, periods: float) -> str:
    t = ctx.t
    if math.isnan(periods):
        return t._("no spend")
    if math.isinf(periods):
        return t._("not yet")
    if periods == 0:
        return t._("within the first period")
    n = t.number(periods, 1 if periods % 1 else 0)
    count = math.ceil(periods)
    if ctx.period == "month":
        return t.ngettext("{n} month", "{n} months", count).format(n=n)
    if ctx.period == "quarter":
        return t.ngettext("{n} quarter", "{n} quarters", count).format(n=n)
    return t.ngettext("{n} year", "{n} years", count).format(n=n)


def _channels_takeaway(ctx: ReportContext, summary: pd.DataFrame) -> str:
    t = ctx.t
    losing = summary.loc[(summary["clv_to_cac"] < 1) | (summary["fy_profit"] < summary["cac"])]
    paid = summary.loc[summary["cac"] > 0]
    text = ""
    if len(paid) >= 2:
        dear = paid.sort_values("cac").iloc[-1]
        cheap = paid.sort_values("cac").iloc[0]
        text = t._(
            "A customer from {dear} cost {dear_cac}, {times} as much as one from {cheap} "
            "({cheap_cac})."
        ).format(
            dear=t.isolate(str(dear["channel"])),
            dear_cac=t.money(dear["cac"]),
            times=t.ratio(dear["cac"] / cheap["cac"]),
            cheap=t.isolate(str(cheap["channel"])),
            cheap_cac=t.money(cheap["cac"]),
        )
    free = summary.loc[(summary["spend"] == 0)]
    if not free.empty:
        text += " " + _sentence(
            t._("{channels} cost nothing to acquire.").format(channels=_names(t, free["channel"]))
        )
    if not losing.empty:
        text += " " + _sentence(
            t._(
                "{channels} do not pay for themselves in the first year: the other channels pay "
                "for "
                "them."
            ).format(channels=_names(t, losing["channel"]))
        )
    else:
        text += " " + t._("Every channel earns back its acquisition cost within the first year.")
    try:
        funding = ctx.data.frame("cold_funding")
    except MissingDataError:
        return _sentence(text)
    if not funding.empty:
        cur, _prev = ctx.focus(funding["period"].tolist(), strict=False)
        row = ctx.row(funding, cur)
        net = to_float(row.get("cold_net"))
        if math.isfinite(net) and net < 0:
            text += " " + t._("In {period} cold acquisition lost {loss}, {covered}").format(
                period=ctx.label(cur),
                loss=t.money(-net),
                covered=t._("covered by the other sources.")
                if row.get("funded")
                else t._("and the other sources could not cover it."),
            )
    return _sentence(text)


def customer_value_section(ctx: ReportContext) -> Section:
    """CLV distribution, P(alive) by orders and time since the last one, the holdout fit."""
    t = ctx.t
    section = Section("customer-value", t._("Customer value"))
    section.notes.extend(_preparation_notes(ctx))
    try:
        ctx.data.require("scores")
        hist = ctx.data.frame("clv_histogram")
        matrix = ctx.data.frame("p_alive_matrix")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    cur = t.currency
    clv_title = t._("CLV, {currency}").format(currency=cur)
    n_title = t._("Customers")
    if not hist.empty:
        rows = frame_rows(
            hist, bin=("label", str), customers=("customers", int), clv=("clv", to_float)
        )
        section.charts.append(
            Chart(
                "clv-distribution",
                t._("CLV distribution"),
                bar_chart(
                    t._("How customer lifetime value is spread"),
                    records(rows),
                    x="bin",
                    y="customers",
                    x_title=clv_title,
                    y_title=n_title,
                    x_order=[str(r["bin"]) for r in rows],
                    color_range=[OKABE_ITO["blue"]],
                    tooltip=[
                        ("bin", clv_title, "nominal"),
                        ("customers", n_title, "number"),
                        (
                            "clv",
                            t._("Their CLV together, {currency}").format(currency=cur),
                            "money",
                        ),
                    ],
                ),
            )
        )
    if not matrix.empty:
        orders_title = t._("Repeat orders")
        gap_title = t._("Months since the last order")
        p_title = t._("P(alive)")
        rows = frame_rows(
            matrix,
            orders=("frequency_bin", str),
            gap=("gap_bin", str),
            p_alive=("p_alive", to_float),
            customers=("customers", int),
        )
        section.charts.append(
            Chart(
                "p-alive-matrix",
                t._("P(alive) by orders and recency"),
                heatmap(
                    t._("P(alive) by repeat orders and recency"),
                    records(rows),
                    x="gap",
                    y="orders",
                    value="p_alive",
                    x_title=gap_title,
                    y_title=orders_title,
                    value_title=p_title,
                    x_order=list(
                        dict.fromkeys(matrix.sort_values("gap_order")["gap_bin"].astype(str))
                    ),
                    y_order=list(
                        dict.fromkeys(
                            matrix.sort_values("frequency_order", ascending=False)[
                                "frequency_bin"
                            ].astype(str)
                        )
                    ),
                    scheme="viridis",
                    domain=(0.0, 1.0),
                    cell=34,
                    tooltip=[
                        ("orders", orders_title, "nominal"),
                        ("gap", gap_title, "nominal"),
                        ("customers", n_title, "number"),
                        ("p_alive", p_title, "percent"),
                    ],
                ),
            )
        )
    _top_customers(ctx, section)
    _holdout(ctx, section)
    _model_choice(ctx, section)
    summary = ctx.data.frame("score_summary")
    if not summary.empty and math.isfinite(to_float(summary.iloc[0]["top20_share"])):
        r = summary.iloc[0]
        section.takeaway = t._(
            "The {top} most valuable customers hold {share} of the expected value of the "
            "book ({total}); {at_risk} customers who used to buy are now more likely gone "
            "than active."
        ).format(
            top=t.percent(0.2),
            share=t.percent(to_float(r["top20_share"])),
            total=t.money(to_float(r["total_clv"])),
            at_risk=t.number(int(r["likely_gone_repeaters"])),
        )
    elif not summary.empty:
        section.takeaway = t._(
            "{at_risk} customers who used to buy are now more likely gone than active."
        ).format(at_risk=t.number(int(summary.iloc[0]["likely_gone_repeaters"])))
    return section


def _top_customers(ctx: ReportContext, section: Section) -> None:
    """The most valuable customers, each score with its 90% interval where it has one."""
    t = ctx.t
    top = ctx.data.frame("top_customers")
    if top.empty:
        return
    top_rows = top.to_dict("records")
    has_clv = bool(top["clv"].notna().any()) and t.amounts
    columns = [t._("Customer")]
    if has_clv:
        columns.append(t._("CLV, {currency}").format(currency=t.currency))
    columns += [t._("P(alive)"), t._("Expected orders in the next year")]
    rows = []
    for r in top_rows:
        row = [str(r["name"])]
        if has_clv:
            row.append(t.money_interval(r["clv"], r["clv_low"], r["clv_high"]))
        row.append(t.percent_interval(r["p_alive"], r["p_alive_low"], r["p_alive_high"]))
        row.append(
            t.number_interval(
                r["expected_orders_365d"],
                r["expected_orders_365d_low"],
                r["expected_orders_365d_high"],
            )
        )
        rows.append(tuple(row))
    section.tables.append(
        TableView(
            "top-customers",
            t._("Most valuable customers") if has_clv else t._("Customers expected to buy most"),
            tuple(columns),
            tuple(rows),
            (False, *([True] * (len(columns) - 1))),
            note=t._(
                "In brackets: the 90% interval from the uncertainty of the fitted model. A "
                "wide interval means the model is unsure of this customer: weigh it before "
                "acting on the number. Scores without one predate the intervals (run "
                "regulars score again)."
            ),
        )
    )


def _preparation_notes(ctx: ReportContext) -> list[str]:
    """What the report fitted before it was written, or why it could not."""
    t = ctx.t
    prep = getattr(ctx.data, "preparation", None)
    if prep is None:
        return []
    notes = []
    if prep.fitted:
        notes.append(
            t._(
                "The models were fitted for this report on the orders up to {date}: {model} "
                "(regulars report --no-fit skips this)."
            ).format(date=t.date(ctx.data.observation_end()), model=prep.model)
        )
    notes.extend(prep.notes)  # the fit's own notes (a skipped holdout check, say)
    notes.extend(
        t._("The models could not be fitted: {problem}").format(problem=p) for p in prep.problems
    )
    return notes


def _holdout(ctx: ReportContext, section: Section) -> None:
    """Actual vs predicted holdout orders per calibration frequency, and the verdict."""
    t = ctx.t
    try:
        ctx.data.require("holdout")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return
    bins = ctx.data.frame("holdout_bins")
    actual, predicted = t._("Actual"), t._("Predicted")
    if not bins.empty:
        section.charts.append(
            Chart(
                "holdout-frequency",
                t._("Holdout: actual vs predicted orders"),
                scatter_with_line(
                    t._("Holdout check: mean orders per customer, actual vs predicted"),
                    records(bins.to_dict("records")),
                    x="frequency",
                    series=[
                        ("actual", actual, OKABE_ITO["black"]),
                        ("predicted", predicted, OKABE_ITO["orange"]),
                    ],
                    x_title=t._("Repeat orders in the calibration period"),
                    y_title=t._("Orders in the holdout period, per customer"),
                    x_order=bins["frequency"].tolist(),
                ),
            )
        )
    check = ctx.data.frame("holdout_check")
    tracking = ctx.data.frame("holdout_tracking")
    if not check.empty and not tracking.empty:
        r = check.iloc[0]
        unit = str(r.get("time_unit") or "D")
        since = t.date(pd.Timestamp(r["calibration_end"]).date())
        x_title = {
            "D": t._("Days after {date}"),
            "W": t._("Weeks after {date}"),
            "M": t._("Months after {date}"),
        }.get(unit, t._("Days after {date}")).format(date=since)
        section.charts.append(
            Chart(
                "holdout-tracking",
                t._("Tracking curve"),
                scatter_with_line(
                    t._("Tracking: cumulative repeat orders in the holdout, actual vs the model"),
                    records(tracking.to_dict("records")),
                    x="t",
                    series=[
                        ("actual", actual, OKABE_ITO["black"]),
                        ("predicted", predicted, OKABE_ITO["orange"]),
                    ],
                    x_title=x_title,
                    y_title=t._("Cumulative repeat orders"),
                    x_type="quantitative",
                    y_format="number",
                ),
            )
        )
    if not check.empty:
        r = check.iloc[0]
        error = to_float(r["error"])
        quality = {"good": t._("good"), "fair": t._("fair"), "poor": t._("poor")}.get(
            str(r["quality"]), str(r["quality"])
        )
        section.notes.append(
            t._(
                "Holdout check ({model}, fitted on orders to {cal}): the model predicted "
                "{predicted} repeat orders up to {end} and {actual} happened, an error of "
                "{error}; the fit is {quality}."
            ).format(
                model=str(r["model"]),
                cal=t.date(pd.Timestamp(r["calibration_end"]).date()),
                end=t.date(pd.Timestamp(r["observation_end"]).date()),
                predicted=t.number(to_float(r["predicted_total"])),
                actual=t.number(to_float(r["actual_total"])),
                error=t.isolate(
                    ("+" if error > 0 else "−" if error < 0 else "") + t.percent(abs(error), 1)
                ),
                quality=quality,
            )
        )


def _model_choice(ctx: ReportContext, section: Section) -> None:
    """Which models were compared on the holdout, which was chosen, and any problem the
    checks found with the fitted models (``regulars fit`` prints the same)."""
    t = ctx.t
    frame = ctx.data.frame("model_choice")
    if frame.empty:
        return
    candidates = frame[frame["kind"] == "candidate"]
    if not candidates.empty:

        def err(value: Any) -> str:
            number = to_float(value)
            return "–" if number is None or not math.isfinite(number) else t.percent(number, 1)

        section.tables.append(
            TableView(
                "model-choice",
                t._("Models compared on the holdout period"),
                (
                    t._("Model"),
                    t._("Total error"),
                    t._("Error per customer"),
                    t._("Tracking error"),
                    t._("Checks"),
                ),
                tuple(
                    (
                        str(r["model"]) + (" ✓" if r["chosen"] else ""),
                        err(r["aggregate_error"]),
                        err(r["customer_error"]),
                        err(r["tracking_error"]),
                        t._("problems found")
                        if r["problems"]
                        else t._("regularised fit")
                        if r.get("regularised")
                        else t._("passed"),
                    )
                    for r in candidates.to_dict("records")
                ),
                (False, True, True, True, False),
                note=t._(
                    "Each model is fitted on the orders before the holdout period and "
                    "predicts it; ✓ marks the one kept, the best that passed its checks (a "
                    "regularised fit does not pass: its plain fit failed)."
                ),
            )
        )
    for r in frame[frame["kind"] == "problem"].to_dict("records"):
        section.notes.append(
            t._("Model check ({model}): {message}").format(
                model=str(r["model"]), message=str(r["message"])
            )
        )


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
        # Grouped in the engine; only the top of the list is read row by row.
        by_pb = ctx.data.frame("actions_by_playbook")
        top = ctx.data.frame("top_actions")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    names = playbook_names(ctx)
    money = t._("Value at stake, {currency}").format(currency=t.currency)
    rows = frame_rows(
        by_pb,
        playbook=("playbook", lambda v: names.get(str(v), str(v))),
        actions=("actions", int),
        value=("value", to_float),
    )
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
                    reason_text(t, r),
                    t.money(to_float(r["value_at_stake"])),
                    t.date(pd.Timestamp(r["due"]).date()) if pd.notna(r["due"]) else "–",
                )
                for r in top.to_dict("records")
            ),
            (False, False, False, True, True),
        )
    )
    total = float(by_pb["value"].astype(float).sum())
    n_open = int(by_pb["actions"].sum())
    section.takeaway = t.ngettext(
        "{n} action is open this week, with {value} at stake; start with {customer}.",
        "{n} actions are open this week, with {value} at stake; start with {customer}.",
        n_open,
    ).format(
        n=t.number(n_open),
        value=t.money(total),
        customer=t.isolate(str(top.iloc[0]["name"])),
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
    rows = frame_rows(
        ready,
        playbook=("playbook", lambda v: names.get(str(v), str(v))),
        lift=("repurchase_lift", to_float),
        low=("repurchase_lift_low", to_float),
        high=("repurchase_lift_high", to_float),
        treated=("treated", int),
        held_out=("held_out", int),
    )
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
