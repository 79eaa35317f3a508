"""Which source column feeds which contract field.

Explicit ``--map field=column`` entries win, then the preset, then columns whose
name equals a field name ignoring case, spaces, dashes and underscores (``Order
Date``, ``order-date``, ``OrderDate`` all match ``order_date``), then the usual
names of real exports (:data:`SYNONYMS`: ``InvoiceNo``, ``CustomerID``,
``UnitPrice``...).  No column feeds two fields.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from regulars.errors import SchemaError
from regulars.io._presets import TablePreset
from regulars.schema import Column, Table

__all__ = [
    "CURRENCY",
    "CURRENCY_TABLES",
    "CUSTOMER_EXTRAS",
    "FieldSource",
    "Plan",
    "normalize",
    "resolve_plan",
    "sql_ident",
]

# Customer fields an orders file may carry; they fill customers created automatically.
CUSTOMER_EXTRAS = ("email", "name")
# A currency column is not stored: its values must be the workspace currency.
CURRENCY = Column("currency", "VARCHAR", description="Currency of the amounts (checked).")
CURRENCY_TABLES = ("orders", "subscriptions", "spend")


def normalize(name: str) -> str:
    """``"  Order Date "`` -> ``"order_date"`` (case, spaces, dashes, underscores)."""
    s = name.replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s_\-]+", "_", s).strip("_")


def sql_ident(name: str) -> str:
    """Quote ``name`` as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _trimmed(col: str) -> str:
    # trim() copies every string; most values need no trimming, so test first.
    return (
        f"nullif(CASE WHEN starts_with({col}, ' ') OR ends_with({col}, ' ') "
        f"THEN trim({col}) ELSE {col} END, '')"
    )


@dataclass(frozen=True)
class FieldSource:
    """The source columns of one field (first non-empty value per row wins)."""

    field: str
    columns: tuple[str, ...]

    @property
    def label(self) -> str:
        return " / ".join(self.columns)

    def raw_sql(self) -> str:
        """SQL for the raw text of the field in a row of the staging table."""
        parts = [_trimmed(sql_ident(c)) for c in self.columns]
        return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


