"""A real-shaped shop export imports with no flags, and its totals match pandas.

The oracle is written from docs/data.md, not from the importer: a line's amount is
Quantity × UnitPrice to the cent; an invoice with a customer on any line is an
order (revenue = its positive lines, refund_amount = its negative lines, date = its
earliest line); an invoice without one is a guest order.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from _io_helpers import rows

from regulars.datasets import simulate_shop_export
from regulars.io import import_file
from regulars.store import Workspace

CENT = Decimal("0.01")


def _oracle(lines: pd.DataFrame, cols: dict[str, str]) -> dict[str, object]:
    df = pd.DataFrame(
        {
            "inv": lines[cols["order_id"]].astype(str),
            "cust": lines[cols["customer_id"]].map(
                lambda v: None if pd.isna(v) or str(v).strip() == "" else str(v).strip()
            ),
            "when": pd.to_datetime(lines["InvoiceDate"]),
            "amount": [
                (Decimal(str(q)) * Decimal(str(p))).quantize(CENT, ROUND_HALF_UP)
                for q, p in zip(lines["Quantity"], lines[cols["unit_price"]], strict=True)
            ],
        }
    )
    df["pos"] = df["amount"].map(lambda a: a if a >= 0 else Decimal(0))
    df["ret"] = df["amount"].map(lambda a: -a if a < 0 else Decimal(0))
    orders = df.groupby("inv").agg(
        cust=("cust", lambda s: s.dropna().iloc[0] if s.notna().any() else None),
        when=("when", "min"),
        pos=("pos", "sum"),
        ret=("ret", "sum"),
        n=("inv", "size"),
    )
    cust = orders[orders["cust"].notna()]
    guest = orders[orders["cust"].isna()]
    return {
        "orders": len(cust),
        "customers": cust["cust"].nunique(),
        "revenue": sum(cust["pos"], Decimal(0)),
        "refunds": sum(cust["ret"], Decimal(0)),
        "first": cust["when"].min(),
        "guest_orders": len(guest),
        "guest_rows": int(guest["n"].sum()),
        "guest_net": sum(guest["pos"], Decimal(0)) - sum(guest["ret"], Decimal(0)),
        "lines": int(cust["n"].sum()),
    }


def _check(ws: Workspace, path: Path, shop_lines: pd.DataFrame, layout: str) -> None:
    cols = (
        {"order_id": "InvoiceNo", "customer_id": "CustomerID", "unit_price": "UnitPrice"}
        if layout == "uci"
        else {"order_id": "Invoice", "customer_id": "Customer ID", "unit_price": "Price"}
    )
    r = import_file(ws, "orders", path)  # no mapping, no flags
    want = _oracle(shop_lines, cols)
    got = rows(
        ws,
        "SELECT count(*), count(DISTINCT customer_id), sum(revenue), "
        "coalesce(sum(refund_amount), 0), min(order_date) FROM orders",
    )[0]
    assert got == (
        want["orders"],
        want["customers"],
        want["revenue"],
        want["refunds"],
        want["first"].to_pydatetime(),
    )
    assert rows(ws, "SELECT count(*) FROM customers") == [(want["customers"],)]
    assert rows(ws, "SELECT count(*) FROM order_lines") == [(want["lines"],)]
    assert (r.guest_orders, r.guest_rows, r.guest_revenue) == (
        want["guest_orders"],
        want["guest_rows"],
        want["guest_net"],
    )
    # Cancellations (C-numbers, only negative lines) are returns: revenue 0.
    assert rows(ws, "SELECT count(*) FROM orders WHERE order_id LIKE 'C%' AND revenue <> 0") == [
        (0,)
    ]
    assert r.rows_rejected == 0
    assert r.rows_imported == len(shop_lines)


@pytest.mark.parametrize("layout", ["uci", "ii"])
def test_a_small_shop_export(ws: Workspace, tmp_path: Path, layout: str) -> None:
    shop = simulate_shop_export(150, seed=3, layout=layout)
    path = shop.to_csv(tmp_path / "shop.csv")
    _check(ws, path, shop.lines, layout)


@pytest.mark.slow
def test_the_full_size_shop_export(ws: Workspace, tmp_path: Path) -> None:
    shop = simulate_shop_export(seed=0)
    assert len(shop.lines) >= 300_000
    path = shop.to_csv(tmp_path / "shop.csv")
    _check(ws, path, shop.lines, "uci")
