"""What a playbook is: a query for its candidates, and how to word the ones kept."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import ibis
import ibis.expr.types as ir

from regulars._config_actions import PLAYBOOK_PLACEHOLDERS
from regulars.actions._reasons import Reason, clause
from regulars.errors import ConfigError

if TYPE_CHECKING:
    from regulars.actions._features import PlaybookContext

__all__ = [
    "CORE_COLUMNS",
    "Candidate",
    "Playbook",
    "common_values",
    "orders_at_stake",
    "orders_worth",
    "p_alive_clause",
    "render_message",
]

#: The columns of a playbook's candidates that the queue ranks, caps and holds out by.
CORE_COLUMNS: dict[str, str] = {
    "customer_id": "string",
    "episode": "string",
    "at_stake": "float64",
    "due": "date",
    "urgent": "boolean",
}


class Playbook(NamedTuple):
    """A playbook: ``found`` and ``render``.

    ``found(ctx, settings)`` is an Ibis table of the playbook's candidates, computed
    in the engine: one row per candidate with :data:`CORE_COLUMNS` (``customer_id``;
    ``episode``, what the action is about, which with the playbook and the customer
    makes the action id; ``at_stake``, the value at stake, null when unknown;
    ``due``; ``urgent``) and whatever else its reason and message need.  The queue
    ranks, caps and holds out the candidates in the engine; ``render(ctx, settings,
    rows)`` then turns only the rows kept for this week's list (as dicts) into
    :class:`Candidate` objects with their reason and message.

    A column of ``found`` named like a column of ``ctx.customers`` must hold that
    customer fact unchanged: the queue does not store those columns with the
    candidates, and reads the kept rows' facts back from ``ctx.customers``.
    """

    found: Callable[[PlaybookContext, Any], ir.Table]
    render: Callable[[PlaybookContext, Any, list[dict[str, Any]]], list[Candidate]]


@dataclass(frozen=True)
class Candidate:
    """One action a playbook proposes, before holdout, cooldowns and the cap.

    ``episode`` names what the action is about (the last contact, the product
    offered, the subscription and checkpoint...); with the playbook and the customer
    it makes the stable action id.  ``reason`` holds the clauses of the reason and
    their English text (see :mod:`regulars.actions._reasons`).  ``urgent`` raises
    the priority.  ``orders_at_stake`` is set (by :func:`with_orders_at_stake`) when
    the orders have no amounts: the money at stake is then unknown, and the queue
    ranks by it instead (:attr:`rank_value`).
    """

    customer_id: str
    playbook: str
    episode: str
    value_at_stake: float | None
    due: _dt.date
    reason: Reason
    message: str
    urgent: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    orders_at_stake: float | None = None

    @property
    def rank_value(self) -> float:
        """What the queue ranks by: the value at stake, or without amounts the orders."""
        if self.orders_at_stake is None:
            return self.value_at_stake or 0.0
        return self.orders_at_stake

    @property
    def money_at_stake(self) -> float | None:
        """The value at stake, rounded to the cent; None when it is unknown (it comes
        from orders without amounts)."""
        if self.value_at_stake is None:  # a package from a log without amounts
            return None
        if self.orders_at_stake is not None and self.playbook not in _OWN_MONEY:
            return None
        return round(self.value_at_stake, 2)


#: Playbooks whose value at stake is "(1 − P(active)) × a year of the customer".
_AT_RISK = ("keep_in_touch", "win_back")
#: Playbooks whose money does not come from the orders' amounts: the reward owed, the
#: subscription's price.  Without amounts they still show it.
_OWN_MONEY = ("pay_referral_reward", "renewal_due")


def orders_at_stake(ctx: PlaybookContext, candidates: ir.Table) -> ir.Table:
    """``candidates`` (with ``customer_id`` and ``playbook``) with ``orders_at_stake``,
    for a book without amounts, rounded to 1/10,000.

    The money formulas of the playbooks with orders in place of money: for
    keep_in_touch and win_back, (1 − P(active)) × the customer's paid orders per year
    (``yearly_orders``); for every other playbook, the orders the customer is expected
    to place in the next year (``expected_orders_365d`` from the scores, else P(active)
    × ``yearly_orders``).  Computed in the engine, by a join with the facts.
    """
    c = ctx.customers
    p_active = c.p_active.fill_null(0.0)
    weights = c.select(
        _w_customer="customer_id",
        _at_risk=((1.0 - p_active) * c.yearly_orders).fill_null(0.0),
        _expected=ibis.coalesce(c.expected_orders_365d, p_active * c.yearly_orders).fill_null(0.0),
    )
    t = candidates.left_join(weights, candidates.customer_id == weights._w_customer)
    orders = ibis.cases((t.playbook.isin(_AT_RISK), t._at_risk), else_=t._expected).fill_null(0.0)
    return t.mutate(orders_at_stake=orders.round(4)).drop("_w_customer", "_at_risk", "_expected")


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
    ctx: PlaybookContext, row: dict[str, Any], *, value_at_stake: float | None, due: _dt.date
) -> dict[str, Any]:
    """The placeholders every message template may use."""
    return {
        "business": ctx.config.workspace.name,
        "currency": ctx.currency,
        "customer_id": row["customer_id"],
        "due": due.isoformat(),
        "name": row.get("name") or row["customer_id"],
        "orders": int(row.get("orders") or 0),
        # Without amounts the customer's money reads "no amount", never "0 EUR" (a
        # reward owed or a subscription's price is still known money).
        "revenue": ctx.money(float(row.get("revenue") or 0.0) if ctx.amounts else None),
        "value_at_stake": ctx.money(value_at_stake if ctx.amounts or value_at_stake else None),
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
