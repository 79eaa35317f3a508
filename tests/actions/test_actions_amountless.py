"""A customer + date log (no amounts) gets actions whose reasons invent no money."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from regulars.actions import compute_actions
from regulars.io import import_file
from regulars.store import Workspace


def _log(path: Path) -> Path:
    rng = np.random.default_rng(11)
    rows = ["cust,date"]
    for c in range(60):
        first = int(rng.integers(0, 200))
        for k in range(int(rng.integers(1, 8))):
            day = np.datetime64("2024-01-01") + first + 25 * k + int(rng.integers(0, 5))
            rows.append(f"K{c:03d},{day}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_actions_on_a_log_without_amounts(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    import_file(ws, "orders", _log(tmp_path / "log.csv"))
    assert ws.table("orders").revenue.notnull().sum().execute() == 0
    run = compute_actions(ws, today="2024-12-31")
    assert run.shown > 0
    reasons = ws.con.execute(
        "SELECT playbook, reason, reason_params FROM actions WHERE status = 'open'"
    ).fetchall()
    assert reasons
    for playbook, text, params in reasons:
        # No invented amount: money clauses are left out or say the amount is unknown.
        assert "0 EUR" not in text, (playbook, text)
        for c in json.loads(params):
            if c["code"] in ("loyal", "orders_worth", "new_customer", "new_customer_unnamed"):
                assert c.get("revenue") is None, c
    ws.close()


def _book(tmp_path: Path, toml: str = "") -> Workspace:
    """Two lapsed customers, without amounts: A1 bought 3 times a year, Z9 every ten
    days.  Z9 has more orders at stake, though A1 comes first by id."""
    rows = ["cust,date"]
    rows += [f"A1,2024-0{m}-01" for m in (1, 2, 3)]
    rows += [f"Z9,2024-01-{d:02d}" for d in range(1, 29, 4)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    ws = Workspace.init(tmp_path / "ws")
    cfg = ws.path / "regulars.toml"
    ws.close()
    cfg.write_text("[actions]\nholdout_share = 0.0\n" + toml)
    ws = Workspace.open(tmp_path / "ws")
    import_file(ws, "orders", log)
    return ws


def test_without_amounts_the_queue_ranks_by_orders_at_stake(tmp_path: Path) -> None:
    ws = _book(tmp_path, "weekly_capacity = 1\n")
    try:
        run = compute_actions(ws, today="2024-12-31")
        assert not run.amounts
        rows = run.actions.to_pyarrow().to_pylist()
        # The week holds one action: Z9's, the most orders at stake (7 paid orders a
        # year, P(active) 0), not A1's, first by id.
        assert [(r["customer_id"], r["playbook"]) for r in rows] == [("Z9", "win_back")]
        assert rows[0]["value_at_stake"] is None  # unknown, not 0
        assert rows[0]["orders_at_stake"] == 7.0
        stored = ws.con.execute(
            "SELECT count(*), count(value_at_stake), count(orders_at_stake) FROM actions"
        ).fetchone()
        assert stored == (1, 0, 1)
    finally:
        ws.close()


def test_without_amounts_the_list_is_in_order_of_orders_at_stake(tmp_path: Path) -> None:
    template = (
        '[playbooks.win_back]\nmessage = "{name}: {orders} orders worth {revenue}, '
        '{value_at_stake} at stake."\n'
    )
    ws = _book(tmp_path, template)
    try:
        for run in (
            compute_actions(ws, today="2024-12-31"),
            compute_actions(ws, today="2024-12-01", write=False),  # a what-if view
        ):
            rows = run.actions.to_pyarrow().to_pylist()
            assert [r["customer_id"] for r in rows] == ["Z9", "A1"]
            assert [r["orders_at_stake"] for r in rows] == [7.0, 3.0]
            assert all(r["value_at_stake"] is None for r in rows)
            assert rows[1]["message"] == "A1: 3 orders worth no amount, no amount at stake."
    finally:
        ws.close()


def test_with_amounts_nothing_is_ranked_by_orders(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text("cust,date,amount\nA1,2024-01-01,50\nA1,2024-02-01,50\nA1,2024-03-01,50\n")
    ws = Workspace.init(tmp_path / "ws")
    try:
        import_file(ws, "orders", f)
        run = compute_actions(ws, today="2024-12-31")
        assert run.amounts
        rows = run.actions.to_pyarrow().to_pylist()
        assert rows
        assert all(r["orders_at_stake"] is None for r in rows)
        assert all(r["value_at_stake"] is not None for r in rows)
    finally:
        ws.close()


def test_a_package_without_a_price_is_due_for_renewal_without_a_crash(tmp_path: Path) -> None:
    # Package orders in a log without amounts: renewal_due has no price to show.
    rows = ["cust,date,kind"]
    rows += [f"P{i},2024-01-05,package" for i in range(3)]
    rows += [f"P{i},2024-{m:02d}-05,one-off" for i in range(3) for m in range(2, 11)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    ws = Workspace.init(tmp_path / "ws")
    cfg = ws.path / "regulars.toml"
    ws.close()
    # Only renewal_due may act, so its candidates are the ones stored.
    off = "".join(
        f"[playbooks.{p}]\nenable = false\n"
        for p in ("ask_for_referral", "win_back", "keep_in_touch", "next_step", "package_offer")
    )
    cfg.write_text("[actions]\nholdout_share = 0.0\n" + off)
    ws = Workspace.open(tmp_path / "ws")
    import_file(ws, "orders", log)
    compute_actions(ws, today="2024-11-01")
    rows_ = ws.con.execute("SELECT playbook, reason, value_at_stake FROM actions").fetchall()
    assert {p for p, _, _ in rows_} == {"renewal_due"}
    assert len(rows_) == 3
    for _, text, value in rows_:
        assert value is None
        assert "EUR" not in text, text
    ws.close()
