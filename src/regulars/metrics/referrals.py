"""The referral program: the referral tree, top referrers, referred revenue and rewards.

The graph is the edge list ``customers.customer_id → customers.referred_by``.  It is
walked *in the engine* with a fixed number of self-joins (``[referrals] max_depth``,
plus one to see whether a chain ends), so it scales with the book and never leaves
the engine: each referred customer gets its chain of ancestors ``a1`` (the referrer),
``a2``… A chain that reaches a customer without a referrer has ended: that customer
is the root of the tree.  A chain that comes back to its own customer is a cycle
(length 1 is a self-referral).  A chain that neither ends nor returns within
``max_depth + 1`` steps either leads into a cycle or is deeper than ``max_depth``;
both are reported by :func:`referral_problems`.

Rewards (:func:`referral_rewards`) follow the rules of ``[[referrals.rules]]`` and
are held until the referee's money-back window (``[guarantee] days``) has passed.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from regulars.config import Config, Period, ReferralRule
from regulars.errors import ConfigError
from regulars.metrics._asof import observation_end
from regulars.metrics._common import (
    MONEY,
    WIDE_DECIMAL,
    MetricContext,
    TablesLike,
    attach_channels,
    customer_channels,
    filter_periods,
    first_paid_orders,
    index_to_start,
    metric_context,
    money_sum,
    order_facts,
    period_index,
    resolve_period,
    safe_ratio,
    union_all,
)

__all__ = [
    "referral_problems",
    "referral_rewards",
    "referral_tree",
    "referrals",
    "top_referrers",
]

#: Problems that make an edge ineligible for rewards.
BLOCKING_PROBLEMS = ("self-referral", "cycle", "unknown referrer")


# -- the graph -----------------------------------------------------------------------


def _edges(ctx: MetricContext) -> ir.Table:
    c = ctx.table("customers")
    c = c.filter(c.referred_by.notnull(), c.referred_by != "")
    return c.select("customer_id", "referred_by")


def _chains(ctx: MetricContext) -> tuple[ir.Table, int]:
    """Every referred customer with ancestors ``a1`` … ``a{D+1}`` (null past the root)."""
    depth = ctx.config.referrals.max_depth
    e = _edges(ctx)
    # One flat chain of self-joins: a_k's referrer is a_{k+1}.
    base = e.select(customer_id=e.customer_id, a1=e.referred_by)
    steps = [base]
    chain = base
    for k in range(2, depth + 2):
        v = e.view()
        step = v.select(**{f"_c{k}": v.customer_id, f"a{k}": v.referred_by})
        chain = chain.left_join(step, steps[-1][f"a{k - 1}"] == step[f"_c{k}"])
        steps.append(step)
    t = chain.select("customer_id", *[f"a{k}" for k in range(1, depth + 2)])
    return t, depth


def _walk(ctx: MetricContext) -> tuple[ir.Table, int]:
    """Chains plus ``ended``, ``depth``, ``root``, ``cycle_length`` per referred customer."""
    t, depth = _chains(ctx)
    anc = [t[f"a{k}"] for k in range(1, depth + 2)]
    ended = anc[-1].isnull()
    steps = ibis.literal(0, type="int64")
    for a in anc[:-1]:
        steps = steps + a.notnull().cast("int64")
    returns = [
        (a == t.customer_id).fill_null(False) for a in anc
    ]  # a_k == customer: cycle of length k
    cycle_length = ibis.cases(
        *[(r, ibis.literal(k, type="int64")) for k, r in enumerate(returns, start=1)],
        else_=ibis.null("int64"),
    )
    t = t.mutate(
        ended=ended,
        depth=ibis.cases((ended, steps), else_=ibis.null("int64")),
        root=ibis.cases((ended, ibis.coalesce(*reversed(anc[:-1]))), else_=ibis.null("string")),
        cycle_length=cycle_length,
    )
    return t, depth


def referral_problems(
    data: TablesLike,
    /,
    *,
    config: Config | None = None,
) -> ir.Table:
    """Referral links that cannot be right: self-referrals, cycles, unknown referrers.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``customers``.
    config : Config, optional
        Overrides the workspace configuration (``[referrals] max_depth``).

    Returns
    -------
    ibis.Table
        ``customer_id``, ``referred_by``, ``problem`` and ``cycle_length``.  Problems:
        ``self-referral`` (referred_by is the customer), ``cycle`` (following
        referrers comes back to the customer after ``cycle_length`` steps),
        ``leads into a cycle`` (the chain above the customer loops without them),
        ``too deep`` (no root within ``max_depth`` levels), ``unknown referrer``
        (referred_by is not a customer).  A customer can have two problems.  Rewards
        are blocked for self-referrals, cycles and unknown referrers.
    """
    ctx = metric_context(data, config)
    t, depth = _walk(ctx)
    in_cycle = t.filter(t.cycle_length.notnull()).select(_cyc=t.customer_id)
    last = f"a{depth + 1}"
    t = t.left_join(in_cycle, t[last] == in_cycle._cyc)
    problem = ibis.cases(
        (t.cycle_length == 1, "self-referral"),
        (t.cycle_length.notnull(), "cycle"),
        (~t.ended & t._cyc.notnull(), "leads into a cycle"),
        (~t.ended, "too deep"),
        else_=ibis.null("string"),
    )
    graph = t.select("customer_id", referred_by=t.a1, problem=problem, cycle_length="cycle_length")
    graph = graph.filter(graph.problem.notnull())
    c = ctx.table("customers")
    ids = c.select(_id=c.customer_id)
    e = _edges(ctx)
    unknown = e.left_join(ids, e.referred_by == ids._id)
    unknown = unknown.filter(unknown._id.isnull()).select(
        "customer_id",
        "referred_by",
        problem=ibis.literal("unknown referrer"),
        cycle_length=ibis.null("int64"),
    )
    return union_all(graph, unknown).order_by(["customer_id", "problem"])


def _revenue_per_customer(ctx: MetricContext) -> ir.Table:
    facts = order_facts(ctx, "month")
    return facts.group_by(_rc="customer_id").aggregate(_rev=facts.net_revenue.sum())


def referral_tree(
    data: TablesLike,
    /,
    *,
    config: Config | None = None,
) -> ir.Table:
    """Every customer in the referral graph with their place in the tree and its size.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``customers`` and ``orders`` (revenue is net of refunds, all time).
    config : Config, optional
        Overrides the workspace configuration (``[referrals] max_depth``).

    Returns
    -------
    ibis.Table
        One row per customer who referred someone or was referred: ``customer_id``,
        ``referred_by``, ``root`` (the customer at the top of their tree; themselves
        for a root), ``depth`` (0 for a root, 1 for whom the root referred…),
        ``direct_referrals`` and ``referred_revenue`` (the customers they referred
        themselves, and those customers' revenue), ``descendants`` and
        ``descendant_revenue`` (their whole subtree), ``tree_size`` (customers in
        their tree, root included), ``tree_depth`` (deepest level of their tree).
        Customers in a cycle, leading into one or deeper than ``max_depth`` have null
        root and depth and are not counted in anyone's subtree (see
        :func:`referral_problems`); self-referrals and links inside a cycle are not
        counted as referrals.
    """
    ctx = metric_context(data, config)
    t, depth = _walk(ctx)
    revenue = _revenue_per_customer(ctx)
    valid = t.filter(t.ended)
    ancestors = ibis.array([valid[f"a{k}"] for k in range(1, depth + 1)])
    pairs = valid.select(descendant=valid.customer_id, ancestor=ancestors).unnest("ancestor")
    pairs = pairs.filter(pairs.ancestor.notnull())
    pairs = pairs.left_join(revenue, pairs.descendant == revenue._rc)
    subtree = pairs.group_by(_anc="ancestor").aggregate(
        descendants=pairs.count(), descendant_revenue=money_sum(pairs._rev)
    )

    e = t.filter(t.cycle_length.isnull()).select("customer_id", referred_by=t.a1)
    direct = e.left_join(revenue, e.customer_id == revenue._rc)
    direct = direct.group_by(_ref="referred_by").aggregate(
        direct_referrals=direct.count(), referred_revenue=money_sum(direct._rev)
    )

    # Every referred customer and every referrer.
    nodes = t.select(node=ibis.array([t.customer_id, t.a1])).unnest("node").distinct()
    info = t.select(_n="customer_id", _by="a1", _root="root", _depth="depth", _ended="ended")
    n = nodes.left_join(info, nodes.node == info._n)
    n = n.select(
        customer_id=n.node,
        referred_by=n._by,
        root=ibis.cases((n._n.isnull(), n.node), else_=n._root),
        depth=ibis.cases((n._n.isnull(), ibis.literal(0, type="int64")), else_=n._depth),
    ).view()  # ends the join chain, so the tables below can join onto it
    trees = n.filter(n.root.notnull())
    trees = trees.group_by(_root="root").aggregate(
        tree_size=trees.count(), tree_depth=trees.depth.max()
    )
    n = n.left_join(trees, n.root == trees._root)
    n = n.left_join(subtree, n.customer_id == subtree._anc)
    n = n.left_join(direct, n.customer_id == direct._ref)
    zero = ibis.literal(Decimal("0.00"), type=MONEY)
    out = n.select(
        "customer_id",
        "referred_by",
        "root",
        "depth",
        direct_referrals=n.direct_referrals.fill_null(0).cast("int64"),
        referred_revenue=ibis.coalesce(n.referred_revenue, zero),
        descendants=n.descendants.fill_null(0).cast("int64"),
        descendant_revenue=ibis.coalesce(n.descendant_revenue, zero),
        tree_size=n.tree_size.cast("int64"),
        tree_depth=n.tree_depth.cast("int64"),
    )
    return out.order_by(["customer_id"])


def top_referrers(
    data: TablesLike,
    /,
    *,
    n: int = 10,
    config: Config | None = None,
) -> ir.Table:
    """The ``n`` customers who referred the most customers (then the most revenue).

    Rows of :func:`referral_tree` with at least one direct referral, ordered by
    ``direct_referrals`` and ``referred_revenue`` (descending), then ``customer_id``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"n = {n!r} is not valid (expected a whole number, at least 1).")
    tree = referral_tree(data, config=config)
    tree = tree.filter(tree.direct_referrals > 0)
    return tree.order_by(
        [ibis.desc("direct_referrals"), ibis.desc("referred_revenue"), "customer_id"]
    ).limit(n)


