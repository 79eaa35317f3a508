"""Integrity rules checked at import, beyond the type of each value.

Each rule is a clear row-level error (documented in docs/data.md):

- a period or contract that ends before it starts (spend, subscriptions' end_date
  and cancel_date);
- a feedback score outside the 0-10 scale;
- a currency column whose value is not the workspace currency;
- a customer referred by themselves, or through a chain that comes back to them
  (a referral cycle), counting the customers already in the workspace.

Order rules (negative cost, a refund above the order's revenue) live with the
orders (:mod:`._orders`).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from regulars.io._mapping import Plan
from regulars.io._parse import FieldSpec, sql_str
from regulars.io._report import BAD, MAX_PROBLEMS, Check, Problem

__all__ = ["SCORE_SCALE", "referral_cycles", "row_checks"]

# Feedback scores: NPS is 0-10, CSAT 1-5 or 1-7; all fit in 0-10.
SCORE_SCALE = (0, 10)
_PERIODS = {
    "subscriptions": (("start_date", "end_date"), ("start_date", "cancel_date")),
    "spend": (("period_start", "period_end"),),
}


def row_checks(table: str, specs: Mapping[str, FieldSpec], currency: str) -> list[Check]:
    """The cross-field and range checks of one row of ``table``."""
    checks: list[Check] = []
    for a, b in _PERIODS.get(table, ()):
        if a in specs and b in specs:
            checks.append(
                Check(
                    f"_period_{b}",
                    specs[b].source.label,
                    f'CASE WHEN "{b}" < "{a}" THEN \'before\' END',
                    {
                        "before": (
                            f"is before {a}",
                            f"{b} on or after {a}",
                            f"correct the dates ({b} is the last day, {a} the first)",
                        )
                    },
                    b,
                    specs[b].raw_sql(),
                )
            )
    if table == "feedback" and "score" in specs:
        lo, hi = SCORE_SCALE
        checks.append(
            Check(
                "_scale",
                specs["score"].source.label,
                f"CASE WHEN score < {lo} OR score > {hi} THEN 'scale' END",
                {
                    "scale": (
                        "is outside the score scale",
                        f"a score from {lo} to {hi} (NPS 0-10, CSAT 1-5 or 1-7)",
                        f"rescale the scores to {lo}-{hi} (a percentage: divide by 10)",
                    )
                },
                "score",
                specs["score"].raw_sql(),
            )
        )
    if "currency" in specs:
        checks.append(
            Check(
                "_currency",
                specs["currency"].source.label,
                f"CASE WHEN upper(currency) <> {sql_str(currency.upper())} THEN 'other' END",
                {
                    "other": (
                        "is not the workspace currency",
                        f"{currency} ([workspace] currency in regulars.toml)",
                        f"convert the amounts to {currency}, or import this file into a "
                        "workspace of its currency (one workspace keeps one currency)",
                    )
                },
                "currency",
                specs["currency"].raw_sql(),
            )
        )
    if table == "customers" and "referred_by" in specs:
        checks.append(
            Check(
                "_selfref",
                specs["referred_by"].source.label,
                "CASE WHEN referred_by = customer_id THEN 'self' END",
                {
                    "self": (
                        "is the customer themselves (a self-referral)",
                        "the customer_id of another customer",
                        "clear referred_by, or put the referrer's id",
                    )
                },
                "referred_by",
                specs["referred_by"].raw_sql(),
            )
        )
    return checks


def referral_cycles(
    con: duckdb.DuckDBPyConnection, plan: Plan, out: str, *, clear_empty: bool = False
) -> list[Problem]:
    """Customers of ``out`` whose chain of referrers comes back to them.

    The chain runs over the rows being imported and the customers already in the
    workspace (those not replaced by this import).  Rows in a cycle are added to
    ``_rg_bad`` and removed from ``out``; the first ones are returned as problems.
    """
    if "referred_by" not in plan.sources:
        return []
    label = plan.sources["referred_by"].label
    # An empty cell keeps the stored referrer (unless clear_empty): walk what is kept.
    merged = "o.referred_by" if clear_empty else "coalesce(o.referred_by, x.referred_by)"
    con.execute(
        f"""CREATE TEMP TABLE _rg_cycles AS
        WITH RECURSIVE edges AS (
            SELECT c, r FROM (SELECT o.customer_id AS c, {merged} AS r FROM {out} o
            LEFT JOIN customers x USING (customer_id)) WHERE r IS NOT NULL
            UNION ALL
            SELECT customer_id, referred_by FROM customers WHERE referred_by IS NOT NULL
            AND customer_id NOT IN (SELECT customer_id FROM {out})
        ), walk(start, cur, path) AS (
            SELECT c, r, [c] FROM edges WHERE c IN (SELECT customer_id FROM {out}) AND c <> r
            UNION ALL
            SELECT w.start, e.r, list_append(w.path, w.cur) FROM walk w JOIN edges e
            ON e.c = w.cur WHERE w.cur <> w.start AND NOT list_contains(w.path, w.cur)
        )
        SELECT start AS customer_id, min(array_to_string(list_append(path, start), ' → '))
        AS chain FROM walk WHERE cur = start GROUP BY start"""
    )
    reason = (
        f'\'column "{label}" (referred_by): "\' || o.referred_by || \'" makes a referral '
        "cycle: ' || y.chain"
    )
    con.execute(
        f"INSERT INTO {BAD} SELECT t._row, {reason}, true FROM _rg_typed t JOIN _rg_cycles y "
        f"ON t.customer_id = y.customer_id JOIN {out} o ON o.customer_id = y.customer_id "
        f"WHERE NOT t._skip AND t._row NOT IN (SELECT _row FROM {BAD})"
    )
    found = con.execute(
        f"SELECT min(t._row), o.referred_by, y.chain FROM _rg_cycles y JOIN {out} o "
        f"USING (customer_id) JOIN _rg_typed t ON t.customer_id = y.customer_id "
        f"GROUP BY ALL ORDER BY 1 LIMIT {MAX_PROBLEMS}"
    ).fetchall()
    con.execute(f"DELETE FROM {out} WHERE customer_id IN (SELECT customer_id FROM _rg_cycles)")
    con.execute("DROP TABLE _rg_cycles")
    return [
        Problem(
            int(row),
            label,
            "referred_by",
            str(ref),
            f"makes a referral cycle: {chain}",
            "a chain of referrers that never comes back to the customer",
            "clear referred_by of one customer in the cycle",
        )
        for row, ref, chain in found
    ]
