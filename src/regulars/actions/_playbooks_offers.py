"""Playbooks about what to offer: the next step, a package, the renewal, and the
referral rewards owed.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from regulars.actions._candidates import (
    CORE_COLUMNS,
    Candidate,
    Playbook,
    common_values,
    orders_worth,
    render_message,
)
from regulars.actions._engine import computed_here, scalar, shared_here
from regulars.actions._features import active, first_purchases
from regulars.actions._reasons import clause, reason
from regulars.actions._store import OFFERS, REWARD_PAYMENTS

if TYPE_CHECKING:
    from regulars._config_actions import (
        NextStepPlaybook,
        PackageOfferPlaybook,
        PayReferralRewardPlaybook,
        RenewalDuePlaybook,
    )
    from regulars.actions._features import PlaybookContext

__all__ = [
    "PACKAGE",
    "co_purchase_rules",
    "next_step",
    "next_step_rules",
    "package_offer",
    "pay_referral_reward",
    "renewal_due",
    "reward_ledger",
]

#: The product name recorded in ``offers`` for a package offer.
PACKAGE = "package"
#: Money as exact cents, for sums that must not depend on the order of the rows.
_CENTS = dt.Decimal(38, 2)


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return list(expr.to_pyarrow().to_pylist())


def _iso(day: ir.DateValue) -> ir.StringValue:
    """A date as ISO text (``2024-06-30``), the same on every engine.

    Formatted rather than cast: DuckDB's date + interval is a timestamp, whose text
    would carry a time."""
    return day.strftime("%Y-%m-%d")


def _offered(last: ir.DateValue) -> ir.StringValue:
    """The last offer's day as ISO text, or ``never``."""
    return ibis.coalesce(_iso(last), ibis.literal("never"))


def _last_offers(ctx: PlaybookContext) -> ir.Table:
    """customer_id, product, last_offered_on."""
    of = ctx.ws.table(OFFERS.name)
    of = of.filter(of.offered_on <= ibis.date(ctx.today))
    last = of.group_by("customer_id", "product").agg(last_offered_on=of.offered_on.max())
    return ctx.state(OFFERS.name, last)


def co_purchase_rules(
    orders: ir.Table, item_col: str = "product", amount_col: str = "net_revenue"
) -> ir.Table:
    """ "Customers who bought A later bought B", computed in the engine.

    One row per ordered pair of items (A, B) that at least one customer bought in
    that order: ``support`` (customers whose first B came on a later day than their
    first A), ``buyers_a``, ``buyers_b``, ``confidence`` = support / buyers_a (the
    share of A's buyers who later bought B), ``base_rate`` = buyers_b / all buyers,
    ``lift`` = confidence / base_rate, and ``mean_revenue_b`` (the mean of
    ``amount_col`` over the rows of B: with line items, the mean amount of B in an
    order, not the whole order's total).

    Parameters
    ----------
    orders : ibis.Table
        Paid orders with ``customer_id``, ``order_date``, ``net_revenue`` and the item
        column.
    item_col : str
        The column that names a service (``product`` or ``category``).
    amount_col : str
        The money column averaged for ``mean_revenue_b``.

    References
    ----------
    .. [1] Agrawal, R., Imielinski, T., Swami, A. (1993). Mining association rules
       between sets of items in large databases. SIGMOD '93, 207-216.
    """
    o = orders.filter(orders[item_col].notnull())
    o = o.mutate(item=o[item_col])
    return _rules(first_purchases(o, "item"), o, amount_col)


