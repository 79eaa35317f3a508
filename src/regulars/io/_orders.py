"""Orders: line items summed per order, returns, and order-level agreement.

Rules (documented in docs/data.md):

- Rows with the same ``order_id`` are the lines of one order.  A line's amount is
  its ``revenue``, else ``quantity × unit_price`` (quantity 1 when empty).
- Fields that describe the order (customer, date, kind, status, refund date, and
  whatever a preset marks order-level) must agree between the lines that fill
  them in; lines may leave them empty.  Times of day may differ: the order takes
  its earliest line's timestamp (the summary counts such orders).
- Lines with a negative amount are returns: their magnitude adds to
  ``refund_amount`` and they do not reduce ``revenue``.  An order made only of
  returns has revenue 0 and status ``refunded``.
- ``product`` and ``category`` come from the largest line; ``unit_price`` is kept
  for single-line orders only; ``quantity`` sums the units sold (not returned).
- Every line is kept in ``order_lines`` with its 1-based ``line_no``.
- An order with no customer on any line is a guest order: it goes to
  ``guest_orders`` (no lines kept), out of the customer book.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import duckdb

from regulars.io._mapping import Plan
from regulars.io._parse import FieldSpec, sql_str
from regulars.io._report import BAD, MAX_PROBLEMS, Check, Problem
from regulars.schema import GUEST_ORDERS, MONEY

__all__ = [
    "ORDER_FIELDS",
    "amountless",
    "group_fix",
    "guest_totals",
    "mixed_times",
    "order_checks",
    "order_extra_columns",
    "order_groups",
    "order_totals",
    "probe_single",
]

# Fields that describe the whole order (they must agree between its lines).
ORDER_FIELDS = ("customer_id", "order_date", "kind", "status", "refund_date")
OUT = "_rg_out"
MAX_MONEY_TEXT = "9999999999999999.99"
GUESTS_OUT = "_rg_guests_out"
LINES_OUT = "_rg_lines_out"
GROUPS = "_rg_ord"
TOTALS = "_rg_totals"

_AMOUNT_TEXTS = {
    "no_amount": (
        "has no amount (revenue is empty and there is no unit_price)",
        "revenue, or unit_price (and quantity)",
        "fill in the amount, or map the amount column with --map revenue=COLUMN",
    ),
    "too_large": (
        "quantity × unit_price is too large",
        "at most 9,999,999,999,999,999.99",
        "correct quantity or unit_price",
    ),
}

#: The optional columns of an order line, in the order of the contract.
LINE_FIELDS = ("product", "category", "quantity", "unit_price")


def _line_revenue(plan: Plan, specs: Mapping[str, FieldSpec]) -> str | None:
    spec = specs.get("revenue")
    if spec is None or spec.order_level:
        return None
    return spec.v


def order_extra_columns(plan: Plan, specs: Mapping[str, FieldSpec]) -> list[str]:
    """Select items added on top of the typed layer: the line amount, generated ids."""
    line_rev = _line_revenue(plan, specs)
    qp = "NULL"
    if "unit_price" in specs:
        qty = specs["quantity"].v if "quantity" in specs else "1"
        exact, cents = specs["unit_price"].col("x"), specs["unit_price"].v
        # The price as written (6 decimals) exists below 10^12 only; a coalesce with the
        # cents would widen to DECIMAL(22, 6), too narrow for the largest amounts.
        price = f"coalesce({exact}, CAST({cents} AS DECIMAL(18,6)))"
        # Exact decimal arithmetic (quantity to 8 decimals: 1.00005 × 10,000 is
        # 10,000.50), rounded once to the cent; NULL (reported as too large) when it
        # overflows.
        q = f"coalesce({qty}, 1)"
        exact_qp = (
            f"CASE WHEN abs({q}) < 1e12 THEN TRY_CAST(CAST({q} AS DECIMAL(20,8)) * {price} "
            f"AS {MONEY}) END"
        )
        # Most lines have a quantity with at most 4 decimals and a price in cents:
        # the narrower (and 3x faster) product is exact for them.
        quick_qp = f"TRY_CAST(TRY_CAST({q} AS DECIMAL(18,4)) * {cents} AS {MONEY})"
        # The narrow product is DECIMAL(18, 6): only for amounts well inside its range
        # (a larger one would overflow inside the multiplication, before any TRY_CAST).
        small = f"abs(CAST({q} AS DOUBLE) * CAST({cents} AS DOUBLE)) < 1e11"
        # A unit price of 10^12 or more: the product in floating point, stored only if
        # it fits (else NULL, reported as too large).
        huge_qp = f"TRY_CAST(CAST({q} AS DOUBLE) * CAST({cents} AS DOUBLE) AS {MONEY})"
        qp = (
            f"CASE WHEN abs({cents}) >= 1e12 THEN {huge_qp} "
            f"WHEN {q} = round({q}, 4) AND coalesce({exact} = {cents}, true) "
            f"AND {small} THEN {quick_qp} ELSE {exact_qp} END"
        )
    amount = f"coalesce({line_rev}, {qp})" if line_rev else qp
    cols = [f"{amount} AS _amount"]
    if "order_id" not in specs and plan.generate_order_id:
        parts = []
        for name in plan.generate_order_id:
            v = specs[name].v
            if specs[name].is_date:
                v = (
                    f"CASE WHEN {v} = date_trunc('day', {v}) THEN strftime({v}, '%Y%m%d') "
                    f"ELSE strftime({v}, '%Y%m%dT%H%M%S') END"
                )
            elif name == "customer_id":  # a guest row: its order is a guest order
                v = f"coalesce({v}, 'guest')"
            parts.append(v)
        keys = ", ".join(specs[n].v for n in plan.generate_order_id)
        null = (
            " OR ".join(
                f"{specs[n].v} IS NULL" for n in plan.generate_order_id if n != "customer_id"
            )
            or "false"
        )
        cols.append(
            f"CASE WHEN {null} THEN NULL ELSE concat_ws('-', {', '.join(parts)}, "
            f"row_number() OVER (PARTITION BY {keys} ORDER BY _row)) END AS order_id"
        )
    return cols


def amountless(specs: Mapping[str, FieldSpec]) -> bool:
    """A log without amounts: no revenue and no unit_price column (revenue stays NULL)."""
    return "revenue" not in specs and "unit_price" not in specs


def order_checks(specs: Mapping[str, FieldSpec]) -> list[Check]:
    """Row checks of order lines: an amount is needed; refunds follow the order."""
    if amountless(specs):
        return []
    inputs = [s.e for n, s in specs.items() if n in ("revenue", "unit_price", "quantity")]
    reported = " OR ".join(f"{e} IS NOT NULL" for e in inputs) or "false"
    has_price = specs["unit_price"].v if "unit_price" in specs else "NULL"
    code = (
        f"CASE WHEN _amount IS NOT NULL OR {reported} THEN NULL "
        f"WHEN {has_price} IS NULL THEN 'no_amount' ELSE 'too_large' END"
    )
    checks = [Check("_amount", "", code, _AMOUNT_TEXTS)]
    if "refund_date" in specs and "order_date" in specs:
        rd, od = specs["refund_date"].v, specs["order_date"].v
        checks.append(
            Check(
                "_refund",
                specs["refund_date"].source.label,
                f"CASE WHEN {rd} < CAST({od} AS DATE) THEN 'before' END",
                {"before": ("is before order_date", "a refund on or after the order", "")},
                "refund_date",
            )
        )
    return checks


def _largest(col: str) -> str:
    """``col`` of the largest line: sold before returned, then by amount, then first.

    The key packs the three into one HUGEINT (cheaper than a struct): bit 101 for
    sold, the amount in cents (< 2**60) from bit 40, and the row complement below.
    """
    key = (
        "(CASE WHEN _amount >= 0 THEN 1 ELSE 0 END)::HUGEINT * 2::HUGEINT ** 101 "
        "+ (abs(coalesce(_amount, 0)) * 100)::HUGEINT * 1099511627776::HUGEINT "
        "+ (1099511627775 - _row)::HUGEINT"
    )
    return f"arg_max({col}, {key}) FILTER ({col} IS NOT NULL)"


def q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def group_fix(reason: str) -> str:
    """How to fix an order whose lines do not fit together."""
    fixes = []
    if "disagree on" in reason:
        fixes.append(
            "lines with the same order_id are one order, so give them the same value (for "
            "order_date: the same day), or give lines of different orders different ids"
        )
    if "is empty" in reason:
        fixes.append("fill it in on at least one line of the order")
    if "too large" in reason:
        fixes.append("correct the amounts (are they in cents?)")
    if "more than its revenue" in reason:
        fixes.append(
            "correct refund_amount (at most the revenue), or import the return as an order of "
            "its own made of negative lines (a credit note)"
        )
    return "; ".join(fixes)


def guest_totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int, Decimal, Decimal]:
    """Guest rows, guest orders, their net revenue, and the customers' net revenue.

    Net revenue is the sum of the lines' amounts (sales minus returns) of the
    imported orders.  Summed by :func:`order_groups` in its one pass over the orders.
    """
    row = con.execute(
        f"SELECT _guest_rows, _guest_orders, _guest_net, _customer_net FROM {TOTALS}"
    ).fetchone()
    if not row:
        return 0, 0, Decimal(0), Decimal(0)
    return int(row[0] or 0), int(row[1] or 0), Decimal(row[2] or 0), Decimal(row[3] or 0)


def mixed_times(con: duckdb.DuckDBPyConnection) -> int:
    """Imported orders whose lines had different times on the same day."""
    row = con.execute(f"SELECT _mixed FROM {TOTALS}").fetchone()
    return int(row[0] or 0) if row else 0


def _totals_sql(*, probe: bool = False) -> str:
    """One pass over the orders: failing orders, guest and customer totals, mixed times.

    ``probe`` (orders read as one line each): also the orders, their ids' distinct
    64-bit hashes (as many as orders: no id repeats) and the invalid rows that count.
    """

    def net(where: str) -> str:
        where = f"_ok AND {where}"
        return f"coalesce(sum(_pos) FILTER ({where}), 0) - coalesce(sum(_ret) FILTER ({where}), 0)"

    guest, cust = "customer_id IS NULL", "customer_id IS NOT NULL"
    return (
        f"CREATE TEMP TABLE {TOTALS} AS SELECT "
        "count(*) FILTER (_reason <> '' AND NOT _skip) AS _failing_orders, "
        f"coalesce(sum(_n) FILTER (_ok AND {guest}), 0) AS _guest_rows, "
        f"count(*) FILTER (_ok AND {guest}) AS _guest_orders, "
        f"{net(guest)} AS _guest_net, {net(cust)} AS _customer_net, "
        'count(*) FILTER (_ok AND "order_date" <> "order_date__max") AS _mixed, '
        "count(*) FILTER (_ok IS NOT TRUE) AS _not_ok"
        + (
            ", count(*) AS _ids, count(DISTINCT hash(order_id)) AS _distinct_ids, "
            "count(*) FILTER (_has_bad AND NOT _skip) AS _bad_rows"
            if probe
            else ""
        )
        + f" FROM {GROUPS}"
    )


def probe_single(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    specs: Mapping[str, FieldSpec],
    codes: list[str],
    *,
    rows: int,
) -> tuple[bool, bool]:
    """One pass over the rows read as one-line orders: (no id repeats, no invalid row).

    The pass also sums what :func:`order_groups` needs of one-line orders (its
    ``counted``), so a file of orders is read once before it is written.  Every
    order id is on one row when no two ids have the same 64-bit hash (a collision
    only sends the file down the grouping path, which is right for any file).  No
    row is invalid when each of the ``rows`` rows has an id, and no row that is
    not skipped has an error code.
    """
    order_totals(con, plan, specs, codes, single=True, probe=True)
    row = con.execute(f"SELECT _ids, _distinct_ids, _bad_rows FROM {TOTALS}").fetchone()
    ids, distinct, bad = (int(v or 0) for v in row) if row else (0, -1, 1)
    return ids == distinct, ids == rows and bad == 0


def order_totals(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    specs: Mapping[str, FieldSpec],
    codes: list[str],
    *,
    single: bool,
    probe: bool = False,
) -> None:
    """Create the orders (``_rg_ord``, a view of the rows when ``single``) and their totals."""
    # (Those of probe_single, when the rows turned out to be grouped after all.)
    con.execute(f"DROP VIEW IF EXISTS {GROUPS}")
    con.execute(f"DROP TABLE IF EXISTS {TOTALS}")
    con.execute(_groups_sql(plan, specs, codes, single=single))
    con.execute(_totals_sql(probe=probe))


def _money(specs: Mapping[str, FieldSpec]) -> tuple[str, str]:
    """SQL of an order's revenue and refund_amount, over its aggregated lines."""
    revenue = (
        "coalesce(revenue, _pos, 0)"
        if "revenue" in specs and specs["revenue"].order_level
        else "coalesce(_pos, 0)"
    )
    if amountless(specs):
        revenue = "NULL"  # unknown, never 0 or 1
    given = '"refund_amount"' if "refund_amount" in specs else "NULL"
    refund = (
        f"CASE WHEN {given} IS NULL AND _ret IS NULL THEN NULL "
        f"ELSE coalesce({given}, 0) + coalesce(_ret, 0) END"
    )
    return revenue, refund


