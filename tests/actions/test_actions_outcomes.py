"""Recording outcomes, touches and offers."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import Book
from regulars.actions import compute_actions, log_touch, record_offer, record_outcome
from regulars.errors import ActionError

LAPSED = ["2023-01-01", "2023-01-31", "2023-03-02"]


def first_action(book: Book) -> dict:  # type: ignore[type-arg]
    (row,) = compute_actions(book.ws, today="2024-06-30").actions.to_pyarrow().to_pylist()
    return row  # type: ignore[no-any-return]


def test_log_touch_writes_a_touch_once(book: Book) -> None:
    book.order("C1", "2024-06-01")
    tid = log_touch(book.ws, "C1", kind="idea", note="Sent a VAT note", at="2024-06-02 10:30")
    again = log_touch(book.ws, "C1", kind="idea", note="Sent a VAT note", at="2024-06-02 10:30")
    assert tid == again
    assert tid.startswith("T-")
    rows = book.ws.con.execute("SELECT customer_id, touched_at, kind, note FROM touches").fetchall()
    assert rows == [("C1", dt.datetime(2024, 6, 2, 10, 30), "idea", "Sent a VAT note")]


def test_log_touch_defaults_to_today_on_the_actions_clock(book: Book) -> None:
    book.order("C1", "2024-06-01")
    log_touch(book.ws, "C1", kind="call")
    (when,) = book.ws.con.execute("SELECT touched_at FROM touches").fetchone() or ()
    assert when.date() == dt.date(2024, 6, 1)


def test_log_touch_errors_say_what_is_valid(book: Book) -> None:
    book.order("C-1042", "2024-06-01")
    with pytest.raises(ActionError, match="Valid kinds: call, email, meeting, idea, gift, other"):
        log_touch(book.ws, "C-1042", kind="visit")
    with pytest.raises(ActionError, match=r"Unknown customer 'C-1043'.*Did you mean 'C-1042'"):
        log_touch(book.ws, "C-1043", kind="call")


def test_record_offer(book: Book) -> None:
    book.order("C1", "2024-06-01")
    oid = record_offer(book.ws, "C1", "retainer", on="2024-06-03")
    assert oid.startswith("O-")
    assert book.ws.con.execute("SELECT product, offered_on FROM offers").fetchall() == [
        ("retainer", dt.date(2024, 6, 3))
    ]


def test_done_logs_a_linked_touch(book: Book) -> None:
    book.customer("W", name="Wanda").orders("W", LAPSED, 500)
    a = first_action(book)
    done = record_outcome(
        book.ws, a["action_id"], "done", outcome="accepted", note="Will call back"
    )
    assert done["status"] == "done"
    assert done["outcome"] == "accepted"
    assert done["closed_on"] == dt.date(2024, 6, 30)
    touch = book.ws.con.execute(
        "SELECT touch_id, kind, note, outcome, CAST(touched_at AS DATE) FROM touches"
    ).fetchone()
    assert touch == (done["touch_id"], "email", "Will call back", "accepted", dt.date(2024, 6, 30))


def test_the_answer_can_be_added_later(book: Book) -> None:
    book.orders("W", LAPSED, 500)
    a = first_action(book)
    record_outcome(book.ws, a["action_id"], "done", touch_kind="call")
    later = record_outcome(book.ws, a["action_id"], "done", outcome="declined")
    assert later["outcome"] == "declined"
    assert book.ws.con.execute("SELECT kind, outcome FROM touches").fetchall() == [
        ("call", "declined")
    ]
    events = book.ws.con.execute("SELECT event FROM action_events ORDER BY recorded_at").fetchall()
    assert [e[0] for e in events] == ["created", "done", "outcome"]


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (
            ("A-000000000000", "done"),
            {},
            r"No action with id 'A-000000000000'\. Open actions include",
        ),
        (("{id}", "finished"), {}, "Valid statuses: done, snoozed, dismissed"),
        (("{id}", "done"), {"outcome": "maybe"}, "Valid outcomes: accepted, declined, no-reply"),
        (("{id}", "snoozed"), {"until": "2024-06-30"}, r"must be after today \(2024-06-30\)"),
        (("{id}", "snoozed"), {"until": "next week"}, "is not a date"),
        (("{id}", "done"), {"until": "2024-08-01"}, "applies to snooze and dismiss"),
        (("{id}", "done"), {"touch_kind": "fax"}, "Touch kind 'fax' is not valid"),
    ],
)
def test_record_outcome_errors(book: Book, args: tuple, kwargs: dict, match: str) -> None:  # type: ignore[type-arg]
    book.orders("W", LAPSED, 500)
    a = first_action(book)
    args = tuple(x.format(id=a["action_id"]) for x in args)
    with pytest.raises(ActionError, match=match):
        record_outcome(book.ws, *args, **kwargs)


def test_a_done_action_cannot_be_dismissed(book: Book) -> None:
    book.orders("W", LAPSED, 500)
    a = first_action(book)
    record_outcome(book.ws, a["action_id"], "done")
    with pytest.raises(ActionError, match="already done"):
        record_outcome(book.ws, a["action_id"], "dismissed")
