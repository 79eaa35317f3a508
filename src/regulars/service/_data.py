"""Data in: preview a file with its automatic column mapping, then import it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regulars.errors import SchemaError

if TYPE_CHECKING:
    from regulars.io import ImportResult
    from regulars.store import Workspace

__all__ = ["ImportPreview", "import_data", "preview_file"]

Progress = Callable[[str], None]


@dataclass
class ImportPreview:
    """The first rows of a file and how its columns map onto a table's fields."""

    table: str
    format: str
    columns: list[str]
    rows: list[list[Any]]
    total_rows: int
    mapping: dict[str, str]
    fields: list[dict[str, Any]]
    missing: list[str] = field(default_factory=list)
    problem: str | None = None


def preview_file(
    path: str | Path,
    table: str,
    *,
    mapping: Mapping[str, str] | None = None,
    format: str | None = None,
    sample: int = 20,
) -> ImportPreview:
    """Read ``path`` into a scratch database (not the workspace) and map its columns.

    ``mapping`` (field -> column) overrides the automatic mapping; an empty column
    name unmaps a field.  ``missing`` lists the required fields still without a
    column and ``problem`` says, in the importer's words, what stops the import.
    """
    import duckdb

    from regulars.io._formats import RAW, detect_format, stage_file
    from regulars.io._mapping import resolve_plan
    from regulars.schema import TABLES

    if table not in TABLES or not TABLES[table].importable:
        valid = [n for n, t in TABLES.items() if t.importable]
        raise SchemaError(
            f"Cannot import into {table!r}. Importable tables: {', '.join(valid)}.",
            hint={"field": "table", "value": "orders"},
        )
    t = TABLES[table]
    path = Path(path)
    fmt = detect_format(path, format)
    con = duckdb.connect()
    try:
        with contextlib.ExitStack() as stack:
            staged = stage_file(con, path, fmt, encoding=None, stack=stack)
            columns = list(staged.columns)
            quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            sql = f"SELECT {quoted} FROM {RAW} LIMIT {sample}"
            rows = [list(r) for r in con.execute(sql).fetchall()]
    finally:
        con.close()
    chosen = {k: v for k, v in (mapping or {}).items() if v}
    auto = _guess(t.column_names, columns) | chosen
    for name, col in (mapping or {}).items():
        if not col:  # unmapped on purpose
            auto.pop(name, None)
    problem = None
    try:
        resolve_plan(t, columns, file_label=path.name, mapping=auto)
    except SchemaError as exc:
        problem = str(exc)
    derivable = {"revenue"} if table == "orders" and "unit_price" in auto else set()
    missing = [
        c.name for c in t.columns if c.required and c.name not in auto and c.name not in derivable
    ]
    fields = [
        {"name": c.name, "required": c.required, "description": c.description} for c in t.columns
    ]
    return ImportPreview(
        table=table,
        format=fmt,
        columns=columns,
        rows=rows,
        total_rows=staged.rows,
        mapping=auto,
        fields=fields,
        missing=missing,
        problem=problem,
    )


#: Usual names of a field in people's exports (lower case, letters and digits only).
_USUAL: dict[str, tuple[str, ...]] = {
    "order_id": (
        "orderid",
        "invoiceno",
        "invoice",
        "invoiceid",
        "invoicenumber",
        "orderno",
        "ordernumber",
        "order",
        "number",
        "id",
    ),
    "customer_id": ("customerid", "customer", "clientid", "client", "accountid", "buyer", "email"),
    "order_date": (
        "orderdate",
        "invoicedate",
        "date",
        "createdat",
        "created",
        "paidat",
        "day",
        "timestamp",
    ),
    "revenue": ("revenue", "total", "amount", "net", "gross", "sum", "value"),
    "unit_price": ("unitprice", "price"),
    "quantity": ("quantity", "qty"),
    "product": ("product", "stockcode", "sku", "productid", "item"),
    "touched_at": ("touchedat", "date", "time", "timestamp", "when"),
    "feedback_date": ("feedbackdate", "date", "answeredat", "submittedat"),
    "score": ("score", "nps", "rating", "csat"),
}


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _guess(fields: Sequence[str], columns: Sequence[str]) -> dict[str, str]:
    """Field -> column by name: the field's own name first, then its usual names.

    A column maps at most one field; fields are taken in the table's order.
    """
    by_key: dict[str, str] = {}
    for c in columns:
        by_key.setdefault(_key(c), c)
    used: set[str] = set()
    out: dict[str, str] = {}
    for name in fields:
        for candidate in (_key(name), *_USUAL.get(name, ())):
            col = by_key.get(candidate)
            if col is not None and col not in used:
                out[name] = col
                used.add(col)
                break
    return out


def import_data(
    ws: Workspace,
    table: str,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import ``path`` into ``table``, all or nothing (or skipping invalid rows).

    ``progress`` is called with the name of each step: ``reading``, ``importing``,
    ``done``.
    """
    from regulars.io import import_file

    report = progress or (lambda _step: None)
    report("reading")
    report("importing")
    result = import_file(
        ws, table, path, mapping=dict(mapping or {}) or None, skip_invalid=skip_invalid
    )
    report("done")
    return result