def _agreeing(specs: Mapping[str, FieldSpec]) -> list[str]:
    """The fields that must agree between the lines of an order."""
    agree = [n for n in ORDER_FIELDS if n in specs]
    return agree + [
        n for n in ("revenue", "discount", "refund_amount") if n in specs and specs[n].order_level
    ]


def _inner_sql(specs: Mapping[str, FieldSpec], codes: list[str], *, single: bool) -> str:
    """One row per order id: its lines aggregated, or, ``single``, its one line."""
    any_bad = " OR ".join(f"{c} IS NOT NULL" for c in codes) or "false"
    agree = _agreeing(specs)
    sold = "(_amount >= 0 OR _amount IS NULL)"
    # Each item: (the aggregate over an order's lines, the same for a one-line order).
    items = [
        ("bool_or(_skip)", "_skip", "_skip"),
        ("min(_row)", "_row", "_first"),
        ("count(*)", "1", "_n"),
        ("max(_row) - min(_row) + 1 = count(*)", "true", "_contiguous"),
        (f"bool_or({any_bad})", f"({any_bad})", "_has_bad"),
        ("sum(_amount) FILTER (_amount >= 0)", "CASE WHEN _amount >= 0 THEN _amount END", "_pos"),
        ("sum(-_amount) FILTER (_amount < 0)", "CASE WHEN _amount < 0 THEN -_amount END", "_ret"),
        (f"count(*) FILTER {sold}", f"CASE WHEN {sold} THEN 1 ELSE 0 END", "_npos"),
    ]
    for n in agree:
        items += [(f'min("{n}")', f'"{n}"', n), (f'max("{n}")', f'"{n}"', f"{n}__max")]
    for n in ("cost", "discount", "refund_amount"):
        if n in specs and not specs[n].order_level:
            items.append((f'sum("{n}")', f'"{n}"', n))
    if "quantity" in specs:
        items.append(
            (f"sum(quantity) FILTER {sold}", f"CASE WHEN {sold} THEN quantity END", "quantity")
        )
    if "unit_price" in specs:
        items.append(
            ("CASE WHEN count(*) = 1 THEN min(unit_price) END", "unit_price", "unit_price")
        )
    for n in ("product", "category"):
        if n in specs:
            items.append((_largest(n), f'"{n}"', n))
    for n in ("email", "name"):
        if n in specs:
            items.append((f'arg_min("{n}", _row) FILTER ("{n}" IS NOT NULL)', f'"{n}"', f"_{n}"))
    line_fields = [n for n in LINE_FIELDS if n in specs]
    if single:
        # Every order is one line: no grouping, and its line rides along (``__l_*``).
        items += [(f'"{n}"', f'"{n}"', f"__l_{n}") for n in (*line_fields, "_amount")]
        return (
            f"SELECT order_id, {', '.join(f'{r} AS {q(a)}' for _, r, a in items)} "
            "FROM _rg_typed WHERE order_id IS NOT NULL"
        )
    return (
        f"SELECT order_id, {', '.join(f'{g} AS {q(a)}' for g, _, a in items)} "
        "FROM _rg_typed WHERE order_id IS NOT NULL GROUP BY order_id"
    )