def _rules(
    items: ir.Table,
    o: ir.Table,
    amount_col: str,
    candidates: ir.Table | None = None,
    *,
    first_sold: bool = False,
) -> ir.Table:
    """:func:`co_purchase_rules` from ``items`` (:func:`first_purchases`) and the rows
    ``o`` (with ``item``) whose amounts make ``mean_revenue_b``; only for the pairs
    ``candidates`` (a_item, b_item) when given; with ``first_sold`` also
    ``first_sold_b``, the day B was first bought (by anyone)."""
    n_all = items.aggregate(n_all=items.customer_id.nunique())
    a = items.rename(a_customer="customer_id", a_item="item", a_on="first_on")
    b = items.rename(b_customer="customer_id", b_item="item", b_on="first_on")
    if candidates is None:
        pairs = a.join(b, [a.a_customer == b.b_customer, a.a_item != b.b_item, a.a_on < b.b_on])
    else:
        ac = a.join(candidates, "a_item")
        pairs = ac.join(
            b, [ac.a_customer == b.b_customer, ac.b_item == b.b_item, ac.a_on < b.b_on]
        ).drop("b_item_right")
    # ``items`` has one row per customer and item, so a pair's rows are its customers.
    support = pairs.group_by("a_item", "b_item").agg(support=pairs.count())
    buyers = items.group_by("item").agg(buyers=items.count())
    # The mean of exact cents: a sum of doubles depends on the order the engine adds
    # them in, and a mean that falls on half a cent then rounds either way.
    amount = o[amount_col].cast(_CENTS)
    per_item = {
        "mean_revenue": amount.sum().cast("float64") / amount.count().nullif(0).cast("float64")
    }
    if first_sold:
        per_item["first_sold"] = o.order_date.min()
    mean_rev = o.group_by("item").agg(**per_item)
    rules = support.join(buyers.rename(a_item="item", buyers_a="buyers"), "a_item")
    rules = rules.join(buyers.rename(b_item="item", buyers_b="buyers"), "b_item")
    rules = rules.join(
        mean_rev.rename(
            b_item="item",
            mean_revenue_b="mean_revenue",
            **({"first_sold_b": "first_sold"} if first_sold else {}),
        ),
        "b_item",
    )
    rules = rules.cross_join(n_all)
    confidence = rules.support.cast("float64") / rules.buyers_a.cast("float64")
    base = rules.buyers_b.cast("float64") / rules.n_all.cast("float64")
    return rules.mutate(confidence=confidence, base_rate=base, lift=confidence / base).drop("n_all")


#: Pairs the next-step rules count directly: a customer with ``k`` distinct items makes
#: ``k**2`` of them (65 M took about 10 CPU s).  A book with more finds its rules on a
#: sample of customers of about :data:`SAMPLE_PAIRS` pairs and counts them on all
#: (:func:`_candidate_pairs`).
RULE_PAIRS = 40_000_000
SAMPLE_PAIRS = 10_000_000
#: With a sample, the pairs counted per item A: its best B by the sample's expected
#: value (confidence times B's mean amount), and its best B by the sample's lift.
CANDIDATES_PER_ITEM = 5


def _candidate_pairs(
    owned: ir.Table,
    items: ir.Table,
    pairs: int,
    budget: int,
    sample_pairs: int,
) -> ir.Table | None:
    """The (a_item, b_item) pairs worth counting exactly, or None to count them all.

    With ``pairs`` (the sum over customers of their distinct items squared) within
    ``budget``, every pair is counted.  Above it, the rules are found on the customers
    of a fixed share (``sample_pairs / pairs``, drawn by a SHA-256 of the id, the same
    on every engine and every run), and for each item A its :data:`CANDIDATES_PER_ITEM`
    best B by expected value and by lift there (lift among pairs of at least two
    sampled customers) are counted on every customer: a rule the sample misses is
    not proposed, and every number of a proposed rule is exact.
    """
    from regulars.actions._rank import _digest_hex

    if pairs <= budget:
        return None
    cut = f"{int(min(sample_pairs / pairs, 1.0) * 16**15):015x}"
    # The draw is one digest per customer, not per owned item, and the sample is kept
    # for the run: the rules' self-join and their counts read it five times, and a
    # filter would compute every digest again each time (at 30 M order lines about
    # 20 CPU s a pass).
    ids = owned.select("customer_id").distinct()
    ids = ids.filter(_digest_hex("rules", ids.customer_id).substr(0, 15) < cut)
    sample = computed_here(owned.semi_join(ids, "customer_id"))
    found = _rules(sample, items, "amount")
    found = found.mutate(_ev=found.confidence * found.mean_revenue_b.fill_null(0.0))
    by_value = found.mutate(
        _rn=ibis.row_number().over(group_by=found.a_item, order_by=[found._ev.desc(), found.b_item])
    )
    strong = found.filter(found.support >= 2)
    by_lift = strong.mutate(
        _rn=ibis.row_number().over(
            group_by=strong.a_item, order_by=[strong.lift.desc(), strong.b_item]
        )
    )
    keep = [
        t.filter(t._rn < CANDIDATES_PER_ITEM).select("a_item", "b_item")
        for t in (by_value, by_lift)
    ]
    return computed_here(keep[0].union(keep[1], distinct=True))


