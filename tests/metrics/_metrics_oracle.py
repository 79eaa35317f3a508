"""Plain-Python oracles for the metrics, written from docs/metrics.md, not from the code.

Each oracle reads the Arrow input tables (``book.inputs``) row by row with ordinary
loops and dictionaries, and returns a pandas DataFrame shaped like the metric's
output.  ``random_book`` draws small order books that exercise the edge cases
(refunds, cancellations, several orders a day, gaps, empty periods).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import oracles_periods as periods
import pandas as pd
import pyarrow as pa
import pytest

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
KINDS = ("referral", "cold", "organic", "partner", "other")


# -- periods -------------------------------------------------------------------------


def pstart(day: dt.date, period: str) -> dt.date:
    if isinstance(day, dt.datetime):
        day = day.date()
    if period == "month":
        return dt.date(day.year, day.month, 1)
    if period == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def pnext(p: dt.date, period: str) -> dt.date:
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    m = p.month - 1 + months
    return dt.date(p.year + m // 12, m % 12 + 1, 1)


def pprev(p: dt.date, period: str) -> dt.date:
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    m = p.year * 12 + p.month - 1 - months
    return dt.date(m // 12, m % 12 + 1, 1)


def prange(lo: dt.date, hi: dt.date, period: str) -> list[dt.date]:
    out = []
    p = lo
    while p <= hi:
        out.append(p)
        p = pnext(p, period)
    return out


def pdiff(a: dt.date, b: dt.date, period: str) -> int:
    """Number of periods from b to a."""
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    return ((a.year * 12 + a.month) - (b.year * 12 + b.month)) // months


# -- orders --------------------------------------------------------------------------


def order_rows(inputs: dict[str, pa.Table], period: str, margin: float = 0.3) -> list[dict]:
    """Non-cancelled orders with net revenue and profit (docs/metrics.md, "Orders")."""
    out = []
    m = Decimal(str(margin))
    for r in inputs["orders"].to_pylist():
        status = r["status"] or "paid"
        if status == "cancelled":
            continue
        rev = r["revenue"]
        if r["refund_amount"] is not None:
            refund = r["refund_amount"]
        else:
            refund = rev if status == "refunded" else ZERO
        net = rev - refund
        if r["cost"] is not None:
            profit = net - r["cost"]
        else:
            profit = (net * m).quantize(CENT, rounding=ROUND_HALF_UP)
        day = r["order_date"]
        day = day.date() if isinstance(day, dt.datetime) else day
        out.append(
            {
                "customer_id": r["customer_id"],
                "day": day,
                "period": pstart(day, period),
                "net": net,
                "profit": profit,
                "paid": net > 0,
            }
        )
    return out


def channel_of(inputs: dict[str, pa.Table], channels: dict[str, str]) -> dict[str, tuple]:
    """customer_id -> (channel, kind), following docs/metrics.md."""
    mapping = {"referral": "referral", **channels}
    out = {}
    for r in inputs["customers"].to_pylist():
        ch = r["channel"] or None
        referred = bool(r["referred_by"])
        own = mapping.get(ch, "other") if ch else "other"
        if referred:
            out[r["customer_id"]] = (
                "referral" if (ch is None or own != "referral") else ch,
                "referral",
            )
        else:
            out[r["customer_id"]] = (ch or "(none)", own)
    return out


def spend_rows(inputs: dict[str, pa.Table], period: str, retention: list[str]) -> list[dict]:
    """Spend spread over periods by days, rounded half up to the cent."""
    out = []
    for r in inputs["spend"].to_pylist():
        d0, d1, amount = r["period_start"], r["period_end"], r["amount"]
        total = (d1 - d0).days + 1
        p = pstart(d0, period)
        single = pstart(d1, period) == p
        while p <= d1:
            lo = max(d0, p)
            hi = min(d1, pnext(p, period) - dt.timedelta(days=1))
            k = (hi - lo).days + 1
            if single:
                part = amount
            else:
                cents = int(amount * 100)
                part = Decimal((2 * cents * k + total) // (2 * total)) / 100
            out.append(
                {
                    "channel": r["channel"],
                    "period": p,
                    "amount": part,
                    "retention": r["channel"] in retention,
                }
            )
            p = pnext(p, period)
    return out


# -- growth accounting ---------------------------------------------------------------


def _coverage(inputs: dict[str, pa.Table]) -> tuple[dt.date, dt.date]:
    """First and last order date of every order row (cancelled ones too)."""
    return periods.coverage(r["order_date"] for r in inputs["orders"].to_pylist())


def _censored(inputs: dict[str, pa.Table], rows: list[dict]) -> set[str]:
    """Customers already customers when the data start (docs/metrics.md)."""
    first: dict[str, dt.date] = {}
    for r in rows:
        if r["paid"]:
            c = r["customer_id"]
            first[c] = min(first.get(c, r["day"]), r["day"])
    if not first:
        return set()
    lo, hi = _coverage(inputs)
    return periods.left_censored(first, lo, hi)


def _flags(inputs: dict[str, pa.Table], p: dt.date, period: str) -> dict[str, bool]:
    """``complete`` and ``comparable`` of period ``p`` (docs/metrics.md)."""
    lo, hi = _coverage(inputs)
    now = periods.complete(p, period, lo, hi)
    return {
        "complete": now,
        "comparable": now and periods.complete(pprev(p, period), period, lo, hi),
    }


def growth(inputs: dict[str, pa.Table], period: str, measure: str = "revenue") -> pd.DataFrame:
    rows = order_rows(inputs, period)
    if not rows:
        return pd.DataFrame()
    rev: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for r in rows:
        rev[(r["customer_id"], r["period"])] += r["net"]
    periods = prange(min(r["period"] for r in rows), max(r["period"] for r in rows), period)
    customers = sorted({r["customer_id"] for r in rows})
    censored = _censored(inputs, rows)
    out = []
    for p in periods:
        q = pprev(p, period)
        acc = dict.fromkeys(
            ("new", "expansion", "contraction", "churned", "resurrected", "retained"),
            ZERO if measure == "revenue" else 0,
        )
        total: Any = ZERO if measure == "revenue" else 0
        for c in customers:
            a, b = rev.get((c, q), ZERO), rev.get((c, p), ZERO)
            if measure == "revenue":
                total += b
            else:
                total += b > 0
            before = c in censored or any(rev.get((c, x), ZERO) > 0 for x in periods if x < q)
            one = 1
            if a > 0 and b > 0:
                if measure == "revenue":
                    acc["expansion"] += max(b - a, ZERO)
                    acc["contraction"] += max(a - b, ZERO)
                    acc["retained"] += min(a, b)
                else:
                    acc["expansion"] += one if b > a else 0
                    acc["contraction"] += one if b < a else 0
                    acc["retained"] += one
            elif a > 0:
                acc["churned"] += (a - b) if measure == "revenue" else one
            elif b > 0:
                key = "resurrected" if before else "new"
                acc[key] += (b - a) if measure == "revenue" else one
            elif measure == "revenue" and b != a:
                acc["expansion" if b > a else "contraction"] += abs(b - a)
        if measure == "revenue":
            up = acc["new"] + acc["expansion"] + acc["resurrected"]
            down = acc["contraction"] + acc["churned"]
        else:
            up = acc["new"] + acc["resurrected"]
            down = acc["churned"]
        qr = float(up) / float(down) if down else None
        out.append(
            {"period": p, measure: total, **acc, "quick_ratio": qr, **_flags(inputs, p, period)}
        )
    return pd.DataFrame(out)


# -- new vs returning ----------------------------------------------------------------


def new_vs_returning(
    inputs: dict[str, pa.Table], period: str, retention: list[str] | None = None
) -> pd.DataFrame:
    retention = ["retention"] if retention is None else retention
    rows = order_rows(inputs, period)
    spend = spend_rows(inputs, period, retention)
    first: dict[str, dt.date] = {}
    first_day: dict[str, dt.date] = {}
    for r in rows:
        if r["paid"]:
            c = r["customer_id"]
            first[c] = min(first.get(c, r["period"]), r["period"])
            first_day[c] = min(first_day.get(c, r["day"]), r["day"])
    lo, hi = _coverage(inputs) if rows else (None, None)
    censored = periods.left_censored(first_day, lo, hi) if rows else set()
    allp = [r["period"] for r in rows] + [s["period"] for s in spend]
    if not allp:
        return pd.DataFrame()
    out = []
    for p in prange(min(allp), max(allp), period):
        rec: dict[str, Any] = {"period": p}
        for g in ("new", "returning"):
            rec[f"{g}_customers"] = 0
            rec[f"{g}_orders"] = 0
            rec[f"{g}_revenue"] = ZERO
            rec[f"{g}_profit"] = ZERO
        seen: dict[str, set] = {"new": set(), "returning": set()}
        for r in rows:
            if r["period"] != p:
                continue
            f = first.get(r["customer_id"])
            known = r["customer_id"] in censored
            g = "returning" if f is not None and (f < p or known) else "new"
            rec[f"{g}_revenue"] += r["net"]
            rec[f"{g}_profit"] += r["profit"]
            if r["paid"]:
                rec[f"{g}_orders"] += 1
                seen[g].add(r["customer_id"])
        rec["new_customers"] = len({c for c, f in first.items() if f == p} - censored)
        rec["returning_customers"] = len(seen["returning"])
        rec["left_censored_customers"] = len({c for c in censored if first[c] == p})
        acq = sum((s["amount"] for s in spend if s["period"] == p and not s["retention"]), ZERO)
        ret = sum((s["amount"] for s in spend if s["period"] == p and s["retention"]), ZERO)
        rec["acquisition_spend"] = acq
        rec["retention_spend"] = ret
        rec["new_efficiency"] = float(rec["new_profit"]) / float(acq) if acq else None
        rec["returning_efficiency"] = float(rec["returning_profit"]) / float(ret) if ret else None
        rec |= _flags(inputs, p, period) if rows else {"complete": False, "comparable": False}
        out.append(rec)
    cols = ["period"]
    for what in ("customers", "orders", "revenue", "profit"):
        cols += [f"new_{what}", f"returning_{what}"]
    cols += ["acquisition_spend", "retention_spend", "new_efficiency", "returning_efficiency"]
    cols += ["left_censored_customers", "complete", "comparable"]
    return pd.DataFrame(out)[cols]


# -- lifecycle -----------------------------------------------------------------------


def lifecycle(inputs: dict[str, pa.Table], period: str, window: int) -> pd.DataFrame:
    rows = order_rows(inputs, period)
    if not rows:
        return pd.DataFrame()
    paid: dict[str, set] = defaultdict(set)
    for r in rows:
        if r["paid"]:
            paid[r["customer_id"]].add(r["period"])
    periods = prange(min(r["period"] for r in rows), max(r["period"] for r in rows), period)
    out = []
    prev_state: dict[str, str] = {}
    for p in periods:
        counts = dict.fromkeys(("new", "won_back", "active", "at_risk", "lapsed"), 0)
        newly = 0
        n_customers = 0
        for c, ps in paid.items():
            upto = sorted(x for x in ps if x <= p)
            if not upto:
                continue
            n_customers += 1
            last = upto[-1]
            if last == p:
                if len(upto) == 1:
                    state = "new"
                elif pdiff(p, upto[-2], period) - 1 >= window:
                    state = "won_back"
                else:
                    state = "active"
            else:
                g = pdiff(p, last, period)
                state = "lapsed" if g >= window else ("at_risk" if g == window - 1 else "active")
            counts[state] += 1
            if state == "lapsed" and prev_state.get(c) != "lapsed":
                newly += 1
            prev_state[c] = state
        out.append({"period": p, "customers": n_customers, **counts, "newly_lapsed": newly})
    return pd.DataFrame(out)


# -- growth sources ------------------------------------------------------------------


def sources(
    inputs: dict[str, pa.Table],
    period: str,
    channels: dict[str, str],
    retention: list[str] | None = None,
) -> pd.DataFrame:
    retention = ["retention"] if retention is None else retention
    rows = order_rows(inputs, period)
    if not rows:
        return pd.DataFrame()
    kinds = {c: k for c, (_, k) in channel_of(inputs, channels).items()}
    mapping = {"referral": "referral", **channels}
    rev: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for r in rows:
        rev[(r["customer_id"], r["period"])] += r["net"]
    periods = prange(min(r["period"] for r in rows), max(r["period"] for r in rows), period)
    spend = spend_rows(inputs, period, retention)
    names = ["upsell", *(f"new_{k}" for k in KINDS), "win_back"]
    customers = sorted({r["customer_id"] for r in rows})
    censored = _censored(inputs, rows)
    out = []
    for p in periods:
        q = pprev(p, period)
        change = dict.fromkeys(names, ZERO)
        count = dict.fromkeys(names, 0)
        for c in customers:
            a, b = rev.get((c, q), ZERO), rev.get((c, p), ZERO)
            if a == b == ZERO:
                continue
            earlier = c in censored or [x for x in periods if x < p and rev.get((c, x), ZERO) > 0]
            if a <= 0 < b:
                src = "win_back" if earlier else "new_" + kinds.get(c, "other")
                change[src] += b - a
                count[src] += 1
            else:
                change["upsell"] += b - a
                count["upsell"] += b != a
        sp = dict.fromkeys(names, ZERO)
        for s in spend:
            if s["period"] != p:
                continue
            key = "upsell" if s["retention"] else "new_" + mapping.get(s["channel"], "other")
            sp[key] += s["amount"]
        for n in names:
            cpu = float(sp[n]) / float(change[n]) if change[n] > 0 else None
            out.append(
                {
                    "period": p,
                    "source": n,
                    "change": change[n],
                    "customers": count[n],
                    "spend": sp[n],
                    "cost_per_revenue_unit": cpu,
                    **_flags(inputs, p, period),
                }
            )
    return pd.DataFrame(out)


# -- channel economics ---------------------------------------------------------------


def channel_economics(
    inputs: dict[str, pa.Table], period: str, channels: dict[str, str], horizon: int
) -> pd.DataFrame:
    rows = order_rows(inputs, period)
    chan = channel_of(inputs, channels)
    mapping = {"referral": "referral", **channels}
    first: dict[str, dt.date] = {}
    for r in rows:
        if r["paid"]:
            c = r["customer_id"]
            first[c] = min(first.get(c, r["period"]), r["period"])
    last_period = max(r["period"] for r in rows)
    spend: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for s in spend_rows(inputs, period, ["retention"]):
        if not s["retention"]:
            spend[(s["channel"], s["period"])] += s["amount"]
    members: dict[tuple, list] = defaultdict(list)
    for c, f in first.items():
        members[(chan.get(c, ("(none)", "other"))[0], f)].append(c)
    out = []
    for key in sorted(set(members) | set(spend)):
        ch, cohort = key
        who = set(members.get(key, []))
        n = len(who)
        sp = spend.get(key, ZERO)
        fy_rev, fy_profit = ZERO, ZERO
        by_p: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
        total_profit: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for r in rows:
            if r["customer_id"] not in who:
                continue
            total_profit[r["customer_id"]] += r["profit"]
            by_p[r["period"]] += r["profit"]
            if pdiff(r["period"], cohort, period) < horizon:
                fy_rev += r["net"]
                fy_profit += r["profit"]
        payback = None
        if sp == 0 and n > 0:
            payback = 0
        elif sp > 0:
            cum = ZERO
            for p in sorted(by_p):
                cum += by_p[p]
                if cum >= sp:
                    payback = pdiff(p, cohort, period)
                    break
        cac = float(sp) / n if n else None
        clv = float(sum(total_profit[c] for c in who)) / n if n else None
        out.append(
            {
                "period": cohort,
                "channel": ch,
                "channel_kind": mapping.get(ch, "other"),
                "customers": n,
                "spend": sp,
                "cac": cac,
                "first_year_revenue": fy_rev,
                "first_year_profit": fy_profit,
                "first_year_complete": pdiff(last_period, cohort, period) >= horizon - 1,
                "payback_periods": payback,
                "clv": clv,
                "clv_to_cac": (clv / cac) if cac else None,
            }
        )
    return pd.DataFrame(out)


# -- random books --------------------------------------------------------------------


def random_book(seed: int, n_customers: int = 25, n_orders: int = 120) -> dict[str, Any]:
    """A small random order book with every awkward case in it."""
    rng = np.random.default_rng(seed)
    ids = [f"C{i:03d}" for i in range(n_customers)]
    base = dt.date(2023, 1, 1)
    # Days only in some months, so some periods have no orders at all.
    months = sorted(rng.choice(np.arange(24), size=14, replace=False).tolist())
    orders: dict[str, list] = {
        k: []
        for k in (
            "order_id",
            "customer_id",
            "order_date",
            "revenue",
            "cost",
            "status",
            "refund_amount",
            "kind",
        )
    }
    for i in range(n_orders):
        m = int(rng.choice(months))
        day = dt.date(
            base.year + (base.month - 1 + m) // 12,
            (base.month - 1 + m) % 12 + 1,
            int(rng.integers(1, 29)),
        )
        rev = Decimal(int(rng.integers(1, 50_000))) / 100
        status = rng.choice(["paid", "paid", "paid", "refunded", "cancelled", None])
        refund = None
        if status == "refunded" and rng.random() < 0.6:
            # Sometimes more than the order itself (bad data must not break identities).
            refund = (rev * Decimal(str(round(float(rng.uniform(0.1, 1.3)), 2)))).quantize(CENT)
        elif status == "paid" and rng.random() < 0.1:
            refund = (rev / 3).quantize(CENT)
        cost = (rev * Decimal("0.4")).quantize(CENT) if rng.random() < 0.4 else None
        orders["order_id"].append(f"O{i:05d}")
        orders["customer_id"].append(str(rng.choice(ids[: max(3, n_customers)])))
        orders["order_date"].append(
            dt.datetime(day.year, day.month, day.day, int(rng.integers(0, 24)))
        )
        orders["revenue"].append(rev)
        orders["cost"].append(cost)
        orders["status"].append(None if status is None else str(status))
        orders["refund_amount"].append(refund)
        orders["kind"].append(str(rng.choice(["one-off", "subscription", "package"])))
    channel_names = ["google-ads", "newsletter", "friends", "fair", "mystery", None]
    customers: dict[str, list] = {"customer_id": [], "channel": [], "referred_by": []}
    for c in ids[:-2]:  # the last two exist only in orders
        customers["customer_id"].append(c)
        customers["channel"].append(channel_names[int(rng.integers(0, len(channel_names)))])
        customers["referred_by"].append(str(rng.choice(ids)) if rng.random() < 0.25 else None)
    spend: dict[str, list] = {"channel": [], "period_start": [], "period_end": [], "amount": []}
    for ch in ("google-ads", "newsletter", "friends", "fair", "retention"):
        for m in range(0, 24, 2):
            d0 = dt.date(2023 + m // 12, m % 12 + 1, int(rng.integers(1, 20)))
            d1 = d0 + dt.timedelta(days=int(rng.integers(0, 80)))
            spend["channel"].append(ch)
            spend["period_start"].append(d0)
            spend["period_end"].append(d1)
            spend["amount"].append(Decimal(int(rng.integers(100, 90_000))) / 100)
    return {"orders": orders, "customers": customers, "spend": spend}


CHANNELS = {"google-ads": "cold", "newsletter": "organic", "friends": "referral", "fair": "partner"}


def shuffled(data: dict[str, dict[str, list]], seed: int) -> dict[str, dict[str, list]]:
    """The same tables with their rows in another order."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, cols in data.items():
        n = len(next(iter(cols.values())))
        order = rng.permutation(n)
        out[name] = {k: [v[i] for i in order] for k, v in cols.items()}
    return out


def assert_frames_equal(got: pd.DataFrame, want: pd.DataFrame, *, rel: float = 1e-9) -> None:
    """Exact for Decimals and ints, relative tolerance for floats, None == NaN."""
    assert list(got.columns) == list(want.columns), (list(got.columns), list(want.columns))
    assert len(got) == len(want), (len(got), len(want))
    for col in want.columns:
        for i, (g, w) in enumerate(zip(got[col].tolist(), want[col].tolist(), strict=True)):
            g_null = g is None or (isinstance(g, float) and np.isnan(g))
            w_null = w is None or (isinstance(w, float) and np.isnan(w))
            if g_null or w_null:
                assert g_null == w_null, (col, i, g, w)
            elif isinstance(w, float) or isinstance(g, float):
                assert float(g) == pytest.approx(float(w), rel=rel), (col, i, g, w)
            elif isinstance(w, Decimal) or isinstance(g, Decimal):
                assert Decimal(g) == Decimal(w), (col, i, g, w)
            else:
                assert g == w, (col, i, g, w)