def _groups_sql(
    plan: Plan, specs: Mapping[str, FieldSpec], codes: list[str], *, single: bool
) -> str:
    """``CREATE`` the orders with their problems (``_ok``, ``_reason``)."""
    revenue, refund = _money(specs)
    # (condition, reason) of each group problem; the reason text is built only for
    # the orders that have one.
    reasons: list[tuple[str, str]] = []
    for n in [] if single else _agreeing(specs):  # one line always agrees with itself
        # Lines of one order stamped minutes apart on the same day are one order at
        # its earliest line's time; different days are a true disagreement.
        differ = (
            'CAST("order_date" AS DATE) <> CAST("order_date__max" AS DATE)'
            if n == "order_date"
            else f'"{n}" <> "{n}__max"'
        )
        reasons.append(
            (
                differ,
                f'{sql_str(f"its lines disagree on {n}: ")} || \'"\' || CAST("{n}" AS VARCHAR)'
                f' || \'" and "\' || CAST("{n}__max" AS VARCHAR) || \'"\'',
            )
        )
    for n in ("order_date",):  # no customer: a guest order, kept apart
        label = specs[n].source.label if n in specs else n
        present = f'"{n}"' if n in specs else "NULL"
        empty = sql_str(f'column "{label}" ({n}) is empty')
        reasons.append(
            (
                f"{present} IS NULL",
                f"{empty} || CASE WHEN _n > 1 THEN ' on every line of the order' ELSE '' END",
            )
        )
    big = [revenue, refund] + (['"cost"'] if "cost" in specs else [])
    # Compared as decimals: as a double the documented maximum rounds up to 10^16.
    too_big = " OR ".join(f"abs({b}) > {MAX_MONEY_TEXT}::DECIMAL(38,2)" for b in big)
    reasons.append((too_big, "'its total is too large (at most 9,999,999,999,999,999.99)'"))
    # A refund above what was paid (an order with sales; a credit note has revenue 0).
    reasons.append(
        (
            f"{revenue} > 0 AND {refund} > {revenue}",
            f"'its refund_amount \"' || CAST(CAST({refund} AS {MONEY}) AS VARCHAR) || "
            f"'\" is more than its revenue \"' || CAST(CAST({revenue} AS {MONEY}) AS VARCHAR) "
            "|| '\"'",
        )
    )
    failing = " OR ".join(f"coalesce({c}, false)" for c, _ in reasons)
    texts = ", ".join(f"CASE WHEN {c} THEN {t} END" for c, t in reasons)
    # One-line orders: a view, so the orders stream from _rg_typed to their tables.
    return (
        f"CREATE TEMP {'VIEW' if single else 'TABLE'} {GROUPS} AS SELECT *, NOT _skip AND "
        "NOT _has_bad AND NOT _failing AS _ok, CASE WHEN _has_bad OR NOT _failing THEN '' "
        f"ELSE concat_ws('; ', {texts}) END AS _reason FROM (SELECT *, ({failing}) AS _failing "
        f"FROM ({_inner_sql(specs, codes, single=single)}))"
    )