# -- rewards -------------------------------------------------------------------------


def _rule_rows(
    q: ir.Table, facts: ir.Table, rule: ReferralRule, rule_no: int, days: int
) -> list[ir.Table]:
    """Ledger rows of one rule for the qualified referrals ``q``."""
    label = rule.name or f"{rule.kind} #{rule_no}"
    hold = ibis.interval(days=days)
    if rule.kind == "percentage":
        window_end = q.first_date + ibis.interval(months=rule.months)
        w = q.mutate(_until=window_end)
        f = facts.select(_fc="customer_id", _fd="order_date", _fr="net_revenue")
        j = w.join(f, [w.referee == f._fc, f._fd >= w.first_date, f._fd < w._until])
        base = j.group_by("referrer", "referee", "first_date", "cohort_index", "_until").aggregate(
            basis=j._fr.sum()
        )
        basis = ibis.greatest(base.basis, 0).cast(MONEY)
        share = ibis.literal(Decimal(str(rule.percent)) / 100, type=WIDE_DECIMAL)
        amount = (basis.cast(WIDE_DECIMAL) * share).round(2).cast(MONEY)
        base = base.mutate(basis=basis, _amount=amount, earned_at=base._until + hold)
        sides = {"both": ["referrer", "referee"]}.get(rule.side, [rule.side])
        amounts = {side: base._amount for side in sides}
    else:
        base = q.mutate(basis=ibis.null(MONEY), earned_at=q.first_date + hold)
        money = ibis.literal(Decimal(str(rule.amount)).quantize(Decimal("0.01")), type=MONEY)
        if rule.kind == "double-sided":
            other = rule.amount if rule.referee_amount is None else rule.referee_amount
            amounts = {
                "referrer": money,
                "referee": ibis.literal(Decimal(str(other)).quantize(Decimal("0.01")), type=MONEY),
            }
        else:
            sides = {"both": ["referrer", "referee"]}.get(rule.side, [rule.side])
            amounts = {side: money for side in sides}
    out = []
    for side, amount in amounts.items():
        out.append(
            base.select(
                referrer=base.referrer,
                referee=base.referee,
                payee=base[side],
                side=ibis.literal(side),
                rule=ibis.literal(label),
                rule_no=ibis.literal(rule_no, type="int64"),
                basis=base.basis,
                amount_before_cap=amount,
                qualified_at=base.first_date,
                earned_at=base.earned_at.cast("date"),
                cohort_index=base.cohort_index,
            )
        )
    return out


