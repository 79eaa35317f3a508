"""Output serialisers shared by every surface: JSON, CSV and display cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["MONEY_FLOATS", "cell_text", "json_value", "to_csv", "to_json", "to_records"]

#: Float columns that hold money (Decimal columns always do).
MONEY_FLOATS = frozenset({"cac", "clv", "arpu", "average_revenue", "value_at_stake"})


def json_value(value: Any) -> Any:
    """``value`` as JSON data: Decimal as a number, NaN as null, dates as ISO strings."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def to_records(table: Any) -> list[dict[str, Any]]:
    """The rows of an Arrow table as JSON-ready dicts."""
    return [{k: json_value(v) for k, v in r.items()} for r in table.to_pylist()]


def to_json(table: Any) -> str:
    """The rows as a JSON list of records (money as numbers, dates as ISO strings)."""
    return json.dumps(to_records(table), ensure_ascii=False, indent=2) + "\n"


def _csv_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, Decimal):
        return str(value)  # exact, to the cent
    return json_value(value)


def to_csv(table: Any) -> str:
    """The rows as CSV with a header (money as plain decimals, dates ISO)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    for r in table.to_pylist():
        writer.writerow([_csv_value(v) for v in r.values()])
    return buf.getvalue()


def cell_text(value: Any, column: str, *, currency: str, locale: str) -> str:
    """One value as display text in ``locale``: money with its currency, numbers grouped."""
    from babel.numbers import format_currency, format_decimal

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal) or (isinstance(value, float) and column in MONEY_FLOATS):
        return str(format_currency(value, currency, locale=locale))
    if isinstance(value, int):
        return str(format_decimal(value, locale=locale))
    if isinstance(value, float):
        return str(format_decimal(round(value, 2), format="#,##0.00", locale=locale))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