@dataclass
class Plan:
    """The resolved mapping of one import."""

    table: Table
    sources: dict[str, FieldSource]
    ignored: list[str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    skip: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order_level: tuple[str, ...] = ()
    generate_order_id: tuple[str, ...] = ()
    guessed: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.sources


def _fields(table: Table) -> dict[str, Column]:
    cols = {c.name: c for c in table.columns}
    if table.name == "orders":
        from regulars.schema import TABLES

        for extra in CUSTOMER_EXTRAS:
            cols[extra] = TABLES["customers"].column(extra)
    if table.name in CURRENCY_TABLES:
        cols["currency"] = CURRENCY
    return cols


def _quote_list(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) or "(none)"


def _find_column(name: str, columns: Sequence[str]) -> str | None:
    if name in columns:
        return name
    wanted = normalize(name)
    for c in columns:
        if normalize(c) == wanted:
            return c
    return None


def resolve_plan(
    table: Table,
    columns: Sequence[str],
    *,
    file_label: str,
    mapping: Mapping[str, str] | None = None,
    preset: TablePreset | None = None,
    preset_name: str | None = None,
) -> Plan:
    """Map the source ``columns`` onto ``table``'s fields, or raise a clear error."""
    fields = _fields(table)
    sources: dict[str, FieldSource] = {}
    for fname, col in (mapping or {}).items():
        if fname not in fields:
            raise SchemaError(
                f"Unknown field {fname!r} in --map {fname}={col}. "
                f"Fields of {table.name}: {', '.join(fields)}."
            )
        found = _find_column(col, columns)
        if found is None:
            close = difflib.get_close_matches(col, list(columns), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SchemaError(
                f"Column {col!r} (in --map {fname}={col}) not found in {file_label}. "
                f"Existing columns: {_quote_list(columns)}.{hint}"
            )
        sources[fname] = FieldSource(fname, (found,))

    if preset:
        for fname, candidates in preset.get("map", {}).items():
            if fname in sources:
                continue
            present = tuple(
                dict.fromkeys(c for c in (_find_column(x, columns) for x in candidates) if c)
            )
            if present:
                sources[fname] = FieldSource(fname, present)

    guessed = _by_name(table, columns, sources)

    generate = tuple(preset.get("generate_order_id", ())) if preset else ()
    if table.name == "orders" and "order_id" not in sources and not generate:
        # No order id: each row is one order, named by its customer, its date and
        # its position among the rows with both the same (stable on re-import).
        generate = ("customer_id", "order_date")
    missing = [
        c.name
        for c in table.columns
        if c.required and c.name not in sources and not _derivable(table, c.name, sources, generate)
    ]
    if missing:
        taken = {c for s in sources.values() for c in s.columns}
        _raise_missing(table, missing, columns, file_label, preset_name, taken)

    used = {c for s in sources.values() for c in s.columns}
    skip: dict[str, tuple[str, ...]] = {}
    if preset:
        for col, vals in preset.get("skip", {}).items():
            found = _find_column(col, columns)
            if found:
                skip[found] = tuple(vals)
                used.add(found)
    return Plan(
        table=table,
        sources=sources,
        ignored=[c for c in columns if c not in used],
        guessed=guessed,
        values=dict(preset.get("values", {})) if preset else {},
        skip=skip,
        order_level=tuple(preset.get("order_level", ())) if preset else (),
        generate_order_id=generate,
    )


def squash(name: str) -> str:
    """``"Customer ID"``, ``"CustomerID"``, ``"customer_id"`` -> ``"customerid"``."""
    return normalize(name).replace("_", "")


# Usual column names of real exports, per table and field, squashed (no case, spaces,
# dashes or underscores), in order of preference.  A column maps itself to the first
# field that names it, when no --map, preset or exact name took the field or the column.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "orders": {
        "order_id": (
            "invoiceno",
            "invoice",
            "invoicenumber",
            "invoiceid",
            "orderno",
            "ordernumber",
            "order",
            "transactionid",
            "transactionno",
            "receiptno",
            "receiptid",
            "transid",
            "tranid",
            "billno",
            "billnumber",
        ),
        "customer_id": (
            "customerid",
            "customer",
            "cust",
            "customerno",
            "customernumber",
            "custid",
            "clientid",
            "client",
            "clientno",
            "buyerid",
            "memberid",
            "userid",
            "customerkey",
            "accountid",
            "shopperid",
        ),
        "order_date": (
            "invoicedate",
            "orderdate",
            "date",
            "purchasedate",
            "transactiondate",
            "salesdate",
            "saledate",
            "orderedat",
            "purchasedat",
            "datetime",
            "transdate",
            "trandate",
            "transactiondatetime",
            "orderdatetime",
            "invoicedatetime",
            "orderpurchasetimestamp",
            "purchasetimestamp",
        ),
        "revenue": (
            "total",
            "amount",
            "linetotal",
            "totalprice",
            "sales",
            "value",
            "net",
            "tranamount",
            "transamount",
            "transactionamount",
            "ordertotal",
            "totalamount",
            "grandtotal",
            "salesamount",
            "saleamount",
            "purchaseamount",
            "ordervalue",
            "dollarvalue",
            "dollars",
        ),
        "quantity": ("qty", "units", "quantityordered", "numberofitems"),
        "unit_price": ("price", "unitprice", "priceeach", "itemprice", "unitcost"),
        "product": ("description", "productname", "item", "itemname", "stockcode", "sku"),
        "category": ("productcategory", "productgroup"),
        "cost": ("cogs", "costofgoods"),
        "refund_amount": ("refund", "refunded", "amountrefunded"),
        "email": ("email", "emailaddress", "customeremail"),
        "name": ("customername", "clientname"),
    },
    "customers": {
        "customer_id": (
            "customerid",
            "customer",
            "cust",
            "customerno",
            "custid",
            "clientid",
            "client",
        ),
        "name": ("customername", "clientname", "company", "fullname"),
        "email": ("emailaddress",),
        "phone": ("telephone", "phonenumber", "mobile"),
        "acquired_at": ("acquired", "signupdate", "signedup", "createdat", "firstseen"),
        "channel": ("acquisitionchannel", "source"),
        "referred_by": ("referrer", "referredby", "referrerid"),
    },
    "subscriptions": {
        "subscription_id": ("subscription", "subscriptionno", "subid"),
        "customer_id": ("customerid", "customer", "cust", "clientid", "client"),
        "plan": ("planname", "product"),
        "start_date": ("start", "started", "startedat", "startdate"),
        "end_date": ("end", "ended", "endedat"),
        "cancel_date": ("cancelledat", "canceledat", "cancellationdate", "cancelled"),
        "price": ("amount", "planprice"),
        "billing_period": ("interval", "billingcycle", "billinginterval"),
    },
    "touches": {
        "customer_id": ("customerid", "customer", "cust", "clientid", "client"),
        "touched_at": ("date", "datetime", "timestamp", "time", "when"),
        "kind": ("type", "touchtype"),
        "note": ("notes", "comment", "description"),
    },
    "spend": {
        "channel": ("source", "campaign"),
        "period_start": ("start", "from", "startdate"),
        "period_end": ("end", "to", "enddate"),
        "amount": ("spend", "cost", "total"),
    },
    "feedback": {
        "customer_id": ("customerid", "customer", "cust", "clientid", "client"),
        "feedback_date": ("date", "answeredat", "submittedat"),
        "score": ("nps", "rating", "csat"),
        "comment": ("comments", "feedback", "text"),
    },
}


