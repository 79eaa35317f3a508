"""Per-customer facts the playbooks read, computed in the engine as of "today".

Paid orders are those of :func:`regulars.ledger.purchases`, the one definition every
stage uses (docs/data.md): cancelled orders and credit notes are not purchases, a
credit note is netted against the invoice it reverses, and a *paid order* is one
whose net revenue is positive after that.  Only rows dated on or before "today" are
read (credit notes too), so a queue can be recomputed for any past day.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from regulars.actions._store import SCORE_HISTORY, ensure_action_tables
from regulars.ledger import credit_window_days, purchases

if TYPE_CHECKING:
    from regulars.config import Config
    from regulars.store import Workspace

__all__ = ["PlaybookContext", "active", "build_context", "paid_orders", "snapshot_scores"]

# A score history snapshot must be this much older than the current scores to be
# quoted as "was 0.95 in March".
_HISTORY_MIN_AGE_DAYS = 60
# Usual gap between orders when no customer has two orders yet.
_DEFAULT_GAP_DAYS = 365.0


def paid_orders(ws: Workspace, today: _dt.date) -> ir.Table:
    """Paid orders up to ``today``: order_id, customer_id, order_date (date),
    net_revenue (float64), kind, product, category, item (product, else category).
    """
    o = ws.table("orders")
    o = o.filter(o.order_date.cast("date") <= ibis.date(today))
    o = purchases(o, credit_window_days=credit_window_days(ws.config))
    return o.select(
        order_id=o.order_id,
        customer_id=o.customer_id,
        order_date=o.order_date.cast("date"),
        net_revenue=o.net_revenue.cast("float64"),
        kind=o.kind.fill_null("one-off"),
        product=o.product,
        category=o.category,
    )


@dataclass
class PlaybookContext:
    """Everything a playbook needs: the workspace, its settings, "today" and the facts.

    ``customers`` has one row per customer with a paid order up to ``today``:
    customer_id, name, orders, order_days, first_order, last_order, revenue,
    last_product, mean_gap_days, days_since_order, last_touch, days_since_touch,
    last_contact, days_since_contact, feedback, referrals_made, p_alive, clv,
    expected_orders_365d, p_alive_before, value, usual_gap_days, gap_lapsed.
    ``value`` is the CLV from the scores, or, without scores, the yearly revenue
    since the first order.  ``usual_gap_days`` is the customer's mean gap between
    order days, or the median of those gaps over all customers for one-time buyers.
    """

    ws: Workspace
    config: Config
    today: _dt.date
    orders: ir.Table
    customers: ir.Table
    scored: bool
    previous_scored_at: _dt.datetime | None = None
    typical_gap_days: float = 365.0
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.config.workspace.currency

    def money(self, amount: float) -> str:
        """``12,400 EUR``: whole units with thousands separators and the currency."""
        return f"{amount:,.0f} {self.currency}"

    def table(self, name: str) -> ir.Table:
        return self.ws.table(name)

    def has_table(self, name: str) -> bool:
        return self.ws.has_table(name)


def snapshot_scores(ws: Workspace) -> int:
    """Copy the current ``scores`` into ``score_history`` once per scoring run.

    ``as_of`` records the latest order date at the time of the copy: the data the
    scores describe, so the health-signal view never uses scores from the future.

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
    clv = "CAST(clv AS DOUBLE)" if "clv" in cols else "NULL"
    before = ws.count(SCORE_HISTORY.name)
    ws.con.execute(
        f"""INSERT INTO {SCORE_HISTORY.name} (customer_id, scored_at, p_alive, clv, as_of)
        SELECT CAST(customer_id AS VARCHAR), CAST(scored_at AS TIMESTAMP),
               CAST(p_alive AS DOUBLE), {clv},
               (SELECT max(CAST(order_date AS DATE)) FROM orders
                WHERE coalesce(status, 'paid') <> 'cancelled')
        FROM scores
        WHERE scored_at IS NOT NULL AND CAST(scored_at AS TIMESTAMP) NOT IN
              (SELECT DISTINCT scored_at FROM {SCORE_HISTORY.name})"""
    )
    return ws.count(SCORE_HISTORY.name) - before


def _scores(ws: Workspace) -> tuple[ir.Table | None, _dt.datetime | None]:
    """The scores table (customer_id, p_alive, clv, expected_orders_365d) and its time."""
    if not ws.has_table("scores"):
        return None, None
    s = ws.table("scores")
    if "p_alive" not in s.columns:
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
        row = ws.con.execute("SELECT max(CAST(scored_at AS TIMESTAMP)) FROM scores").fetchone()
        value = row[0] if row else None
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
    return h.select(customer_id=h.customer_id, p_alive_before=h.p_alive), previous


