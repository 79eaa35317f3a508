"""business_revenue: customers, guest checkouts and the total the setting asks for."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import oracles_periods as periods
import pandas as pd
import pyarrow as pa
import pytest
from _metrics_oracle import assert_frames_equal, pstart, random_book, shuffled

from regulars.config import Config
from regulars.engine import arrow_schema
from regulars.errors import ConfigError
from regulars.metrics import business_revenue, new_vs_returning
from regulars.schema import GUEST_ORDERS

ZERO = Decimal("0.00")


def guest_table(rows: dict[str, list[Any]]) -> pa.Table:
    """``rows`` as a ``guest_orders`` table (money as Decimals, dates as timestamps)."""
    schema = arrow_schema(GUEST_ORDERS)
    n = len(next(iter(rows.values())))
    cols = {}
    for f in schema:
        values = rows.get(f.name, [None] * n)
        if pa.types.is_decimal(f.type):
            values = [None if v is None else Decimal(str(v)) for v in values]
        elif pa.types.is_timestamp(f.type):
            values = [None if v is None else dt.datetime.fromisoformat(str(v)) for v in values]
        cols[f.name] = pa.array(values, type=f.type)
    return pa.table(cols)


def random_guests(seed: int, n: int = 60) -> dict[str, list[Any]]:
    """Guest checkouts with every awkward case: credit notes that name their invoice
    (netted, sometimes a month later), credit notes that name nothing (negative on their
    own day), refunds, over-refunds, cancellations and orders without an amount."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[Any]] = {
        k: [] for k in ("order_id", "order_date", "revenue", "status", "refund_amount")
    }

    def add(oid: str, day: dt.datetime, revenue: Any, status: Any, refund: Any) -> None:
        for k, v in zip(rows, (oid, day, revenue, status, refund), strict=True):
            rows[k].append(v)

    for i in range(n):
        day = dt.datetime(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 700)))
        rev = Decimal(int(rng.integers(1, 30_000))) / 100
        status = str(rng.choice(["paid", "paid", "paid", "refunded", "cancelled"]))
        refund = None
        if status == "refunded" and rng.random() < 0.5:
            refund = (rev * Decimal(str(round(float(rng.uniform(0.2, 1.2)), 2)))).quantize(
                Decimal("0.01")
            )
        if rng.random() < 0.05:
            rev, status = None, "paid"
        add(f"G{i:04d}", day, rev, status, refund)
        if rev is not None and rng.random() < 0.2:  # its credit note, 0-40 days later
            back = (rev / int(rng.integers(1, 4))).quantize(Decimal("0.01"))
            later = day + dt.timedelta(days=int(rng.integers(0, 40)))
            add(f"CG{i:04d}", later, ZERO, "refunded", back)
    for j in range(3):  # credit notes that name no invoice
        day = dt.datetime(2023, 3, 1) + dt.timedelta(days=int(rng.integers(0, 600)))
        add(f"CX{j}", day, ZERO, "refunded", Decimal(int(rng.integers(100, 5000))) / 100)
    return rows


# -- the oracle: plain pandas, written from docs/metrics.md ---------------------------


def _net(df: pd.DataFrame) -> pd.DataFrame:
    """Non-cancelled orders with their own refund (the whole revenue for a refunded
    order without an amount) and net revenue."""
    df = df[df["status"].fillna("paid") != "cancelled"].copy()
    status = df["status"].fillna("paid")
    own = [
        r if r is not None and r == r else (v if s == "refunded" else ZERO)
        for r, v, s in zip(df["refund_amount"], df["revenue"], status, strict=True)
    ]
    df["refund"] = own
    df["day"] = pd.to_datetime(df["order_date"]).dt.date
    df["credit"] = [
        v is not None and v == 0 and r is not None and r > 0
        for v, r in zip(df["revenue"], df["refund"], strict=True)
    ]
    return df


