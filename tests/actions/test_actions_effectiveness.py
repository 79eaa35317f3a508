"""Treated vs held out, the interval formulas, and the health-signal view."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import Book
from regulars.actions import (
    action_outcomes,
    compute_actions,
    difference_interval,
    playbook_effectiveness,
    record_outcome,
    signal_deciles,
    signal_strength,
    welch_interval,
    wilson_interval,
)

LAPSED = ["2023-01-01", "2023-01-31", "2023-03-02"]


# -- the intervals --------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (81, 263), (50, 50), (1, 1000)])
def test_wilson_matches_scipy(x: int, n: int) -> None:
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(x, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_newcombe_difference_matches_the_paper() -> None:
    # Newcombe (1998), example (a): 56/70 vs 48/80, method 10: 0.0524 to 0.3339.
    low, high = difference_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.gamma(2.0, 50.0, 40), rng.gamma(2.0, 30.0, 25)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    got = welch_interval(a.mean(), a.var(ddof=1), 40, b.mean(), b.var(ddof=1), 25)
    assert got == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert all(math.isnan(v) for v in welch_interval(1.0, 0.0, 1, 2.0, 1.0, 5))


# -- playbook_effectiveness -----------------------------------------------------------


def test_effectiveness_compares_treated_and_held_out(book: Book) -> None:
    for i in range(200):
        book.orders(f"W{i:03d}", LAPSED, 300)
    book.set("actions", holdout_share=0.5)
    run = compute_actions(book.ws, today="2024-06-30", playbooks=["win_back"])
    assert 70 <= run.held_out <= 130
    held = dict(book.ws.con.execute("SELECT customer_id, holdout FROM actions").fetchall())
    # Treated customers come back more often: every second one vs every fourth one.
    for i in range(200):
        cid = f"W{i:03d}"
        if i % (4 if held[cid] else 2) == 0:
            book.order(cid, "2024-08-01", 100.0 + i)
        if i == 1:
            book.order(cid, "2024-12-01", 5000)  # after the window: does not count
    first_open = book.ws.con.execute(
        "SELECT action_id FROM actions WHERE status = 'open' ORDER BY action_id LIMIT 1"
    ).fetchone()
    assert first_open is not None
    record_outcome(book.ws, first_open[0], "done", outcome="accepted")

    eff = playbook_effectiveness(book.ws, today="2024-10-15").to_pyarrow().to_pylist()
    (row,) = eff
    # Oracle: the same numbers from plain Python.
    orders = book.ws.con.execute(
        "SELECT customer_id, CAST(order_date AS DATE), CAST(revenue AS DOUBLE) FROM orders"
    ).fetchall()
    window = (dt.date(2024, 6, 30), dt.date(2024, 9, 28))
    revenue = {c: 0.0 for c in held}
    for c, d, r in orders:
        if window[0] < d <= window[1]:
            revenue[c] += r
    groups = {g: [revenue[c] for c, h in held.items() if h == g] for g in (False, True)}
    t, h = np.array(groups[False]), np.array(groups[True])
    assert row["treated"] == len(t)
    assert row["held_out"] == len(h)
    assert row["treated_repurchase"] == pytest.approx((t > 0).mean())
    assert row["held_out_repurchase"] == pytest.approx((h > 0).mean())
    lo, hi = difference_interval(int((t > 0).sum()), len(t), int((h > 0).sum()), len(h))
    assert (row["repurchase_lift_low"], row["repurchase_lift_high"]) == pytest.approx((lo, hi))
    assert row["repurchase_lift_low"] > 0  # a real lift of 25 points on 200 customers
    assert row["treated_revenue"] == pytest.approx(t.mean())
    ci = stats.ttest_ind(t, h, equal_var=False).confidence_interval(0.95)
    assert (row["revenue_lift_low"], row["revenue_lift_high"]) == pytest.approx((ci.low, ci.high))
    assert row["incremental_revenue"] == pytest.approx((t.mean() - h.mean()) * len(t))
    assert row["done"] == 1
    assert row["accepted"] == 1
    assert row["pending"] == 0


def test_windows_still_open_are_pending(book: Book) -> None:
    book.orders("W", LAPSED, 300)
    compute_actions(book.ws, today="2024-06-30")
    (row,) = playbook_effectiveness(book.ws, today="2024-07-15").to_pyarrow().to_pylist()
    assert row["treated"] == 0
    assert row["pending"] == 1
    assert row["treated_repurchase"] is None


def test_action_outcomes_link_the_next_order(book: Book) -> None:
    book.orders("W", LAPSED, 300)
    compute_actions(book.ws, today="2024-06-30")
    book.order("W", "2024-07-20", 120, order_id="NEXT").order("W", "2024-08-20", 80)
    (row,) = action_outcomes(book.ws, today="2024-10-01", window_days=30).to_pyarrow().to_pylist()
    assert row["next_order_id"] == "NEXT"
    assert row["next_order_date"] == dt.date(2024, 7, 20)
    assert row["orders_in_window"] == 1
    assert row["revenue_in_window"] == pytest.approx(120.0)
    assert row["repurchased"]
    assert row["matured"]


# -- signals --------------------------------------------------------------------------


def signal_book(book: Book) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(60):
        cid = f"C{i:02d}"
        n = int(rng.integers(1, 6))
        days = sorted(rng.choice(np.arange(0, 450), size=n, replace=False))
        for d in days:
            when = dt.date(2023, 1, 1) + dt.timedelta(days=int(d))
            revenue = float(rng.integers(50, 500))
            book.order(cid, when.isoformat(), revenue)
            rows.append((cid, when, revenue))
        if rng.random() < 0.5:
            book.touch(
                cid, (dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 60)))).isoformat()
            )
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])


def ntile(n: int, bins: int) -> list[int]:
    """SQL NTILE: the first n % bins groups get one extra row."""
    base, extra = divmod(n, bins)
    out: list[int] = []
    for b in range(bins):
        out += [b + 1] * (base + (1 if b < extra else 0))
    return out


def test_signal_deciles_match_a_pandas_oracle(book: Book) -> None:
    o = signal_book(book)
    as_of = dt.date(2024, 1, 31)
    got = signal_deciles(book.ws, as_of=as_of, horizon_days=90, bins=4).to_pyarrow().to_pandas()
    before = o[o.order_date <= as_of]
    after = o[(o.order_date > as_of) & (o.order_date <= as_of + dt.timedelta(days=90))]
    f = before.groupby("customer_id").agg(orders=("order_date", "size"), last=("order_date", "max"))
    f["days_since_order"] = [(as_of - d).days for d in f["last"]]
    f["repurchased"] = f.index.isin(after.customer_id)
    for signal in ("orders", "days_since_order"):
        s = f.reset_index().sort_values([signal, "customer_id"])
        s["decile"] = ntile(len(s), 4)
        want = s.groupby("decile").agg(
            customers=("customer_id", "size"), repurchase_rate=("repurchased", "mean")
        )
        have = got[got.signal == signal].set_index("decile").sort_index()
        assert have["customers"].tolist() == want["customers"].tolist()
        assert have["repurchase_rate"].tolist() == pytest.approx(want["repurchase_rate"].tolist())
        assert have["churn_rate"].tolist() == pytest.approx((1 - want["repurchase_rate"]).tolist())
    # Never-touched customers form the "missing" row of days_since_touch.
    touch = got[got.signal == "days_since_touch"]
    assert touch["decile"].isna().sum() == 1
    assert touch["customers"].sum() == len(f)
    assert "p_alive" not in set(got.signal)  # no scores: the signal is left out


def test_signal_strength_is_the_auc(book: Book) -> None:
    o = signal_book(book)
    as_of = dt.date(2024, 1, 31)
    got = signal_strength(book.ws, as_of=as_of, horizon_days=90).to_pyarrow().to_pylist()
    by = {r["signal"]: r for r in got}
    before = o[o.order_date <= as_of]
    after = o[(o.order_date > as_of) & (o.order_date <= as_of + dt.timedelta(days=90))]
    f = before.groupby("customer_id").agg(orders=("order_date", "size"), revenue=("revenue", "sum"))
    f["repurchased"] = f.index.isin(after.customer_id)
    for signal in ("orders", "revenue"):
        pos, neg = f.loc[f.repurchased, signal], f.loc[~f.repurchased, signal]
        u = stats.mannwhitneyu(pos, neg).statistic
        assert by[signal]["auc"] == pytest.approx(u / (len(pos) * len(neg)))
        assert by[signal]["strength"] == pytest.approx(abs(by[signal]["auc"] - 0.5) * 2)
    strengths = [r["strength"] for r in got if r["strength"] is not None]
    assert strengths == sorted(strengths, reverse=True)


def test_p_alive_signal_uses_only_scores_from_before_as_of(book: Book) -> None:
    from regulars.actions._features import snapshot_scores

    for i in range(20):
        book.order(f"C{i:02d}", "2023-06-01", 100).order(f"C{i:02d}", "2023-12-31", 100)
        book.score(f"C{i:02d}", i / 20, 100.0 + i, scored_at="2024-01-02")
    snapshot_scores(book.ws)  # the data ended on 2023-12-31
    for i in range(10, 20):
        book.order(f"C{i:02d}", "2024-02-15", 100)
    by = {
        r["signal"]: r
        for r in signal_strength(book.ws, as_of="2023-12-31", horizon_days=90)
        .to_pyarrow()
        .to_pylist()
    }
    assert by["p_alive"]["auc"] == pytest.approx(1.0)
    assert by["p_alive"]["direction"] == "higher → repurchase"
    # Scores taken after the day looked at are never used.
    earlier = signal_strength(book.ws, as_of="2023-12-30", horizon_days=90).to_pyarrow()
    assert "p_alive" not in earlier.column("signal").to_pylist()
