"""``ImportResult``: what an import did, and its human summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

__all__ = ["ImportResult", "plural"]


@dataclass
class ImportResult:
    """What an import did.  ``str(result)`` is a short human summary."""

    table: str
    path: Path
    format: str
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    records: int = 0
    new_records: int = 0
    lines: int = 0
    customers_created: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    guest_rows: int = 0
    guest_orders: int = 0
    guest_revenue: Decimal = Decimal(0)
    customer_revenue: Decimal = Decimal(0)
    guests_in_totals: bool = False
    amountless: bool = False
    rejected_path: Path | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        unit = "order" if self.table == "orders" else "record"
        text = (
            f"Imported {self.rows_imported:,} of {plural(self.rows_read, 'row')} from "
            f"{self.path.name} into {self.table}: {plural(self.records, unit)} "
            f"({self.new_records:,} new, {self.records - self.new_records:,} already there)"
        )
        if self.table == "orders":
            text += f", {plural(self.lines, 'order line')}"
        if self.customers_created:
            text += f", {plural(self.customers_created, 'new customer')}"
        parts = [text + f" in {self.seconds:.1f} s."]
        if self.rows_skipped:
            parts.append(f"Left out {plural(self.rows_skipped, 'row')} by the preset's rules.")
        if self.rows_rejected:
            parts.append(
                f"Rejected {plural(self.rows_rejected, 'invalid row')}; see "
                f"{self.rejected_path} for the reason of each."
            )
        if self.ignored_columns:
            cols = ", ".join(repr(c) for c in self.ignored_columns)
            parts.append(
                f"Ignored columns (not mapped to any field): {cols}. "
                "Map one with --map FIELD=COLUMN."
            )
        if self.guest_orders:
            worth = (
                "(no amounts)"
                if self.amountless
                else f"worth {self.guest_revenue:,.2f} net of returns,"
            )
            parts.append(
                f"Kept {plural(self.guest_rows, 'guest row')} without a customer id apart: "
                f"{plural(self.guest_orders, 'guest order')} {worth} in guest_orders, out of "
                "customer analytics."
            )
            if self.amountless:
                pass
            elif self.guests_in_totals:
                total = self.customer_revenue + self.guest_revenue
                parts.append(
                    f"Revenue total: {total:,.2f} net of returns (customers "
                    f"{self.customer_revenue:,.2f} + guests {self.guest_revenue:,.2f}; "
                    'guest_revenue = "include").'
                )
            else:
                parts.append(
                    f"Revenue total: {self.customer_revenue:,.2f} net of returns, customers "
                    'only (guest revenue not counted; set [workspace] guest_revenue = "include" '
                    "or pass --guest-revenue include to count it)."
                )
        parts += self.remarks
        if self.notes:
            parts.append("Detected: " + "; ".join(self.notes) + ".")
        return "\n".join(parts)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