def build_context(
    ws: Workspace,
    today: _dt.date,
    *,
    use_scores: bool = True,
    temp_name: str = "_regulars_action_facts",
) -> PlaybookContext:
    """Compute the per-customer facts as of ``today`` (materialized in temp table
    ``temp_name``).  ``use_scores=False`` leaves the score columns null (for
    back-tests, where today's scores would leak the future)."""
    ensure_action_tables(ws)
    cfg = ws.config
    t = ibis.date(today)
    orders = paid_orders(ws, today)

    per_customer = orders.group_by("customer_id").agg(
        orders=orders.order_id.nunique(),
        order_days=orders.order_date.nunique(),
        first_order=orders.order_date.min(),
        last_order=orders.order_date.max(),
        revenue=orders.net_revenue.sum(),
    )
    ranked = orders.mutate(
        _rn=ibis.row_number().over(
            group_by=orders.customer_id,
            order_by=[orders.order_date.desc(), orders.order_id.desc()],
        )
    )
    latest = ranked.filter(ranked._rn == 0).select(
        customer_id="customer_id",
        last_product=ibis.coalesce(ranked.product, ranked.category),
    )
    c = per_customer.left_join(latest, "customer_id").drop("customer_id_right")

    tc = ws.table("touches")
    tc = tc.filter(tc.touched_at.cast("date") <= t)
    touches = tc.group_by("customer_id").agg(last_touch=tc.touched_at.cast("date").max())
    c = c.left_join(touches, "customer_id").drop("customer_id_right")

    fb = ws.table("feedback")
    fb = fb.filter(fb.feedback_date.cast("date") <= t)
    fb_ranked = fb.mutate(
        _rn=ibis.row_number().over(
            group_by=fb.customer_id, order_by=[fb.feedback_date.desc(), fb.score.desc()]
        )
    )
    feedback = fb_ranked.filter(fb_ranked._rn == 0).select(
        customer_id="customer_id", feedback=fb_ranked.score.cast("float64")
    )
    c = c.left_join(feedback, "customer_id").drop("customer_id_right")

    cu = ws.table("customers")
    referred = cu.filter(cu.referred_by.notnull())
    referrals = referred.group_by(customer_id=referred.referred_by).agg(
        referrals_made=referred.customer_id.nunique()
    )
    c = c.left_join(referrals, "customer_id").drop("customer_id_right")
    names = cu.select(customer_id="customer_id", customer_name="name")
    c = c.left_join(names, "customer_id").drop("customer_id_right")

    scores, scored_at = _scores(ws) if use_scores else (None, None)
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
    c = c.mutate(
        name=ibis.coalesce(c.customer_name, c.customer_id),
        orders=c.orders.cast("int64"),
        order_days=c.order_days.cast("int64"),
        referrals_made=c.referrals_made.fill_null(0).cast("int64"),
        mean_gap_days=ibis.cases(
            (
                c.order_days > 1,
                c.last_order.delta(c.first_order, unit="day").cast("float64")
                / (c.order_days - 1).cast("float64"),
            ),
            else_=ibis.null("float64"),
        ),
        days_since_order=t.delta(c.last_order, unit="day"),
        days_since_touch=t.delta(c.last_touch, unit="day"),
        last_contact=last_contact,
        days_since_contact=t.delta(last_contact, unit="day"),
        value=ibis.coalesce(c.clv, yearly),
    ).drop("customer_name")

    facts = ws.ibis.create_table(temp_name, c, temp=True, overwrite=True)
    row = ws.con.execute(f'SELECT median(mean_gap_days) FROM "{temp_name}"').fetchone()
    median_gap = row[0] if row else None
    typical_gap = float(median_gap) if median_gap is not None and median_gap == median_gap else 0.0
    if typical_gap <= 0:
        typical_gap = _DEFAULT_GAP_DAYS
    usual_gap = ibis.coalesce(facts.mean_gap_days, ibis.literal(typical_gap))
    usual_gap = ibis.greatest(usual_gap, 1.0)
    multiple = cfg.playbooks.win_back.gap_multiple
    customers = facts.mutate(
        usual_gap_days=usual_gap,
        gap_lapsed=facts.days_since_order.cast("float64") > usual_gap * multiple,
    )
    return PlaybookContext(
        ws=ws,
        config=cfg,
        today=today,
        orders=orders,
        customers=customers,
        scored=scores is not None,
        previous_scored_at=previous_at,
        typical_gap_days=typical_gap,
    )


def active(customers: ir.Table, min_p_alive: float) -> ir.BooleanValue:
    """Still a customer: P(alive) at least ``min_p_alive`` when scored, else not
    lapsed by the gap rule of ``[playbooks.win_back]`` (no order for ``gap_multiple``
    usual gaps)."""
    by_model = customers.p_alive >= min_p_alive
    return ibis.cases((customers.p_alive.notnull(), by_model), else_=~customers.gap_lapsed)