def _rules_params(ctx: PlaybookContext, s: NextStepPlaybook) -> dict[str, Any]:
    """What the next-step rules depend on besides the data (see :func:`shared_here`)."""
    return {
        "today": ctx.today.isoformat(),
        "item": s.item,
        "exclude": ctx.config.products.patterns,
        "min_support": s.min_support,
        "min_lift": s.min_lift,
        "min_confidence": s.min_confidence,
        "sampling": [RULE_PAIRS, SAMPLE_PAIRS, CANDIDATES_PER_ITEM],
    }


def next_step_rules(ctx: PlaybookContext, s: NextStepPlaybook) -> ir.Table:
    """The co-purchase rules of the paid orders' items that pass ``s``'s thresholds
    (computed once per run, in the engine: next_step and win_back read them when the
    queue ranks their candidates and again when it words the kept ones; a rule per
    pair of items is a small table).  On a book of more than :data:`RULE_PAIRS`
    pairs they are found on a sample of customers (:func:`_candidate_pairs`)."""
    key = f"rules:{s.item}:{s.min_support}:{s.min_lift}:{s.min_confidence}"
    if key not in ctx.cache:

        def build() -> ir.Table:
            owned, items = ctx.owned(s.item), ctx.items(s.item)
            sizes = owned.group_by("customer_id").agg(_k=owned.count().cast("int64"))
            pairs = int(scalar((sizes._k * sizes._k).sum()) or 0)
            candidates = _candidate_pairs(owned, items, pairs, RULE_PAIRS, SAMPLE_PAIRS)
            rules = _rules(owned, items, "amount", candidates, first_sold=True)
            return rules.filter(
                rules.support >= s.min_support,
                rules.lift >= s.min_lift,
                rules.confidence >= s.min_confidence,
            )

        # Stored once per data version and day: a second run reads them.
        ctx.cache[key] = shared_here(ctx.ws, "action_next_step_rules", _rules_params(ctx, s), build)
    out: ir.Table = ctx.cache[key]
    return out


