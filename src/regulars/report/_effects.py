"""Covariate effects in plain words, in the reader's language.

``regulars fit --covariates`` and the report's channel section both word the effects
of a covariate fit with :func:`effect_sentences`: one sentence per level (or numeric
column), its purchase, dropout and spend effects joined, each with its 95% interval,
for example "Referred customers buy 1.4× as often (1.2–1.6) and drop out 30% less
(15–42%) than cold ones."  The messages live in the report's catalogue, so the
sentence is English on the terminal and English or Russian in the report.

An effect is a record with ``process`` (``purchase``, ``dropout`` or ``spend``),
``term`` (``"channel_kind=referral"`` for a level of a text column, the column name
for a numeric one), ``ratio`` (the multiplier of the process's mean against the
reference customer) and its ``lower_95`` and ``upper_95`` ends; ``references`` maps
each text column to its reference level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

__all__ = ["effect_sentences"]


class Words(Protocol):
    """What the wording needs of a :class:`~regulars.report.Translator`."""

    def _(self, message: str) -> str: ...

    def number(self, value: float | int | None, digits: int = 0) -> str: ...

    def percent(self, share: float | None, digits: int = 0) -> str: ...


_PROCESSES = ("purchase", "dropout", "spend")


def _who(t: Words, column: str, level: str) -> str:
    """The customers of one level, as the subject of a sentence."""
    if column == "channel_kind":
        kinds = {
            "referral": t._("referred customers"),
            "cold": t._("cold customers"),
            "organic": t._("organic customers"),
            "partner": t._("customers from partners"),
            "other": t._("customers from other channels"),
        }
        if level in kinds:
            return kinds[level]
    if column == "channel":
        return t._("customers from {channel}").format(channel=level)
    return t._("customers with {column} = {value}").format(column=column, value=level)


def _than(t: Words, column: str, level: str) -> str:
    """The reference customers, as the end of a comparison ("… than cold ones")."""
    if column == "channel_kind":
        kinds = {
            "referral": t._("referred ones"),
            "cold": t._("cold ones"),
            "organic": t._("organic ones"),
            "partner": t._("those from partners"),
            "other": t._("those from other channels"),
        }
        if level in kinds:
            return kinds[level]
    if column == "channel":
        return t._("those from {channel}").format(channel=level)
    return t._("those with {column} = {value}").format(column=column, value=level)


def _digits(low: float, high: float) -> int:
    """Ratios with one decimal unless the interval is too narrow to show with it."""
    return 1 if high - low >= 0.2 else 2


def _pct_digits(low: float, high: float) -> int:
    """Shares in whole percent unless the interval is too narrow to show with them."""
    return 0 if high - low >= 0.02 else 1


def _clause(t: Words, process: str, ratio: float, low: float, high: float, than: str) -> str:
    """One process's effect, ending with the comparison when ``than`` is given."""
    clear_up, clear_down = low > 1.0, high < 1.0
    if clear_down or (clear_up and process == "dropout"):
        # "30% less (15–42%)": the change as a share, the interval's ends likewise
        d = _pct_digits(low, high)
        sign = -1.0 if clear_down else 1.0
        ends = sorted((sign * (low - 1), sign * (high - 1)))
        share = t.percent(sign * (ratio - 1), d)
        lo, hi = t.number(100 * ends[0], d), t.percent(ends[1], d)
        messages = {
            "purchase": (
                t._("buy {share} less often ({low}–{high})"),
                t._("buy {share} less often ({low}–{high}) than {reference}"),
            ),
            "dropout": (
                t._("drop out {share} less ({low}–{high})"),
                t._("drop out {share} less ({low}–{high}) than {reference}"),
            )
            if clear_down
            else (
                t._("drop out {share} more ({low}–{high})"),
                t._("drop out {share} more ({low}–{high}) than {reference}"),
            ),
            "spend": (
                t._("spend {share} less per order ({low}–{high})"),
                t._("spend {share} less per order ({low}–{high}) than {reference}"),
            ),
        }
    elif clear_up:
        d = _digits(low, high)
        share, lo, hi = t.number(ratio, d), t.number(low, d), t.number(high, d)
        messages = {
            "purchase": (
                t._("buy {share}× as often ({low}–{high})"),
                t._("buy {share}× as often ({low}–{high}) as {reference}"),
            ),
            "spend": (
                t._("spend {share}× as much per order ({low}–{high})"),
                t._("spend {share}× as much per order ({low}–{high}) as {reference}"),
            ),
        }
    else:
        d = _digits(low, high)
        share, lo, hi = t.number(ratio, d), t.number(low, d), t.number(high, d)
        messages = {
            "purchase": (
                t._("buy about as often ({low}–{high}×: no clear difference)"),
                t._("buy about as often as {reference} ({low}–{high}×: no clear difference)"),
            ),
            "dropout": (
                t._("drop out about as often ({low}–{high}×: no clear difference)"),
                t._("drop out about as often as {reference} ({low}–{high}×: no clear difference)"),
            ),
            "spend": (
                t._("spend about as much per order ({low}–{high}×: no clear difference)"),
                t._(
                    "spend about as much per order as {reference} ({low}–{high}×: no "
                    "clear difference)"
                ),
            ),
        }
    plain, compared = messages[process]
    return (compared if than else plain).format(share=share, low=lo, high=hi, reference=than)


def _join(t: Words, clauses: list[str]) -> str:
    if len(clauses) == 1:
        return clauses[0]
    return t._("{items} and {last}").format(items=", ".join(clauses[:-1]), last=clauses[-1])


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def effect_sentences(
    effects: Iterable[Mapping[Any, Any]], references: Mapping[str, str], t: Words
) -> list[str]:
    """One sentence per level or numeric column, its effects joined, in the order given.

    Effects without finite ratio and interval (a fit whose standard errors are
    unknown) are left out.
    """
    by_term: dict[str, dict[str, tuple[float, float, float]]] = {}
    for e in effects:
        values = (float(e["ratio"]), float(e["lower_95"]), float(e["upper_95"]))
        if not all(math.isfinite(v) and v > 0 for v in values):
            continue
        by_term.setdefault(str(e["term"]), {})[str(e["process"])] = values
    out = []
    for term, processes in by_term.items():
        column, has_level, level = term.partition("=")
        reference = references.get(column) if has_level else None
        than = _than(t, column, reference) if reference is not None else ""
        ordered = [p for p in _PROCESSES if p in processes]
        clauses = [
            _clause(t, p, *processes[p], than=than if i == len(ordered) - 1 else "")
            for i, p in enumerate(ordered)
        ]
        what = _join(t, clauses)
        if has_level:
            text = t._("{who} {what}").format(who=_who(t, column, level), what=what)
        else:
            text = t._("with {column} 1 higher, customers {what}").format(column=column, what=what)
        out.append(_sentence(text))
    return out