def _by_name(
    table: Table, columns: Sequence[str], sources: dict[str, FieldSource]
) -> dict[str, str]:
    """Map fields to columns by name (exact, then usual synonyms); return the guesses."""
    used = {c for s in sources.values() for c in s.columns}
    by_key: dict[str, str] = {}
    for c in columns:
        by_key.setdefault(squash(c), c)
    names = [*table.column_names, *(["currency"] if table.name in CURRENCY_TABLES else [])]
    for fname in names:  # exact names first, so a synonym never steals one
        col = by_key.get(squash(fname))
        if fname not in sources and col is not None and col not in used:
            sources[fname] = FieldSource(fname, (col,))
            used.add(col)
    guessed: dict[str, str] = {}
    for fname, aliases in SYNONYMS.get(table.name, {}).items():
        if fname in sources:
            continue
        found = tuple(
            dict.fromkeys(by_key[a] for a in aliases if a in by_key and by_key[a] not in used)
        )
        # product: the description, else the code (Description, then StockCode).
        found = found[:2] if fname == "product" else found[:1]
        if found:
            sources[fname] = FieldSource(fname, found)
            used.update(found)
            guessed[fname] = " / ".join(found)
    return guessed


def _derivable(
    table: Table, name: str, sources: Mapping[str, FieldSource], generate: tuple[str, ...]
) -> bool:
    if table.name == "orders" and name == "revenue":
        return "unit_price" in sources
    if table.name == "orders" and name == "order_id":
        return bool(generate)
    return table.name == "touches" and name == "touch_id"


# Usual names of a field in people's files, used only to suggest a --map.
_USUAL = {
    "order_id": (
        "invoice",
        "invoice_no",
        "invoice_number",
        "order",
        "order_no",
        "number",
        "id",
        "ref",
        "reference",
    ),
    "customer_id": ("customer", "client", "client_id", "buyer", "email", "account", "who"),
    "order_date": ("date", "invoice_date", "created", "created_at", "paid_at", "day"),
    "revenue": ("total", "amount", "sum", "net", "gross", "price", "value"),
    "touched_at": ("date", "time", "timestamp", "when"),
    "feedback_date": ("date", "answered_at", "submitted_at"),
    "score": ("nps", "rating", "csat"),
    "amount": ("spend", "cost", "total"),
}


def _suggest(name: str, columns: Sequence[str], taken: set[str]) -> str:
    """The best-matching free column for field ``name`` (never one already used)."""
    pool = {normalize(c): c for c in columns if c not in taken}
    for usual in _USUAL.get(name, ()):
        if usual in pool:
            return pool[usual]
    close = difflib.get_close_matches(name, list(pool), n=1, cutoff=0.5)
    return pool[close[0]] if close else "COLUMN"


def _raise_missing(
    table: Table,
    missing: list[str],
    columns: Sequence[str],
    file_label: str,
    preset_name: str | None,
    taken: set[str],
) -> None:
    hints = []
    taken = set(taken)
    for name in missing:
        example = _suggest(name, columns, taken)
        taken.add(example)
        if " " in example:
            example = f'"{example}"'
        hints.append(f"--map {name}={example}")
    extra = ""
    if table.name == "orders" and "revenue" in missing:
        extra = " (revenue can also come from --map unit_price=COLUMN and --map quantity=COLUMN)"
    via = f" (preset {preset_name!r} did not find it either)" if preset_name else ""
    noun = "field" if len(missing) == 1 else "fields"
    raise SchemaError(
        f"{file_label} has no column for the required {noun} "
        f"{', '.join(repr(m) for m in missing)} of {table.name}{via}. "
        f"Existing columns: {_quote_list(columns)}. "
        f"Map {'it' if len(missing) == 1 else 'them'} with {' '.join(hints)}{extra}."
    )
