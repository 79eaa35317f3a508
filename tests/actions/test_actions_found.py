"""The playbooks' candidates against the contract the queue relies on."""

from __future__ import annotations

from pathlib import Path

from regulars.actions._features import build_context
from regulars.actions._queue import PLAYBOOKS, _has_inputs
from regulars.actions._store import ensure_action_tables, resolve_today
from regulars.datasets import simulate
from regulars.store import Workspace


def test_the_customer_facts_a_playbook_carries_are_the_facts(tmp_path: Path) -> None:
    """A column of a playbook's candidates named like a column of ``ctx.customers``
    holds that customer's fact: the queue stores the candidates without those columns
    and reads the kept rows' facts back (a renewal's price once shadowed the
    customer's yearly value)."""
    ws = Workspace.init(tmp_path / "studio", currency="EUR")
    simulate(n_customers=400, years=3, seed=3).write(ws)
    ensure_action_tables(ws)
    ctx = build_context(ws, resolve_today(ws, None))
    facts_of = {}
    for name, playbook in PLAYBOOKS.items():
        settings = ws.config.playbooks.get(name)
        if not (settings.enable and _has_inputs(ctx, name)):
            continue
        found = playbook.found(ctx, settings)
        facts = [c for c in ctx.customers.columns if c != "customer_id" and c in found.columns]
        got = found.select("customer_id", *facts).to_pyarrow().to_pylist()
        facts_of[name] = (facts, len(got))
        customers = ctx.customers.select("customer_id", *facts).to_pyarrow().to_pylist()
        want = {r["customer_id"]: r for r in customers}
        assert got == [want[r["customer_id"]] for r in got], name
    checked = {name for name, (facts, rows) in facts_of.items() if facts and rows}
    assert {"keep_in_touch", "renewal_due", "win_back", "package_offer"} <= checked
