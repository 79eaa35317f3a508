"""Reasons as data: each clause of an action's reason is a code with named parameters.

A playbook states why it raises an action as a few clauses, for example
``clause("lapsed", days=486, ratio=16.2, gap_days=30)`` and
``clause("orders_worth", orders=3, revenue=2700.0)``.  :func:`reason` turns them into
a :class:`Reason`: the clauses themselves, stored as JSON in ``actions.reason_params``
(the first clause's code also in ``actions.reason_code``), and the English sentence
stored in ``actions.reason`` for the command line and CSV exports.

:data:`REASONS` is the list of every clause: its English text and the kind of each
parameter.  The kind says how a value is kept (whole days, an amount, an ISO date...)
and how it is written; the report writes each clause again through its translation
catalogue (``regulars.report._reasons``), so a new clause needs an entry here, a
message there and a translation in every catalogue.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "REASONS",
    "REASON_KINDS",
    "Reason",
    "ReasonSpec",
    "clause",
    "clauses_of",
    "english_clause",
    "reason",
]

#: Every kind of parameter, and what its value is.
REASON_KINDS: dict[str, str] = {
    "days": "a number of days (whole)",
    "months": "a number of months (whole)",
    "years": "a number of years (one decimal)",
    "orders": "a number of orders",
    "services": "a number of services",
    "rewards": "a number of referral rewards",
    "count": "a plain count",
    "money": "an amount in the workspace currency",
    "probability": "a probability between 0 and 1, such as P(alive)",
    "share": "a share between 0 and 1, shown as a percentage",
    "ratio": "a multiple, such as a lift (1.8×)",
    "score": "a feedback score",
    "date": "a date (ISO text)",
    "month": "a date (ISO text) of which the month and year are shown",
    "text": "a name from the data (product, plan), shown as it is",
    "list": "names from the data, separated by commas",
    "and_list": "names from the data, joined with 'and'",
}


@dataclass(frozen=True)
class ReasonSpec:
    """One clause: its English text (``str.format`` names) and its parameters' kinds."""

    text: str
    params: Mapping[str, str]


def _spec(text: str, **params: str) -> ReasonSpec:
    return ReasonSpec(text, params)


_P_ALIVE = {"p_alive": "probability"}

#: Every clause a playbook may use, by code.
REASONS: dict[str, ReasonSpec] = {
    # shared
    "orders_worth": _spec("{orders} worth {revenue}", orders="orders", revenue="money"),
    "p_alive": _spec("P(alive) {p_alive}", **_P_ALIVE),
    "p_alive_was": _spec(
        "P(alive) {p_alive}, was {before} in {before_on}",
        **_P_ALIVE,
        before="probability",
        before_on="month",
    ),
    "last_offered": _spec("last offered {on}", on="date"),
    # keep_in_touch
    "no_touch": _spec(
        "No touch for {days} (due every {cadence_days}; their purchase cycle is {cycle_days})",
        days="days",
        cadence_days="days",
        cycle_days="days",
    ),
    "no_contact": _spec(
        "No contact (last order) for {days} (due every {cadence_days}; "
        "their purchase cycle is {cycle_days})",
        days="days",
        cadence_days="days",
        cycle_days="days",
    ),
    # ask_for_referral
    "loyal": _spec(
        "Loyal: {orders} worth {revenue} over {years}",
        orders="orders",
        revenue="money",
        years="years",
    ),
    "loyal_orders": _spec("Loyal: {orders} over {years}", orders="orders", years="years"),
    "feedback": _spec("latest feedback {score}", score="score"),
    "no_feedback": _spec("no feedback yet"),
    "not_referred": _spec("has not referred anyone"),
    "last_asked": _spec("last asked {on}", on="date"),
    # win_back
    "lapsed": _spec(
        "No order for {days}, {ratio} their usual gap of {gap_days}",
        days="days",
        ratio="ratio",
        gap_days="days",
    ),
    "lapsed_typical": _spec(
        "No order for {days}, {ratio} the typical gap of {gap_days}",
        days="days",
        ratio="ratio",
        gap_days="days",
    ),
    "new_since": _spec("new since their last order: {product}", product="text"),
    # guarantee_check_in
    "new_customer": _spec(
        "New customer: first order {days} ago ({product}, {revenue})",
        days="days",
        product="text",
        revenue="money",
    ),
    "new_customer_unnamed": _spec(
        "New customer: first order {days} ago ({revenue})", days="days", revenue="money"
    ),
    "guarantee_window": _spec(
        "the {guarantee_days}-day money-back window runs until {until}",
        guarantee_days="count",
        until="date",
    ),
    "no_contact_since": _spec("no contact since"),
    # next_step
    "bought_then": _spec(
        "Bought {from_product}; {support} of {buyers} customers who bought {from_product} "
        "later bought {product} ({confidence}, {lift} the usual {base_rate})",
        from_product="text",
        support="count",
        buyers="count",
        product="text",
        confidence="share",
        lift="ratio",
        base_rate="share",
    ),
    "order_average": _spec(
        "a {product} order averages {mean_revenue}", product="text", mean_revenue="money"
    ),
    "never_offered": _spec("never offered"),
    # package_offer
    "separate_services": _spec(
        "Bought {services} separately in the last {months}: {names} ({orders}, {revenue})",
        services="services",
        months="months",
        names="list",
        orders="orders",
        revenue="money",
    ),
    "no_package": _spec("no package"),
    "never_offered_package": _spec("never offered a package"),
    # renewal_due
    "subscription_ends": _spec(
        "Subscription {plan} ({yearly} a year) renews or ends on {end}, in {days} "
        "({checkpoint}-day checkpoint)",
        plan="text",
        yearly="money",
        end="date",
        days="days",
        checkpoint="count",
    ),
    "subscription_ends_unnamed": _spec(
        "Subscription ({yearly} a year) renews or ends on {end}, in {days} "
        "({checkpoint}-day checkpoint)",
        yearly="money",
        end="date",
        days="days",
        checkpoint="count",
    ),
    "package_ends": _spec(
        "Package {plan} bought {bought_on} ({price}) runs out on {end}, in {days} "
        "({checkpoint}-day checkpoint)",
        plan="text",
        bought_on="date",
        price="money",
        end="date",
        days="days",
        checkpoint="count",
    ),
    # pay_referral_reward
    "reward_owed": _spec(
        "Owed {rewards} ({amount}) for {referees}",
        rewards="rewards",
        amount="money",
        referees="and_list",
    ),
    "earned_since": _spec("earned since {on}, not paid yet", on="date"),
}

