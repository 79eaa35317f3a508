"""Stable ids, the holdout hash and "today"."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import Book
from regulars.actions import action_id, compute_actions, holdout_draw, is_held_out, resolve_today
from regulars.actions._reasons import english_clause
from regulars.actions._store import ACTION_TABLES, ACTIONS, ensure_action_tables
from regulars.errors import ConfigError


def test_action_id_is_stable_and_depends_on_every_part() -> None:
    a = action_id("win_back", "C1", "2024-01-01")
    assert a == action_id("win_back", "C1", "2024-01-01")
    assert a.startswith("A-")
    assert len(a) == 14
    others = {
        action_id("keep_in_touch", "C1", "2024-01-01"),
        action_id("win_back", "C2", "2024-01-01"),
        action_id("win_back", "C1", "2024-01-02"),
    }
    assert a not in others
    assert len(others) == 3


def test_holdout_is_close_to_its_share_on_10000_customers() -> None:
    ids = [f"C{i:05d}" for i in range(10_000)]
    for share in (0.05, 0.10, 0.25):
        held = sum(is_held_out("keep_in_touch", c, share) for c in ids)
        assert abs(held / len(ids) - share) <= 0.02


def test_holdout_is_stable_and_nested() -> None:
    ids = [f"C{i:05d}" for i in range(2_000)]
    first = {c for c in ids if is_held_out("win_back", c, 0.1)}
    again = {c for c in ids if is_held_out("win_back", c, 0.1)}
    wider = {c for c in ids if is_held_out("win_back", c, 0.2)}
    assert first == again
    assert first <= wider
    # Each playbook draws its own group, and the salt redraws them.
    other = {c for c in ids if is_held_out("next_step", c, 0.1)}
    salted = {c for c in ids if is_held_out("win_back", c, 0.1, salt="2025")}
    assert first != other
    assert first != salted
    assert all(0.0 <= holdout_draw("win_back", c) < 1.0 for c in ids[:100])


def test_today_defaults_to_the_latest_order(book: Book) -> None:
    book.order("C1", "2024-03-05").order("C1", "2024-05-06 17:30")
    book.order("C2", "2024-07-01", status="cancelled")
    assert resolve_today(book.ws) == dt.date(2024, 5, 6)
    assert resolve_today(book.ws, "2024-01-02") == dt.date(2024, 1, 2)
    assert resolve_today(book.ws, dt.datetime(2024, 1, 2, 10)) == dt.date(2024, 1, 2)
    book.set("actions", clock="clock")
    assert resolve_today(book.ws) == dt.date.today()


def test_today_on_an_empty_workspace_is_the_real_date(book: Book) -> None:
    assert resolve_today(book.ws) == dt.date.today()


def test_bad_today_says_the_format(book: Book) -> None:
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        resolve_today(book.ws, "30/06/2024")


def test_action_tables_are_created_once(book: Book) -> None:
    ensure_action_tables(book.ws)
    ensure_action_tables(book.ws)
    for t in ACTION_TABLES:
        assert book.ws.count(t.name) == 0


def test_tables_from_an_older_version_get_new_columns(book: Book) -> None:
    book.ws.con.execute(
        "CREATE TABLE score_history (customer_id VARCHAR, scored_at TIMESTAMP, p_alive DOUBLE)"
    )
    ensure_action_tables(book.ws)
    cols = [
        r[0]
        for r in book.ws.con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'score_history' ORDER BY ordinal_position"
        ).fetchall()
    ]
    assert cols == ["customer_id", "scored_at", "p_alive", "clv", "as_of"]


def test_actions_from_before_reasons_as_data_get_them(book: Book) -> None:
    old = [c for c in ACTIONS.columns if c.name not in ("reason_code", "reason_params")]
    book.ws.con.execute(
        "CREATE TABLE actions (" + ", ".join(f'"{c.name}" {c.type}' for c in old) + ")"
    )
    book.orders("K", ["2024-01-01", "2024-03-01", "2024-04-30"], 500)
    run = compute_actions(book.ws, today="2024-06-30", playbooks=["keep_in_touch"])
    (k,) = run.actions.to_pyarrow().to_pylist()
    clauses = json.loads(k["reason_params"])
    assert k["reason_code"] == clauses[0]["code"] == "no_contact"
    assert clauses[1] == {"code": "orders_worth", "orders": 3, "revenue": 1500.0}
    # The English reason is made from the same clauses.
    assert "; ".join(english_clause(c, "EUR") for c in clauses) + "." == k["reason"]
