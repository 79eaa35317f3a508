"""The queue on a simulated business (the demo data)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from regulars.actions import compute_actions, open_actions, playbook_effectiveness
from regulars.datasets import simulate
from regulars.store import Workspace


@pytest.mark.slow
def test_queue_on_a_simulated_business(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "demo")
    simulate(n_customers=1500, years=3, seed=3).write(ws)
    ws.close()
    # The whole queue, not one week's capacity: the mix and the holdout share need it.
    toml = tmp_path / "demo" / "regulars.toml"
    toml.write_text(toml.read_text().replace("weekly_capacity = 25", "weekly_capacity = 0", 1))
    ws = Workspace.open(tmp_path / "demo")
    run = compute_actions(ws)
    rows = open_actions(ws).to_pyarrow().to_pylist()
    assert len(rows) == run.shown > 100
    assert len({r["customer_id"] for r in rows}) == len(rows)  # one per customer
    values = [float(r["value_at_stake"]) for r in rows]
    assert values == sorted(values, reverse=True)
    assert all(r["reason"].endswith(".") and r["message"] for r in rows)
    playbooks = Counter(r["playbook"] for r in rows)
    assert {"keep_in_touch", "win_back", "guarantee_check_in"} <= set(playbooks)
    share = run.held_out / (run.shown + run.held_out)
    assert 0.06 <= share <= 0.14
    again = compute_actions(ws)
    assert again.shown == run.shown
    assert again.expired == 0
    assert [r["action_id"] for r in open_actions(ws).to_pyarrow().to_pylist()] == [
        r["action_id"] for r in rows
    ]
    assert playbook_effectiveness(ws).to_pyarrow().num_rows >= 3
    ws.close()
