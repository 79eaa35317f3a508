"""Who to contact this week, why, and whether it works.

Playbooks turn the customer book and the model scores into a ranked list of
actions, one per customer, each with its reason and the money at stake.  A random
holdout per playbook measures whether the actions lift repurchase and revenue.

>>> from regulars.store import Workspace
>>> from regulars.actions import compute_actions, record_outcome
>>> ws = Workspace.open("my-shop")  # doctest: +SKIP
>>> run = compute_actions(ws)  # doctest: +SKIP
>>> run.actions.limit(5).to_pandas()  # doctest: +SKIP
>>> record_outcome(ws, "A-1f3c0e9d2b7a", "done", outcome="accepted")  # doctest: +SKIP

See ``docs/actions.md`` for each playbook, its settings and how to read the
effectiveness numbers.
"""

from __future__ import annotations

from regulars.actions._effectiveness import (
    action_outcomes,
    difference_interval,
    playbook_effectiveness,
    welch_interval,
    wilson_interval,
)
from regulars.actions._outcomes import log_touch, record_offer, record_outcome
from regulars.actions._playbooks_offers import co_purchase_rules
from regulars.actions._queue import PLAYBOOKS, ActionRun, compute_actions, open_actions
from regulars.actions._reasons import REASONS
from regulars.actions._signals import SIGNALS, signal_deciles, signal_strength
from regulars.actions._store import (
    ACTION_STATUSES,
    OUTCOMES,
    action_id,
    ensure_action_tables,
    holdout_draw,
    is_held_out,
    resolve_today,
)

__all__ = [
    "ACTION_STATUSES",
    "OUTCOMES",
    "PLAYBOOKS",
    "REASONS",
    "SIGNALS",
    "ActionRun",
    "action_id",
    "action_outcomes",
    "co_purchase_rules",
    "compute_actions",
    "difference_interval",
    "ensure_action_tables",
    "holdout_draw",
    "is_held_out",
    "log_touch",
    "open_actions",
    "playbook_effectiveness",
    "record_offer",
    "record_outcome",
    "resolve_today",
    "signal_deciles",
    "signal_strength",
    "welch_interval",
    "wilson_interval",
]
