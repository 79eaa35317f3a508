"""The workspace tables of the action queue, "today", stable ids and the holdout hash.

The tables below are derived state, not imported data, so they are not part of the
contract in :mod:`regulars.schema`; :func:`ensure_action_tables` creates them the
first time the actions code runs on a workspace.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import TYPE_CHECKING, Any

from regulars.schema import MONEY, Column, Table, create_table_sql

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = [
    "ACTIONS",
    "ACTION_EVENTS",
    "ACTION_STATUSES",
    "ACTION_TABLES",
    "OFFERS",
    "OUTCOMES",
    "REWARD_PAYMENTS",
    "SCORE_HISTORY",
    "action_id",
    "ensure_action_tables",
    "holdout_draw",
    "is_held_out",
    "resolve_today",
    "to_json",
]

#: Every status an action can have.
#:
#: ``open`` is shown; ``held_out`` was drawn into the holdout (recorded, not shown);
#: ``done``, ``snoozed`` and ``dismissed`` are set by the user; ``expired`` means the
#: customer no longer qualified (or another action took the slot) before anyone acted.
ACTION_STATUSES = ("open", "held_out", "done", "snoozed", "dismissed", "expired")
#: Results the user can record with an outcome.
OUTCOMES = ("accepted", "declined", "no-reply")


def _c(name: str, type_: str, required: bool = False, description: str = "") -> Column:
    return Column(name, type_, required, description)


ACTIONS = Table(
    "actions",
    "Every action regulars proposed (or held out), with its state and outcome.",
    (
        _c("action_id", "VARCHAR", True, "Stable id: hash of playbook, customer and episode."),
        _c("customer_id", "VARCHAR", True, "Who to contact."),
        _c("playbook", "VARCHAR", True, "The playbook that raised the action."),
        _c("episode", "VARCHAR", True, "What the action is about (last contact, product...)."),
        _c("status", "VARCHAR", True, "open, held_out, done, snoozed, dismissed or expired."),
        _c("holdout", "BOOLEAN", True, "Drawn into the playbook's holdout (not shown)."),
        _c("reason", "VARCHAR", False, "Why, in plain English words with the numbers."),
        _c("reason_code", "VARCHAR", False, "Code of the reason's first clause (no_touch...)."),
        _c(
            "reason_params",
            "JSON",
            False,
            "The reason's clauses as a list of {code, parameters...}, for translations.",
        ),
        _c("message", "VARCHAR", False, "Suggested message from the playbook's template."),
        _c(
            "value_at_stake",
            MONEY,
            False,
            "Money the action protects or earns (empty when the orders have no amounts).",
        ),
        _c("priority", "INTEGER", False, "1 = high, 2 = medium, 3 = low."),
        _c("due", "DATE", False, "When the action should be done (may be past)."),
        _c("created_on", "DATE", True, "The day regulars first raised the action."),
        _c("updated_on", "DATE", True, "The day of the latest computation that kept it."),
        _c("closed_on", "DATE", False, "Day of done, snooze, dismiss or expiry."),
        _c("until", "DATE", False, "Snoozed or dismissed until this day."),
        _c("outcome", "VARCHAR", False, "accepted, declined or no-reply."),
        _c("note", "VARCHAR", False, "Free note recorded with the outcome."),
        _c("touch_id", "VARCHAR", False, "The touch logged when the action was done."),
        _c("detail", "JSON", False, "Playbook-specific facts (product, subscription, amount)."),
        _c(
            "orders_at_stake",
            "DOUBLE",
            False,
            "Expected orders the action protects or wins; ranks the list when the orders "
            "have no amounts (empty otherwise).",
        ),
    ),
    key=("action_id",),
    importable=False,
)

ACTION_EVENTS = Table(
    "action_events",
    "Append-only history of every action's state changes.",
    (
        _c("action_id", "VARCHAR", True),
        _c("event", "VARCHAR", True, "created, held_out, reopened, expired, done, snoozed..."),
        _c("event_on", "DATE", True, "The day (on the actions clock)."),
        _c("recorded_at", "TIMESTAMP", True, "Wall-clock time of the write."),
        _c("outcome", "VARCHAR"),
        _c("note", "VARCHAR"),
        _c("until", "DATE"),
    ),
    key=(),
    importable=False,
)

OFFERS = Table(
    "offers",
    "Offers made to customers (next step, package), so they are not repeated too soon.",
    (
        _c("offer_id", "VARCHAR", True),
        _c("customer_id", "VARCHAR", True),
        _c("product", "VARCHAR", True, "The service offered, or 'package'."),
        _c("offered_on", "DATE", True),
        _c("action_id", "VARCHAR", False),
        _c("outcome", "VARCHAR", False),
    ),
    key=("offer_id",),
    importable=False,
)

REWARD_PAYMENTS = Table(
    "reward_payments",
    "Referral rewards paid out (recorded by marking a pay_referral_reward action done).",
    (
        _c("reward_key", "VARCHAR", True, "Recipient, referee and side of the reward."),
        _c("customer_id", "VARCHAR", True, "Who was paid."),
        _c("referee", "VARCHAR", False),
        _c("side", "VARCHAR", False),
        _c("amount", MONEY, True),
        _c("paid_on", "DATE", True),
        _c("action_id", "VARCHAR", False),
    ),
    key=("reward_key",),
    importable=False,
)

SCORE_HISTORY = Table(
    "score_history",
    "Snapshots of the scores table, one per scoring run, for 'was 0.95 in March'.",
    (
        _c("customer_id", "VARCHAR", True),
        _c("scored_at", "TIMESTAMP", True),
        _c("p_alive", "DOUBLE"),
        _c("clv", "DOUBLE"),
        _c("as_of", "DATE", False, "The latest order date when the snapshot was taken."),
    ),
    key=("customer_id", "scored_at"),
    importable=False,
)

ACTION_TABLES = (ACTIONS, ACTION_EVENTS, OFFERS, REWARD_PAYMENTS, SCORE_HISTORY)


def ensure_action_tables(ws: Workspace) -> None:
    """Create the action tables that do not exist yet (idempotent)."""
    existing: dict[str, set[str]] = {}
    for table_name, column in ws.con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ).fetchall():
        existing.setdefault(table_name, set()).add(column)
    for t in ACTION_TABLES:
        if t.name not in existing:
            ws.con.execute(create_table_sql(t))
            continue
        for c in t.columns:  # tables from an older regulars get the new columns
            if c.name not in existing[t.name]:
                ws.con.execute(f'ALTER TABLE "{t.name}" ADD COLUMN "{c.name}" {c.type}')


def resolve_today(ws: Workspace, today: _dt.date | str | None = None) -> _dt.date:
    """The day the actions are computed for.

    An explicit ``today`` wins.  Otherwise ``[actions] clock`` decides: ``"data"``
    (the default) uses the date of the latest non-cancelled order, so a workspace
    imported from a snapshot gives the same answer every time; ``"clock"`` uses the
    computer's date.  An empty workspace falls back to the computer's date.
    """
    if isinstance(today, _dt.datetime):
        return today.date()
    if isinstance(today, _dt.date):
        return today
    if isinstance(today, str):
        from regulars.errors import ConfigError

        try:
            return _dt.date.fromisoformat(today)
        except ValueError:
            raise ConfigError(
                f"today = {today!r} is not a date (expected YYYY-MM-DD, for example 2024-06-30)."
            ) from None
    if ws.config.actions.clock == "data":
        from regulars.actions._engine import latest_order_date

        latest = latest_order_date(ws)
        if latest is not None:
            return latest
    return _dt.date.today()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def action_id(playbook: str, customer_id: str, episode: str) -> str:
    """Stable id of an action: the same playbook, customer and episode give the same id.

    The episode is what the action is about (the last contact for keep_in_touch, the
    product for next_step, the subscription and checkpoint for renewal_due...), so
    recomputing the queue keeps ids until the situation changes.
    """
    return "A-" + _digest("action", playbook, customer_id, episode)[:12]


def holdout_draw(playbook: str, customer_id: str, salt: str = "") -> float:
    """A uniform number in [0, 1) fixed for each (playbook, customer, salt)."""
    return int(_digest("holdout", salt, playbook, customer_id)[:15], 16) / 16**15


def is_held_out(playbook: str, customer_id: str, share: float, salt: str = "") -> bool:
    """Whether the customer is in ``playbook``'s holdout (draw below ``share``).

    The draw depends only on the playbook, the customer and the salt, so a customer
    stays in (or out of) a playbook's holdout across runs, and raising the share only
    adds customers to the holdout.
    """
    return holdout_draw(playbook, customer_id, salt) < share


def to_json(detail: dict[str, Any]) -> str:
    """``detail`` as compact JSON (dates as ISO text)."""
    return json.dumps(detail, default=str, sort_keys=True, separators=(",", ":"))
