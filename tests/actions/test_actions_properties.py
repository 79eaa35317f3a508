"""Invariants of the queue on random books and random sequences of outcomes."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Book
from regulars.actions import compute_actions, record_outcome
from regulars.store import Workspace

START = dt.date(2023, 1, 1)

order_st = st.tuples(
    st.integers(0, 540),  # day offset from START
    st.sampled_from(["audit", "retainer", "logo", "seo"]),
    st.sampled_from(["one-off", "one-off", "one-off", "package"]),
    st.integers(50, 2000),
)
customer_st = st.fixed_dictionaries(
    {
        "orders": st.lists(order_st, min_size=1, max_size=6),
        "touches": st.lists(st.integers(0, 560), max_size=2),
        "feedback": st.one_of(st.none(), st.integers(0, 10)),
        "subscription": st.one_of(st.none(), st.integers(0, 540)),
    }
)
step_st = st.tuples(
    st.integers(0, 45),  # days to move forward
    st.lists(
        st.tuples(st.integers(0, 20), st.sampled_from(["done", "snoozed", "dismissed"])),
        max_size=3,
    ),
)
book_st = st.lists(customer_st, min_size=1, max_size=6)


def build(root: Path, customers: list[dict]) -> Book:  # type: ignore[type-arg]
    book = Book(Workspace.init(root / "ws"))
    book.set("actions", holdout_share=0.2)
    for i, c in enumerate(customers):
        cid = f"C{i}"
        for day, product, kind, revenue in c["orders"]:
            when = (START + dt.timedelta(days=day)).isoformat()
            book.order(cid, when, float(revenue), product=product, kind=kind)
        for day in c["touches"]:
            book.touch(cid, (START + dt.timedelta(days=day)).isoformat())
        if c["feedback"] is not None:
            book.feedback(cid, "2024-01-01", float(c["feedback"]))
        if c["subscription"] is not None:
            start = (START + dt.timedelta(days=c["subscription"])).isoformat()
            book.subscription(f"S{i}", cid, start, billing_period="quarter")
    return book


def check_invariants(book: Book) -> None:
    rows = book.ws.con.execute(
        "SELECT customer_id, playbook FROM actions WHERE status = 'open'"
    ).fetchall()
    per_playbook = Counter(rows)
    assert max(per_playbook.values(), default=0) <= 1, per_playbook
    capped = Counter(c for c, p in rows if p != "pay_referral_reward")
    assert max(capped.values(), default=0) <= 1, capped
    ids = book.ws.con.execute("SELECT count(*), count(DISTINCT action_id) FROM actions").fetchone()
    assert ids is not None
    assert ids[0] == ids[1]


def run_steps(customers: list[dict], steps: list[tuple[int, list[tuple[int, str]]]]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        book = build(Path(tmp), customers)
        try:
            day = dt.date(2024, 6, 30)
            for forward, outcomes in steps:
                day += dt.timedelta(days=forward)
                compute_actions(book.ws, today=day)
                check_invariants(book)
                open_ids = [
                    r[0]
                    for r in book.ws.con.execute(
                        "SELECT action_id FROM actions WHERE status = 'open' ORDER BY action_id"
                    ).fetchall()
                ]
                for pick, status in outcomes:
                    if open_ids:
                        aid = open_ids[pick % len(open_ids)]
                        record_outcome(book.ws, aid, status, on=day) if status != "snoozed" else (
                            record_outcome(book.ws, aid, status, until=day + dt.timedelta(days=10))
                        )
                        open_ids.remove(aid)
                check_invariants(book)
        finally:
            book.ws.close()


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(book_st, st.lists(step_st, min_size=1, max_size=3))
def test_no_customer_gets_two_open_actions_from_one_playbook(
    customers: list[dict],  # type: ignore[type-arg]
    steps: list[tuple[int, list[tuple[int, str]]]],
) -> None:
    run_steps(customers, steps)


@pytest.mark.slow
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(book_st, st.lists(step_st, min_size=1, max_size=5))
def test_no_two_open_actions_from_one_playbook_many_books(
    customers: list[dict],  # type: ignore[type-arg]
    steps: list[tuple[int, list[tuple[int, str]]]],
) -> None:
    run_steps(customers, steps)
