"""A small shop shaped like a real online-shop export, for the report tests.

Orders only (no costs, spend, channels or subscriptions); 13 months from 1 Dec 2010
to 9 Dec 2011; the shop existed before the data start, so the first month holds one
large early cohort of customers who were already buying.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
from pathlib import Path

START = dt.date(2010, 12, 1)
END = dt.date(2011, 12, 9)


def shop_orders(seed: int = 7) -> list[tuple[str, str, dt.datetime, decimal.Decimal]]:
    """(order_id, customer_id, order time, revenue) rows."""
    rng = random.Random(seed)
    span = (END - START).days
    rows: list[tuple[str, str, dt.datetime, decimal.Decimal]] = []

    def orders_of(customer: str, first: dt.date, rate: float) -> None:
        day = first
        while day <= END:
            minute = rng.randrange(8 * 60, 20 * 60)
            when = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
            amount = decimal.Decimal(rng.randrange(800, 60000)) / 100
            rows.append((f"{536000 + len(rows)}", customer, when, amount))
            if rng.random() < 0.25:  # churns
                break
            day += dt.timedelta(days=max(1, int(rng.expovariate(rate))))

    for i in range(450):  # already customers when the data start
        orders_of(f"{12000 + i}", START + dt.timedelta(days=rng.randrange(28)), 1 / 50)
    for i in range(900):  # new customers, about 70 a month
        first = START + dt.timedelta(days=28 + rng.randrange(span - 28))
        orders_of(f"{14000 + i}", first, 1 / 70)
    rows.append(
        (
            f"{536000 + len(rows)}",
            "12000",
            dt.datetime.combine(END, dt.time(12)),
            decimal.Decimal("15.00"),
        )
    )
    return rows


def write_shop(root: Path, *, name: str = "Gift shop", currency: str = "GBP") -> Path:
    """A workspace at ``root`` holding :func:`shop_orders` and nothing else."""
    import pyarrow as pa

    from regulars.schema import table
    from regulars.store import Workspace

    ws = Workspace.init(root, name=name, currency=currency)
    rows = shop_orders()
    orders = pa.table(
        {
            "order_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "order_date": pa.array([r[2] for r in rows], pa.timestamp("us")),
            "revenue": pa.array([r[3] for r in rows], pa.decimal128(18, 2)),
        }
    )
    contract = table("orders")
    with ws.transaction() as con:
        con.register("_src", orders)
        cols = ", ".join(
            f'"{c}"' if c in orders.column_names else f'NULL AS "{c}"'
            for c in contract.column_names
        )
        con.execute(f"CREATE TEMP VIEW _orders AS SELECT {cols} FROM _src")
        ws.upsert(con, contract, "_orders")
        con.execute("DROP VIEW _orders")
        con.unregister("_src")
    ws.close()
    return root
