"""Per-customer facts the playbooks read, computed in the engine as of "today".

Paid orders are those of :func:`regulars.ledger.purchases`, the one definition every
stage uses (docs/data.md): cancelled orders and credit notes are not purchases, a
credit note is netted against the invoice it reverses, and a *paid order* is one
whose net revenue is positive after that.  Only rows dated on or before "today" are
read (credit notes too), so a queue can be recomputed for any past day.
Every input is read through the engine (see :mod:`regulars.actions._engine`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from regulars.actions._engine import (
    computed_here,
    input_tables,
    latest_order_date,
    on_workspace_file,
    scalar,
    shared_here,
    state_table,
)
from regulars.actions._store import ACTIONS, SCORE_HISTORY, ensure_action_tables
from regulars.ledger import credit_window_days, has_amounts, purchases

if TYPE_CHECKING:
    from regulars.config import Config
    from regulars.store import Workspace

__all__ = [
    "PlaybookContext",
    "active",
    "build_context",
    "first_purchases",
    "not_excluded",
    "paid_orders",
    "purchased_items",
    "snapshot_scores",
]

# A score history snapshot must be this much older than the current scores to be
# quoted as "was 0.95 in March".
_HISTORY_MIN_AGE_DAYS = 60
# Usual gap between orders when no customer has two orders yet.
_DEFAULT_GAP_DAYS = 365.0


def paid_orders(ws: Workspace, today: _dt.date) -> ir.Table:
    """Paid orders up to ``today`` (:func:`regulars.ledger.purchases` of the engine's
    orders): order_id, customer_id, order_date (date), net_revenue (float64), kind,
    product, category.
    """
    o = input_tables(ws)["orders"]
    o = o.filter(o.order_date.cast("date") <= ibis.date(today))
    o = purchases(o, credit_window_days=credit_window_days(ws.config))
    return o.select(
        order_id=o.order_id.cast("string"),
        customer_id=o.customer_id.cast("string"),
        order_date=o.order_date.cast("date"),
        net_revenue=o.net_revenue.cast("float64"),
        kind=o.kind.fill_null("one-off"),
        product=o.product,
        category=o.category,
    )


def not_excluded(name: ir.StringValue, patterns: list[str]) -> ir.BooleanValue:
    """True where ``name`` matches none of the ``[products] exclude`` patterns."""
    keep: ir.BooleanValue = name.notnull()
    for p in patterns:
        keep = keep & ~name.re_search(p)
    return keep


def purchased_items(
    ws: Workspace, orders: ir.Table, item: str = "product", *, only_these: bool = False
) -> ir.Table:
    """What each paid order bought, one row per (order, item): customer_id, order_id,
    order_date, kind (the order's), item, amount.

    Items come from the order's lines (``order_lines``) when it has any, else from
    the order itself (its ``product`` or ``category`` and its net revenue).  The
    amount is the sum of the item's lines in the order, so statistics of a product
    are about that product, not about whole orders.  Names matching ``[products]
    exclude`` (postage, fees...) are left out, as are items returned in full.
    ``only_these``: ``orders`` are a few (one customer's), so only their lines are
    summed, not every line's.
    """
    lines = input_tables(ws)["order_lines"]
    lines = lines.select(
        _l_order=lines.order_id.cast("string"),
        _l_item=lines[item].cast("string"),
        _l_amount=lines.revenue.cast("float64"),
    )
    if only_these:
        ids = orders.select(_s_order="order_id")
        lines = lines.semi_join(ids, lines._l_order == ids._s_order)
    # The item's lines of each order summed first, then one left join: an order
    # with lines takes its lines' items, one without takes its own item.
    per_line = lines.group_by("_l_order", "_l_item").agg(_l_amount=lines._l_amount.sum())
    heads = orders.select(
        "order_id",
        "customer_id",
        "order_date",
        "kind",
        _o_item=orders[item].cast("string"),
        _o_amount=orders.net_revenue,
    )
    j = heads.left_join(per_line, heads.order_id == per_line._l_order)
    has_lines = j._l_order.notnull()
    both = j.select(
        "customer_id",
        "order_id",
        "order_date",
        "kind",
        item=ibis.ifelse(has_lines, j._l_item, j._o_item),
        amount=ibis.ifelse(has_lines, j._l_amount, j._o_amount),
    )
    return both.filter(
        not_excluded(both.item, ws.config.products.patterns),
        both.amount.isnull() | (both.amount > 0),
    )


def first_purchases(items: ir.Table, item_col: str = "item") -> ir.Table:
    """One row per customer and item they bought: customer_id, item, first_on (the
    day of their first order of it)."""
    return items.group_by("customer_id", item=items[item_col]).agg(first_on=items.order_date.min())


@dataclass
class PlaybookContext:
    """Everything a playbook needs: the workspace, its settings, "today" and the facts.

    ``customers`` has one row per customer with a paid order up to ``today``:
    customer_id, name, orders, order_days, visits, first_order, last_order, revenue,
    last_product, mean_gap_days, days_since_order, last_touch, days_since_touch,
    last_contact, days_since_contact, feedback, referrals_made, p_alive, clv,
    expected_orders_365d, p_alive_before, value, yearly_value, yearly_orders,
    usual_gap_days, gap_lapsed, p_active.

    A *visit* is a run of orders each within ``[actions] visit_days`` of the one
    before, so a burst of orders in one week is one visit.  ``mean_gap_days`` is the
    mean gap between the starts of a customer's visits (null with a single visit);
    ``usual_gap_days`` is that, or the median of it over all customers.  ``value`` is
    the CLV from the scores, or, without scores, the yearly revenue since the first
    order.  ``yearly_value`` is what a year of the customer is worth while they buy:
    revenue over their active span plus one usual gap, counting at least a year;
    ``yearly_orders`` is the same for their paid orders.
    ``p_active`` is P(alive) from the scores, or without scores the share of the
    lapse threshold (``gap_multiple`` usual gaps) not yet used up.

    ``amounts`` is False for a book without amounts (a customer + date log, see
    :func:`regulars.ledger.has_amounts`): every money value is then unknown, and the
    queue ranks by orders instead.

    The inputs come from the engine (:func:`regulars.engine.tables`); ``tables``
    holds them, and :meth:`state` hands the workspace file's action state over.
    """

    ws: Workspace
    config: Config
    today: _dt.date
    orders: ir.Table
    customers: ir.Table
    scored: bool
    tables: dict[str, ir.Table] = field(default_factory=dict)
    previous_scored_at: _dt.datetime | None = None
    typical_gap_days: float = 365.0
    cache: dict[str, Any] = field(default_factory=dict)
    amounts: bool = True

    @property
    def currency(self) -> str:
        return self.config.workspace.currency

    def money(self, amount: float | None) -> str:
        """``12,400 EUR``: whole units with thousands separators and the currency."""
        if amount is None:
            return "no amount"
        return f"{amount:,.0f} {self.currency}"

    def table(self, name: str) -> ir.Table:
        """Input table ``name`` (orders, customers, subscriptions...) on the engine."""
        return self.tables[name]

    def state(self, name: str, expr: ir.Table | None = None) -> ir.Table:
        """Action state table ``name`` (or ``expr`` over it) joinable with the inputs."""
        return state_table(self.ws, name, expr)

    def action_state(self) -> ir.Table:
        """The stored actions the queue reads, read once per run: the open and
        held-out ones (the list so far, the slots they hold), and the snoozed, done
        and dismissed ones (quiet periods, the frequency cap, actions closed for
        good).  Expired actions, most of a long history, are left out.  Columns:
        customer_id, playbook, episode, status, until, closed_on."""
        key = "action_state"
        if key not in self.cache:
            a = self.ws.table(ACTIONS.name)
            a = a.filter(a.status.isin(("open", "held_out", "snoozed", "done", "dismissed")))
            a = a.select(
                customer_id=a.customer_id.cast("string"),
                playbook=a.playbook,
                episode=a.episode,
                status=a.status,
                until=a.until,
                closed_on=a.closed_on,
            )
            self.cache[key] = (
                computed_here(a) if on_workspace_file(self.ws) else self.state(ACTIONS.name, a)
            )
        out: ir.Table = self.cache[key]
        return out

    def items(self, item: str) -> ir.Table:
        """:func:`purchased_items` of the paid orders (computed once per item column:
        the facts, several playbooks and the wording of the kept rows read it)."""
        key = f"items:{item}"
        if key not in self.cache:
            self.cache[key] = computed_here(purchased_items(self.ws, self.orders, item))
        out: ir.Table = self.cache[key]
        return out

    def items_of(self, customers: list[str], item: str) -> ir.Table:
        """:meth:`items` of a few ``customers`` (the kept rows' wording): read from
        :meth:`items` when this run computed it, else from these customers' paid
        orders and their lines only (a run that read its candidates from stored
        tables does not compute every customer's items for them)."""
        key = f"items:{item}"
        if key in self.cache:
            it: ir.Table = self.cache[key]
            return it.filter(it.customer_id.isin(customers))
        orders = self.orders.filter(self.orders.customer_id.isin(customers))
        return purchased_items(self.ws, orders, item, only_these=True)

    def owned(self, item: str) -> ir.Table:
        """Each customer's first purchase of each item (customer_id, item, first_on),
        from :meth:`items`, computed once per item column: the next-step rules, the
        next step and the something-new of a win-back read it."""
        key = f"owned:{item}"
        if key not in self.cache:
            self.cache[key] = computed_here(first_purchases(self.items(item)))
        out: ir.Table = self.cache[key]
        return out


def snapshot_scores(ws: Workspace) -> int:
    """Copy the current ``scores`` into ``score_history`` once per scoring run.

    ``as_of`` records the latest order date at the time of the copy: the data the
    scores describe, so the health-signal view never uses scores from the future.
    The scores are the workspace file's (``regulars score`` writes them there).

    Returns the number of rows copied (0 when this run is already kept or there are
    no scores).
    """
    if not ws.has_table("scores"):
        return 0
    ensure_action_tables(ws)
    cols = {
        r[0]
        for r in ws.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'scores'"
        ).fetchall()
    }
    if not {"customer_id", "scored_at", "p_alive"} <= cols:
        return 0
    new = ws.con.execute(
        "SELECT count(*) FROM scores WHERE scored_at IS NOT NULL AND CAST(scored_at AS "
        f"TIMESTAMP) NOT IN (SELECT DISTINCT scored_at FROM {SCORE_HISTORY.name})"
    ).fetchone()
    if not new or not new[0]:
        return 0
    clv = "CAST(clv AS DOUBLE)" if "clv" in cols else "NULL"
    before = ws.count(SCORE_HISTORY.name)
    ws.con.execute(
        f"""INSERT INTO {SCORE_HISTORY.name} (customer_id, scored_at, p_alive, clv, as_of)
        SELECT CAST(customer_id AS VARCHAR), CAST(scored_at AS TIMESTAMP),
               CAST(p_alive AS DOUBLE), {clv}, ?
        FROM scores
        WHERE scored_at IS NOT NULL AND CAST(scored_at AS TIMESTAMP) NOT IN
              (SELECT DISTINCT scored_at FROM {SCORE_HISTORY.name})""",
        [latest_order_date(ws)],
    )
    return ws.count(SCORE_HISTORY.name) - before


def _scores(
    tables: dict[str, ir.Table],
) -> tuple[ir.Table | None, _dt.datetime | None]:
    """The scores table (customer_id, p_alive, clv, expected_orders_365d) and its time."""
    s = tables.get("scores")
    if s is None or "p_alive" not in s.columns:
        return None, None

    def col(name: str) -> ir.Value:
        if name in s.columns:
            return s[name].cast("float64")
        return ibis.null("float64")

    out = s.select(
        customer_id=s.customer_id.cast("string"),
        p_alive=col("p_alive"),
        clv=col("clv"),
        expected_orders_365d=col("expected_orders_365d"),
    )
    scored_at = None
    if "scored_at" in s.columns:
        value = scalar(s.scored_at.cast("timestamp").max())
        scored_at = value if isinstance(value, _dt.datetime) else None
    return out, scored_at


def _previous_scores(
    ws: Workspace, scored_at: _dt.datetime | None
) -> tuple[ir.Table | None, _dt.datetime | None]:
    """The latest snapshot at least two months older than ``scored_at``."""
    if scored_at is None or not ws.has_table(SCORE_HISTORY.name):
        return None, None
    cutoff = scored_at - _dt.timedelta(days=_HISTORY_MIN_AGE_DAYS)
    row = ws.con.execute(
        f"SELECT max(scored_at) FROM {SCORE_HISTORY.name} WHERE scored_at <= ?", [cutoff]
    ).fetchone()
    previous = row[0] if row else None
    if not isinstance(previous, _dt.datetime):
        return None, None
    h = ws.table(SCORE_HISTORY.name)
    h = h.filter(h.scored_at == ibis.timestamp(previous))
    snap = h.select(customer_id=h.customer_id, p_alive_before=h.p_alive)
    return state_table(ws, SCORE_HISTORY.name, snap), previous


def _per_customer(orders: ir.Table, visit_days: int) -> ir.Table:
    """Per customer, from the paid orders (one row per order) in one window and one
    aggregate: orders, order_days, first_order, last_order, revenue, visits and the
    start of the last visit (see PlaybookContext).

    Each order's gap to the customer's previous order (by day) says whether it starts
    a new order day (a gap above 0) and a new visit (a gap above ``visit_days``, which
    is never negative): the first order of a day has the gap to the previous order
    day, the others of that day a gap of 0.

    The window orders by day alone, with no tie-breaker, on purpose: whichever of a
    day's orders comes first, exactly one of them gets the gap to the previous day and
    the others 0, so every aggregate below is the same for any order of the ties, on
    every engine (a tie-breaker on the order id made the sort about 40% dearer)."""
    prev = orders.order_date.lag().over(group_by=orders.customer_id, order_by=orders.order_date)
    gap = orders.order_date.delta(prev, unit="day")
    o = orders.mutate(
        _new_day=(prev.isnull() | (gap > 0)).cast("int64"),
        _new_visit=prev.isnull() | (gap > visit_days),
    )
    return o.group_by("customer_id").agg(
        orders=o.count(),
        order_days=o._new_day.sum().cast("int64"),
        first_order=o.order_date.min(),
        last_order=o.order_date.max(),
        revenue=o.net_revenue.sum(),
        visits=o._new_visit.cast("int64").sum().cast("int64"),
        last_visit=o.order_date.max(where=o._new_visit),
    )


def _last_items(items: ir.Table) -> ir.Table:
    """Per customer, the item of their latest order (customer_id, last_product): the
    one with the largest amount, then the latest order id, then the first name.

    Only the items of each customer's latest day are ranked, not every item."""
    last_day = items.group_by(_d_customer="customer_id").agg(_d_date=items.order_date.max())
    latest = items.semi_join(
        last_day,
        [items.customer_id == last_day._d_customer, items.order_date == last_day._d_date],
    )
    ranked = latest.mutate(
        _rn=ibis.row_number().over(
            group_by=latest.customer_id,
            order_by=[
                latest.order_date.desc(),
                latest.amount.desc(),
                latest.order_id.desc(),
                latest.item,
            ],
        )
    )
    return ranked.filter(ranked._rn == 0).select(
        customer_id="customer_id", last_product=ranked.item
    )


def build_context(
    ws: Workspace,
    today: _dt.date,
    *,
    use_scores: bool = True,
    temp_name: str = "_regulars_action_facts",
) -> PlaybookContext:
    """Compute the per-customer facts as of ``today`` in the engine (kept cached
    there while the playbooks run).  ``use_scores=False`` leaves the score columns
    null (for back-tests, where today's scores would leak the future).
    ``temp_name`` is kept for compatibility and not used."""
    del temp_name
    ensure_action_tables(ws)
    cfg = ws.config
    tables = input_tables(ws)
    t = ibis.date(today)
    # The paid orders and the items under them are computed once for the run: the
    # facts below, several playbooks and the wording of the kept rows all read them.
    orders = computed_here(paid_orders(ws, today))
    cache: dict[str, Any] = {}

    def order_facts() -> ir.Table:
        # Paid orders are one row per order (the ledger's contract), so a customer's
        # orders are counted, and their order days and visits come from one window.
        c = _per_customer(orders, cfg.actions.visit_days)
        items = cache["items:product"] = computed_here(purchased_items(ws, orders, "product"))
        return c.left_join(_last_items(items), "customer_id").drop("customer_id_right")

    # What the paid orders say of each customer is stored once per data version and
    # day: a second run on the same data reads it (see docs/actions.md).
    c = shared_here(
        ws,
        "action_customer_orders",
        {
            "today": today.isoformat(),
            "visit_days": cfg.actions.visit_days,
            "exclude": cfg.products.patterns,
        },
        order_facts,
    )

    tc = tables["touches"]
    tc = tc.filter(tc.touched_at.cast("date") <= t)
    touches = tc.group_by(customer_id=tc.customer_id.cast("string")).agg(
        last_touch=tc.touched_at.cast("date").max()
    )
    c = c.left_join(touches, "customer_id").drop("customer_id_right")

    fb = tables["feedback"]
    fb = fb.filter(fb.feedback_date.cast("date") <= t)
    fb_ranked = fb.mutate(
        _rn=ibis.row_number().over(
            group_by=fb.customer_id,
            order_by=[fb.feedback_date.desc(), fb.score.desc(), fb.comment],
        )
    )
    feedback = fb_ranked.filter(fb_ranked._rn == 0).select(
        customer_id=fb_ranked.customer_id.cast("string"),
        feedback=fb_ranked.score.cast("float64"),
    )
    c = c.left_join(feedback, "customer_id").drop("customer_id_right")

    cu = tables["customers"]
    referred = cu.filter(cu.referred_by.notnull())
    referrals = referred.group_by(customer_id=referred.referred_by.cast("string")).agg(
        referrals_made=referred.customer_id.nunique()
    )
    c = c.left_join(referrals, "customer_id").drop("customer_id_right")
    names = cu.select(customer_id=cu.customer_id.cast("string"), customer_name=cu.name)
    c = c.left_join(names, "customer_id").drop("customer_id_right")

    scores, scored_at = _scores(tables) if use_scores else (None, None)
    if scores is not None:
        c = c.left_join(scores, "customer_id").drop("customer_id_right")
    else:
        c = c.mutate(
            p_alive=ibis.null("float64"),
            clv=ibis.null("float64"),
            expected_orders_365d=ibis.null("float64"),
        )
    previous, previous_at = _previous_scores(ws, scored_at)
    if previous is not None:
        c = c.left_join(previous, "customer_id").drop("customer_id_right")
    else:
        c = c.mutate(p_alive_before=ibis.null("float64"))

    days_since_first = t.delta(c.first_order, unit="day")
    yearly = c.revenue * 365.0 / ibis.greatest(days_since_first + 1, 365).cast("float64")
    last_contact = ibis.coalesce(ibis.greatest(c.last_order, c.last_touch), c.last_order)
    visits = c.visits.fill_null(1).cast("int64")
    c = c.mutate(
        name=ibis.coalesce(c.customer_name, c.customer_id),
        orders=c.orders.cast("int64"),
        order_days=c.order_days.cast("int64"),
        visits=visits,
        referrals_made=c.referrals_made.fill_null(0).cast("int64"),
        mean_gap_days=ibis.cases(
            (
                visits > 1,
                c.last_visit.delta(c.first_order, unit="day").cast("float64")
                / (visits - 1).cast("float64"),
            ),
            else_=ibis.null("float64"),
        ),
        days_since_order=t.delta(c.last_order, unit="day"),
        days_since_touch=t.delta(c.last_touch, unit="day"),
        last_contact=last_contact,
        days_since_contact=t.delta(last_contact, unit="day"),
        value=ibis.coalesce(c.clv, yearly),
    ).drop("customer_name", "last_visit")

    # Computed once, in the engine: every playbook reads these facts.
    facts = computed_here(c)
    median_gap = scalar(facts.mean_gap_days.median())
    typical_gap = float(median_gap) if median_gap is not None and median_gap == median_gap else 0.0
    if typical_gap <= 0:
        typical_gap = _DEFAULT_GAP_DAYS
    typical_gap = round(typical_gap, 6)  # the same on every engine
    usual_gap = ibis.coalesce(facts.mean_gap_days, ibis.literal(typical_gap))
    usual_gap = ibis.greatest(usual_gap, 1.0)
    multiple = cfg.playbooks.win_back.gap_multiple
    since = facts.days_since_order.cast("float64")
    span = facts.last_order.delta(facts.first_order, unit="day").cast("float64") + usual_gap
    rhythm = ibis.greatest(ibis.least(1.0 - since / (usual_gap * multiple), 1.0), 0.0)
    customers = facts.mutate(
        usual_gap_days=usual_gap,
        gap_lapsed=since > usual_gap * multiple,
        yearly_value=facts.revenue * 365.0 / ibis.greatest(span, 365.0),
        yearly_orders=facts.orders.cast("float64") * 365.0 / ibis.greatest(span, 365.0),
        p_active=ibis.coalesce(facts.p_alive, rhythm),
    )
    return PlaybookContext(
        ws=ws,
        config=cfg,
        today=today,
        orders=orders,
        customers=customers,
        scored=scores is not None,
        tables=tables,
        previous_scored_at=previous_at,
        typical_gap_days=typical_gap,
        cache=cache,
        amounts=has_amounts(tables["orders"]),
    )


def active(customers: ir.Table, min_p_alive: float) -> ir.BooleanValue:
    """Still a customer: P(alive) at least ``min_p_alive`` when scored, else not
    lapsed by the gap rule of ``[playbooks.win_back]`` (no order for ``gap_multiple``
    usual gaps)."""
    by_model = customers.p_alive >= min_p_alive
    return ibis.cases((customers.p_alive.notnull(), by_model), else_=~customers.gap_lapsed)
