"""Did the playbooks work?  Treated vs held-out customers, with confidence intervals.

Each playbook's holdout is a random share of the customers it chose (see
:func:`~regulars.actions.is_held_out`), so treated and held-out customers differ
only by chance and by the action.  The unit is a customer's *first* action of the
playbook (shown or held out); it is followed for ``window_days`` after the day the
action was raised.  Only actions whose window has closed by "today" count.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from scipy import stats

from regulars._config_actions import PLAYBOOK_NAMES
from regulars.actions._engine import state_table
from regulars.actions._features import paid_orders
from regulars.actions._store import ACTIONS, ensure_action_tables, resolve_today
from regulars.errors import ActionError

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = [
    "action_outcomes",
    "difference_interval",
    "playbook_effectiveness",
    "welch_interval",
    "wilson_interval",
]


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. JASA 22(158), 209-212.
    """
    if n <= 0:
        return (math.nan, math.nan)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, center - half), min(1.0, center + half))


def difference_interval(
    x1: int, n1: int, x2: int, n2: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval for p1 − p2 by Newcombe's hybrid score method (method 10).

    It combines the Wilson intervals of the two proportions and stays sensible for
    small counts and rates near 0 or 1, where the plain normal interval does not.

    References
    ----------
    .. [1] Newcombe, R. G. (1998). Interval estimation for the difference between
       independent proportions: comparison of eleven methods. Statistics in
       Medicine 17(8), 873-890.
    """
    if n1 <= 0 or n2 <= 0:
        return (math.nan, math.nan)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence=confidence)
    l2, u2 = wilson_interval(x2, n2, confidence=confidence)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def welch_interval(
    mean1: float,
    var1: float,
    n1: int,
    mean2: float,
    var2: float,
    n2: int,
    *,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Welch's interval for the difference of two means with unequal variances.

    ``var1`` and ``var2`` are sample variances (ddof = 1).  Needs two or more
    observations per group; otherwise the interval is NaN.

    References
    ----------
    .. [1] Welch, B. L. (1947). The generalization of "Student's" problem when
       several different population variances are involved. Biometrika 34, 28-35.
    """
    if n1 < 2 or n2 < 2:
        return (math.nan, math.nan)
    a, b = var1 / n1, var2 / n2
    se = math.sqrt(a + b)
    d = mean1 - mean2
    if se == 0:
        return (d, d)
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    return (d - t * se, d + t * se)


def _window(ws: Workspace, window_days: int | None) -> int:
    days = ws.config.actions.effect_window_days if window_days is None else window_days
    if days < 1:
        raise ActionError(f"window_days = {days!r} must be at least 1 day.")
    return days


def action_outcomes(
    ws: Workspace,
    /,
    *,
    window_days: int | None = None,
    today: _dt.date | str | None = None,
) -> ir.Table:
    """Every action with what followed it: the touch logged and the orders after it.

    Columns: action_id, customer_id, playbook, holdout, status, outcome, touch_id,
    created_on, window_end, matured (the window has closed by ``today``),
    next_order_id, next_order_date (the first paid order after the action was
    raised), orders_in_window, revenue_in_window, repurchased.

    Parameters
    ----------
    window_days : int, optional
        Days after the action in which orders count (default ``[actions]
        effect_window_days``).
    today : date or str, optional
        Orders up to this day are read (default: the actions clock).
    """
    ensure_action_tables(ws)
    days = _window(ws, window_days)
    day = resolve_today(ws, today)
    a = state_table(ws, ACTIONS.name)
    a = a.mutate(window_end=a.created_on + ibis.interval(days=days))
    o = paid_orders(ws, day)
    j = a.left_join(
        o,
        [a.customer_id == o.customer_id, o.order_date > a.created_on, o.order_date <= a.window_end],
    )
    per = j.group_by("action_id").agg(
        orders_in_window=j.order_id.nunique(),
        revenue_in_window=j.net_revenue.sum().fill_null(0.0),
    )
    nxt = a.join(o, [a.customer_id == o.customer_id, o.order_date > a.created_on])
    nxt = nxt.mutate(
        _rn=ibis.row_number().over(group_by=nxt.action_id, order_by=[nxt.order_date, nxt.order_id])
    )
    nxt = nxt.filter(nxt._rn == 0).select(
        "action_id", next_order_id="order_id", next_order_date="order_date"
    )
    out = a.join(per, "action_id").left_join(nxt, "action_id")
    out = out.select(
        "action_id",
        "customer_id",
        "playbook",
        "holdout",
        "status",
        "outcome",
        "touch_id",
        "created_on",
        "window_end",
        matured=out.window_end <= ibis.date(day),
        next_order_id="next_order_id",
        next_order_date="next_order_date",
        orders_in_window="orders_in_window",
        revenue_in_window="revenue_in_window",
        repurchased=out.orders_in_window > 0,
    )
    return out.order_by(["playbook", "created_on", "action_id"])


def playbook_effectiveness(
    ws: Workspace,
    /,
    *,
    window_days: int | None = None,
    today: _dt.date | str | None = None,
    confidence: float = 0.95,
) -> ir.Table:
    """Treated vs held-out customers per playbook: repurchase and revenue, with CIs.

    One row per playbook that has actions.  Columns:

    - ``treated``, ``held_out``: customers in each group (first action of the
      playbook per customer, window closed);
    - ``treated_repurchase``, ``held_out_repurchase``: share who placed a paid order
      within ``window_days``;
    - ``repurchase_lift`` (difference, treated − held out) with
      ``repurchase_lift_low`` / ``repurchase_lift_high``: Newcombe's hybrid score
      interval;
    - ``treated_revenue``, ``held_out_revenue``: mean revenue per customer in the
      window; ``revenue_lift`` with Welch's interval ``revenue_lift_low`` /
      ``revenue_lift_high``;
    - ``incremental_revenue``: revenue_lift × treated, the money the playbook made,
      given only when the repurchase lift is positive and significant (its interval
      lies above 0), the revenue lift is positive, and at least one action was marked
      done; otherwise null;
    - ``done``, ``accepted``: treated actions marked done (whether or not their
      window has closed), and of those the ones accepted;
    - ``pending``: first actions whose window has not closed yet (not counted).

    An interval that excludes 0 means the difference is unlikely to be chance at
    the given ``confidence``.  Held-out groups are small (10% by default), so the
    intervals are wide until a playbook has run on a few hundred customers.

    Returns
    -------
    ibis.Table
        A small in-memory table (the aggregation runs in the engine).
    """
    if not 0 < confidence < 1:
        raise ActionError(f"confidence = {confidence!r} must be between 0 and 1, e.g. 0.95.")
    out = action_outcomes(ws, window_days=window_days, today=today)
    first = out.mutate(
        _rn=ibis.row_number().over(
            group_by=[out.playbook, out.customer_id], order_by=[out.created_on, out.action_id]
        )
    )
    first = first.filter(first._rn == 0)
    m = first.filter(first.matured)
    agg = m.group_by("playbook", "holdout").agg(
        n=m.count(),
        repurchased=m.repurchased.cast("int64").sum(),
        revenue_mean=m.revenue_in_window.mean(),
        revenue_var=m.revenue_in_window.var(how="sample"),
    )
    w = first.filter(~first.matured)
    pending = w.group_by("playbook").agg(pending=w.count())
    # What the team recorded: every treated action marked done, matured or not.
    treated = out.filter(~out.holdout, out.status == "done")
    recorded = treated.group_by("playbook").agg(
        done=treated.count(),
        accepted=(treated.outcome == "accepted").cast("int64").sum(),
    )
    groups: dict[str, dict[bool, dict[str, Any]]] = {}
    for r in agg.to_pyarrow().to_pylist():
        groups.setdefault(r["playbook"], {})[bool(r["holdout"])] = r
    waiting = {r["playbook"]: r["pending"] for r in pending.to_pyarrow().to_pylist()}
    marked = {r["playbook"]: r for r in recorded.to_pyarrow().to_pylist()}
    rows = []
    for name in PLAYBOOK_NAMES:
        if name not in groups and name not in waiting and name not in marked:
            continue
        empty = {"n": 0, "repurchased": 0, "revenue_mean": None, "revenue_var": None}
        t = groups.get(name, {}).get(False, empty)
        h = groups.get(name, {}).get(True, empty)
        nt, nh = int(t["n"]), int(h["n"])
        pt = t["repurchased"] / nt if nt else math.nan
        ph = h["repurchased"] / nh if nh else math.nan
        lo, hi = difference_interval(
            int(t["repurchased"]), nt, int(h["repurchased"]), nh, confidence=confidence
        )
        mt = float(t["revenue_mean"]) if t["revenue_mean"] is not None else math.nan
        mh = float(h["revenue_mean"]) if h["revenue_mean"] is not None else math.nan
        vt = float(t["revenue_var"]) if t["revenue_var"] is not None else math.nan
        vh = float(h["revenue_var"]) if h["revenue_var"] is not None else math.nan
        rlo, rhi = welch_interval(mt, vt, nt, mh, vh, nh, confidence=confidence)
        done = int((marked.get(name) or {}).get("done") or 0)
        accepted = int((marked.get(name) or {}).get("accepted") or 0)
        # Money is claimed only for a lift that is positive and significant (its
        # interval above 0), with a positive revenue difference, on a playbook whose
        # actions the team actually recorded as done.
        proven = lo == lo and lo > 0 and mt - mh > 0 and done > 0
        rows.append(
            {
                "playbook": name,
                "treated": nt,
                "held_out": nh,
                "treated_repurchase": pt,
                "held_out_repurchase": ph,
                "repurchase_lift": pt - ph,
                "repurchase_lift_low": lo,
                "repurchase_lift_high": hi,
                "treated_revenue": mt,
                "held_out_revenue": mh,
                "revenue_lift": mt - mh,
                "revenue_lift_low": rlo,
                "revenue_lift_high": rhi,
                "incremental_revenue": (mt - mh) * nt if proven else math.nan,
                "done": done,
                "accepted": accepted,
                "pending": int(waiting.get(name, 0)),
            }
        )
    schema = pa.schema(
        [("playbook", pa.string())]
        + [(k, pa.int64()) for k in ("treated", "held_out")]
        + [
            (k, pa.float64())
            for k in (
                "treated_repurchase",
                "held_out_repurchase",
                "repurchase_lift",
                "repurchase_lift_low",
                "repurchase_lift_high",
                "treated_revenue",
                "held_out_revenue",
                "revenue_lift",
                "revenue_lift_low",
                "revenue_lift_high",
                "incremental_revenue",
            )
        ]
        + [(k, pa.int64()) for k in ("done", "accepted", "pending")]
    )
    clean = [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
        for r in rows
    ]
    return ibis.memtable(pa.Table.from_pylist(clean, schema=schema))
