"""The data contract: every table regulars keeps, its columns, types and keys.

Field names are part of the public contract: the CLI, the Python API and the
importers use them as they are written here.  ``docs/data.md`` documents the same
tables for users; ``tests/test_schema.py`` checks that the two agree.

Money is stored as ``DECIMAL(18, 2)`` so that sums are exact to the cent.  Timestamps
are naive local business time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "BILLING_PERIODS",
    "CHANNEL_KINDS",
    "GUEST_ORDERS",
    "MONEY",
    "ORDER_KINDS",
    "ORDER_STATUSES",
    "TABLES",
    "TOUCH_KINDS",
    "Column",
    "Table",
    "create_table_sql",
    "table",
]

MONEY = "DECIMAL(18,2)"

CHANNEL_KINDS = ("referral", "cold", "organic", "partner", "other")
ORDER_KINDS = ("one-off", "subscription", "package")
ORDER_STATUSES = ("paid", "refunded", "cancelled")
TOUCH_KINDS = ("call", "email", "meeting", "idea", "gift", "other")
BILLING_PERIODS = ("week", "month", "quarter", "year")


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    ``type`` is a DuckDB type name.  ``choices`` restricts a text column to a set of
    values (checked on import).  ``example`` is shown in the docs and in error hints.
    """

    name: str
    type: str
    required: bool = False
    description: str = ""
    example: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """One table: its columns and its natural key (the primary key)."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    importable: bool = True
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        from regulars.errors import SchemaError

        raise SchemaError(
            f"Table {self.name!r} has no column {name!r}. "
            f"Its columns are: {', '.join(self.column_names)}."
        )


def _c(
    name: str,
    type_: str,
    required: bool = False,
    description: str = "",
    example: str = "",
    choices: tuple[str, ...] = (),
) -> Column:
    return Column(name, type_, required, description, example, choices)


CUSTOMERS = Table(
    "customers",
    "One row per customer. Customers that appear only in orders are created automatically.",
    (
        _c("customer_id", "VARCHAR", True, "Your id for the customer (any text).", "C-1042"),
        _c("name", "VARCHAR", False, "Display name.", "Ada Studio Ltd"),
        _c("email", "VARCHAR", False, "Contact email.", "ada@example.com"),
        _c("phone", "VARCHAR", False, "Contact phone.", "+386 1 234 5678"),
        _c(
            "acquired_at",
            "DATE",
            False,
            "When the customer was won. Defaults to the date of the first order.",
            "2024-03-15",
        ),
        _c(
            "channel",
            "VARCHAR",
            False,
            "Acquisition channel name; regulars.toml maps names to kinds "
            "(referral, cold, organic, partner, other).",
            "google-ads",
        ),
        _c(
            "referred_by",
            "VARCHAR",
            False,
            "customer_id of the customer who referred this one.",
            "C-0007",
        ),
        _c("segment", "VARCHAR", False, "Free segment label.", "smb"),
        _c(
            "attributes",
            "JSON",
            False,
            "Free-form attributes as a JSON object.",
            '{"city": "Ljubljana"}',
        ),
    ),
    key=("customer_id",),
)

ORDERS = Table(
    "orders",
    "One row per order (line-item files are summed per order on import).",
    (
        _c("order_id", "VARCHAR", True, "Your id for the order or invoice.", "INV-2024-0031"),
        _c("customer_id", "VARCHAR", True, "Who bought.", "C-1042"),
        _c("order_date", "TIMESTAMP", True, "Date or timestamp of the order.", "2024-03-15"),
        _c(
            "revenue",
            MONEY,
            False,
            "Amount paid, before refunds, in the workspace currency. "
            "Computed as quantity × unit_price when only those are given. "
            "Empty (unknown, never 0) for a log without amounts.",
            "1200.00",
        ),
        _c(
            "cost",
            MONEY,
            False,
            "Direct cost. profit = revenue − cost; without it the configured margin is used.",
            "700.00",
        ),
        _c("quantity", "DOUBLE", False, "Units (summed over the order's lines).", "2"),
        _c("unit_price", MONEY, False, "Price of one unit (single-line orders).", "600.00"),
        _c(
            "product",
            "VARCHAR",
            False,
            "Product or service (of the order's largest line).",
            "website-redesign",
        ),
        _c("category", "VARCHAR", False, "Product or service category.", "web"),
        _c(
            "kind",
            "VARCHAR",
            False,
            "one-off, subscription or package (default one-off).",
            "package",
            ORDER_KINDS,
        ),
        _c("discount", MONEY, False, "Discount given on the order, in money.", "120.00"),
        _c(
            "status",
            "VARCHAR",
            False,
            "paid, refunded or cancelled (default paid).",
            "paid",
            ORDER_STATUSES,
        ),
        _c("refund_amount", MONEY, False, "Money returned (negative lines count here).", "0.00"),
        _c("refund_date", "DATE", False, "When the money was returned.", "2024-04-02"),
    ),
    key=("order_id",),
)

ORDER_LINES = Table(
    "order_lines",
    "The lines of each order as imported (product detail for line-item files).",
    (
        _c("order_id", "VARCHAR", True, "The order the line belongs to.", "INV-2024-0031"),
        _c("line_no", "INTEGER", True, "1-based position of the line in its order.", "1"),
        _c("product", "VARCHAR", False, "Product or service.", "logo-design"),
        _c("category", "VARCHAR", False, "Category.", "design"),
        _c("quantity", "DOUBLE", False, "Units (negative for returns).", "1"),
        _c("unit_price", MONEY, False, "Price of one unit.", "600.00"),
        _c("revenue", MONEY, True, "Line amount (negative for returns).", "600.00"),
    ),
    key=("order_id", "line_no"),
    importable=False,
)

GUEST_ORDERS = Table(
    "guest_orders",
    "Orders without a customer (guest checkouts), kept apart from the customer book: "
    "no customer analytics, model or action reads them. Same columns as orders, "
    "without customer_id.",
    tuple(c for c in ORDERS.columns if c.name != "customer_id"),
    key=("order_id",),
    importable=False,
)

SUBSCRIPTIONS = Table(
    "subscriptions",
    "Recurring contracts. Revenue itself is imported as orders (kind = subscription).",
    (
        _c("subscription_id", "VARCHAR", True, "Your id for the subscription.", "SUB-88"),
        _c("customer_id", "VARCHAR", True, "The subscriber.", "C-1042"),
        _c("plan", "VARCHAR", False, "Plan name.", "bookkeeping-basic"),
        _c("start_date", "DATE", True, "First day of the first paid period.", "2024-01-01"),
        _c(
            "end_date",
            "DATE",
            False,
            "Last day of the last paid period (empty while active).",
            "2024-12-31",
        ),
        _c("cancel_date", "DATE", False, "When the customer cancelled.", "2024-11-20"),
        _c("price", MONEY, True, "Price per billing period.", "150.00"),
        _c(
            "billing_period",
            "VARCHAR",
            True,
            "week, month, quarter or year.",
            "month",
            BILLING_PERIODS,
        ),
    ),
    key=("subscription_id",),
)

TOUCHES = Table(
    "touches",
    "Contacts with a customer: calls, emails, meetings, ideas sent, gifts.",
    (
        _c(
            "touch_id",
            "VARCHAR",
            True,
            "Id of the touch; when missing on import it is derived from customer, time and kind.",
            "T-5531",
        ),
        _c("customer_id", "VARCHAR", True, "Who was touched.", "C-1042"),
        _c("touched_at", "TIMESTAMP", True, "When.", "2024-05-02 10:30"),
        _c(
            "kind",
            "VARCHAR",
            True,
            "call, email, meeting, idea, gift or other.",
            "idea",
            TOUCH_KINDS,
        ),
        _c("note", "VARCHAR", False, "What happened.", "Sent a note on the new VAT rules"),
        _c("outcome", "VARCHAR", False, "What came of it.", "asked for a quote"),
    ),
    key=("touch_id",),
)

SPEND = Table(
    "spend",
    "Marketing and retention spend per channel and period.",
    (
        _c("channel", "VARCHAR", True, "Channel name (as in customers.channel).", "google-ads"),
        _c("period_start", "DATE", True, "First day the spend covers.", "2024-03-01"),
        _c("period_end", "DATE", True, "Last day the spend covers.", "2024-03-31"),
        _c("amount", MONEY, True, "Money spent.", "1500.00"),
    ),
    key=("channel", "period_start", "period_end"),
)

FEEDBACK = Table(
    "feedback",
    "Satisfaction scores (NPS, CSAT...).",
    (
        _c("customer_id", "VARCHAR", True, "Who answered.", "C-1042"),
        _c("feedback_date", "DATE", True, "When.", "2024-06-01"),
        _c("score", "DOUBLE", True, "The score (for example 0-10).", "9"),
        _c("comment", "VARCHAR", False, "Free text.", "Always on time."),
    ),
    key=("customer_id", "feedback_date"),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (CUSTOMERS, ORDERS, ORDER_LINES, SUBSCRIPTIONS, TOUCHES, SPEND, FEEDBACK)
}


def table(name: str) -> Table:
    """Return the contract of table ``name``; a clear error lists the valid names."""
    try:
        return TABLES[name]
    except KeyError:
        from regulars.errors import SchemaError

        raise SchemaError(
            f"Unknown table {name!r}. Valid tables: {', '.join(sorted(TABLES))}."
        ) from None


def create_table_sql(t: Table) -> str:
    """DuckDB ``CREATE TABLE IF NOT EXISTS`` statement for ``t``.

    The natural key is not declared as a PRIMARY KEY: DuckDB keeps such indexes in
    memory, which would make memory grow with the book.  The store enforces keys
    itself when it writes (delete the keys being written, then insert, in one
    transaction).
    """
    cols = [f'"{c.name}" {c.type}' + (" NOT NULL" if c.required else "") for c in t.columns]
    return f'CREATE TABLE IF NOT EXISTS "{t.name}" ({", ".join(cols)})'