def next_step_found(ctx: PlaybookContext, s: NextStepPlaybook) -> ir.Table:
    """The service a customer is most likely to take next, by expected value.

    For each customer who bought A and not yet B, rules A → B with at least
    ``min_support`` customers, ``min_lift`` and ``min_confidence`` give an expected
    offer value of confidence × the mean amount of B in an order (its own lines, not
    the whole order); the best B is proposed.  Names matching ``[products] exclude``
    are never A or B.  A product offered within ``cooldown_days`` is not proposed
    again.
    """
    rules = next_step_rules(ctx, s)

    def build() -> ir.Table:
        owned = ctx.owned(s.item).select("customer_id", "item")
        pairs = owned.join(rules, owned.item == rules.a_item).mutate(
            expected_value=rules.confidence * rules.mean_revenue_b
        )
        return pairs.anti_join(owned.rename(b_item="item"), ["customer_id", "b_item"])

    # Every customer's rules A -> B whose B they do not own yet, stored once per data
    # version and day: a second run reads them.
    cand = shared_here(ctx.ws, "action_next_step_pairs", _rules_params(ctx, s), build)
    offers = _last_offers(ctx).rename(b_item="product")
    cand = cand.left_join(offers, ["customer_id", "b_item"]).drop(
        "customer_id_right", "b_item_right"
    )
    cooldown_start = ibis.date(ctx.today - _dt.timedelta(days=s.cooldown_days))
    cand = cand.filter(cand.last_offered_on.isnull() | (cand.last_offered_on <= cooldown_start))
    c = ctx.customers
    cand = cand.join(c.filter(active(c, s.min_p_alive)), "customer_id")
    cand = cand.mutate(
        _rn=ibis.row_number().over(
            group_by=cand.customer_id,
            order_by=[cand.expected_value.desc(), cand.lift.desc(), cand.b_item, cand.a_item],
        )
    )
    best = cand.filter(cand._rn == 0).drop("_rn")
    return best.mutate(
        at_stake=best.expected_value.fill_null(0.0),
        episode=best.b_item + "|" + _offered(best.last_offered_on),
        due=ibis.date(ctx.today),
        urgent=ibis.literal(False),
    )