def oracle(inputs: dict[str, pa.Table], period: str, include: bool) -> pd.DataFrame:
    cust = _net(inputs["orders"].to_pandas())
    cust["net"] = [
        None if v is None else v - r for v, r in zip(cust["revenue"], cust["refund"], strict=True)
    ]
    cust["period"] = [pstart(d, period) for d in cust["day"]]
    by_cust = cust.groupby("period")["net"].apply(lambda s: sum((v for v in s if v), ZERO))

    g = _net(inputs["guest_orders"].to_pandas())
    invoices = g[~g["credit"] & g["revenue"].map(lambda v: v is not None and v > 0)]
    invoice_day = dict(zip(invoices["order_id"], invoices["day"], strict=True))
    named = [
        oid[1:] if c and oid.startswith("C") and oid[1:] in invoice_day else None
        for oid, c in zip(g["order_id"], g["credit"], strict=True)
    ]
    g["netted_to"] = named
    # A netted credit note's amount is the invoice's refund, in the invoice's period.
    credited = g[g["netted_to"].notna()].groupby("netted_to")["refund"].sum()
    g["refund"] = [
        r + credited.get(oid, ZERO) if pd.isna(nt) else ZERO
        for oid, r, nt in zip(g["order_id"], g["refund"], g["netted_to"], strict=True)
    ]
    g["net"] = [
        None if v is None else v - r for v, r in zip(g["revenue"], g["refund"], strict=True)
    ]
    g = g[g["netted_to"].isna()]
    g["period"] = [pstart(d, period) for d in g["day"]]
    g["paid"] = [
        not c and (s != "refunded" if v is None else n > 0)
        for c, v, n, s in zip(g["credit"], g["revenue"], g["net"], g["status"], strict=True)
    ]
    by_guest = g.groupby("period")["net"].apply(lambda s: sum((v for v in s if v), ZERO))
    paid_guests = g.groupby("period")["paid"].sum()

    days = list(cust["day"]) + list(g["day"])
    grid = [pstart(min(days), period)]
    while grid[-1] < pstart(max(days), period):
        last = grid[-1]
        m = last.month - 1 + {"month": 1, "quarter": 3, "year": 12}[period]
        grid.append(dt.date(last.year + m // 12, m % 12 + 1, 1))
    lo, hi = periods.coverage(r["order_date"] for r in inputs["orders"].to_pylist())
    rows = []
    for p in grid:
        c, gr = by_cust.get(p, ZERO), by_guest.get(p, ZERO)
        rows.append(
            {
                "period": p,
                "customer_revenue": c,
                "guest_revenue": gr,
                "guest_orders": int(paid_guests.get(p, 0)),
                "revenue": c + gr if include else c,
                "includes_guests": include,
                "complete": periods.complete(p, period, lo, hi),
            }
        )
    return pd.DataFrame(rows)


def _setting(value: str) -> Config:
    cfg = Config()
    return dataclasses.replace(
        cfg, workspace=dataclasses.replace(cfg.workspace, guest_revenue=value)
    )


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
@pytest.mark.parametrize(("seed", "setting"), [(7, "include"), (8, "exclude")])
@pytest.mark.on_spark
def test_matches_a_pandas_oracle(book, to_frame, period, seed, setting):
    data = random_book(seed)
    ctx = book(**data, guest_orders=guest_table(random_guests(seed)), config=_setting(setting))
    got = to_frame(business_revenue(ctx, period=period), sort=["period"])
    assert_frames_equal(got, oracle(book.inputs, period, setting == "include"))


@pytest.mark.on_spark
def test_guest_orders_by_hand(book, to_frame):
    ctx = book(
        orders={
            "order_id": ["A-1", "A-2", "A-3"],
            "customer_id": ["c1", "c2", "c1"],
            "order_date": ["2024-03-01", "2024-03-03", "2024-04-20"],
            "revenue": ["10.00", "101.00", "50.00"],
            "refund_amount": [None, "1.00", None],
        },
        guest_orders=guest_table(
            {
                # G-1 is returned in part by CG-1 in April: netted, so March is lower.
                # CG-2 names no guest invoice: -7.50 on its own day.  G-3 is
                # cancelled, G-4 fully refunded, G-5 has no amount.
                "order_id": ["G-1", "CG-1", "CG-2", "G-3", "G-4", "G-5"],
                "order_date": [
                    "2024-03-01 11:00",
                    "2024-04-02 09:00",
                    "2024-03-02 00:00",
                    "2024-04-05 00:00",
                    "2024-04-06 00:00",
                    "2024-04-07 00:00",
                ],
                "revenue": ["13.50", "0.00", "0.00", "40.00", "9.00", None],
                "status": ["paid", "refunded", "refunded", "cancelled", "refunded", None],
                "refund_amount": [None, "3.50", "7.50", None, None, None],
            }
        ),
    )
    df = to_frame(business_revenue(ctx, period="month", guest_revenue="include"), sort=["period"])
    march, april = df.to_dict("records")
    assert march["customer_revenue"] == Decimal("110.00")
    assert march["guest_revenue"] == Decimal("13.50") - Decimal("3.50") - Decimal("7.50")
    assert march["revenue"] == Decimal("112.50")
    assert (march["guest_orders"], april["guest_orders"]) == (1, 1)  # G-1; G-5
    assert april["guest_revenue"] == ZERO
    assert april["revenue"] == april["customer_revenue"] == Decimal("50.00")
    excluded = to_frame(business_revenue(ctx, period="month", guest_revenue="exclude"))
    assert excluded["revenue"].tolist() == excluded["customer_revenue"].tolist()
    assert excluded["guest_revenue"].tolist() == df["guest_revenue"].tolist()
    assert not excluded["includes_guests"].any()
    assert df["includes_guests"].all()


def test_without_guests_it_is_the_customers_net_revenue(book, to_frame):
    ctx = book(**random_book(3), config=_setting("include"))
    got = to_frame(business_revenue(ctx, period="quarter"), sort=["period"])
    nvr = to_frame(new_vs_returning(ctx, period="quarter"), sort=["period"])
    nvr = nvr[nvr["new_orders"] + nvr["returning_orders"] > 0]
    by_period = dict(zip(got["period"], got["revenue"], strict=True))
    for p, new, ret in zip(
        nvr["period"], nvr["new_revenue"], nvr["returning_revenue"], strict=True
    ):
        assert by_period[p] == new + ret
    assert (got["guest_revenue"] == 0).all()
    assert (got["guest_orders"] == 0).all()
    assert (got["revenue"] == got["customer_revenue"]).all()


def test_the_setting_comes_from_the_config_and_is_checked(book, to_frame):
    guests = guest_table({"order_id": ["G"], "order_date": ["2024-01-05"], "revenue": ["5"]})
    orders = {
        "order_id": ["A"],
        "customer_id": ["c"],
        "order_date": ["2024-01-02"],
        "revenue": ["20"],
    }
    default = book(orders=orders, guest_orders=guests)
    assert to_frame(business_revenue(default))["revenue"].tolist() == [Decimal("20.00")]
    counted = book(orders=orders, guest_orders=guests, config=_setting("include"))
    assert to_frame(business_revenue(counted))["revenue"].tolist() == [Decimal("25.00")]
    with pytest.raises(ConfigError, match="'all' is not valid"):
        business_revenue(default, guest_revenue="all")  # type: ignore[arg-type]


def test_row_order_does_not_matter(book, to_frame):
    data = {**random_book(9), "guests": random_guests(9)}
    a = shuffled(data, 1)
    b = shuffled(data, 2)
    frames = []
    for d in (a, b):
        guests = guest_table(d.pop("guests"))
        ctx = book(**d, guest_orders=guests, config=_setting("include"))
        frames.append(to_frame(business_revenue(ctx, period="month"), sort=["period"]))
    assert_frames_equal(frames[0], frames[1])


def test_a_workspace_after_an_import(tmp_path: Path) -> None:
    from regulars.io import import_file
    from regulars.service import run_metric
    from regulars.store import Workspace

    f = tmp_path / "o.csv"
    f.write_text(
        "order_id,customer_id,order_date,quantity,unit_price\n"
        "A-1,C-1,2024-03-01 10:00,2,5.00\n"
        "G-1,,2024-03-01 11:00,1,7.50\n"
        "G-1,,2024-03-01 11:01,3,2.00\n"
        "CG-2,,2024-03-02,-1,7.50\n"
        "A-2,C-2,2024-03-03,1,100\n"
    )
    ws = Workspace.init(tmp_path / "ws")
    try:
        r = import_file(ws, "orders", f)
        out = run_metric(ws, "business-revenue").to_pyarrow().to_pylist()
        assert [(x["customer_revenue"], x["guest_revenue"], x["revenue"]) for x in out] == [
            (r.customer_revenue, r.guest_revenue, r.customer_revenue)
        ]
        with_guests = business_revenue(ws, guest_revenue="include").to_pyarrow().to_pylist()
        assert with_guests[0]["revenue"] == r.customer_revenue + r.guest_revenue
    finally:
        ws.close()
