"""The health-score view: how well each signal predicted what customers did next.

Customer-success tools add hand-weighted signals into a "health score" and never
check them.  Here each signal is measured as of a past day (``as_of``) and set
against what followed in the next ``horizon_days``: did the customer place a paid
order (repurchase) or not (churn, for this view)?  :func:`signal_deciles` shows the
repurchase and churn rates by decile of each signal; :func:`signal_strength`
summarizes each signal by its AUC.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from regulars.actions._engine import state_table
from regulars.actions._features import build_context, paid_orders, snapshot_scores
from regulars.actions._store import SCORE_HISTORY, ensure_action_tables, resolve_today
from regulars.errors import ActionError

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["SIGNALS", "signal_deciles", "signal_frame", "signal_strength"]

#: Signals measured, with what each means.
SIGNALS: dict[str, str] = {
    "p_alive": "P(alive) from the latest scores kept whose data ended by as_of",
    "clv": "CLV from the same scoring run",
    "days_since_order": "days since the last paid order (recency)",
    "orders": "paid orders so far (frequency)",
    "revenue": "net revenue so far (monetary)",
    "tenure_days": "days since the first paid order",
    "days_since_touch": "days since the last touch (missing if never touched)",
    "feedback": "latest feedback score (missing if none)",
}


def _as_of(ws: Workspace, as_of: _dt.date | str | None, horizon_days: int) -> _dt.date:
    if horizon_days < 1:
        raise ActionError(f"horizon_days = {horizon_days!r} must be at least 1 day.")
    if as_of is None:
        return resolve_today(ws) - _dt.timedelta(days=horizon_days)
    return resolve_today(ws, as_of)


def signal_frame(
    ws: Workspace,
    /,
    *,
    as_of: _dt.date | str | None = None,
    horizon_days: int = 90,
) -> ir.Table:
    """Long table of (customer_id, signal, value, repurchased) as of ``as_of``.

    The population is every customer with a paid order on or before ``as_of``
    (default: today minus ``horizon_days``, so the outcome is known).
    ``repurchased`` is whether they placed a paid order in the ``horizon_days``
    after ``as_of``.  Missing values (never touched, no feedback, not scored) are
    kept as nulls.
    """
    ensure_action_tables(ws)
    day = _as_of(ws, as_of, horizon_days)
    snapshot_scores(ws)
    ctx = build_context(ws, day, use_scores=False, temp_name="_regulars_signal_facts")
    c = ctx.customers
    row = ws.con.execute(
        f"SELECT max(scored_at) FROM {SCORE_HISTORY.name} "
        "WHERE coalesce(as_of, CAST(scored_at AS DATE)) <= ?",
        [day],
    ).fetchone()
    snap = row[0] if row else None
    if isinstance(snap, _dt.datetime):
        h = ws.table(SCORE_HISTORY.name)
        h = h.filter(h.scored_at == ibis.timestamp(snap)).select(
            customer_id="customer_id", snap_p_alive="p_alive", snap_clv="clv"
        )
        h = state_table(ws, SCORE_HISTORY.name, h)
        c = c.left_join(h, "customer_id").drop("customer_id_right")
    else:
        c = c.mutate(snap_p_alive=ibis.null("float64"), snap_clv=ibis.null("float64"))
    end = day + _dt.timedelta(days=horizon_days)
    later = paid_orders(ws, end)
    later = later.filter(later.order_date > ibis.date(day)).select("customer_id").distinct()
    later = later.mutate(_bought=ibis.literal(True))
    c = c.left_join(later, "customer_id").drop("customer_id_right")
    c = c.mutate(repurchased=c._bought.fill_null(False))
    t = ibis.date(day)
    values = {
        "p_alive": c.snap_p_alive,
        "clv": c.snap_clv,
        "days_since_order": c.days_since_order,
        "orders": c.orders,
        "revenue": c.revenue,
        "tenure_days": t.delta(c.first_order, unit="day"),
        "days_since_touch": c.days_since_touch,
        "feedback": c.feedback,
    }
    parts = [
        c.select(
            "customer_id",
            signal=ibis.literal(name),
            value=expr.cast("float64"),
            repurchased="repurchased",
        )
        for name, expr in values.items()
    ]
    return ibis.union(*parts)


def signal_deciles(
    ws: Workspace,
    /,
    *,
    as_of: _dt.date | str | None = None,
    horizon_days: int = 90,
    bins: int = 10,
) -> ir.Table:
    """Repurchase and churn rate by decile of each signal, computed in the engine.

    A signal that predicts well shows rates that climb (or fall) steadily from the
    first decile to the last; a flat line means the signal says nothing about what
    customers do next.

    Parameters
    ----------
    as_of : date or str, optional
        The day the signals are measured (default: today minus ``horizon_days``).
    horizon_days : int
        How long after ``as_of`` a paid order counts as a repurchase.
    bins : int
        Number of quantile bins (10 = deciles).  Ties are split by customer id, so
        a signal with few distinct values (orders) spreads equal values over
        neighbouring bins; read ``low`` and ``high``.

    Returns
    -------
    ibis.Table
        signal, decile (1 = lowest values; null = customers without a value),
        customers, low, high, repurchase_rate, churn_rate.  Signals without any
        value (no scores, no feedback) are left out.
    """
    if bins < 2:
        raise ActionError(f"bins = {bins!r} must be at least 2 (10 gives deciles).")
    long = signal_frame(ws, as_of=as_of, horizon_days=horizon_days)
    known = long.filter(long.value.notnull())
    known = known.mutate(
        decile=(
            ibis.ntile(bins).over(group_by=known.signal, order_by=[known.value, known.customer_id])
            + 1
        ).cast("int64")
    )
    missing = long.filter(long.value.isnull()).mutate(decile=ibis.null("int64"))
    both = known.union(missing.select(*known.columns))
    present = known.select("signal").distinct()
    both = both.semi_join(present, "signal")
    rate = both.repurchased.cast("float64").mean()
    out = both.group_by("signal", "decile").agg(
        customers=both.count(),
        low=both.value.min(),
        high=both.value.max(),
        repurchase_rate=rate,
    )
    out = out.mutate(churn_rate=1.0 - out.repurchase_rate)
    return out.order_by(["signal", out.decile.isnull(), "decile"])


def signal_strength(
    ws: Workspace,
    /,
    *,
    as_of: _dt.date | str | None = None,
    horizon_days: int = 90,
) -> ir.Table:
    """How well each signal separated the customers who bought again from those who
    did not: the AUC (concordance), computed exactly in the engine.

    ``auc`` is the chance that a random repurchaser has a higher value than a
    random churner (ties count half): 0.5 means no information, 1 a perfect
    signal, 0 a perfect signal the other way round.  ``strength`` = |auc − 0.5| × 2
    (the Gini coefficient) ranks signals regardless of direction; ``direction``
    says whether higher values mean repurchase.

    Returns
    -------
    ibis.Table
        signal, customers (with a value), repurchase_rate, auc, strength, direction;
        the strongest signal first.

    References
    ----------
    .. [1] Hanley, J. A., McNeil, B. J. (1982). The meaning and use of the area
       under a receiver operating characteristic (ROC) curve. Radiology 143, 29-36.
    """
    long = signal_frame(ws, as_of=as_of, horizon_days=horizon_days)
    known = long.filter(long.value.notnull())
    g = known.group_by("signal", "value").agg(
        pos=known.repurchased.cast("int64").sum(),
        neg=(~known.repurchased).cast("int64").sum(),
    )
    # Values are distinct within a signal, so ordering by value needs no tie-breaker.
    w = ibis.window(group_by=g.signal, order_by=g.value, preceding=None, following=0)
    g = g.mutate(neg_upto=g.neg.sum().over(w))
    g = g.mutate(
        credit=g.pos.cast("float64") * ((g.neg_upto - g.neg).cast("float64") + 0.5 * g.neg)
    )
    s = g.group_by("signal").agg(
        customers=(g.pos + g.neg).sum(),
        positives=g.pos.sum(),
        negatives=g.neg.sum(),
        credit=g.credit.sum(),
    )
    auc = ibis.cases(
        (
            (s.positives > 0) & (s.negatives > 0),
            s.credit / (s.positives * s.negatives).cast("float64"),
        ),
        else_=ibis.null("float64"),
    )
    s = s.mutate(auc=auc)
    s = s.mutate(
        repurchase_rate=s.positives.cast("float64") / s.customers.cast("float64"),
        strength=(s.auc - 0.5).abs() * 2.0,
        direction=ibis.cases(
            (s.auc > 0.5, ibis.literal("higher → repurchase")),
            (s.auc < 0.5, ibis.literal("lower → repurchase")),
            else_=ibis.literal("none"),
        ),
    )
    out = s.select("signal", "customers", "repurchase_rate", "auc", "strength", "direction")
    return out.order_by([out.strength.desc(), out.signal])