def referral_rewards(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    as_of: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """The reward ledger: what each referral earned under ``[[referrals.rules]]``.

    A referral qualifies when the referee makes their first paid order (its date is
    ``qualified_at``).  Rules:

    - ``fixed``: ``amount`` to ``side`` (referrer, referee or both);
    - ``double-sided``: ``amount`` to the referrer and ``referee_amount`` (default
      ``amount``) to the referee;
    - ``percentage``: ``percent`` % of the referee's net revenue (after refunds, at
      least 0) from orders in their first ``months`` months, rounded half-up to the
      cent, to ``side``.

    A reward is *earned* ``[guarantee] days`` after it is fixed: after the first paid
    order for fixed rewards, after the end of the ``months`` window for percentage
    rewards.  Until ``as_of`` reaches ``earned_at`` it is *pending*.  With
    ``cap_per_referrer`` set, a referrer's rewards count against the cap in order of
    ``earned_at`` (then referee, rule): the reward that crosses the cap is cut to
    the rest and later ones are *capped* at 0.  Referrals with a blocking problem
    (self-referral, cycle, unknown referrer; see :func:`referral_problems`) are
    *blocked* with amount 0.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``customers`` and ``orders``.
    period : {"month", "quarter", "year"}, optional
        The period of the ``period`` (of ``earned_at``) and ``cohort`` columns.
    as_of : date or ISO string, optional
        The day the status is judged on (default: the latest date in the data).
    config : Config, optional
        Overrides the workspace configuration (``[referrals]``, ``[guarantee]``).

    Returns
    -------
    ibis.Table
        ``referrer``, ``referee``, ``payee``, ``side`` (referrer or referee),
        ``rule``, ``basis`` (revenue a percentage applies to), ``amount_before_cap``,
        ``amount``, ``qualified_at``, ``earned_at``, ``period``, ``cohort`` (the
        referee's acquisition period) and ``status`` (pending, earned, capped or
        blocked).  Empty when no rules are configured.
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    cfg = ctx.config.referrals
    facts = order_facts(ctx, per)
    first = first_paid_orders(facts)
    e = _edges(ctx)
    q = e.join(first, e.customer_id == first.customer_id)
    q = q.select(
        referrer=q.referred_by,
        referee=e.customer_id,
        first_date=q.first_date,
        cohort_index=q.cohort_index,
    )
    rows: list[ir.Table] = []
    for i, rule in enumerate(cfg.rules, start=1):
        rows.extend(_rule_rows(q, facts, rule, i, ctx.config.guarantee.days))
    if not rows:
        empty = q.limit(0)
        rows = [
            empty.select(
                referrer=empty.referrer,
                referee=empty.referee,
                payee=empty.referrer,
                side=ibis.literal("referrer"),
                rule=ibis.literal(""),
                rule_no=ibis.literal(0, type="int64"),
                basis=ibis.null(MONEY),
                amount_before_cap=ibis.literal(Decimal("0.00"), type=MONEY),
                qualified_at=empty.first_date,
                earned_at=empty.first_date,
                cohort_index=empty.cohort_index,
            )
        ]
    ledger = union_all(*rows)

    problems = referral_problems(ctx)
    blocked = problems.filter(problems.problem.isin(BLOCKING_PROBLEMS))
    blocked = blocked.select(_bc=blocked.customer_id).distinct()
    ledger = ledger.left_join(blocked, ledger.referee == blocked._bc)
    ledger = ledger.mutate(_blocked=ledger._bc.notnull()).drop("_bc")
    ledger = ledger.cross_join(observation_end(ctx, as_of))

    raw = ibis.cases(
        (ledger._blocked, ibis.literal(Decimal("0.00"), type=MONEY)), else_=ledger.amount_before_cap
    )
    ledger = ledger.mutate(_raw=raw.cast(MONEY))
    if cfg.cap_per_referrer > 0:
        cap = ibis.literal(Decimal(str(cfg.cap_per_referrer)).quantize(Decimal("0.01")), type=MONEY)
        is_ref = ledger.side == "referrer"
        counted = ibis.cases((is_ref, ledger._raw), else_=ibis.literal(Decimal("0.00"), type=MONEY))
        order = ibis.window(
            group_by=[ledger.referrer, ledger.side],
            order_by=[ledger.earned_at, ledger.referee, ledger.rule_no],
            rows=(None, 0),
        )
        before = counted.sum().over(order) - counted
        room = ibis.greatest(cap - before, 0)
        capped = ibis.cases((is_ref, ibis.least(ledger._raw, room)), else_=ledger._raw)
        ledger = ledger.mutate(amount=capped.cast(MONEY))
    else:
        ledger = ledger.mutate(amount=ledger._raw)
    status = ibis.cases(
        (ledger._blocked, "blocked"),
        ((ledger.amount == 0) & (ledger.amount_before_cap > 0), "capped"),
        (ledger.earned_at > ledger.as_of, "pending"),
        else_="earned",
    )
    out = ledger.select(
        "referrer",
        "referee",
        "payee",
        "side",
        "rule",
        "basis",
        "amount_before_cap",
        "amount",
        "qualified_at",
        "earned_at",
        period=index_to_start(period_index(ledger.earned_at, per), per),
        cohort=index_to_start(ledger.cohort_index, per),
        status=status,
    )
    return out.order_by(["earned_at", "referrer", "referee", "rule", "side"])


# -- per period ----------------------------------------------------------------------


def referrals(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    as_of: _dt.date | str | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Referred customers, their revenue and the rewards, per period.

    Referred customers are those whose channel kind is ``referral`` (``referred_by``
    set, or a channel mapped to ``referral`` in ``[channels]``).

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``orders`` and ``customers``.
    period : {"month", "quarter", "year"}, optional
        The period; default ``[workspace] period``.
    as_of : date or ISO string, optional
        The day reward statuses are judged on.
    start, end : date or ISO string, optional
        Keep only the periods overlapping ``[start, end]``.
    config : Config, optional
        Overrides the workspace configuration.

    Returns
    -------
    ibis.Table
        ``period``, ``new_customers``, ``new_referred_customers``,
        ``referred_share_of_new``, ``revenue``, ``referred_revenue``,
        ``referred_share_of_revenue``, ``referrers`` (distinct referrers of the
        referred customers acquired in the period), ``rewards`` (ledger amounts whose
        ``earned_at`` falls in the period, pending or earned), ``rewards_earned``.
        Every period from the first to the last order appears.
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    facts = order_facts(ctx, per)
    f = attach_channels(ctx, facts)
    is_ref = f.channel_kind == "referral"
    rev = f.group_by("period_index").aggregate(
        revenue=money_sum(f.net_revenue),
        referred_revenue=money_sum(f.net_revenue, where=is_ref),
    )
    # The same facts (one shared subquery), and one join to customers for both the
    # channel kind and the referrer of each new customer.
    first = first_paid_orders(facts)
    ch = customer_channels(ctx).select("customer_id", "channel_kind", _rb="referred_by")
    first = first.left_join(ch, "customer_id")
    new = first.group_by(_ni="cohort_index").aggregate(
        new_customers=first.count(),
        new_referred_customers=(first.channel_kind == "referral").cast("int64").sum(),
        referrers=first._rb.nunique(where=first._rb.notnull() & (first._rb != "")),
    )
    ledger = referral_rewards(ctx, period=per, as_of=as_of)
    ledger = ledger.mutate(_li=period_index(ledger.earned_at, per))
    paid = ledger.filter(ledger.status.isin(["pending", "earned"]))
    rw = paid.group_by("_li").aggregate(
        rewards=money_sum(paid.amount),
        rewards_earned=money_sum(paid.amount, where=paid.status == "earned"),
    )
    bounds = facts.aggregate(_lo=facts.period_index.min(), _hi=facts.period_index.max())
    grid = bounds.select(period_index=ibis.range(bounds._lo, bounds._hi + 1)).unnest("period_index")
    grid = grid.select(period_index=grid.period_index.cast("int64"))
    rev = rev.rename(_ri="period_index")
    t = grid.left_join(rev, grid.period_index == rev._ri)
    t = t.left_join(new, t.period_index == new._ni)
    t = t.left_join(rw, t.period_index == rw._li)
    zero = ibis.literal(Decimal("0.00"), type=MONEY)
    t = t.select(
        "period_index",
        new_customers=t.new_customers.fill_null(0).cast("int64"),
        new_referred_customers=t.new_referred_customers.fill_null(0).cast("int64"),
        revenue=ibis.coalesce(t.revenue, zero),
        referred_revenue=ibis.coalesce(t.referred_revenue, zero),
        referrers=t.referrers.fill_null(0).cast("int64"),
        rewards=ibis.coalesce(t.rewards, zero),
        rewards_earned=ibis.coalesce(t.rewards_earned, zero),
    )
    t = filter_periods(t, per, start, end)
    out = t.select(
        period=index_to_start(t.period_index, per),
        new_customers=t.new_customers,
        new_referred_customers=t.new_referred_customers,
        referred_share_of_new=safe_ratio(t.new_referred_customers, t.new_customers),
        revenue=t.revenue,
        referred_revenue=t.referred_revenue,
        referred_share_of_revenue=safe_ratio(t.referred_revenue, t.revenue),
        referrers=t.referrers,
        rewards=t.rewards,
        rewards_earned=t.rewards_earned,
    )
    return out.order_by(["period"])
