"""Sections 6-7: cohorts and retention, subscriptions."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from regulars.report._charts import (
    OKABE_ITO,
    heatmap,
    line_chart,
    projection_chart,
    records,
)
from regulars.report._context import ReportContext, share, to_float
from regulars.report._model import Chart, MissingDataError, Section
from regulars.report._parts import movement_chart

__all__ = [
    "cohorts_section",
    "kind_names",
    "subscriptions_section",
]

_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
_KIND_COLORS = {
    "referral": OKABE_ITO["green"],
    "cold": OKABE_ITO["vermillion"],
    "organic": OKABE_ITO["blue"],
    "partner": OKABE_ITO["purple"],
    "other": OKABE_ITO["grey"],
}


def kind_names(ctx: ReportContext) -> dict[str, str]:
    """Channel kinds as the reader sees them."""
    t = ctx.t
    return {
        "referral": t._("Referral"),
        "cold": t._("Cold"),
        "organic": t._("Organic"),
        "partner": t._("Partner"),
        "other": t._("Other"),
    }


def _since_title(ctx: ReportContext) -> str:
    t = ctx.t
    return {
        "month": t._("Months since first order"),
        "quarter": t._("Quarters since first order"),
        "year": t._("Years since first order"),
    }[ctx.period]


# -- 6. cohorts -----------------------------------------------------------------------


#: An age is drawn only when at least this many cohorts reached it...
MIN_COHORTS = 3
#: ... holding at least this share of the customers of the curve.
MIN_CUSTOMER_SHARE = 0.05


def _acquisition_cohorts(df: pd.DataFrame) -> pd.DataFrame:
    """Cohorts whose first order is their real first order (not left-censored)."""
    if "left_censored" in df.columns:
        return df.loc[~df["left_censored"].astype(bool)]
    return df


def survival_by_age(df: pd.DataFrame, ctx: ReportContext) -> pd.DataFrame:
    """Share still ordering at each age, over the cohorts that reached that age.

    One row per ``periods_since``: ``cohorts`` (how many reached the age, its calendar
    period complete), ``customers`` (their size together), ``retention`` (their active
    customers ÷ their size: the size-weighted average) and ``reliable`` (at least
    :data:`MIN_COHORTS` cohorts and :data:`MIN_CUSTOMER_SHARE` of the customers).
    Left-censored cohorts are left out: their age is not known.
    """
    cols = ["periods_since", "cohorts", "customers", "retention", "reliable"]
    df = _acquisition_cohorts(df)
    if df.empty:
        return pd.DataFrame(columns=cols)
    everyone = float(df.loc[df["periods_since"] == 0, "cohort_customers"].sum())
    reached = df.loc[[ctx.is_complete(p) for p in df["period"]]]
    out = []
    for k, g in reached.groupby("periods_since"):
        customers = float(g["cohort_customers"].sum())
        out.append(
            {
                "periods_since": int(str(k)),
                "cohorts": int(g["cohort"].nunique()),
                "customers": customers,
                "retention": share(float(g["active_customers"].sum()), customers),
                "reliable": g["cohort"].nunique() >= MIN_COHORTS
                and everyone > 0
                and customers >= MIN_CUSTOMER_SHARE * everyone,
            }
        )
    return pd.DataFrame(out, columns=cols)


def _weighted_retention(df: pd.DataFrame, k: int, ctx: ReportContext) -> tuple[float, int]:
    """Retention ``k`` periods after acquisition, size-weighted over the cohorts that
    reached it; NaN unless enough cohorts did (see :func:`survival_by_age`)."""
    ages = survival_by_age(df, ctx)
    row = ages.loc[ages["periods_since"] == k]
    if row.empty or not bool(row.iloc[0]["reliable"]):
        return math.nan, 0
    return float(row.iloc[0]["retention"]), int(row.iloc[0]["cohorts"])


def cohorts_section(ctx: ReportContext) -> Section:
    """Heatmaps of customer and revenue retention by cohort, and retention curves."""
    t = ctx.t
    section = Section("cohorts", t._("Cohorts and retention"))
    try:
        ctx.data.require("orders")
        df = ctx.data.frame("cohort_retention")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    if df.empty:
        return section
    cohorts = sorted(df["cohort"].unique().tolist())
    y_order = ctx.labels(cohorts)
    since = _since_title(ctx)
    cohort_title = t._("Cohort (first order)")
    rows = [
        {
            "cohort": ctx.label(r["cohort"]),
            "since": int(r["periods_since"]),
            "customers": int(r["cohort_customers"]),
            "active": int(r["active_customers"]),
            "retention": to_float(r["retention"]),
            "revenue_retention": to_float(r["revenue_retention"]),
            "revenue": to_float(r["revenue"]),
        }
        for r in df.to_dict("records")
    ]
    data = records(rows)
    max_since = int(df["periods_since"].max())
    x_order = list(range(max_since + 1))
    common: dict[str, Any] = {
        "x": "since",
        "y": "cohort",
        "x_title": since,
        "y_title": cohort_title,
        "y_order": y_order,
        "x_order": x_order,
    }
    cust = heatmap(
        t._("Share of each cohort that ordered again"),
        data,
        value="retention",
        value_title=t._("Customers ordering"),
        domain=(0.0, 1.0),
        tooltip=[
            ("cohort", cohort_title, "nominal"),
            ("since", since, "number"),
            ("customers", t._("Cohort size"), "number"),
            ("active", t._("Customers ordering"), "number"),
            ("retention", t._("Share of cohort"), "percent"),
        ],
        **common,
    )
    rev = heatmap(
        t._("Revenue of each cohort, relative to its first period"),
        data,
        value="revenue_retention",
        value_title=t._("Revenue vs first period"),
        scheme="greens",
        domain=(0.0, 1.5),
        tooltip=[
            ("cohort", cohort_title, "nominal"),
            ("since", since, "number"),
            ("revenue", t._("Revenue, {currency}").format(currency=t.currency), "money"),
            ("revenue_retention", t._("Revenue vs first period"), "percent"),
        ],
        **common,
    )
    section.charts.append(Chart("cohort-customers", t._("Customer retention by cohort"), cust))
    section.charts.append(Chart("cohort-revenue", t._("Revenue retention by cohort"), rev))

    # Retention curves: all customers, and per channel kind when channels are known.
    curves: list[dict[str, Any]] = []
    groups: list[str] = []
    colors: list[str] = []
    label_all = t._("All customers")

    hidden: list[int] = []

    def add_curve(frame: pd.DataFrame, label: str, color: str) -> None:
        ages = survival_by_age(frame, ctx)
        for r in ages.to_dict("records"):
            if not r["reliable"]:
                if label == label_all:
                    hidden.append(int(r["periods_since"]))
                continue
            curves.append(
                {
                    "since": int(r["periods_since"]),
                    "group": label,
                    "retention": r["retention"],
                    "cohorts": int(r["cohorts"]),
                    "customers": int(r["customers"]),
                }
            )
        groups.append(label)
        colors.append(color)

    add_curve(df, label_all, OKABE_ITO["black"])
    kind_note = ""
    if ctx.data.has("channels") or ctx.data.has("referrals"):
        by_kind = ctx.data.frame("cohort_retention_by_kind")
        names = kind_names(ctx)
        for kind in _KIND_COLORS:
            sub = by_kind.loc[by_kind["channel_kind"] == kind]
            if not sub.empty:
                add_curve(sub, names[kind], _KIND_COLORS[kind])
        kind_note = _kind_takeaway(ctx, by_kind)
    if curves:  # else the note below says why no age is drawn
        section.charts.append(
            Chart(
                "retention-curves",
                t._("Retention curves"),
                line_chart(
                    t._("Share of customers still ordering, by periods since their first order"),
                    records(curves),
                    x="since",
                    y="retention",
                    x_title=since,
                    y_title=t._("Customers ordering"),
                    x_type="quantitative",
                    y_format="percent",
                    color="group",
                    color_title="",
                    color_domain=groups,
                    color_range=colors,
                    tooltip=[
                        ("group", "", "nominal"),
                        ("since", since, "number"),
                        ("retention", t._("Customers ordering"), "percent"),
                        ("cohorts", t._("Cohorts that reached this age"), "number"),
                        ("customers", t._("Their customers"), "number"),
                    ],
                ),
                wide=True,
            )
        )
    if hidden:
        section.notes.append(
            t._(
                "The curves average the cohorts that reached each age, weighted by size. Ages "
                "reached by fewer than {n} cohorts or {share} of the customers are not drawn "
                "({ages}): one old cohort's survivors would read as everyone's."
            ).format(
                n=t.number(MIN_COHORTS),
                share=t.percent(MIN_CUSTOMER_SHARE),
                ages=", ".join(t.number(a) for a in sorted(hidden)),
            )
        )
    censored = _censored_cohorts(df)
    if censored:
        section.notes.append(
            t._(
                "{cohorts}: customers who were already customers when the data start, not an "
                "acquisition cohort; left out of the curves."
            ).format(cohorts=", ".join(ctx.label(c) for c in censored))
        )
    k = _PER_YEAR[ctx.period]
    ret, n = _weighted_retention(df, k, ctx)
    nrr_text = _nrr_text(ctx, section)
    if math.isfinite(ret):
        section.takeaway = (
            t._(
                "{share} of customers were still ordering a year after their first order (over "
                "{n} cohorts)."
            ).format(share=t.percent(ret), n=n)
            + nrr_text
            + kind_note
        )
    else:
        section.takeaway = (t._("No cohort is a year old yet.") + nrr_text + kind_note).strip()
    return section


def _censored_cohorts(df: pd.DataFrame) -> list[Any]:
    if "left_censored" not in df.columns:
        return []
    return sorted(df.loc[df["left_censored"].astype(bool), "cohort"].unique().tolist())


def _nrr_text(ctx: ReportContext, section: Section) -> str:
    """NRR and GRR of the latest period that, like its base a year before, is complete."""
    t = ctx.t
    try:
        rr = ctx.data.frame("revenue_retention")
    except MissingDataError as exc:  # pragma: no cover - orders exist here
        section.missing.append(exc.missing)
        return ""
    rr = rr.dropna(subset=["nrr"])
    bases = rr["base_period"] if "base_period" in rr.columns else [None] * len(rr)
    keep = [
        ctx.is_complete(p) and (b is None or ctx.is_complete(pd.Timestamp(b).date()))
        for p, b in zip(rr["period"], bases, strict=True)
    ]
    rr = rr.loc[keep]
    if rr.empty:
        return " " + t._(
            "Net revenue retention needs a complete period and the complete period a year "
            "before it; the data do not have both yet."
        )
    last = rr.sort_values("period").iloc[-1]
    return " " + t._(
        "Net revenue retention over the year to {period} was {nrr} and gross revenue "
        "retention {grr}."
    ).format(
        period=ctx.label(last["period"]),
        nrr=t.percent(to_float(last.get("nrr"))),
        grr=t.percent(to_float(last.get("grr"))),
    )


def _kind_takeaway(ctx: ReportContext, by_kind: pd.DataFrame) -> str:
    t = ctx.t
    k = _PER_YEAR[ctx.period]
    at_k = by_kind.loc[by_kind["periods_since"] == k]
    vals = {}
    for kind in ("referral", "cold"):
        sub = at_k.loc[at_k["channel_kind"] == kind]
        if not sub.empty and float(sub["cohort_customers"].sum()) >= 10:
            vals[kind] = share(
                float(sub["active_customers"].sum()), float(sub["cohort_customers"].sum())
            )
    if len(vals) == 2:
        return " " + t._("Referred customers kept {ref}, cold-acquired ones {cold}.").format(
            ref=t.percent(vals["referral"]), cold=t.percent(vals["cold"])
        )
    return ""


# -- 7. subscriptions -----------------------------------------------------------------

_MRR_PARTS = ("new", "expansion", "reactivation", "contraction", "churned")
_MRR_COLORS = {
    "new": OKABE_ITO["orange"],
    "expansion": OKABE_ITO["blue"],
    "reactivation": OKABE_ITO["green"],
    "contraction": OKABE_ITO["purple"],
    "churned": OKABE_ITO["vermillion"],
}
_BILLING_COLORS = {
    "week": OKABE_ITO["purple"],
    "month": OKABE_ITO["blue"],
    "quarter": OKABE_ITO["green"],
    "year": OKABE_ITO["orange"],
}


def _billing_names(ctx: ReportContext) -> dict[str, str]:
    t = ctx.t
    return {
        "week": t._("Weekly plans"),
        "month": t._("Monthly plans"),
        "quarter": t._("Quarterly plans"),
        "year": t._("Yearly plans"),
    }


def subscriptions_section(ctx: ReportContext) -> Section:
    """MRR movements, renewal rates and the sBG projection."""
    t = ctx.t
    section = Section("subscriptions", t._("Subscriptions"))
    try:
        ctx.data.require("subscriptions")
        mov = ctx.data.frame("subscription_movements")
        ren = ctx.data.frame("renewal_rates")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
        return section
    names = {
        "new": t._("New"),
        "expansion": t._("Expansion"),
        "reactivation": t._("Reactivation"),
        "contraction": t._("Contraction"),
        "churned": t._("Churned"),
    }
    if not mov.empty:
        spec = movement_chart(
            ctx,
            mov,
            parts=_MRR_PARTS,
            names=names,
            colors=_MRR_COLORS,
            negative=("contraction", "churned"),
            title=t._("MRR movements: what was added and lost"),
            y_title=t._("MRR change, {currency}").format(currency=t.currency),
        )
        section.charts.append(Chart("mrr-movements", t._("MRR movements"), spec))
    billing = _billing_names(ctx)
    curve_rows: list[dict[str, Any]] = []
    groups: list[str] = []
    colors: list[str] = []
    for bp in ("week", "month", "quarter", "year"):
        sub = ren.loc[ren["billing_period"] == bp].sort_values("renewal")
        sub = sub.loc[sub["reached"] >= 5]
        if sub.empty:
            continue
        kept = 1.0
        curve_rows.append(
            {"renewal": 0, "plan": billing[bp], "kept": 1.0, "rate": None, "reached": None}
        )
        for r in sub.to_dict("records"):
            kept *= to_float(r["renewal_rate"])
            curve_rows.append(
                {
                    "renewal": int(r["renewal"]),
                    "plan": billing[bp],
                    "kept": kept,
                    "rate": to_float(r["renewal_rate"]),
                    "reached": int(r["reached"]),
                }
            )
        groups.append(billing[bp])
        colors.append(_BILLING_COLORS[bp])
    if curve_rows:
        kept_title = t._("Still subscribed")
        spec = line_chart(
            t._("Share of subscriptions still running after each renewal"),
            records(curve_rows),
            x="renewal",
            y="kept",
            x_title=t._("Renewals"),
            y_title=kept_title,
            x_type="quantitative",
            y_format="percent",
            color="plan",
            color_domain=groups,
            color_range=colors,
            tooltip=[
                ("plan", "", "nominal"),
                ("renewal", t._("Renewals"), "number"),
                ("reached", t._("Reached this renewal"), "number"),
                ("rate", t._("Renewal rate"), "percent"),
                ("kept", kept_title, "percent"),
            ],
        )
        section.charts.append(Chart("renewal-rates", t._("Renewal rates"), spec))
    _sbg_chart(ctx, section)
    section.takeaway = _subscriptions_takeaway(ctx, mov, ren)
    return section


def _sbg_chart(ctx: ReportContext, section: Section) -> None:
    """Observed and sBG-projected survival of the latest start cohorts."""
    t = ctx.t
    proj = ctx.data.frame("subscription_projection")
    if proj.empty or proj["projected_survival"].notna().sum() == 0:
        return
    fitted = proj.loc[proj["projected_survival"].notna(), "cohort"].unique().tolist()
    cohorts = sorted(fitted)[-4:]
    labels = [t.period_label(c, "year") for c in cohorts]
    rows = [
        {
            "renewal": int(r["renewal"]),
            "cohort": t.period_label(r["cohort"], "year"),
            "observed": to_float(r.get("observed_survival")),
            "projected": to_float(r.get("projected_survival")),
        }
        for r in proj.loc[proj["cohort"].isin(cohorts)].to_dict("records")
    ]
    plans = _billing_names(ctx)[str(proj["billing_period"].iloc[0])].lower()
    spec = projection_chart(
        t._("sBG projection of {plans}: observed (solid) and projected (dashed)").format(
            plans=plans
        ),
        records(rows),
        x="renewal",
        group="cohort",
        observed="observed",
        projected="projected",
        x_title=t._("Renewals"),
        y_title=t._("Still subscribed"),
        group_title=t._("Start cohort"),
        observed_title=t._("Observed"),
        projected_title=t._("Projected (sBG)"),
        group_order=labels,
    )
    section.charts.append(Chart("sbg-projection", t._("sBG projection"), spec))
    latest = proj.loc[(proj["cohort"] == cohorts[-1]) & proj["projected_survival"].notna()]
    if not latest.empty:
        last = latest.sort_values("renewal").iloc[-1]
        section.notes.append(
            t._(
                "The sBG model projects that {share} of the {cohort} cohort of {plans} will "
                "still be subscribed after {n} renewals."
            ).format(
                share=t.percent(to_float(last["projected_survival"])),
                cohort=t.period_label(cohorts[-1], "year"),
                plans=plans,
                n=t.number(int(last["renewal"])),
            )
        )


def _subscriptions_takeaway(ctx: ReportContext, mov: pd.DataFrame, ren: pd.DataFrame) -> str:
    t = ctx.t
    if mov.empty:
        return ""
    cur, prev = ctx.focus(mov["period"].tolist(), strict=False)
    now, before = ctx.row(mov, cur), ctx.row(mov, prev)
    mrr = to_float(now.get("mrr"))
    text = t._("MRR was {mrr} at the end of {period}").format(
        mrr=t.money(mrr), period=ctx.label(cur)
    )
    mrr_before = to_float(before.get("mrr")) if before else math.nan
    if math.isfinite(mrr_before) and mrr_before > 0:
        rel = mrr / mrr_before - 1
        text += (
            t._(", up {change} from {prev}").format(change=t.percent(rel), prev=ctx.label(prev))
            if rel >= 0
            else t._(", down {change} from {prev}").format(
                change=t.percent(-rel), prev=ctx.label(prev)
            )
        )
    text += t._("; churn took {churn} of MRR.").format(
        churn=t.percent(to_float(now.get("mrr_churn_rate")))
    )
    first = ren.loc[(ren["renewal"] == 1)]
    if not first.empty:
        top = first.sort_values("reached", ascending=False).iloc[0]
        text += " " + t._("{share} of {plans} renewed the first time.").format(
            share=t.percent(to_float(top["renewal_rate"])),
            plans=_billing_names(ctx)[str(top["billing_period"])].lower(),
        )
    return text
