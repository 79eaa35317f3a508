"""Playbooks about the relationship: keep in touch, ask for a referral, win back,
check in during the guarantee.

Each playbook has two parts (see :class:`~regulars.actions._candidates.Playbook`):
``*_found`` selects its customers in the engine from the facts of
:class:`~regulars.actions._features.PlaybookContext`, one row per candidate with the
columns the queue ranks by (``customer_id``, ``episode``, ``at_stake``, ``due``,
``urgent``); ``*_render`` turns the few rows the queue keeps into
:class:`~regulars.actions._candidates.Candidate` objects with a reason and a message.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from regulars.actions._candidates import (
    Candidate,
    Playbook,
    common_values,
    orders_worth,
    p_alive_clause,
    render_message,
)
from regulars.actions._engine import computed_here
from regulars.actions._features import active, first_purchases
from regulars.actions._reasons import clause, reason

if TYPE_CHECKING:
    from regulars._config_actions import (
        AskForReferralPlaybook,
        GuaranteeCheckInPlaybook,
        KeepInTouchPlaybook,
        WinBackPlaybook,
    )
    from regulars.actions._features import PlaybookContext

__all__ = [
    "ask_for_referral",
    "guarantee_check_in",
    "keep_in_touch",
    "win_back",
]


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return list(expr.to_pyarrow().to_pylist())


def _iso(day: ir.DateValue) -> ir.StringValue:
    """A date as ISO text (``2024-06-30``), the same on every engine.

    Formatted rather than cast: DuckDB's date + interval is a timestamp, whose text
    would carry a time."""
    return day.strftime("%Y-%m-%d")


def at_stake(c: ir.Table) -> ir.FloatingValue:
    """(1 − P(active)) × a year of the customer: the value a contact can keep or win
    back (0 when the customer's money is unknown)."""
    value = (1.0 - c.p_active.fill_null(0.0)) * c.yearly_value
    return value.fill_null(0.0)


def keep_in_touch_found(ctx: PlaybookContext, s: KeepInTouchPlaybook) -> ir.Table:
    """Active, valuable customers without contact for longer than their cadence.

    The cadence is ``cycle_share`` of the customer's own purchase cycle (mean days
    between visits; 365 / expected orders per year from the scores when they have a
    single visit), shortened for valuable customers by
    ``(median value / value) ** value_weight`` and kept between ``min_days`` and
    ``max_days``.  A contact is a touch or an order.  The value at stake is what the
    touch can keep: (1 − P(active)) × a year of the customer.
    """
    c = ctx.customers
    cycle = ibis.coalesce(
        c.mean_gap_days,
        ibis.cases(
            (c.expected_orders_365d > 0, 365.0 / c.expected_orders_365d),
            else_=ibis.null("float64"),
        ),
    )
    eligible = c.filter(
        c.visits >= s.min_orders,
        c.value >= s.min_value,
        active(c, s.min_p_alive),
        cycle.notnull(),
    ).mutate(cycle_days=cycle)
    median = eligible.value.median().over()
    factor = ibis.cases(
        ((eligible.value > 0) & (median > 0), (median / eligible.value) ** s.value_weight),
        else_=ibis.literal(1.0),
    )
    cadence = eligible.cycle_days * s.cycle_share * factor
    cadence = ibis.least(ibis.greatest(cadence, float(s.min_days)), float(s.max_days))
    due_in = cadence.ceil().cast("int64")
    found = eligible.mutate(
        cadence_days=cadence,
        due=eligible.last_contact + due_in.as_interval("D"),
        at_stake=at_stake(eligible),
    )
    found = found.filter(found.days_since_contact.cast("float64") > found.cadence_days)
    return found.mutate(
        episode=_iso(found.last_contact),
        urgent=found.days_since_contact.cast("float64") > 2 * found.cadence_days,
    )


def keep_in_touch_render(
    ctx: PlaybookContext, s: KeepInTouchPlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates of :func:`keep_in_touch_found`'s rows, with reason and message."""
    out = []
    for r in rows:
        cadence_days = float(r["cadence_days"])
        since = int(r["days_since_contact"])
        touched = r["last_touch"] is not None and r["last_touch"] >= r["last_order"]
        why = reason(
            ctx.currency,
            clause(
                "no_touch" if touched else "no_contact",
                days=since,
                cadence_days=cadence_days,
                cycle_days=r["cycle_days"],
            ),
            orders_worth(r),
            p_alive_clause(ctx, r["p_alive"], r["p_alive_before"]),
        )
        value = float(r["at_stake"] or 0.0)
        values = common_values(ctx, r, value_at_stake=value, due=r["due"])
        values |= {
            "cycle_days": round(float(r["cycle_days"])),
            "days_since_touch": since,
            "last_product": r["last_product"] or "work",
        }
        out.append(
            Candidate(
                customer_id=r["customer_id"],
                playbook="keep_in_touch",
                episode=r["episode"],
                value_at_stake=value,
                due=r["due"],
                reason=why,
                message=render_message("keep_in_touch", s.message, values),
                urgent=bool(r["urgent"]),
                detail={"cadence_days": round(cadence_days, 1), "last_contact": r["last_contact"]},
            )
        )
    return out


def _last_closed(ctx: PlaybookContext, playbook: str) -> ir.Table:
    """Per customer, the last day an action of ``playbook`` was done or dismissed."""
    a = ctx.action_state()
    a = a.filter(a.playbook == playbook, a.status.isin(("done", "dismissed")))
    return a.group_by("customer_id").agg(last_asked=a.closed_on.max())


def ask_for_referral_found(ctx: PlaybookContext, s: AskForReferralPlaybook) -> ir.Table:
    """Loyal, happy customers who never referred anyone and were not asked lately.

    Loyal: at least ``min_orders`` orders and active (P(alive) at least
    ``min_p_alive`` when scored).  Happy: latest feedback at least ``min_feedback``
    (customers without feedback qualify unless ``require_feedback``).  The value at
    stake is ``success_rate`` × the customer's own value: one more customer like
    them, times the chance the ask brings one.
    """
    c = ctx.customers
    happy = ibis.cases(
        (c.feedback.notnull(), c.feedback >= s.min_feedback),
        else_=ibis.literal(not s.require_feedback),
    )
    found = c.filter(
        c.orders >= s.min_orders, c.referrals_made == 0, happy, active(c, s.min_p_alive)
    )
    found = found.left_join(_last_closed(ctx, "ask_for_referral"), "customer_id").drop(
        "customer_id_right"
    )
    asked = ibis.coalesce(_iso(found.last_asked), ibis.literal("never"))
    return found.mutate(
        # Unknown amounts (a customer + date log) put no money at stake.
        at_stake=s.success_rate * found.value.fill_null(0.0),
        episode=ibis.literal("asked:") + asked,
        due=ibis.date(ctx.today),
        urgent=ibis.literal(False),
    )


def ask_for_referral_render(
    ctx: PlaybookContext, s: AskForReferralPlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates of :func:`ask_for_referral_found`'s rows."""
    out = []
    for r in rows:
        years = (ctx.today - r["first_order"]).days / 365.25
        value = float(r["at_stake"])
        feedback = r["feedback"]
        why = reason(
            ctx.currency,
            clause("loyal", orders=r["orders"], revenue=r["revenue"], years=years)
            if r["revenue"] is not None
            else clause("loyal_orders", orders=r["orders"], years=years),
            clause("feedback", score=feedback) if feedback is not None else clause("no_feedback"),
            p_alive_clause(ctx, r["p_alive"], r["p_alive_before"]),
            clause("not_referred"),
            clause("last_asked", on=r["last_asked"]) if r["last_asked"] else None,
        )
        values = common_values(ctx, r, value_at_stake=value, due=ctx.today)
        values |= {
            "feedback": "" if feedback is None else f"{feedback:g}",
            "tenure_years": f"{years:.1f}",
        }
        out.append(
            Candidate(
                customer_id=r["customer_id"],
                playbook="ask_for_referral",
                episode=r["episode"],
                value_at_stake=value,
                due=ctx.today,
                reason=why,
                message=render_message("ask_for_referral", s.message, values),
            )
        )
    return out


def _active_subscribers(ctx: PlaybookContext) -> ir.Table:
    t = ibis.date(ctx.today)
    sub = ctx.table("subscriptions")
    live = sub.filter(
        sub.start_date <= t,
        sub.cancel_date.isnull() | (sub.cancel_date > t),
        sub.end_date.isnull() | (sub.end_date >= t),
    )
    return live.select("customer_id").distinct()


def _something_new(ctx: PlaybookContext, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Per customer, something first sold after their last order that buyers of what
    they bought went on to buy: the best next_step rule A → B (by lift, then
    confidence) with A one of their items and B first sold after their last order.
    Customers without such a rule get nothing (no made-up novelty)."""
    from regulars.actions._playbooks_offers import next_step_rules

    s = ctx.config.playbooks.next_step
    rules = next_step_rules(ctx, s)  # first_sold_b: when B was first sold
    mine = ibis.memtable(
        {
            "customer_id": [r["customer_id"] for r in rows],
            "last_order": [r["last_order"] for r in rows],
        },
        schema={"customer_id": "string", "last_order": "date"},
    )
    owned = first_purchases(ctx.items_of(sorted({r["customer_id"] for r in rows}), s.item))
    owned = owned.select("customer_id", "item")
    cand = owned.join(mine, "customer_id")
    cand = cand.join(rules, cand.item == rules.a_item)
    cand = cand.filter(cand.first_sold_b > cand.last_order)
    cand = cand.anti_join(owned.rename(b_item="item"), ["customer_id", "b_item"])
    cand = cand.mutate(
        _rn=ibis.row_number().over(
            group_by=cand.customer_id,
            order_by=[cand.lift.desc(), cand.confidence.desc(), cand.b_item, cand.a_item],
        )
    )
    best = cand.filter(cand._rn == 0).select("customer_id", item="b_item")
    return {r["customer_id"]: r["item"] for r in _rows(best)}


def win_back_found(ctx: PlaybookContext, s: WinBackPlaybook) -> ir.Table:
    """Customers who stopped buying: P(alive) below ``max_p_alive`` (when scored) or
    no order for ``gap_multiple`` times their usual gap, within ``max_days_lapsed``.

    Customers with a running subscription are left out.  The value at stake is what
    winning them back is worth: (1 − P(active)) × their yearly revenue while they
    were active (revenue / their active span plus one usual gap, at least a year).
    The message suggests something new since their last order that customers like
    them bought (see :func:`_something_new`).
    """
    c = ctx.customers
    by_model = c.p_alive.notnull() & (c.p_alive < s.max_p_alive)
    found = c.filter(
        c.orders >= s.min_orders,
        c.gap_lapsed | by_model,
        c.days_since_order.cast("float64") > c.usual_gap_days,
        c.days_since_order <= s.max_days_lapsed,
    )
    found = found.anti_join(_active_subscribers(ctx), "customer_id")
    lapsed_after = (found.usual_gap_days * s.gap_multiple).ceil().cast("int64")
    lapsed_on = found.last_order + lapsed_after.as_interval("D")
    return found.mutate(
        at_stake=at_stake(found),
        episode=_iso(found.last_order),
        due=ibis.least(lapsed_on.cast("date"), ibis.date(ctx.today)),
        urgent=ibis.literal(False),
    )


def win_back_render(
    ctx: PlaybookContext, s: WinBackPlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates of :func:`win_back_found`'s rows; the message suggests something
    new since their last order (see :func:`_something_new`)."""
    news = _something_new(ctx, rows) if rows else {}
    out = []
    for r in rows:
        gap = float(r["usual_gap_days"])
        since = int(r["days_since_order"])
        due = r["due"]
        value = float(r["at_stake"])
        new = news.get(r["customer_id"])
        own_gap = r["mean_gap_days"] is not None
        why = reason(
            ctx.currency,
            clause(
                "lapsed" if own_gap else "lapsed_typical",
                days=since,
                ratio=since / gap,
                gap_days=gap,
            ),
            orders_worth(r),
            p_alive_clause(ctx, r["p_alive"], r["p_alive_before"]),
            clause("new_since", product=new) if new else None,
        )
        values = common_values(ctx, r, value_at_stake=value, due=due)
        values |= {
            "days_since_order": since,
            "last_product": r["last_product"] or "work",
            "something_new": new or "a few new things",
        }
        out.append(
            Candidate(
                customer_id=r["customer_id"],
                playbook="win_back",
                episode=r["episode"],
                value_at_stake=value,
                due=due,
                reason=why,
                message=render_message("win_back", s.message, values),
                detail={"something_new": new, "usual_gap_days": round(gap, 1)},
            )
        )
    return out


def guarantee_check_in_found(ctx: PlaybookContext, s: GuaranteeCheckInPlaybook) -> ir.Table:
    """New customers inside the money-back window with no contact since their first
    order, from ``after_days`` after it; refunded customers are left out.

    The value at stake is the revenue still under the guarantee.
    """
    days = ctx.config.guarantee.days
    c = ctx.customers
    since_first = ibis.date(ctx.today).delta(c.first_order, unit="day")
    found = c.filter(
        since_first >= s.after_days,
        since_first < days,
        c.last_touch.isnull() | (c.last_touch < c.first_order),
    )
    o = ctx.table("orders")
    refunded = o.filter(
        (o.status.fill_null("paid") == "refunded") | (o.refund_amount.fill_null(0) > 0)
    ).select("customer_id")
    # Computed once: the first orders below and the result both read it.
    found = computed_here(found.anti_join(refunded, "customer_id"))
    # The first order of these customers only (a few new ones), not of every customer.
    # Their first order is less than `days` old, so their older orders are none: only
    # the paid orders of that window are read.
    window_start = ibis.date(ctx.today - _dt.timedelta(days=days))
    po = ctx.orders.filter(ctx.orders.order_date > window_start)
    po = po.semi_join(found.select("customer_id"), "customer_id")
    first = po.mutate(
        _rn=ibis.row_number().over(group_by=po.customer_id, order_by=[po.order_date, po.order_id])
    )
    first = first.filter(first._rn == 0).select(
        customer_id="customer_id",
        first_product=ibis.coalesce(first.product, first.category),
        first_revenue="net_revenue",
    )
    found = found.left_join(first, "customer_id").drop("customer_id_right")
    since = ibis.date(ctx.today).delta(found.first_order, unit="day")
    return found.mutate(
        at_stake=found.revenue.fill_null(0.0),
        episode=_iso(found.first_order),
        due=(found.first_order + ibis.interval(days=s.after_days)).cast("date"),
        urgent=(days - since) <= 14,
    )


def guarantee_check_in_render(
    ctx: PlaybookContext, s: GuaranteeCheckInPlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates of :func:`guarantee_check_in_found`'s rows."""
    days = ctx.config.guarantee.days
    out = []
    for r in rows:
        end = r["first_order"] + _dt.timedelta(days=days)
        due = r["due"]
        since = (ctx.today - r["first_order"]).days
        product = r["first_product"] or "their first order"
        value = float(r["at_stake"])
        first = (
            clause("new_customer", days=since, product=product, revenue=r["first_revenue"])
            if r["first_product"]
            else clause("new_customer_unnamed", days=since, revenue=r["first_revenue"])
        )
        why = reason(
            ctx.currency,
            first,
            clause("guarantee_window", guarantee_days=days, until=end),
            clause("no_contact_since"),
        )
        values = common_values(ctx, r, value_at_stake=value, due=due)
        values |= {"guarantee_days": days, "guarantee_end": end.isoformat(), "product": product}
        out.append(
            Candidate(
                customer_id=r["customer_id"],
                playbook="guarantee_check_in",
                episode=r["episode"],
                value_at_stake=value,
                due=due,
                reason=why,
                message=render_message("guarantee_check_in", s.message, values),
                urgent=bool(r["urgent"]),
                detail={"guarantee_end": end},
            )
        )
    return out


keep_in_touch = Playbook(keep_in_touch_found, keep_in_touch_render)
ask_for_referral = Playbook(ask_for_referral_found, ask_for_referral_render)
win_back = Playbook(win_back_found, win_back_render)
guarantee_check_in = Playbook(guarantee_check_in_found, guarantee_check_in_render)
