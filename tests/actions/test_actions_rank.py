"""The queue's steps in the engine against plain Python: ids, the holdout draw, and
this week's two-pass fill."""

from __future__ import annotations

import math
import random
import re

import ibis
import pytest

from conftest import Book
from regulars.actions import action_id, compute_actions, holdout_draw
from regulars.actions._rank import _fill_week, action_id_expr, holdout_draw_expr


def _ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"C-{rng.randrange(10**7):07d}" for _ in range(n)] + ["", "é-ü", "x|y"]


def test_action_ids_and_holdout_draws_in_the_engine_match_python() -> None:
    customers = _ids(300, 1)
    playbooks = ["win_back", "renewal_due", "next_step"] * 101
    episodes = [f"2024-01-{i % 28 + 1:02d}|{i}" for i in range(len(customers))]
    t = ibis.memtable(
        {"playbook": playbooks[: len(customers)], "customer_id": customers, "episode": episodes}
    )
    got = t.select(
        "playbook",
        "customer_id",
        "episode",
        aid=action_id_expr(t.playbook, t.customer_id, t.episode),
        draw=holdout_draw_expr(t.playbook, t.customer_id, "salt-1"),
    ).to_pyarrow()
    for r in got.to_pylist():
        assert r["aid"] == action_id(r["playbook"], r["customer_id"], r["episode"])
        # the same double, not merely close: the holdout must not move
        assert r["draw"] == holdout_draw(r["playbook"], r["customer_id"], "salt-1")


def _python_fill(chosen: list[tuple[str, str, bool, bool]], room: int, limit: int) -> set[str]:
    """The two passes in plain Python: (id, playbook, held, capped) in rank order."""
    per_playbook: dict[str, int] = {}
    on_list = 0
    keep: set[str] = set()
    skipped = []
    for aid, playbook, held, capped in chosen:
        if not capped:
            keep.add(aid)
        elif on_list >= room:
            break
        elif per_playbook.get(playbook, 0) >= limit:
            skipped.append((aid, held))
        else:
            keep.add(aid)
            if not held:
                on_list += 1
                per_playbook[playbook] = per_playbook.get(playbook, 0) + 1
    for aid, held in skipped:
        if on_list >= room:
            break
        keep.add(aid)
        if not held:
            on_list += 1
    return keep | {aid for aid, _, _, capped in chosen if not capped}


@pytest.mark.parametrize("seed", range(12))
def test_the_weeks_fill_in_the_engine_matches_the_two_passes(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randrange(0, 80)
    playbooks = ["win_back", "next_step", "keep_in_touch", "pay_referral_reward"]
    weights = [rng.random() + (5 if i == 0 and seed % 2 else 0) for i in range(4)]
    rows = []
    for i in range(n):
        playbook = rng.choices(playbooks, weights)[0]
        rows.append(
            {
                "action_id": f"A-{i:04d}",
                "playbook": playbook,
                "customer_id": f"C-{i:04d}",
                "held": rng.random() < 0.2,
                "_capped": playbook != "pay_referral_reward",
                "_sticky": False,
                "_rank_value": float(n - i),
                "_playbook_place": 0,
                "_tie": "",
            }
        )
    room = rng.randrange(0, 30)
    share = rng.choice([0.25, 0.5, 1.0])
    limit = max(1, math.ceil(share * room))
    schema = {
        "action_id": "string",
        "playbook": "string",
        "customer_id": "string",
        "held": "boolean",
        "_capped": "boolean",
        "_sticky": "boolean",
        "_rank_value": "float64",
        "_playbook_place": "int64",
        "_tie": "string",
    }
    t = ibis.memtable({k: [r[k] for r in rows] for k in schema}, schema=schema)
    got = _fill_week(t, room, limit)
    kept = {r["action_id"] for r in got.filter(got.kept).to_pyarrow().to_pylist()}
    order = [(r["action_id"], r["playbook"], r["held"], r["_capped"]) for r in rows]
    assert kept == _python_fill(order, room, limit)


def test_every_stored_id_is_the_hash_of_its_playbook_customer_and_episode(book: Book) -> None:
    book.customer("C1").order("C1", "2023-03-25", 500.0, kind="package", product="website")
    book.orders("C2", ["2023-01-01", "2023-02-01", "2023-03-01"])
    book.subscription("S1", "C2", "2023-01-05", billing_period="year", price=1200.0)
    compute_actions(book.ws, today="2024-01-10")
    rows = book.ws.con.execute(
        "SELECT action_id, playbook, customer_id, episode FROM actions"
    ).fetchall()
    assert any(r[1] == "renewal_due" for r in rows)
    for aid, playbook, customer, episode in rows:
        assert aid == action_id(playbook, customer, episode)
        for day in re.findall(r"\d{4}-\d{2}-\d{2}[^|]*", episode):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day), episode  # a date, no time
