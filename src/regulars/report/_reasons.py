"""Action reasons in the report's language.

Each open action stores its reason as clauses, a code with named parameters
(``actions.reason_params``, see :mod:`regulars.actions._reasons`).  Here every code
has its catalogue message, and every parameter is written for the language by its
kind: durations and counts with the language's plural forms, money, shares, dates
and months with Babel.  An action whose clauses are missing (computed by an older
regulars) or unknown keeps its English ``reason``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

from regulars.actions import REASONS
from regulars.actions._reasons import clauses_of
from regulars.report._data import N_
from regulars.report._i18n import Translator

__all__ = ["MESSAGES", "format_param", "reason_text", "render_clauses"]

#: The catalogue message of every reason code (the English text of ``REASONS``).
MESSAGES: dict[str, str] = {
    "orders_worth": N_("{orders} worth {revenue}"),
    "p_alive": N_("P(alive) {p_alive}"),
    "p_alive_was": N_("P(alive) {p_alive}, was {before} in {before_on}"),
    "last_offered": N_("last offered {on}"),
    "no_touch": N_(
        "No touch for {days} (due every {cadence_days}; their purchase cycle is {cycle_days})"
    ),
    "no_contact": N_(
        "No contact (last order) for {days} (due every {cadence_days}; "
        "their purchase cycle is {cycle_days})"
    ),
    "loyal": N_("Loyal: {orders} worth {revenue} over {years}"),
    "loyal_orders": N_("Loyal: {orders} over {years}"),
    "feedback": N_("latest feedback {score}"),
    "no_feedback": N_("no feedback yet"),
    "not_referred": N_("has not referred anyone"),
    "last_asked": N_("last asked {on}"),
    "lapsed": N_("No order for {days}, {ratio} their usual gap of {gap_days}"),
    "lapsed_typical": N_("No order for {days}, {ratio} the typical gap of {gap_days}"),
    "new_since": N_("new since their last order: {product}"),
    "new_customer": N_("New customer: first order {days} ago ({product}, {revenue})"),
    "new_customer_unnamed": N_("New customer: first order {days} ago ({revenue})"),
    "guarantee_window": N_("the {guarantee_days}-day money-back window runs until {until}"),
    "no_contact_since": N_("no contact since"),
    "bought_then": N_(
        "Bought {from_product}; {support} of {buyers} customers who bought {from_product} "
        "later bought {product} ({confidence}, {lift} the usual {base_rate})"
    ),
    "order_average": N_("a {product} order averages {mean_revenue}"),
    "never_offered": N_("never offered"),
    "separate_services": N_(
        "Bought {services} separately in the last {months}: {names} ({orders}, {revenue})"
    ),
    "no_package": N_("no package"),
    "never_offered_package": N_("never offered a package"),
    "subscription_ends": N_(
        "Subscription {plan} ({yearly} a year) renews or ends on {end}, in {days} "
        "({checkpoint}-day checkpoint)"
    ),
    "subscription_ends_unnamed": N_(
        "Subscription ({yearly} a year) renews or ends on {end}, in {days} "
        "({checkpoint}-day checkpoint)"
    ),
    "package_ends": N_(
        "Package {plan} bought {bought_on} ({price}) runs out on {end}, in {days} "
        "({checkpoint}-day checkpoint)"
    ),
    "reward_owed": N_("Owed {rewards} ({amount}) for {referees}"),
    "earned_since": N_("earned since {on}, not paid yet"),
}

_UNITS = {"days": "duration-day", "months": "duration-month", "years": "duration-year"}


def format_param(t: Translator, kind: str, value: Any) -> str:
    """One clause parameter written for ``t``'s language (see ``REASON_KINDS``)."""
    if kind in _UNITS:
        fmt = "#,##0.0" if kind == "years" else "#,##0"
        text = str(format_unit(value, _UNITS[kind], format=fmt, locale=t.locale))
        if _UNITS[kind] in text:  # CLDR has no long form (Hebrew years): the short one
            text = str(format_unit(value, _UNITS[kind], "short", format=fmt, locale=t.locale))
        return text
    if kind == "orders":
        return t.ngettext("{n} order", "{n} orders", int(value)).format(n=t.number(value))
    if kind == "services":
        return t.ngettext("{n} service", "{n} services", int(value)).format(n=t.number(value))
    if kind == "rewards":
        return t.ngettext("{n} referral reward", "{n} referral rewards", int(value)).format(
            n=t.number(value)
        )
    if kind == "count":
        return t.number(value)
    if kind == "money":
        return t._("an unknown amount") if value is None else t.money(value)
    if kind == "probability":
        return t.number(value, 2)
    if kind == "share":
        return t.percent(value)
    if kind == "ratio":
        return t.ratio(value, 1)
    if kind == "score":
        return format_decimal(value, format="#,##0.##", locale=t.locale)
    if kind == "date":
        return t.date(dt.date.fromisoformat(value))
    if kind == "month":
        return t.date(dt.date.fromisoformat(value), "LLLL y")
    if kind == "list":
        return ", ".join(str(v) for v in value)
    if kind == "and_list":
        return format_list([str(v) for v in value], locale=t.locale)
    return str(value)


def render_clauses(t: Translator, clauses: Sequence[Mapping[str, Any]]) -> str | None:
    """The clauses as one sentence in ``t``'s language; None if one cannot be written."""
    parts = []
    for c in clauses:
        code = str(c.get("code"))
        spec, message = REASONS.get(code), MESSAGES.get(code)
        if spec is None or message is None or not set(spec.params) <= set(c):
            return None
        try:
            values = {name: format_param(t, kind, c[name]) for name, kind in spec.params.items()}
        except (TypeError, ValueError):  # a value not of its kind: keep the English reason
            return None
        parts.append(t._(message).format_map(values))
    if not parts:
        return None
    text = "; ".join(parts)
    return text if text.endswith(".") else text + "."  # "... до 8 сент. 2024 г."


def reason_text(t: Translator, row: Mapping[Any, Any]) -> str:
    """An open action's reason in ``t``'s language, else its stored English reason."""
    clauses = clauses_of(row.get("reason_params"))
    text = render_clauses(t, clauses) if clauses else None
    if text is not None:
        return text
    stored = row.get("reason")
    return stored if isinstance(stored, str) else ""
