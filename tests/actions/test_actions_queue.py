"""The queue: ranking, the frequency cap, cooldowns, snoozes, expiry and the holdout."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from conftest import Book
from regulars.actions import compute_actions, open_actions, record_outcome
from regulars.errors import ActionError

TODAY = "2024-06-30"
LAPSED = ["2023-01-01", "2023-01-31", "2023-03-02"]  # a monthly buyer gone for a year
LOYAL = ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]


def rows(book: Book, playbook: str | None = None) -> list[dict[str, Any]]:
    return list(open_actions(book.ws, playbook=playbook).to_pyarrow().to_pylist())


def statuses(book: Book) -> dict[str, str]:
    return dict(book.ws.con.execute("SELECT action_id, status FROM actions").fetchall())


def test_actions_are_ranked_by_value_at_stake(book: Book) -> None:
    for i, revenue in enumerate([100, 900, 400, 700, 200, 300, 800, 500]):
        book.orders(f"W{i}", LAPSED, revenue)
    run = compute_actions(book.ws, today=TODAY)
    got = run.actions.to_pyarrow().to_pylist()
    values = [float(r["value_at_stake"]) for r in got]
    assert values == sorted(values, reverse=True) == [2700, 2400, 2100, 1500, 1200, 900, 600, 300]
    assert [r["customer_id"] for r in got[:2]] == ["W1", "W6"]
    # Top quarter by value: priority 1; bottom half: 3; the rest: 2.
    assert [r["priority"] for r in got] == [1, 1, 2, 2, 3, 3, 3, 3]
    assert run.shown == 8
    assert run.candidates["win_back"] == 8
    for key in (
        "action_id",
        "customer_id",
        "playbook",
        "reason",
        "value_at_stake",
        "priority",
        "due",
    ):
        assert all(r[key] is not None for r in got)


def test_recomputing_keeps_the_same_ids(book: Book) -> None:
    book.orders("W", LAPSED, 500).orders("L", LOYAL, 400)
    first = {
        r["action_id"]
        for r in compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    }
    second = {
        r["action_id"]
        for r in compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    }
    assert first == second
    assert len(first) == 2
    assert book.ws.count("actions") == 2


def test_one_action_per_customer_across_playbooks(book: Book) -> None:
    # L qualifies for keep_in_touch (value 2,000) and ask_for_referral (20% of it).
    book.orders("L", LOYAL, 400)
    run = compute_actions(book.ws, today="2024-07-10")
    got = rows(book)
    assert [(r["customer_id"], r["playbook"]) for r in got] == [("L", "keep_in_touch")]
    assert run.candidates["keep_in_touch"] == run.candidates["ask_for_referral"] == 1
    # Counts are of customers: L got an action, so nobody was left out by the cap.
    assert (run.customers, run.capped, run.quiet, run.over_capacity) == (1, 0, 0, 0)


def test_an_open_action_keeps_its_slot(book: Book) -> None:
    book.orders("L", LOYAL, 400)
    book.set("playbooks.keep_in_touch", enable=False)
    first = compute_actions(book.ws, today="2024-07-10").actions.to_pyarrow().to_pylist()
    assert [r["playbook"] for r in first] == ["ask_for_referral"]
    book.set("playbooks.keep_in_touch", enable=True)
    again = compute_actions(book.ws, today="2024-07-11").actions.to_pyarrow().to_pylist()
    assert [r["action_id"] for r in again] == [first[0]["action_id"]]


def test_a_recent_touch_blocks_new_actions(book: Book) -> None:
    book.orders("L", LOYAL, 400).touch("L", "2024-06-25")
    book.set("playbooks.keep_in_touch", enable=False)
    run = compute_actions(book.ws, today=TODAY)
    assert rows(book) == []
    assert run.capped == 1
    assert [
        r["customer_id"]
        for r in compute_actions(book.ws, today="2024-07-10").actions.to_pyarrow().to_pylist()
    ] == ["L"]
    book.set("actions", holdout_share=0.0, frequency_cap_days=0)
    assert len(compute_actions(book.ws, today=TODAY).actions.to_pyarrow()) == 1


def test_a_done_action_blocks_other_playbooks_for_the_cap(book: Book) -> None:
    book.orders("L", LOYAL, 400)
    book.set("playbooks.keep_in_touch", enable=False)
    (ask,) = compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    record_outcome(book.ws, ask["action_id"], "done", log_touch=False)
    book.set("playbooks.keep_in_touch", enable=True)
    assert rows(book) == []
    compute_actions(book.ws, today="2024-07-13")  # 13 days: still inside the cap
    assert rows(book) == []
    compute_actions(book.ws, today="2024-07-14")
    assert [r["playbook"] for r in rows(book)] == ["keep_in_touch"]


def test_reward_payments_are_outside_the_cap(book: Book) -> None:
    from regulars.actions._features import build_context
    from regulars.actions._rank import blocked_customers

    book.orders("L", LOYAL, 400).touch("L", "2024-06-29")
    ctx = build_context(book.ws, dt.date(2024, 6, 30))
    blocked = blocked_customers(ctx, dt.date(2024, 6, 30), names=())
    assert set(blocked.to_pyarrow().column("b_customer").to_pylist()) == {"L"}
    assert not book.ws.config.playbooks.pay_referral_reward.respect_cap


def test_snoozed_action_returns_when_the_snooze_ends(book: Book) -> None:
    book.orders("W", LAPSED, 500)
    (w,) = compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    done = record_outcome(book.ws, w["action_id"], "snooze", until="2024-07-15")
    assert done["status"] == "snoozed"
    assert done["until"] == dt.date(2024, 7, 15)
    assert compute_actions(book.ws, today="2024-07-14").quiet == 1
    assert rows(book) == []
    compute_actions(book.ws, today="2024-07-15")
    assert [r["action_id"] for r in rows(book)] == [w["action_id"]]
    events = book.ws.con.execute(
        "SELECT event FROM action_events WHERE action_id = ? ORDER BY recorded_at, event",
        [w["action_id"]],
    ).fetchall()
    assert [e[0] for e in events] == ["created", "snoozed", "reopened"]


def test_default_snooze_length(book: Book) -> None:
    book.orders("W", LAPSED, 500)
    (w,) = compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    snoozed = record_outcome(book.ws, w["action_id"], "snoozed")
    assert snoozed["until"] == dt.date(2024, 7, 14)


def test_dismissed_action_stays_quiet_for_the_cooldown(book: Book) -> None:
    book.orders("W", LAPSED, 500)
    (w,) = compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    record_outcome(book.ws, w["action_id"], "dismiss", note="moved abroad")
    compute_actions(book.ws, today="2024-09-27")  # win_back cooldown: 90 days
    assert rows(book) == []
    book.order("W", "2023-04-01", 10)  # a new episode (last order), still within the cooldown
    compute_actions(book.ws, today="2024-09-27")
    assert rows(book) == []
    compute_actions(book.ws, today="2024-09-28")
    (again,) = rows(book)
    assert again["action_id"] != w["action_id"]


def test_dismiss_until_a_date(book: Book) -> None:
    book.orders("W", LAPSED, 500)
    (w,) = compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    record_outcome(book.ws, w["action_id"], "dismissed", until="2024-07-05")
    compute_actions(book.ws, today="2024-07-04")
    assert rows(book) == []
    compute_actions(book.ws, today="2024-07-05")
    assert [r["action_id"] for r in rows(book)] == [w["action_id"]]


def test_an_action_that_no_longer_qualifies_expires(book: Book) -> None:
    book.orders("W", LAPSED, 500)
    (w,) = compute_actions(book.ws, today=TODAY).actions.to_pyarrow().to_pylist()
    book.order("W", "2024-06-30", 500)
    run = compute_actions(book.ws, today=TODAY)
    assert run.expired == 1
    assert statuses(book)[w["action_id"]] == "expired"


def test_running_one_playbook_leaves_the_others_alone(book: Book) -> None:
    book.orders("W", LAPSED, 500).orders("L", LOYAL, 400)
    compute_actions(book.ws, today="2024-07-10")
    before = {r["playbook"] for r in rows(book)}
    compute_actions(book.ws, today="2024-07-10", playbooks=["win_back"])
    assert {r["playbook"] for r in rows(book)} == before == {"win_back", "keep_in_touch"}


def test_unknown_playbook_lists_the_valid_ones(book: Book) -> None:
    with pytest.raises(
        ActionError, match=r"Unknown playbook .winback.\. Valid playbooks: keep_in_touch"
    ):
        compute_actions(book.ws, playbooks=["winback"])


def test_held_out_customers_are_recorded_not_shown(book: Book) -> None:
    for i in range(60):
        book.orders(f"W{i:02d}", LAPSED, 100 + i)
    book.set("actions", holdout_share=0.3)
    run = compute_actions(book.ws, today=TODAY)
    assert run.shown + run.held_out == 60
    assert 8 <= run.held_out <= 28
    held = {
        r[0]
        for r in book.ws.con.execute(
            "SELECT customer_id FROM actions WHERE status = 'held_out' AND holdout"
        ).fetchall()
    }
    assert len(held) == run.held_out
    assert not held & {r["customer_id"] for r in rows(book)}
    again = compute_actions(book.ws, today=TODAY)
    assert again.held_out == run.held_out
    held_id = book.ws.con.execute("SELECT action_id FROM actions WHERE holdout LIMIT 1").fetchone()
    assert held_id is not None
    with pytest.raises(ActionError, match="holdout"):
        record_outcome(book.ws, held_id[0], "done")


def test_a_playbook_can_set_its_own_holdout(book: Book) -> None:
    for i in range(20):
        book.orders(f"W{i:02d}", LAPSED, 100 + i)
    book.set("actions", holdout_share=0.5)
    book.set("playbooks.win_back", holdout_share=0.0)
    assert compute_actions(book.ws, today=TODAY).held_out == 0