assert all(k in REASON_KINDS for s in REASONS.values() for k in s.params.values())


def _keep(kind: str, value: Any) -> Any:
    """``value`` as a clause keeps it (JSON-friendly, rounded as it is shown)."""
    if kind in ("days", "months", "orders", "services", "rewards", "count"):
        return round(float(value))
    if kind == "money":
        # An amount the data do not have (a customer + date log) stays unknown.
        return None if value is None else round(float(value), 2)
    if kind in ("years", "probability", "share", "ratio", "score"):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"a {kind} must be a finite number, not {value!r}")
        return round(number, 4)
    if kind in ("date", "month"):
        if isinstance(value, _dt.datetime):
            value = value.date()
        if isinstance(value, _dt.date):
            return value.isoformat()
        return _dt.date.fromisoformat(str(value)).isoformat()
    if kind in ("list", "and_list"):
        return [str(v) for v in value]
    return str(value)


def clause(code: str, /, **params: Any) -> dict[str, Any]:
    """One clause of a reason: ``{"code": code, **params}``, checked against :data:`REASONS`.

    Values are kept as their kind says (whole days, amounts to the cent, ISO dates).
    """
    spec = REASONS.get(code)
    if spec is None:  # pragma: no cover - a programming error, caught by the tests
        raise AssertionError(f"unknown reason code {code!r}")
    if set(params) != set(spec.params):  # pragma: no cover - as above
        raise AssertionError(f"{code} takes {sorted(spec.params)}, got {sorted(params)}")
    return {"code": code} | {name: _keep(spec.params[name], v) for name, v in params.items()}


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def _and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _english(kind: str, value: Any, currency: str) -> str:
    """A kept value in plain English (``61 days``, ``1,500 EUR``, ``2024-06-30``)."""
    nouns = {"days": "day", "months": "month", "orders": "order", "services": "service"}
    if kind in nouns:
        return _plural(value, nouns[kind])
    if kind == "rewards":
        return _plural(value, "referral reward")
    if kind == "years":
        return f"{value:.1f} years"
    if kind == "count":
        return f"{value:,}"
    if kind == "money":
        return "an unknown amount" if value is None else f"{value:,.0f} {currency}"
    if kind == "probability":
        return f"{value:.2f}"
    if kind == "share":
        return f"{value:.0%}"
    if kind == "ratio":
        return f"{value:.1f}×"
    if kind == "score":
        return f"{value:g}"
    if kind == "month":
        day = _dt.date.fromisoformat(value)
        return f"{_MONTHS[day.month - 1]} {day.year}"
    if kind == "list":
        return ", ".join(value)
    if kind == "and_list":
        return _and_list(value)
    return str(value)  # date (ISO), text


@dataclass(frozen=True)
class Reason:
    """Why an action is raised: its clauses and the English sentence made from them."""

    clauses: tuple[dict[str, Any], ...]
    text: str

    @property
    def code(self) -> str:
        """The code of the first clause: what the action is mainly about."""
        return str(self.clauses[0]["code"]) if self.clauses else ""

    def params_json(self) -> str:
        """The clauses as compact JSON, in reading order."""
        return json.dumps(list(self.clauses), ensure_ascii=False, separators=(",", ":"))


def clauses_of(params: Any) -> list[dict[str, Any]] | None:
    """The clauses stored in ``actions.reason_params`` (JSON text or already parsed)."""
    if isinstance(params, str | bytes):
        try:
            params = json.loads(params)
        except ValueError:
            return None
    if isinstance(params, list) and all(isinstance(c, dict) for c in params):
        return params
    return None


def english_clause(c: Mapping[str, Any], currency: str) -> str:
    """One clause in plain English."""
    spec = REASONS[str(c["code"])]
    values = {name: _english(kind, c[name], currency) for name, kind in spec.params.items()}
    return spec.text.format_map(values)


def reason(currency: str, *clauses: dict[str, Any] | None) -> Reason:
    """A :class:`Reason` from ``clauses`` (``None`` ones are left out).

    The English text joins the clauses with ``"; "`` and ends with a full stop, for
    example ``No order for 486 days, 16.2× their usual gap of 30 days; 3 orders worth
    2,700 EUR.``
    """
    kept = tuple(c for c in clauses if c is not None)
    text = "; ".join(english_clause(c, currency) for c in kept) + "."
    return Reason(kept, text)
