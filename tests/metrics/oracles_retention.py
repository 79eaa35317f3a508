"""Plain Python/pandas oracles for cohorts, subscriptions, referrals, guarantee, packages.

Written from the definitions in docs/metrics.md, independently of the Ibis code: loops
and dictionaries over the input rows, Decimal for money.  Each oracle returns a
DataFrame with the same columns as the metric it checks; :func:`assert_same` compares.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import oracles_periods as periods
import pandas as pd

from regulars.config import Config

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


# -- small helpers -------------------------------------------------------------------


def to_date(v: Any) -> dt.date | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v).date()
    return dt.date.fromisoformat(str(v)[:10])


def money(v: Any) -> Decimal | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return Decimal(str(v)).quantize(CENT)


def blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v == ""


def pindex(d: dt.date, period: str) -> int:
    if period == "month":
        return d.year * 12 + d.month - 1
    if period == "quarter":
        return d.year * 4 + (d.month - 1) // 3
    return d.year


def pdate(i: int, period: str) -> dt.date:
    if period == "month":
        return dt.date(i // 12, i % 12 + 1, 1)
    if period == "quarter":
        return dt.date(i // 4, (i % 4) * 3 + 1, 1)
    return dt.date(i, 1, 1)


def period_last_day(i: int, period: str) -> dt.date:
    return pdate(i + 1, period) - dt.timedelta(days=1)


def add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def half_up(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(a: Any, b: Any) -> float:
    b = float(b)
    return float("nan") if b == 0 else float(a) / b


def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.to_dict("records")


# -- orders --------------------------------------------------------------------------


def facts(orders: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    """Non-cancelled orders with day, refund, net revenue, profit and paid flag."""
    margin = Decimal(str(config.workspace.default_margin))
    out = []
    for r in rows(orders):
        status = "paid" if blank(r.get("status")) else r["status"]
        if status == "cancelled":
            continue
        revenue = money(r["revenue"])
        refund = money(r.get("refund_amount"))
        if refund is None:
            refund = revenue if status == "refunded" else ZERO
        net = revenue - refund
        cost = money(r.get("cost"))
        profit = net - cost if cost is not None else half_up(net * margin)
        out.append(
            {
                "order_id": r["order_id"],
                "customer_id": r["customer_id"],
                "day": to_date(r["order_date"]),
                "kind": "one-off" if blank(r.get("kind")) else r["kind"],
                "revenue": revenue,
                "refund": refund,
                "net": net,
                "profit": profit,
                "paid": net > 0,
                "discount": money(r.get("discount")) or ZERO,
                "refund_date": to_date(r.get("refund_date")),
            }
        )
    return out


def _coverage(orders: pd.DataFrame, config: Config) -> tuple[dt.date, dt.date]:
    ws = config.workspace
    days = [to_date(r["order_date"]) for r in rows(orders)]
    return periods.coverage([d for d in days if d is not None], ws.data_start, ws.data_end)


def first_paid(fs: list[dict[str, Any]]) -> dict[str, dt.date]:
    first: dict[str, dt.date] = {}
    for f in fs:
        if f["paid"] and (f["customer_id"] not in first or f["day"] < first[f["customer_id"]]):
            first[f["customer_id"]] = f["day"]
    return first


def channels(customers: pd.DataFrame, config: Config) -> dict[str, tuple[str, str]]:
    """customer_id -> (channel, channel_kind)."""
    out = {}
    for r in rows(customers):
        referred = not blank(r.get("referred_by"))
        ch = r.get("channel")
        if referred:
            kind = "referral"
        else:
            kind = "other" if blank(ch) else config.channels.get(ch, "other")
        channel = ch if not blank(ch) else ("referral" if referred else "(none)")
        out[r["customer_id"]] = (channel, kind)
    return out


# -- cohorts -------------------------------------------------------------------------


def cohort_retention(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    config: Config,
    period: str,
    by: str | None = None,
) -> pd.DataFrame:
    fs = facts(orders, config)
    first = first_paid(fs)
    ch = channels(customers, config)
    last = max(pindex(f["day"], period) for f in fs)
    lo, hi = _coverage(orders, config)
    censored = periods.left_censored(first, lo, hi, config.workspace.business_start)

    def group(c: str) -> Any:
        if by is None:
            return None
        channel, kind = ch.get(c, ("(none)", "other"))
        return kind if by == "channel_kind" else channel

    members: dict[tuple[int, Any], set[str]] = defaultdict(set)
    for c, d in first.items():
        members[(pindex(d, period), group(c))].add(c)
    cell: dict[tuple[str, int], list[Any]] = defaultdict(lambda: [False, ZERO, ZERO])
    for f in fs:
        x = cell[(f["customer_id"], pindex(f["day"], period))]
        x[0] = x[0] or f["paid"]
        x[1] += f["net"]
        x[2] += f["profit"]
    out = []
    for (ci, g), ms in members.items():
        cum = ZERO
        rev0 = None
        for k in range(last - ci + 1):
            p = ci + k
            got = [cell[(c, p)] for c in ms if (c, p) in cell]
            active = [x for x in got if x[0]]
            rev = sum((x[1] for x in got), ZERO)
            prof = sum((x[2] for x in got), ZERO)
            cum += rev
            if k == 0:
                rev0 = rev
            row = {"cohort": pdate(ci, period)}
            if by is not None:
                row[by] = g
            row |= {
                "period": pdate(p, period),
                "periods_since": k,
                "cohort_customers": len(ms),
                "active_customers": len(active),
                "retention": len(active) / len(ms),
                "revenue": rev,
                "profit": prof,
                "revenue_retention": ratio(rev, rev0),
                "cumulative_revenue": cum,
                "cumulative_revenue_per_customer": float(cum) / len(ms),
                "complete": periods.complete(pdate(p, period), period, lo, hi),
                # A cohort (all its channel groups) holds left-censored customers.
                "left_censored": any(pindex(first[c], period) == ci for c in censored),
            }
            out.append(row)
    return pd.DataFrame(out)


def revenue_retention(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    config: Config,
    period: str,
    window: int | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    fs = facts(orders, config)
    lag = window or _PER_YEAR[period]
    rev: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    for f in fs:
        rev[(f["customer_id"], pindex(f["day"], period))] += f["net"]
    idx = [pindex(f["day"], period) for f in fs]
    lo, hi = min(idx) + lag, max(idx)
    c_lo, c_hi = _coverage(orders, config)
    ch = channels(customers, config)

    def group(c: str) -> Any:
        channel, kind = ch.get(c, ("(none)", "other"))
        return kind if by == "channel_kind" else channel

    groups = {None} if by is None else set()
    cells: dict[tuple[int, Any], list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for (c, p), r in rev.items():
        if r > 0 and p + lag <= hi:
            g = None if by is None else group(c)
            cells[(p + lag, g)].append((r, rev.get((c, p + lag), ZERO)))
            groups.add(g)
    out = []
    for p in range(lo, hi + 1):
        for g in groups:
            pairs = cells.get((p, g), [])
            base = sum((a for a, _ in pairs), ZERO)
            now = sum((b for _, b in pairs), ZERO)
            kept = sum((min(max(b, ZERO), a) for a, b in pairs), ZERO)
            kept_n = sum(1 for _, b in pairs if b > 0)
            row = {"period": pdate(p, period)}
            if by is not None:
                row[by] = g
            row |= {
                "base_period": pdate(p - lag, period),
                "base_customers": len(pairs),
                "base_revenue": base,
                "revenue": now,
                "retained_revenue": kept,
                "retained_customers": kept_n,
                "nrr": ratio(now, base),
                "grr": ratio(kept, base),
                "customer_retention": ratio(kept_n, len(pairs)),
                "complete": periods.complete(pdate(p, period), period, c_lo, c_hi),
                "comparable": periods.complete(pdate(p, period), period, c_lo, c_hi)
                and periods.complete(pdate(p - lag, period), period, c_lo, c_hi),
            }
            out.append(row)
    return pd.DataFrame(out)


# -- subscriptions -------------------------------------------------------------------


def as_of_default(orders: pd.DataFrame, subs: pd.DataFrame) -> dt.date:
    days = [to_date(v) for v in orders["order_date"]]
    days += [to_date(v) for v in orders["refund_date"]]
    days += [to_date(v) for v in subs["start_date"]]
    days += [to_date(v) for v in subs["cancel_date"]]
    return max(d for d in days if d is not None)


def list_mrr_cents(price: Decimal, billing: str) -> int:
    if billing == "week":
        value = price * 52 / 12
    elif billing == "month":
        value = price
    elif billing == "quarter":
        value = price / 3
    else:
        value = price / 12
    return int(half_up(value) * 100)


def spans(
    subs: pd.DataFrame, orders: pd.DataFrame, config: Config, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    conv = config.subscriptions
    as_of = as_of or as_of_default(orders, subs)
    fs = facts(orders, config)
    out = []
    for r in rows(subs):
        start = to_date(r["start_date"])
        end = to_date(r.get("end_date"))
        cancel = to_date(r.get("cancel_date"))
        end_next = end + dt.timedelta(days=1) if end else None
        first, second = (end_next, cancel) if conv.churn_at == "period_end" else (cancel, end_next)
        stop = first if first is not None else second
        if start is None or r["billing_period"] not in ("week", "month", "quarter", "year"):
            continue
        price = money(r["price"])
        if price < 0 or start > as_of or (stop is not None and stop <= start):
            continue
        lst = list_mrr_cents(price, r["billing_period"])
        churned = stop is not None and stop <= as_of
        mrr, share = lst, 0.0
        if conv.discounts == "net":
            upto = stop if churned else as_of + dt.timedelta(days=1)
            gross = disc = ZERO
            for f in fs:
                if (
                    f["customer_id"] == r["customer_id"]
                    and f["kind"] == "subscription"
                    and start <= f["day"] < upto
                ):
                    gross += f["revenue"] + f["discount"]
                    disc += f["discount"]
            if gross > 0 and disc > 0:
                share = float(disc) / float(gross)
                mrr = math.floor(lst * (1.0 - share) + 0.5)
        out.append(
            {
                "id": r["subscription_id"],
                "customer_id": r["customer_id"],
                "plan": r.get("plan"),
                "billing": r["billing_period"],
                "start": start,
                "stop": stop,
                "churned": churned,
                "as_of": as_of,
                "mrr": mrr,
                "share": share,
            }
        )
    return out


def _cents(c: int) -> Decimal:
    return (Decimal(c) / 100).quantize(CENT)


def subscription_movements(
    subs: pd.DataFrame,
    orders: pd.DataFrame,
    config: Config,
    period: str,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    sp = [s for s in spans(subs, orders, config, as_of) if s["mrr"] > 0]
    if not sp:
        return pd.DataFrame()
    as_of = sp[0]["as_of"]
    a_idx = pindex(as_of, period)
    lo = min(pindex(s["start"], period) for s in sp)
    both = config.subscriptions.same_period == "both"

    def snapshot(i: int) -> dict[str, int]:
        day = min(period_last_day(i, period), as_of)
        m: dict[str, int] = defaultdict(int)
        for s in sp:
            if s["start"] <= day and (s["stop"] is None or s["stop"] > day):
                m[s["customer_id"]] += s["mrr"]
        return m

    snaps = {i: snapshot(i) for i in range(lo - 1, a_idx + 1)}
    flash: dict[tuple[str, int], int] = defaultdict(int)
    for s in sp:
        counted = any(
            s["start"] <= min(period_last_day(i, period), as_of)
            and (s["stop"] is None or s["stop"] > min(period_last_day(i, period), as_of))
            for i in range(lo, a_idx + 1)
        )
        if not counted:
            flash[(s["customer_id"], pindex(s["start"], period))] += s["mrr"]
    had: set[str] = set()
    out = []
    for i in range(lo, a_idx + 1):
        prev, cur = snaps[i - 1], snaps[i]
        t = dict.fromkeys(
            [
                "new",
                "expansion",
                "contraction",
                "churned",
                "reactivation",
                "flash",
                "n_new",
                "n_exp",
                "n_con",
                "n_churn",
                "n_react",
                "n_start",
            ],
            0,
        )
        custs = set(prev) | set(cur) | {c for (c, j) in flash if j == i}
        for c in sorted(custs):
            m0, m1 = prev.get(c, 0), cur.get(c, 0)
            f = flash.get((c, i), 0) if both and m0 == 0 and m1 == 0 else 0
            new = react = exp = con = churn = 0
            if m0 == 0 and (m1 > 0 or f > 0):
                if c in had:
                    react = m1 + f
                else:
                    new = m1 + f
            if m0 > 0 and m1 > m0:
                exp = m1 - m0
            if m1 > 0 and m0 > m1:
                con = m0 - m1
            if m0 > 0 and m1 == 0:
                churn = m0
            churn += f
            if m1 > 0 or f > 0:
                had.add(c)
            t["new"] += new
            t["reactivation"] += react
            t["expansion"] += exp
            t["contraction"] += con
            t["churned"] += churn
            t["flash"] += f
            t["n_new"] += new > 0
            t["n_react"] += react > 0
            t["n_exp"] += exp > 0
            t["n_con"] += con > 0
            t["n_churn"] += churn > 0
            t["n_start"] += m0 > 0 or f > 0
        mrr, mrr0 = sum(cur.values()), sum(prev.values())
        out.append(
            {
                "period": pdate(i, period),
                "mrr": _cents(mrr),
                "new": _cents(t["new"]),
                "expansion": _cents(t["expansion"]),
                "contraction": _cents(t["contraction"]),
                "churned": _cents(t["churned"]),
                "reactivation": _cents(t["reactivation"]),
                "net_change": _cents(mrr - mrr0),
                "customers": sum(1 for v in cur.values() if v > 0),
                "new_customers": t["n_new"],
                "expansion_customers": t["n_exp"],
                "contraction_customers": t["n_con"],
                "churned_customers": t["n_churn"],
                "reactivated_customers": t["n_react"],
                "mrr_churn_rate": ratio(t["churned"], mrr0 + t["flash"]),
                "customer_churn_rate": ratio(t["n_churn"], t["n_start"]),
            }
        )
    return pd.DataFrame(out)


def _renewal_day(start: dt.date, k: int, billing: str) -> dt.date:
    if billing == "week":
        return start + dt.timedelta(days=7 * k)
    return add_months(start, k * {"month": 1, "quarter": 3, "year": 12}[billing])


def renewal_outcomes(s: dict[str, Any]) -> list[tuple[int, bool]]:
    """(k, renewed) for every renewal k the subscription reached."""
    upto = s["stop"] if s["churned"] else s["as_of"] + dt.timedelta(days=1)
    out = []
    k = 1
    while True:
        day = _renewal_day(s["start"], k, s["billing"])
        if day < upto:
            out.append((k, True))
        else:
            if s["churned"]:
                out.append((k, False))
            break
        k += 1
    return out


def renewal_rates(
    subs: pd.DataFrame,
    orders: pd.DataFrame,
    config: Config,
    period: str,
    by_cohort: bool = False,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    cells: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in spans(subs, orders, config, as_of):
        key: tuple[Any, ...] = (s["billing"],)
        if by_cohort:
            key = (pdate(pindex(s["start"], period), period), s["billing"])
        for k, renewed in renewal_outcomes(s):
            c = cells[(*key, k)]
            c[0] += 1
            c[1] += renewed
            c[2] += not renewed
    out = []
    for key, (reached, renewed, churned) in cells.items():
        row = {"cohort": key[0]} if by_cohort else {}
        row |= {
            "billing_period": key[-2],
            "renewal": key[-1],
            "reached": reached,
            "renewed": renewed,
            "churned": churned,
            "renewal_rate": renewed / reached,
        }
        out.append(row)
    return pd.DataFrame(out)


def kaplan_meier(
    subs: pd.DataFrame,
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    config: Config,
    by: str | None = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    ch = channels(customers, config)
    groups: dict[Any, list[tuple[int, bool]]] = defaultdict(list)
    for s in spans(subs, orders, config, as_of):
        end = s["stop"] if s["churned"] else s["as_of"] + dt.timedelta(days=1)
        if by in ("channel_kind", "channel"):
            channel, kind = ch.get(s["customer_id"], ("(none)", "other"))
            g = kind if by == "channel_kind" else channel
        elif by == "plan":
            g = s["plan"]
        elif by == "billing_period":
            g = s["billing"]
        else:
            g = None
        groups[g].append(((end - s["start"]).days, s["churned"]))
    out = []
    for g, items in groups.items():
        surv = 1.0
        for t in sorted({d for d, _ in items}):
            at_risk = sum(1 for d, _ in items if d >= t)
            events = sum(1 for d, e in items if d == t and e)
            censored = sum(1 for d, e in items if d == t and not e)
            surv *= 1 - events / at_risk
            row = {by: g} if by else {}
            row |= {
                "days": t,
                "at_risk": at_risk,
                "churned": events,
                "censored": censored,
                "survival": surv,
            }
            out.append(row)
    return pd.DataFrame(out)


# -- comparison ----------------------------------------------------------------------


def assert_same(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    *,
    keys: list[str],
    money_cols: tuple[str, ...] = (),
    float_cols: tuple[str, ...] = (),
    rel: float = 1e-9,
) -> None:
    """Same columns (order included) and the same rows, compared per kind of column."""
    assert list(actual.columns) == list(expected.columns), (
        f"columns differ:\n{list(actual.columns)}\n{list(expected.columns)}"
    )
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}"
    if not len(actual):
        return

    def norm(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        for k in keys:
            df[k] = [("\x00" if v is None or v is pd.NaT or v != v else str(v)) for v in df[k]]
        return df.sort_values(keys, kind="mergesort").reset_index(drop=True)

    a, e = norm(actual), norm(expected)
    for col in a.columns:
        for i, (x, y) in enumerate(zip(a[col], e[col], strict=True)):
            where = f"column {col!r}, row {i} ({dict(a.loc[i, keys])})"
            if col in money_cols:
                assert money(x) == money(y), f"{where}: {x!r} != {y!r}"
            elif col in float_cols:
                xn = x is None or (isinstance(x, float) and math.isnan(x))
                yn = y is None or (isinstance(y, float) and math.isnan(y))
                assert xn == yn, f"{where}: {x!r} != {y!r}"
                if not xn:
                    assert math.isclose(float(x), float(y), rel_tol=rel, abs_tol=1e-12), (
                        f"{where}: {x!r} != {y!r}"
                    )
            elif col in keys:
                assert x == y, f"{where}: {x!r} != {y!r}"
            else:
                xn = x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT
                yn = y is None or (isinstance(y, float) and math.isnan(y)) or y is pd.NaT
                if xn or yn:
                    assert xn == yn, f"{where}: {x!r} != {y!r}"
                else:
                    if isinstance(x, pd.Timestamp | dt.datetime):
                        x = to_date(x)
                    if isinstance(y, pd.Timestamp | dt.datetime):
                        y = to_date(y)
                    if isinstance(x, float | np.floating) or isinstance(y, float | np.floating):
                        assert float(x) == float(y), f"{where}: {x!r} != {y!r}"
                    else:
                        assert x == y, f"{where}: {x!r} != {y!r}"


# -- data shared by the retention tests ----------------------------------------------


class SimData:
    """A small simulated book and the config that maps its channels."""

    def __init__(self) -> None:
        from regulars.datasets import simulate

        book = simulate(n_customers=300, years=3, seed=3)
        self.config = Config(channels=dict(book.channels))
        self.orders = book.orders
        self.customers = book.customers
        self.subscriptions = book.subscriptions


@functools.cache
def simulated() -> SimData:
    """simulate(n_customers=300, years=3, seed=3), drawn once per run."""
    return SimData()


# -- referrals -----------------------------------------------------------------------


def _referrers(customers: pd.DataFrame) -> dict[str, str]:
    return {
        r["customer_id"]: r["referred_by"]
        for r in rows(customers)
        if not blank(r.get("referred_by"))
    }


def walk(customers: pd.DataFrame, depth: int) -> dict[str, dict[str, Any]]:
    """Per referred customer: ancestors a1..a{depth+1}, ended, depth, root, cycle_length."""
    ref = _referrers(customers)
    out = {}
    for c in ref:
        anc: list[str | None] = []
        x: str | None = c
        for _ in range(depth + 1):
            x = ref.get(x) if x is not None else None
            anc.append(x)
        ended = anc[-1] is None
        known = [a for a in anc[:-1] if a is not None]
        out[c] = {
            "anc": anc,
            "ended": ended,
            "depth": len(known) if ended else None,
            "root": known[-1] if ended else None,
            "cycle_length": next((k for k, a in enumerate(anc, 1) if a == c), None),
        }
    return out


def referral_problems(customers: pd.DataFrame, config: Config) -> pd.DataFrame:
    depth = config.referrals.max_depth
    w = walk(customers, depth)
    ref = _referrers(customers)
    ids = set(customers["customer_id"])
    cyc = {c for c, v in w.items() if v["cycle_length"] is not None}
    out = []
    for c, v in w.items():
        cl = v["cycle_length"]
        if cl == 1:
            problem = "self-referral"
        elif cl is not None:
            problem = "cycle"
        elif not v["ended"] and v["anc"][-1] in cyc:
            problem = "leads into a cycle"
        elif not v["ended"]:
            problem = "too deep"
        else:
            problem = None
        if problem:
            out.append((c, ref[c], problem, cl))
        if ref[c] not in ids:
            out.append((c, ref[c], "unknown referrer", None))
    return pd.DataFrame(out, columns=["customer_id", "referred_by", "problem", "cycle_length"])


def revenue_by_customer(orders: pd.DataFrame, config: Config) -> dict[str, Decimal]:
    rev: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for f in facts(orders, config):
        rev[f["customer_id"]] += f["net"]
    return rev


def referral_tree(customers: pd.DataFrame, orders: pd.DataFrame, config: Config) -> pd.DataFrame:
    depth = config.referrals.max_depth
    w = walk(customers, depth)
    ref = _referrers(customers)
    rev = revenue_by_customer(orders, config)
    nodes = set(ref) | set(ref.values())
    direct: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for c, v in w.items():
        if v["cycle_length"] is None:
            direct[ref[c]][0] += 1
            direct[ref[c]][1] += rev.get(c, ZERO)
    desc: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for c, v in w.items():
        if v["ended"]:
            for a in v["anc"][:depth]:
                if a is not None:
                    desc[a][0] += 1
                    desc[a][1] += rev.get(c, ZERO)
    place = {}
    for n in nodes:
        if n not in ref:
            place[n] = (None, n, 0)
        else:
            place[n] = (ref[n], w[n]["root"], w[n]["depth"])
    trees: dict[str, list[int]] = defaultdict(list)
    for _, (_, root, d) in place.items():
        if root is not None:
            trees[root].append(d)
    out = []
    for n in nodes:
        by, root, d = place[n]
        tree = trees.get(root) if root is not None else None
        out.append(
            {
                "customer_id": n,
                "referred_by": by,
                "root": root,
                "depth": d,
                "direct_referrals": direct[n][0] if n in direct else 0,
                "referred_revenue": direct[n][1] if n in direct else ZERO,
                "descendants": desc[n][0] if n in desc else 0,
                "descendant_revenue": desc[n][1] if n in desc else ZERO,
                "tree_size": len(tree) if tree else None,
                "tree_depth": max(tree) if tree else None,
            }
        )
    return pd.DataFrame(out)


def observation_end(orders: pd.DataFrame, subs: pd.DataFrame | None) -> dt.date:
    days = [to_date(v) for v in orders["order_date"]]
    days += [to_date(v) for v in orders["refund_date"]]
    if subs is not None:
        days += [to_date(v) for v in subs["start_date"]]
        days += [to_date(v) for v in subs["cancel_date"]]
    return max(d for d in days if d is not None)


def referral_rewards(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    config: Config,
    period: str,
    as_of: dt.date,
) -> pd.DataFrame:
    cfg = config.referrals
    hold = dt.timedelta(days=config.guarantee.days)
    fs = facts(orders, config)
    first = first_paid(fs)
    ref = _referrers(customers)
    probs = referral_problems(customers, config)
    blocked = set(
        probs[probs.problem.isin(["self-referral", "cycle", "unknown referrer"])].customer_id
    )
    ledger = []
    for i, rule in enumerate(cfg.rules, start=1):
        label = rule.name or f"{rule.kind} #{i}"
        for referee, referrer in ref.items():
            if referee not in first:
                continue
            q = first[referee]
            if rule.kind == "percentage":
                until = add_months(q, rule.months)
                basis = sum(
                    (f["net"] for f in fs if f["customer_id"] == referee and q <= f["day"] < until),
                    ZERO,
                )
                basis = max(basis, ZERO)
                amount = half_up(basis * Decimal(str(rule.percent)) / 100)
                earned = until + hold
                sides = {"referrer": amount, "referee": amount}
                sides = {k: v for k, v in sides.items() if rule.side in (k, "both")}
            else:
                basis = None
                earned = q + hold
                amount = Decimal(str(rule.amount)).quantize(CENT)
                if rule.kind == "double-sided":
                    other = rule.amount if rule.referee_amount is None else rule.referee_amount
                    sides = {"referrer": amount, "referee": Decimal(str(other)).quantize(CENT)}
                else:
                    sides = {k: amount for k in ("referrer", "referee") if rule.side in (k, "both")}
            for side, amt in sides.items():
                ledger.append(
                    {
                        "referrer": referrer,
                        "referee": referee,
                        "payee": referrer if side == "referrer" else referee,
                        "side": side,
                        "rule": label,
                        "rule_no": i,
                        "basis": basis,
                        "amount_before_cap": amt,
                        "qualified_at": q,
                        "earned_at": earned,
                        "blocked": referee in blocked,
                    }
                )
    cap = Decimal(str(cfg.cap_per_referrer)).quantize(CENT)
    used: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in sorted(ledger, key=lambda r: (r["earned_at"], r["referee"], r["rule_no"])):
        raw = ZERO if r["blocked"] else r["amount_before_cap"]
        amount = raw
        if cap > 0 and r["side"] == "referrer":
            amount = min(raw, max(cap - used[r["referrer"]], ZERO))
            used[r["referrer"]] += raw
        r["amount"] = amount
        if r["blocked"]:
            r["status"] = "blocked"
        elif amount == 0 and r["amount_before_cap"] > 0:
            r["status"] = "capped"
        elif r["earned_at"] > as_of:
            r["status"] = "pending"
        else:
            r["status"] = "earned"
    cols = [
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
        "period",
        "cohort",
        "status",
    ]
    for r in ledger:
        r["period"] = pdate(pindex(r["earned_at"], period), period)
        r["cohort"] = pdate(pindex(r["qualified_at"], period), period)
    return pd.DataFrame(ledger, columns=cols)


def referrals_per_period(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    config: Config,
    period: str,
    as_of: dt.date,
) -> pd.DataFrame:
    fs = facts(orders, config)
    ch = channels(customers, config)
    ref = {r["customer_id"]: r.get("referred_by") for r in rows(customers)}
    first = first_paid(fs)
    ledger = referral_rewards(customers, orders, config, period, as_of)
    idx = [pindex(f["day"], period) for f in fs]
    out = []
    for p in range(min(idx), max(idx) + 1):
        in_p = [f for f in fs if pindex(f["day"], period) == p]
        revenue = sum((f["net"] for f in in_p), ZERO)

        def kind(c: str) -> str:
            return ch.get(c, ("(none)", "other"))[1]

        referred = sum((f["net"] for f in in_p if kind(f["customer_id"]) == "referral"), ZERO)
        new = [c for c, d in first.items() if pindex(d, period) == p]
        new_ref = [c for c in new if kind(c) == "referral"]
        referrers = {ref.get(c) for c in new if not blank(ref.get(c))}
        lp = ledger[[pindex(d, period) == p for d in ledger.earned_at] if len(ledger) else []]
        lp = lp[lp.status.isin(["pending", "earned"])] if len(lp) else lp
        rewards = sum(lp.amount, ZERO) if len(lp) else ZERO
        earned = sum(lp[lp.status == "earned"].amount, ZERO) if len(lp) else ZERO
        out.append(
            {
                "period": pdate(p, period),
                "new_customers": len(new),
                "new_referred_customers": len(new_ref),
                "referred_share_of_new": ratio(len(new_ref), len(new)),
                "revenue": revenue,
                "referred_revenue": referred,
                "referred_share_of_revenue": ratio(referred, revenue),
                "referrers": len(referrers),
                "rewards": rewards,
                "rewards_earned": earned,
            }
        )
    return pd.DataFrame(out)


# -- guarantee and packages ------------------------------------------------------------


def guarantee(orders: pd.DataFrame, config: Config, period: str, as_of: dt.date) -> pd.DataFrame:
    days = config.guarantee.days
    fs = facts(orders, config)
    first = first_paid(fs)
    cells: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for f in fs:
        p = pindex(f["day"], period)
        c = f["customer_id"]
        kind = "returning" if c in first and pindex(first[c], period) < p else "new"
        end = f["day"] + dt.timedelta(days=days)
        f = dict(f)
        f["inside"] = (
            days > 0 and f["refund"] > 0 and (f["refund_date"] is None or f["refund_date"] <= end)
        )
        f["pending"] = days > 0 and as_of < end
        cells[(p, kind)].append(f)
    idx = [pindex(f["day"], period) for f in fs]
    out = []
    for p in range(min(idx), max(idx) + 1):
        for kind in ("new", "returning"):
            xs = cells.get((p, kind), [])
            revenue = sum((f["revenue"] for f in xs), ZERO)
            refunds = sum((f["refund"] for f in xs if f["inside"]), ZERO)
            n_ref = sum(1 for f in xs if f["inside"])
            out.append(
                {
                    "period": pdate(p, period),
                    "customer_type": kind,
                    "orders": len(xs),
                    "customers": len({f["customer_id"] for f in xs}),
                    "revenue": revenue,
                    "refunded_orders": n_ref,
                    "refunds": refunds,
                    "refund_rate": ratio(n_ref, len(xs)),
                    "refund_share": ratio(refunds, revenue),
                    "late_refunds": sum((f["refund"] for f in xs if not f["inside"]), ZERO),
                    "pending_orders": sum(1 for f in xs if f["pending"]),
                    "pending_revenue": sum((f["net"] for f in xs if f["pending"]), ZERO),
                    "settled_revenue": sum((f["net"] for f in xs if not f["pending"]), ZERO),
                }
            )
    return pd.DataFrame(out)


def packages(orders: pd.DataFrame, config: Config, period: str) -> pd.DataFrame:
    fs = facts(orders, config)
    idx = [pindex(f["day"], period) for f in fs]
    out = []
    for p in range(min(idx), max(idx) + 1):
        xs = [f for f in fs if pindex(f["day"], period) == p]
        pk = [f for f in xs if f["kind"] == "package"]
        revenue = sum((f["net"] for f in xs), ZERO)
        pk_rev = sum((f["revenue"] for f in pk), ZERO)
        disc = sum((f["discount"] for f in pk), ZERO)
        kept = sum((f["net"] for f in pk), ZERO)
        customers = {f["customer_id"] for f in xs}
        pk_customers = {f["customer_id"] for f in pk}
        out.append(
            {
                "period": pdate(p, period),
                "orders": len(xs),
                "package_orders": len(pk),
                "package_order_share": ratio(len(pk), len(xs)),
                "customers": len(customers),
                "package_customers": len(pk_customers),
                "package_customer_share": ratio(len(pk_customers), len(customers)),
                "revenue": revenue,
                "package_revenue": pk_rev,
                "package_discount": disc,
                "package_discount_rate": ratio(disc, pk_rev + disc),
                "package_refunds": sum((f["refund"] for f in pk), ZERO),
                "package_revenue_kept": kept,
                "package_revenue_share": ratio(kept, revenue),
                "discount_per_revenue_kept": ratio(disc, kept),
            }
        )
    return pd.DataFrame(out)
