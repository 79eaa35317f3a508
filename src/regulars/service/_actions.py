"""The week's action queue and what happened to each action, for every surface."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from regulars.errors import NotFoundError

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["action_row", "due_actions", "log_customer_touch", "record_action", "week_queue"]


def week_queue(
    ws: Workspace,
    *,
    playbook: str | None = None,
    action_ids: set[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The open actions, ranked by value at stake (see :func:`regulars.actions.open_actions`).

    ``action_ids`` keeps only those actions (a surface's own filter, such as an
    assignee); ``limit`` keeps the first ones.
    """
    from regulars.actions import open_actions

    if not ws.has_table("actions"):
        return []
    expr = open_actions(ws, playbook=playbook or None)
    if action_ids is not None:
        if not action_ids:
            return []
        expr = expr.filter(expr.action_id.isin(sorted(action_ids)))
    if limit is not None:
        expr = expr.limit(limit)
    return list(expr.to_pyarrow().to_pylist())


def action_row(ws: Workspace, action_id: str) -> dict[str, Any]:
    """One action (any status); :class:`NotFoundError` for an unknown or held-out id.

    Held-out actions are kept from the user: they exist to measure the playbook.
    """
    if ws.has_table("actions"):
        a = ws.table("actions")
        rows = a.filter(a.action_id == action_id).to_pyarrow().to_pylist()
        if rows and rows[0]["status"] != "held_out":
            return dict(rows[0])
    raise NotFoundError(f"No action with id {action_id!r}.", hint={"field": "action_id"})


def record_action(
    ws: Workspace,
    action_id: str,
    status: str,
    *,
    outcome: str | None = None,
    until: dt.date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Mark an action done (with its outcome), snoozed (until a date) or dismissed."""
    from regulars.actions import record_outcome

    action_row(ws, action_id)
    return record_outcome(ws, action_id, status, outcome=outcome or None, until=until, note=note)


def log_customer_touch(
    ws: Workspace,
    customer_id: str,
    *,
    kind: str,
    note: str | None = None,
    outcome: str | None = None,
    at: dt.datetime | dt.date | None = None,
) -> str:
    """Record a touch with a customer; returns its id."""
    from regulars.actions import log_touch

    return log_touch(ws, customer_id, kind=kind, note=note or None, outcome=outcome or None, at=at)


def due_actions(ws: Workspace, *, within_days: int = 7) -> list[dict[str, Any]]:
    """Open actions due within ``within_days`` of today on the actions clock (or overdue)."""
    from regulars.actions import resolve_today

    today = resolve_today(ws)
    horizon = today + dt.timedelta(days=within_days)
    return [r for r in week_queue(ws) if r["due"] is None or r["due"] <= horizon]