def order_groups(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    specs: Mapping[str, FieldSpec],
    codes: list[str],
    *,
    single: bool = False,
    counted: bool = False,
) -> tuple[list[Problem], int]:
    """Group lines into orders; add group problems to ``_rg_bad``.

    ``single``: every order id is on one row, so an order is its line and nothing is
    grouped; the orders and lines are then views over ``_rg_typed``.  ``counted``:
    :func:`probe_single` made the one-line orders and their totals.

    Returns the first group problems and the number of rows left out because
    their order was skipped by a preset rule.  Creates ``_rg_out`` (orders) and
    ``_rg_lines_out`` (their lines) from the orders that have no problem.
    """
    revenue, refund = _money(specs)
    if not (counted and single):  # (else probe_single made them)
        order_totals(con, plan, specs, codes, single=single)
    # One pass counts the failing orders and sums the totals the summary shows; the
    # failing orders are listed, and their lines go to _rg_bad, only when there are
    # some (usually there are none, and those passes over every order are not needed).
    n_failing = con.execute(f"SELECT _failing_orders, _not_ok FROM {TOTALS}").fetchone()
    if single and n_failing and not n_failing[1]:
        # Every order is fine: the orders and lines that stream to their tables need
        # none of the error codes and problem texts (nor, from a Parquet file read
        # again, the typing that computes them).
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {GROUPS} AS SELECT *, false AS _failing, true AS _ok, "
            f"'' AS _reason FROM ({_inner_sql(specs, codes, single=True)})"
        )
    problems = [
        Problem(int(first), what=str(reason), order=str(oid), fix=group_fix(str(reason)))
        for first, oid, reason in (
            con.execute(
                f"SELECT _first, order_id, _reason FROM {GROUPS} WHERE _reason <> '' "
                f"AND NOT _skip ORDER BY _first LIMIT {MAX_PROBLEMS}"
            ).fetchall()
            if n_failing and n_failing[0]
            else []
        )
    ]
    if problems and single:  # the order's one line is its first row
        con.execute(
            f"INSERT INTO {BAD} SELECT _first, 'order \"' || order_id || '\": ' || _reason, "
            f"true FROM {GROUPS} WHERE _reason <> '' AND NOT _skip "
            f"AND _first NOT IN (SELECT _row FROM {BAD})"
        )
    elif problems:
        con.execute(
            f"INSERT INTO {BAD} SELECT t._row, 'order \"' || o.order_id || '\": ' || o._reason, "
            f"true FROM _rg_typed t JOIN {GROUPS} o ON t.order_id = o.order_id "
            f"WHERE o._reason <> '' AND NOT o._skip AND t._row NOT IN (SELECT _row FROM {BAD})"
        )
    if not single:
        con.execute(
            f"INSERT INTO {BAD} SELECT t._row, 'another line of order \"' || o.order_id || "
            f"'\" is invalid', false FROM _rg_typed t JOIN {GROUPS} o ON t.order_id = o.order_id "
            f"WHERE o._has_bad AND NOT o._skip AND t._row NOT IN (SELECT _row FROM {BAD})"
        )
    kind = '"kind"' if "kind" in specs else "NULL"
    status = '"status"' if "status" in specs else "NULL"
    refund_date = '"refund_date"' if "refund_date" in specs else "NULL"
    cols = {
        "order_id": "order_id",
        "customer_id": "customer_id",
        "order_date": "order_date",
        "revenue": f"CAST({revenue} AS {MONEY})",
        "cost": f'CAST("cost" AS {MONEY})' if "cost" in specs else "NULL",
        "quantity": '"quantity"' if "quantity" in specs else "NULL",
        "unit_price": "unit_price" if "unit_price" in specs else "NULL",
        "product": '"product"' if "product" in specs else "NULL",
        "category": '"category"' if "category" in specs else "NULL",
        "kind": f"coalesce({kind}, 'one-off')",
        "discount": f'CAST("discount" AS {MONEY})' if "discount" in specs else "NULL",
        "status": (
            f"CASE WHEN _npos = 0 AND coalesce({status}, '') <> 'cancelled' THEN 'refunded' "
            f"ELSE coalesce({status}, 'paid') END"
        ),
        "refund_amount": f"CAST({refund} AS {MONEY})",
        "refund_date": (
            f"coalesce({refund_date}, CASE WHEN _ret > 0 THEN CAST(order_date AS DATE) END)"
        ),
        "_email": '"_email"' if "email" in specs else "NULL",
        "_name": '"_name"' if "name" in specs else "NULL",
    }
    select = ", ".join(f'{expr} AS "{name}"' for name, expr in cols.items())
    kind_ = "VIEW" if single else "TABLE"
    con.execute(
        f"CREATE TEMP {kind_} {OUT} AS SELECT {select} FROM {GROUPS} "
        "WHERE _ok AND customer_id IS NOT NULL"
    )
    guest = ", ".join(
        f'{expr} AS "{name}"' for name, expr in cols.items() if name in GUEST_ORDERS.column_names
    )
    con.execute(
        f"CREATE TEMP {kind_} {GUESTS_OUT} AS SELECT {guest} FROM {GROUPS} "
        "WHERE _ok AND customer_id IS NULL"
    )
    # Guest orders keep no lines; nor does a log without amounts (a line is an amount).
    customer_ok = "o._ok AND o.customer_id IS NOT NULL"
    if amountless(specs):
        customer_ok = "false"
    if single:
        lines = ", ".join(
            f'"__l_{n}" AS {n}' if n in specs else f"NULL AS {n}" for n in LINE_FIELDS
        )
        con.execute(
            f"CREATE TEMP VIEW {LINES_OUT} AS SELECT order_id, CAST(1 AS INTEGER) AS line_no, "
            f'{lines}, "__l__amount" AS revenue FROM {GROUPS} o WHERE {customer_ok}'
        )
        row = con.execute("SELECT count(*) FROM _rg_typed WHERE _skip").fetchone()
        return problems, int(row[0]) if row else 0
    line_cols = ", ".join(f"t.{n}" if n in specs else f"NULL AS {n}" for n in LINE_FIELDS)
    # Lines of an order usually follow each other: their number is then the
    # distance from the order's first row, with no sort.  A view: the lines stream
    # from the typed rows into order_lines, never held a second time.
    con.execute(
        f"CREATE TEMP VIEW {LINES_OUT} AS SELECT t.order_id, CAST(t._row - o._first + 1 AS "
        f"INTEGER) AS line_no, {line_cols}, t._amount AS revenue FROM _rg_typed t JOIN "
        f"{GROUPS} o ON t.order_id = o.order_id WHERE o._contiguous AND {customer_ok} "
        f"UNION ALL SELECT t.order_id, CAST(row_number() OVER (PARTITION BY t.order_id "
        f"ORDER BY t._row) AS INTEGER), {line_cols}, t._amount FROM _rg_typed t JOIN "
        f"{GROUPS} o ON t.order_id = o.order_id WHERE NOT o._contiguous AND {customer_ok}"
    )
    row = con.execute(
        f"SELECT count(*) FROM _rg_typed t WHERE t._skip OR t.order_id IN "
        f"(SELECT order_id FROM {GROUPS} WHERE _skip)"
    ).fetchone()
    return problems, int(row[0]) if row else 0
