"""Writing an import: upsert by natural key, order lines, new customers, rejects.

Runs inside the import's transaction, after every check passed (or, with
``skip_invalid``, on the rows that passed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb

from regulars.errors import SchemaError
from regulars.io._formats import RAW, Staged
from regulars.io._mapping import Plan, sql_ident
from regulars.io._parse import sql_str
from regulars.io._report import BAD
from regulars.schema import GUEST_ORDERS, TABLES, create_table_sql

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["write_rejected", "write_rows"]


class _Counts(Protocol):
    records: int
    new_records: int
    lines: int
    customers_created: int


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def write_rows(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    plan: Plan,
    result: _Counts,
    *,
    clear_empty: bool = False,
) -> None:
    """Upsert ``_rg_out`` into the plan's table; fill in ``result``'s counts."""
    t = plan.table
    key = ", ".join(sql_ident(k) for k in t.key)
    source = "_rg_out"
    if t.name == "customers":
        # Columns the file does not have keep their current values, and so do its
        # empty cells unless clear_empty.
        def pick(c: str) -> str:
            if c in t.key:
                return f"s.{sql_ident(c)}"
            if c not in plan.sources:
                return f"t.{sql_ident(c)}"
            if clear_empty:
                return f"s.{sql_ident(c)}"
            return f"coalesce(s.{sql_ident(c)}, t.{sql_ident(c)}) AS {sql_ident(c)}"

        cols = ", ".join(pick(c) for c in t.column_names)
        con.execute(
            f"CREATE TEMP TABLE _rg_final AS SELECT {cols} FROM _rg_out s "
            f"LEFT JOIN customers t USING ({key})"
        )
        source = "_rg_final"
    # Into an empty table (a first import) nothing can be replaced: the rows stream in
    # with no join against what is there.  Otherwise the rows with the keys being
    # written are deleted first: how many is how many were there already.  The counts
    # come from the statements themselves, not from more passes over the rows.
    first = not _has_rows(con, t.name)
    on = " AND ".join(f"s.{sql_ident(k)} = t.{sql_ident(k)}" for k in t.key)
    before = _count(con, "SELECT count(*) FROM customers")
    if t.name == "orders":
        if "revenue" not in plan.sources and "unit_price" not in plan.sources:
            # An amount-less log stores revenue empty; workspaces made before such logs
            # had revenue NOT NULL.
            con.execute("ALTER TABLE orders ALTER COLUMN revenue DROP NOT NULL")
        if _has_rows(con, "order_lines"):
            con.execute("DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM _rg_out)")
        _write_guests(con, workspace)
    existing = 0
    if not first:
        existing = _count(con, f"DELETE FROM {sql_ident(t.name)} t USING {source} s WHERE {on}")
    cols = ", ".join(sql_ident(c) for c in t.column_names)
    result.records = _count(
        con, f"INSERT INTO {sql_ident(t.name)} ({cols}) SELECT {cols} FROM {source}"
    )
    result.new_records = result.records - existing
    if t.name == "orders":
        cols = ", ".join(sql_ident(c) for c in TABLES["order_lines"].column_names)
        result.lines = _count(
            con, f"INSERT INTO order_lines ({cols}) SELECT {cols} FROM _rg_lines_out"
        )
        details = "email" in plan.sources or "name" in plan.sources
        # Into empty orders, the orders table now holds exactly the imported orders: its
        # customer ids are one stored column, cheaper to read than the imported rows.
        orders = "orders" if first and not details else "_rg_out"
        con.execute(
            "INSERT INTO customers (customer_id, email, name) SELECT customer_id, "
            + (
                "arg_min(_email, order_date) FILTER (_email IS NOT NULL), "
                "arg_min(_name, order_date) FILTER (_name IS NOT NULL) "
                if details
                else "NULL, NULL "  # no email or name column: nothing to pick
            )
            + f"FROM {orders} o WHERE NOT EXISTS (SELECT 1 FROM customers c "
            "WHERE c.customer_id = o.customer_id) GROUP BY customer_id"
        )
    elif t.name == "customers":
        con.execute(
            "INSERT INTO customers (customer_id) SELECT DISTINCT referred_by FROM customers s "
            "WHERE referred_by IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM customers c WHERE c.customer_id = s.referred_by)"
        )
    elif "customer_id" in t.column_names:
        con.execute(
            "INSERT INTO customers (customer_id) SELECT DISTINCT customer_id FROM _rg_out o "
            "WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = o.customer_id)"
        )
    result.customers_created = _count(con, "SELECT count(*) FROM customers") - before
    if t.name == "customers":
        result.customers_created = max(0, result.customers_created - result.new_records)


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute(f"SELECT 1 FROM {sql_ident(table)} LIMIT 1").fetchone() is not None


def _write_guests(con: duckdb.DuckDBPyConnection, workspace: Workspace) -> None:
    """Guest orders go to ``guest_orders``; an order id lives in one of the two tables."""
    con.execute(create_table_sql(GUEST_ORDERS))
    # The guest orders were counted in the pass over the orders (_rg_totals).
    if not _count(con, "SELECT _guest_orders FROM _rg_totals"):
        if _has_rows(con, "guest_orders"):
            con.execute("DELETE FROM guest_orders WHERE order_id IN (SELECT order_id FROM _rg_out)")
        return
    guests = "(SELECT order_id FROM _rg_guests_out)"
    con.execute("DELETE FROM guest_orders WHERE order_id IN (SELECT order_id FROM _rg_out)")
    con.execute(f"DELETE FROM order_lines WHERE order_id IN {guests}")
    con.execute(f"DELETE FROM orders WHERE order_id IN {guests}")
    workspace.upsert(con, GUEST_ORDERS, "_rg_guests_out")


def write_rejected(con: duckdb.DuckDBPyConnection, staged: Staged, target: Path) -> None:
    """The rejected rows, with the file's columns and a reason, as CSV at ``target``."""
    names = list(staged.columns)
    reason_col = "reason" if "reason" not in {n.lower() for n in names} else "rejected_reason"
    cols = ", ".join(f"r.{sql_ident(n)}" for n in names)
    nulls = ", ".join(f"NULL AS {sql_ident(n)}" for n in names)
    parts = [
        f"SELECT {cols}, b.reason AS {sql_ident(reason_col)}, r._row AS _k FROM {RAW} r JOIN "
        f"(SELECT _row, string_agg(reason, '; ' ORDER BY reason) AS reason FROM {BAD} "
        "GROUP BY _row) b ON b._row = r._row"
    ]
    for s in staged.structural:
        text = f"line {s['line']:,}: {s['message']}: {s['text']}"
        parts.append(f"SELECT {nulls}, {sql_str(text)}, {-1_000_000_000 + int(s['line'])}")
    try:
        con.execute(
            f"COPY (SELECT * EXCLUDE (_k) FROM ({' UNION ALL '.join(parts)}) ORDER BY _k) "
            f"TO {sql_str(str(target))} (HEADER, DELIMITER ',')"
        )
    except duckdb.Error as exc:
        raise SchemaError(
            f"Cannot write the rejected rows to {target}: {exc}. Check that the folder of "
            "the input file is writable."
        ) from None