def next_step_render(
    ctx: PlaybookContext, s: NextStepPlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates of :func:`next_step_found`'s rows, with reason and message."""
    out = []
    for r in rows:
        value = float(r["at_stake"])
        a, b = r["a_item"], r["b_item"]
        last = r["last_offered_on"]
        why = reason(
            ctx.currency,
            clause(
                "bought_then",
                from_product=a,
                support=r["support"],
                buyers=r["buyers_a"],
                product=b,
                confidence=r["confidence"],
                lift=r["lift"],
                base_rate=r["base_rate"],
            ),
            clause("order_average", product=b, mean_revenue=r["mean_revenue_b"]),
            orders_worth(r),
            clause("last_offered", on=last) if last else clause("never_offered"),
        )
        values = common_values(ctx, r, value_at_stake=value, due=ctx.today)
        values |= {"confidence_pct": f"{r['confidence']:.0%}", "from_product": a, "product": b}
        out.append(
            Candidate(
                customer_id=r["customer_id"],
                playbook="next_step",
                episode=r["episode"],
                value_at_stake=value,
                due=ctx.today,
                reason=why,
                message=render_message("next_step", s.message, values),
                detail={"product": b, "from_product": a, "lift": round(r["lift"], 3)},
            )
        )
    return out


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


#: Services a package offer's reason names, largest spend first.
LISTED_SERVICES = 5


def _package_items(ctx: PlaybookContext, s: PackageOfferPlaybook) -> tuple[ir.Table, ir.Table]:
    """The paid orders of the lookback window and their items from separate orders."""
    start = ibis.date(ctx.today - _dt.timedelta(days=s.lookback_days))
    o = ctx.orders.filter(ctx.orders.order_date > start)
    it = ctx.items(s.item)
    return o, it.filter(it.order_date > start, it.kind != "package")


def package_offer_found(ctx: PlaybookContext, s: PackageOfferPlaybook) -> ir.Table:
    """Customers who bought ``min_services`` services in ``min_orders`` separate
    orders within ``lookback_days`` and hold no package.

    Services are the items of the orders' lines (``[products] exclude`` left out).
    The value at stake is the package's margin: the yearly spend on those services,
    less the package ``discount``, times ``[workspace] default_margin``.  A package
    offered within ``cooldown_days`` is not repeated.
    """

    def build() -> ir.Table:
        o, it = _package_items(ctx, s)
        packaged = o.filter(o.kind == "package").select("customer_id").distinct()
        per_customer = it.group_by("customer_id").agg(
            services=it.item.nunique(),
            separate_orders=it.order_id.nunique(),
            lookback_revenue=it.amount.sum(),
        )
        return per_customer.filter(
            per_customer.services >= s.min_services,
            per_customer.separate_orders >= s.min_orders,
        ).anti_join(packaged, "customer_id")

    # Stored once per data version and day: a second run reads them.
    found = shared_here(
        ctx.ws,
        "action_package_services",
        {
            "today": ctx.today.isoformat(),
            "item": s.item,
            "exclude": ctx.config.products.patterns,
            "lookback_days": s.lookback_days,
            "min_services": s.min_services,
            "min_orders": s.min_orders,
        },
        build,
    )
    offers = _last_offers(ctx)
    offers = offers.filter(offers.product == PACKAGE).drop("product")
    found = found.left_join(offers, "customer_id").drop("customer_id_right")
    cooldown_start = ibis.date(ctx.today - _dt.timedelta(days=s.cooldown_days))
    found = found.filter(found.last_offered_on.isnull() | (found.last_offered_on <= cooldown_start))
    found = found.join(ctx.customers, "customer_id")
    yearly = found.lookback_revenue.fill_null(0.0) * 365.0 / float(s.lookback_days)
    margin = ctx.config.workspace.default_margin
    return found.mutate(
        at_stake=yearly * (1.0 - s.discount) * margin,
        episode=ibis.literal(f"{PACKAGE}|") + _offered(found.last_offered_on),
        due=ibis.date(ctx.today),
        urgent=ibis.literal(False),
    )


def package_offer_render(
    ctx: PlaybookContext, s: PackageOfferPlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates of :func:`package_offer_found`'s rows; the reason names the
    services, largest spend first."""
    wanted = sorted({r["customer_id"] for r in rows})
    services: dict[str, list[tuple[float, str]]] = defaultdict(list)
    if wanted:
        start = ibis.date(ctx.today - _dt.timedelta(days=s.lookback_days))
        it = ctx.items_of(wanted, s.item)
        it = it.filter(it.order_date > start, it.kind != "package")
        per_item = it.group_by("customer_id", "item").agg(item_revenue=it.amount.sum())
        for r in _rows(per_item):
            services[r["customer_id"]].append((-float(r["item_revenue"] or 0.0), r["item"]))
    out = []
    for r in rows:
        names = [name for _, name in sorted(services[r["customer_id"]])]
        # The reason names the largest few; "…" stands for the rest (counted in it).
        shown = names[:LISTED_SERVICES] + (["…"] if len(names) > LISTED_SERVICES else [])
        value = float(r["at_stake"])
        last = r["last_offered_on"]
        months = round(s.lookback_days / 30.44)
        why = reason(
            ctx.currency,
            clause(
                "separate_services",
                services=len(names),
                months=months,
                names=shown,
                orders=r["separate_orders"],
                revenue=r["lookback_revenue"],
            ),
            clause("no_package"),
            clause("last_offered", on=last) if last else clause("never_offered_package"),
        )
        values = common_values(ctx, r, value_at_stake=value, due=ctx.today)
        values |= {"discount_pct": f"{s.discount:.0%}", "products": _and_list(names[:3])}
        out.append(
            Candidate(
                customer_id=r["customer_id"],
                playbook="package_offer",
                episode=r["episode"],
                value_at_stake=value,
                due=ctx.today,
                reason=why,
                message=render_message("package_offer", s.message, values),
                detail={"product": PACKAGE, "services": names[:LISTED_SERVICES]},
            )
        )
    return out


_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_PER_YEAR = {"week": 52.0, "month": 12.0, "quarter": 4.0, "year": 1.0}


def _renewals(ctx: PlaybookContext, s: RenewalDuePlaybook) -> ir.Table:
    """customer_id, source, source_id, plan, end_on, term_value (a year of the
    subscription, or the package's price), started_on."""
    t = ibis.date(ctx.today)
    sub = ctx.table("subscriptions")
    sub = sub.filter(sub.start_date <= t, sub.cancel_date.isnull() | (sub.cancel_date > t))
    days = t.delta(sub.start_date, unit="day")
    months = t.delta(sub.start_date, unit="month")
    branches = []
    for period, pm in _MONTHS.items():
        n = (months // pm).cast("int64")
        at = sub.start_date + (n * pm).as_interval("M")
        branches.append(
            (
                sub.billing_period == period,
                ibis.cases((at > t, at), else_=sub.start_date + ((n + 1) * pm).as_interval("M")),
            )
        )
    week_n = (days // 7 + 1).cast("int64")
    branches.append((sub.billing_period == "week", sub.start_date + (week_n * 7).as_interval("D")))
    next_renewal = ibis.cases(*branches, else_=ibis.null("date"))
    end = ibis.cases(
        (sub.end_date.notnull(), sub.end_date),
        (sub.billing_period.isin(s.billing_periods), next_renewal),
        else_=ibis.null("date"),
    )
    per_year = ibis.cases(
        *[(sub.billing_period == p, ibis.literal(v)) for p, v in _PER_YEAR.items()],
        else_=ibis.literal(1.0),
    )
    subs = sub.select(
        customer_id="customer_id",
        source=ibis.literal("subscription"),
        source_id="subscription_id",
        plan=sub.plan,
        end_on=end.cast("date"),
        term_value=sub.price.cast("float64") * per_year,
        started_on=sub.start_date,
    )
    # Only a package bought within its term can end after today, and a customer's
    # latest package is then among those: the older orders are never read.
    term_start = ibis.date(ctx.today - _dt.timedelta(days=s.package_term_days))
    o = ctx.orders.filter(ctx.orders.kind == "package", ctx.orders.order_date > term_start)
    o = o.mutate(
        _rn=ibis.row_number().over(
            group_by=o.customer_id, order_by=[o.order_date.desc(), o.order_id.desc()]
        )
    )
    o = o.filter(o._rn == 0)
    packages = o.select(
        customer_id="customer_id",
        source=ibis.literal("package"),
        source_id="order_id",
        plan=ibis.coalesce(o.product, o.category, ibis.literal("package")),
        end_on=(o.order_date + ibis.interval(days=s.package_term_days)).cast("date"),
        term_value=o.net_revenue,
        started_on=o.order_date,
    )
    types = {
        "customer_id": "string",
        "source": "string",
        "source_id": "string",
        "plan": "string",
        "end_on": "date",
        "term_value": "float64",
        "started_on": "date",
    }
    both = subs.cast(types).union(packages.cast(types))
    days_left = both.end_on.delta(t, unit="day")
    both = both.mutate(days_left=days_left)
    return both.filter(
        both.end_on.notnull(), both.days_left > 0, both.days_left <= max(s.checkpoints)
    )


def renewal_due_found(ctx: PlaybookContext, s: RenewalDuePlaybook) -> ir.Table:
    """Subscriptions and packages that end within the largest checkpoint.

    A fixed-term subscription ends on its ``end_date``; an open-ended one whose
    billing period is in ``billing_periods`` renews at the end of its current
    period; a package (the customer's latest order of kind ``package``) runs for
    ``package_term_days``.  One action per checkpoint reached (for example 90 and 30
    days before the end).  The value at stake is a year of the subscription, or the
    package's price.
    """
    found = _renewals(ctx, s).join(ctx.customers, "customer_id")
    checkpoints = sorted(s.checkpoints)
    # The checkpoint reached: the nearest one at or above the days left.
    cp = ibis.cases(
        *[(found.days_left <= c, ibis.literal(c, "int64")) for c in checkpoints],
        else_=ibis.literal(checkpoints[-1], "int64"),
    )
    found = found.mutate(checkpoint=cp)
    episode = (
        found.source
        + ":"
        + found.source_id
        + "|"
        + _iso(found.end_on)
        + "|"
        + found.checkpoint.cast("string")
    )
    return found.mutate(
        # A package from a log without amounts has no price: say so, never 0.
        at_stake=found.term_value,
        episode=episode,
        due=(found.end_on - found.checkpoint.as_interval("D")).cast("date"),
        urgent=found.checkpoint == checkpoints[0],
    )


def renewal_due_render(
    ctx: PlaybookContext, s: RenewalDuePlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates of :func:`renewal_due_found`'s rows, with reason and message."""
    out = []
    for r in rows:
        left = int(r["days_left"])
        cp = int(r["checkpoint"])
        due = r["due"]
        value = None if r["term_value"] is None else float(r["term_value"])
        when = {"end": r["end_on"], "days": left, "checkpoint": cp}
        if r["source"] != "subscription":
            what = clause(
                "package_ends", plan=r["plan"], bought_on=r["started_on"], price=value, **when
            )
        elif r["plan"]:
            what = clause("subscription_ends", plan=r["plan"], yearly=value, **when)
        else:
            what = clause("subscription_ends_unnamed", yearly=value, **when)
        why = reason(ctx.currency, what, orders_worth(r))
        values = common_values(ctx, r, value_at_stake=value, due=due)
        values |= {
            "days_left": left,
            "end_date": r["end_on"].isoformat(),
            "plan": r["plan"] or r["source"],
        }
        out.append(
            Candidate(
                customer_id=r["customer_id"],
                playbook="renewal_due",
                episode=r["episode"],
                value_at_stake=value,
                due=due,
                reason=why,
                message=render_message("renewal_due", s.message, values),
                urgent=bool(r["urgent"]),
                detail={
                    "source": r["source"],
                    "source_id": r["source_id"],
                    "end_date": r["end_on"],
                    "checkpoint": cp,
                },
            )
        )
    return out


def reward_ledger(ctx: PlaybookContext) -> list[dict[str, Any]]:
    """Earned referral rewards from :func:`regulars.metrics.referrals.referral_rewards`.

    Each row: recipient (the ledger's payee), referrer, referee, side, rule, amount,
    earned_at (date) and reward_key (recipient, referee, side and rule: what a
    payment settles).  Only rewards earned by "today" (``earned_at``, past the
    referee's guarantee window), not capped or blocked, with a positive amount are
    listed.
    """
    import importlib

    try:
        module = importlib.import_module("regulars.metrics.referrals")
    except ImportError:  # pragma: no cover - the metrics stage ships the ledger
        return []
    referral_rewards = getattr(module, "referral_rewards", None)
    if referral_rewards is None:  # pragma: no cover
        return []
    # Judged here rather than with as_of=today: a reward is owed once its
    # earned_at has passed, unless the ledger capped or blocked it.
    ledger = referral_rewards(ctx.ws)
    ledger = ledger.filter(ledger.status.isin(("earned", "pending")))
    rows = []
    for r in ledger.to_pyarrow().to_pylist():
        side = r.get("side") or "referrer"
        recipient = r.get("payee") or (r["referee"] if side == "referee" else r["referrer"])
        earned_at = r["earned_at"]
        if isinstance(earned_at, _dt.datetime):
            earned_at = earned_at.date()
        if earned_at > ctx.today or r["amount"] is None or float(r["amount"]) <= 0:
            continue
        rule = str(r.get("rule") or "")
        rows.append(
            {
                "recipient": recipient,
                "referrer": r["referrer"],
                "referee": r["referee"],
                "side": side,
                "rule": rule,
                "amount": float(r["amount"]),
                "earned_at": earned_at,
                "reward_key": f"{recipient}|{r['referee']}|{side}|{rule}",
            }
        )
    return rows


def pay_referral_reward_found(ctx: PlaybookContext, s: PayReferralRewardPlaybook) -> ir.Table:
    """Referral rewards earned and cleared (past the referee's guarantee window, as
    the reward ledger decides) but not yet paid; one action per recipient for all
    they are owed.  The value at stake is the amount owed.

    The ledger is read in Python (one row per reward, a small table), so the
    candidates are made here and handed to the engine as an in-memory table; their
    reasons wait in the run's cache for :func:`pay_referral_reward_render`.
    """
    found = _owed_rewards(ctx, s)
    ctx.cache["pay_referral_reward"] = {(c.customer_id, c.episode): c for c in found}
    return ibis.memtable(
        {
            "customer_id": [c.customer_id for c in found],
            "episode": [c.episode for c in found],
            "at_stake": [c.value_at_stake for c in found],
            "due": [c.due for c in found],
            "urgent": [c.urgent for c in found],
        },
        schema=CORE_COLUMNS,
    )


def pay_referral_reward_render(
    ctx: PlaybookContext, s: PayReferralRewardPlaybook, rows: list[dict[str, Any]]
) -> list[Candidate]:
    """The candidates :func:`pay_referral_reward_found` made, for the rows kept."""
    made = ctx.cache.get("pay_referral_reward", {})
    return [made[(r["customer_id"], r["episode"])] for r in rows]


def _owed_rewards(ctx: PlaybookContext, s: PayReferralRewardPlaybook) -> list[Candidate]:
    ledger = reward_ledger(ctx)
    if not ledger:
        return []
    paid = {
        r[0]
        for r in ctx.ws.con.execute(f"SELECT reward_key FROM {REWARD_PAYMENTS.name}").fetchall()
    }
    owed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in ledger:
        if r["reward_key"] not in paid and r["amount"] > 0:
            owed[r["recipient"]].append(r)
    if not owed:
        return []
    facts = {
        r["customer_id"]: r
        for r in _rows(ctx.customers.filter(ctx.customers.customer_id.isin(sorted(owed))))
    }
    names = {
        r["customer_id"]: r["name"] or r["customer_id"]
        for r in _rows(
            ctx.table("customers")
            .filter(
                ctx.table("customers").customer_id.isin(
                    sorted({x["referee"] for v in owed.values() for x in v})
                )
            )
            .select("customer_id", "name")
        )
    }
    out = []
    for recipient, rewards in sorted(owed.items()):
        rewards.sort(key=lambda x: (x["earned_at"], x["reward_key"]))
        amount = sum(x["amount"] for x in rewards)
        referees = [names.get(x["referee"], x["referee"]) for x in rewards]
        oldest = rewards[0]["earned_at"]
        row = facts.get(recipient, {"customer_id": recipient, "name": recipient})
        why = reason(
            ctx.currency,
            clause(
                "reward_owed",
                rewards=len(rewards),
                amount=amount,
                referees=sorted(set(referees)),
            ),
            clause("earned_since", on=oldest),
        )
        values = common_values(ctx, row, value_at_stake=amount, due=oldest)
        values |= {
            "amount": ctx.money(amount),
            "referee": ", ".join(sorted({x["referee"] for x in rewards})),
            "referee_name": _and_list(sorted(set(referees))),
        }
        out.append(
            Candidate(
                customer_id=recipient,
                playbook="pay_referral_reward",
                episode="|".join(x["reward_key"] for x in rewards),
                value_at_stake=amount,
                due=oldest,
                reason=why,
                message=render_message("pay_referral_reward", s.message, values),
                urgent=(ctx.today - oldest).days > 30,
                detail={
                    "rewards": [
                        {k: x[k] for k in ("reward_key", "referee", "side", "amount")}
                        for x in rewards
                    ]
                },
            )
        )
    return out


next_step = Playbook(next_step_found, next_step_render)
package_offer = Playbook(package_offer_found, package_offer_render)
renewal_due = Playbook(renewal_due_found, renewal_due_render)
pay_referral_reward = Playbook(pay_referral_reward_found, pay_referral_reward_render)
