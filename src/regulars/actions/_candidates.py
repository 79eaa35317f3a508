"""What a playbook returns: candidate actions, their reasons and their messages."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regulars._config_actions import PLAYBOOK_PLACEHOLDERS
from regulars.actions._reasons import Reason, clause
from regulars.errors import ConfigError

if TYPE_CHECKING:
    from regulars.actions._features import PlaybookContext

__all__ = ["Candidate", "common_values", "orders_worth", "p_alive_clause", "render_message"]


@dataclass(frozen=True)
class Candidate:
    """One action a playbook proposes, before holdout, cooldowns and the cap.

    ``episode`` names what the action is about (the last contact, the product
    offered, the subscription and checkpoint...); with the playbook and the customer
    it makes the stable action id.  ``reason`` holds the clauses of the reason and
    their English text (see :mod:`regulars.actions._reasons`).  ``urgent`` raises
    the priority.
    """

    customer_id: str
    playbook: str
    episode: str
    value_at_stake: float
    due: _dt.date
    reason: Reason
    message: str
    urgent: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


def p_alive_clause(
    ctx: PlaybookContext, p_alive: float | None, before: float | None
) -> dict[str, Any] | None:
    """``P(alive) 0.82``, with ``was 0.95 in March 2025`` when an older snapshot differs."""
    if p_alive is None or (isinstance(p_alive, float) and math.isnan(p_alive)):
        return None
    if (
        before is not None
        and not math.isnan(before)
        and ctx.previous_scored_at is not None
        and abs(before - p_alive) >= 0.005
    ):
        return clause(
            "p_alive_was", p_alive=p_alive, before=before, before_on=ctx.previous_scored_at
        )
    return clause("p_alive", p_alive=p_alive)


def orders_worth(row: dict[str, Any]) -> dict[str, Any] | None:
    """``3 orders worth 1,500 EUR`` from the customer's facts; nothing when their
    money is unknown (orders without amounts), rather than an invented amount."""
    if row.get("revenue") is None:
        return None
    return clause("orders_worth", orders=row["orders"], revenue=row["revenue"])


def common_values(
    ctx: PlaybookContext, row: dict[str, Any], *, value_at_stake: float, due: _dt.date
) -> dict[str, Any]:
    """The placeholders every message template may use."""
    return {
        "business": ctx.config.workspace.name,
        "currency": ctx.currency,
        "customer_id": row["customer_id"],
        "due": due.isoformat(),
        "name": row.get("name") or row["customer_id"],
        "orders": int(row.get("orders") or 0),
        "revenue": ctx.money(float(row.get("revenue") or 0.0)),
        "value_at_stake": ctx.money(value_at_stake),
    }


def render_message(playbook: str, template: str, values: dict[str, Any]) -> str:
    """Fill ``template`` (``str.format`` placeholders) with ``values``.

    The template was checked when ``regulars.toml`` was loaded; a bad format
    specification (``{orders:%d}``) is reported here with the playbook's name.
    """
    missing = set(PLAYBOOK_PLACEHOLDERS[playbook]) - set(values)
    if missing:  # pragma: no cover - a programming error, caught by the tests
        raise AssertionError(f"{playbook} does not fill {sorted(missing)}")
    try:
        return template.format_map(values)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ConfigError(
            f"[playbooks.{playbook}] message could not be filled in: {exc}. "
            "Check the format after the colon in each {placeholder:format}, or drop it."
        ) from None
