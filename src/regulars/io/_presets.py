"""Column maps for the exports people already have (``--preset NAME``).

Presets are plain data.  For each table a preset covers it gives:

``map``
    contract field -> source columns, in order of preference.  Every listed column
    that exists in the file is used, and the first non-empty value of a row wins,
    so one preset reads several variants of an export (Stripe renamed
    ``Created (UTC)`` to ``Created date (UTC)``; payments say ``Customer ID``,
    invoices ``Customer``).
``values``
    contract field -> {source value (lower case): contract value}.  :data:`SKIP`
    leaves the row out (for example failed payments or draft invoices); the import
    reports how many rows were left out and why.
``skip``
    source column -> values (lower case) whose rows are left out.
``order_level``
    order fields given once per order (on its first line) rather than per line:
    they must agree between the lines of an order instead of being summed.
``generate_order_id``
    the file has no order id: each row is one order, identified by these fields
    plus the row's position among the rows with the same values.
``date_format``
    strftime format of every date column (overridden by ``--date-format``).

A preset may also name a ``reader`` (``whitespace`` for the CDNOW files) and the
``columns`` such a headerless file has, keyed by the number of fields per line.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["PRESETS", "SKIP", "Preset", "TablePreset"]

SKIP = "<skip>"


class TablePreset(TypedDict, total=False):
    map: dict[str, tuple[str, ...]]
    values: dict[str, dict[str, str]]
    skip: dict[str, tuple[str, ...]]
    order_level: tuple[str, ...]
    generate_order_id: tuple[str, ...]
    date_format: str


class Preset(TypedDict, total=False):
    description: str
    reader: str
    columns: dict[int, tuple[str, ...]]
    tables: dict[str, TablePreset]


_STRIPE_CREATED = ("Created date (UTC)", "Created (UTC)", "Created")

PRESETS: dict[str, Preset] = {
    "stripe": {
        "description": (
            "Stripe Dashboard exports: Payments (unified payments or charges), "
            "Invoices, Customers and Subscriptions. Amounts are in major units "
            "(12.00, not 1200), as the Dashboard exports them."
        ),
        "tables": {
            "orders": {
                "map": {
                    # Payments: id = ch_/py_/pi_...; invoices: id = in_...
                    "order_id": ("id",),
                    # Payments: "Customer ID"; invoices: "Customer".  Guest payments
                    # without a Stripe customer fall back to the email.
                    "customer_id": ("Customer ID", "Customer", "Customer Email"),
                    "order_date": (*_STRIPE_CREATED, "Date (UTC)", "Date"),
                    # Invoices: what was paid; payments: the charged amount.
                    "revenue": ("Amount Paid", "Amount"),
                    "refund_amount": ("Amount Refunded",),
                    "discount": ("Discount",),
                    "status": ("Status",),
                    "product": ("Description",),
                    "email": ("Customer Email",),
                    "name": ("Customer Name", "Customer Description"),
                },
                "values": {
                    "status": {
                        "paid": "paid",
                        "succeeded": "paid",
                        "partially refunded": "paid",
                        "partially_refunded": "paid",
                        "refunded": "refunded",
                        "void": "cancelled",
                        "uncollectible": "cancelled",
                        "canceled": "cancelled",
                        "cancelled": "cancelled",
                        "disputed": "paid",
                        "failed": SKIP,
                        "incomplete": SKIP,
                        "requires_payment_method": SKIP,
                        "pending": SKIP,
                        "draft": SKIP,
                        "open": SKIP,
                        "blocked": SKIP,
                    }
                },
                # Test-mode payments are not business.
                "skip": {"Mode": ("test",)},
            },
            "customers": {
                "map": {
                    "customer_id": ("id",),
                    "name": ("Name", "Description"),
                    "email": ("Email",),
                    "phone": ("Phone",),
                    "acquired_at": _STRIPE_CREATED,
                }
            },
            "subscriptions": {
                "map": {
                    "subscription_id": ("id",),
                    "customer_id": ("Customer ID", "Customer", "Customer Email"),
                    "plan": ("Plan", "Product", "Price ID", "Plan ID"),
                    "start_date": ("Start Date (UTC)", "Start (UTC)", *_STRIPE_CREATED),
                    "end_date": ("Ended At (UTC)",),
                    "cancel_date": ("Canceled At (UTC)", "Cancel At (UTC)"),
                    "price": ("Amount", "Price"),
                    "billing_period": ("Interval",),
                },
                "values": {
                    "billing_period": {
                        "week": "week",
                        "month": "month",
                        "year": "year",
                        "quarter": "quarter",
                    }
                },
            },
        },
    },
    "shopify": {
        "description": (
            "Shopify orders export (Orders > Export, CSV for Excel or plain CSV). "
            "One row per line item; order totals are on the first row of each order."
        ),
        "tables": {
            "orders": {
                "map": {
                    "order_id": ("Name",),
                    "customer_id": ("Email", "Billing Phone", "Billing Name"),
                    "order_date": ("Created at",),
                    # Subtotal: the line items after discounts, without shipping and taxes.
                    "revenue": ("Subtotal",),
                    "discount": ("Discount Amount",),
                    "refund_amount": ("Refunded Amount",),
                    "status": ("Financial Status",),
                    "quantity": ("Lineitem quantity",),
                    "unit_price": ("Lineitem price",),
                    "product": ("Lineitem name",),
                    "category": ("Vendor",),
                    "email": ("Email",),
                    "name": ("Billing Name", "Shipping Name"),
                },
                "order_level": ("revenue", "discount", "refund_amount"),
                "values": {
                    "status": {
                        "paid": "paid",
                        "partially_paid": "paid",
                        "partially paid": "paid",
                        "partially_refunded": "paid",
                        "partially refunded": "paid",
                        "refunded": "refunded",
                        "voided": "cancelled",
                        "pending": SKIP,
                        "authorized": SKIP,
                        "expired": SKIP,
                        "unpaid": SKIP,
                    }
                },
            },
            "customers": {
                "map": {
                    "customer_id": ("Email", "Customer ID", "Phone"),
                    "email": ("Email",),
                    "phone": ("Phone", "Default Address Phone"),
                    "segment": ("Tags",),
                }
            },
        },
    },
    "cdnow": {
        "description": (
            "The CDNOW transaction files of Fader & Hardie: whitespace-separated "
            "customer_id, date (YYYYMMDD), number of CDs, dollar value. The master file "
            "has 4 columns (with or without a header line), the 1/10 sample 5 "
            "(master id, sample id, date, CDs, dollars). Each row is one order; rows "
            "repeated on the same day are separate orders and are kept."
        ),
        "reader": "whitespace",
        "columns": {
            4: ("customer_id", "date", "number_of_cds", "dollar_value"),
            5: ("master_id", "sample_id", "date", "cds", "dollars"),
        },
        "tables": {
            "orders": {
                "map": {
                    "customer_id": ("customer_id", "master_id"),
                    "order_date": ("date",),
                    "quantity": ("number_of_cds", "cds"),
                    "revenue": ("dollar_value", "dollars"),
                },
                "generate_order_id": ("customer_id", "order_date"),
                "date_format": "%Y%m%d",
            }
        },
    },
}
