"""The queue's steps in the engine against plain Python: ids, the holdout draw, and
this week's two-pass fill."""

from __future__ import annotations

import math
import random
import re
from types import SimpleNamespace
from typing import Any

import ibis
import pytest

from conftest import Book
from regulars.actions import action_id, compute_actions, holdout_draw, is_held_out
from regulars.actions._rank import (
    _fill_week,
    action_id_expr,
    choose,
    held_out_expr,
    holdout_cut,
    holdout_draw_expr,
)
from regulars.config import Config, parse_config


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


@pytest.mark.parametrize(
    "share",
    [0.0, 1e-300, 2.0**-60, 0.1, 0.25, 0.5, 0.9, 0.95, 1 - 2.0**-53, 1.0, 1.5, -0.1],
)
def test_the_holdout_cut_gives_pythons_answer_at_and_around_it(share: float) -> None:
    # The cut is where the draw crosses the share: check the integers on both sides.
    cut = holdout_cut(share)
    top = 16**15
    n = 0 if cut == "" else top if cut == "g" else int(cut, 16)
    for m in (0, n - 2, n - 1, n, n + 1, top - 1):
        if 0 <= m < top:
            assert (f"{m:015x}" < cut) == (m / top < share), (share, m)


def test_the_holdout_in_the_engine_matches_is_held_out() -> None:
    customers = _ids(400, 2)
    playbooks = (["win_back", "next_step", "keep_in_touch", "renewal_due"] * 101)[: len(customers)]
    shares = {"win_back": 0.5, "next_step": 0.1, "keep_in_touch": 0.95, "renewal_due": 0.0}
    t = ibis.memtable({"playbook": playbooks, "customer_id": customers})
    got = t.select(
        "playbook", "customer_id", held=held_out_expr(t.playbook, t.customer_id, "s", shares)
    ).to_pyarrow()
    for r in got.to_pylist():
        share = shares[r["playbook"]]
        assert r["held"] == is_held_out(r["playbook"], r["customer_id"], share, "s")


_PLAYBOOKS = ("keep_in_touch", "next_step", "win_back", "renewal_due", "pay_referral_reward")


def _python_choose(
    rows: list[dict[str, Any]], config: Config, room: int | None
) -> set[tuple[str, str, str, bool]]:
    """Steps 2 to 5 in plain Python: (customer, playbook, episode, held) kept."""
    shares = {n: config.actions.holdout_share for n in _PLAYBOOKS}
    for n in _PLAYBOOKS:
        own = config.playbooks.get(n).holdout_share
        shares[n] = shares[n] if own < 0 else own
    ranked = sorted(
        (r for r in rows if r["live"] and (not r["_capped"] or not r["_blocked"])),
        key=lambda r: (
            not r["_sticky"],
            -r["_rank_value"],
            r["_playbook_place"],
            r["customer_id"],
            r["_tie"],
        ),
    )
    seen: set[tuple[str, str]] = set()
    chosen = []
    for r in ranked:
        key = (r["customer_id"], "" if r["_capped"] else r["playbook"])
        if key not in seen:
            seen.add(key)
            chosen.append(r)
    held = {
        id(r): is_held_out(
            r["playbook"], r["customer_id"], shares[r["playbook"]], config.actions.holdout_salt
        )
        for r in chosen
    }
    if room is None:
        keep = {id(r) for r in chosen}
    else:
        limit = max(1, math.ceil(config.actions.playbook_share * room))
        order = [(id(r), r["playbook"], held[id(r)], r["_capped"]) for r in chosen]
        keep = _python_fill(order, room, limit)  # type: ignore[arg-type]
    return {
        (r["customer_id"], r["playbook"], r["episode"], held[id(r)])
        for r in chosen
        if id(r) in keep
    }


@pytest.mark.parametrize("seed", range(16))
def test_choosing_in_the_engine_matches_plain_python(seed: int) -> None:
    """Few candidates looked at first (``start``), high holdout shares, ties, sticky and
    blocked customers: the leaders' shortcut keeps what the whole queue would."""
    rng = random.Random(seed)
    share = rng.choice([0.0, 0.1, 0.5, 0.9])
    own = rng.choice([-1, 0.95, 0.3])
    text = (
        f'[actions]\nholdout_share = {share}\nholdout_salt = "s{seed}"\n'
        f"playbook_share = {rng.choice([0.2, 0.5, 1.0])}\n"
        f"[playbooks.win_back]\nholdout_share = {own}\n"
    )
    config = parse_config(text)
    rows = []
    for i in range(rng.randrange(0, 160)):
        customer = f"C{rng.randrange(40):03d}"
        playbook = rng.choice(_PLAYBOOKS)
        rows.append(
            {
                "customer_id": customer,
                "playbook": playbook,
                "episode": f"e{i}",
                "live": rng.random() < 0.9,
                "_sticky": rng.random() < 0.05,
                "_blocked": hash((seed, customer)) % 7 == 0,
                "_capped": playbook != "pay_referral_reward",
                "_rank_value": float(rng.randrange(6)),
                "_playbook_place": _PLAYBOOKS.index(playbook),
                "_tie": f"A-{i:04d}" if playbook == "renewal_due" else "",
                "orders_at_stake": None,
            }
        )
    schema = {
        "customer_id": "string",
        "playbook": "string",
        "episode": "string",
        "live": "boolean",
        "_sticky": "boolean",
        "_blocked": "boolean",
        "_capped": "boolean",
        "_rank_value": "float64",
        "_playbook_place": "int64",
        "_tie": "string",
        "orders_at_stake": "float64",
    }
    marked = ibis.memtable({k: [r[k] for r in rows] for k in schema}, schema=schema)
    ctx = SimpleNamespace(config=config)
    for room in (None, 0, 1, rng.randrange(2, 20)):
        got = choose(ctx, marked, room=room, start=rng.choice([1, 2, 50]))  # type: ignore[arg-type]
        kept = {
            (r["customer_id"], r["playbook"], r["episode"], r["held"])
            for r in got.filter(got.kept).to_pyarrow().to_pylist()
        }
        assert kept == _python_choose(rows, config, room), room
