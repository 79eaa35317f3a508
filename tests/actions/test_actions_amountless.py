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
