"""The report's preparation: what it reads to decide whether to fit, score and plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from regulars.report._prepare import _last_paid_order
from regulars.schema import table
from regulars.store import Workspace

# (order_id, customer, day, revenue, status, refund_amount)
ORDERS = [
    ("O1", "C1", "2024-01-10", 100, None, None),
    ("O2", "C2", "2024-02-01", 80, "paid", None),
    ("O3", "C2", "2024-02-20", 60, "paid", 20),  # partly refunded: still a purchase
    ("O4", "C1", "2024-03-01", 50, "cancelled", None),
    ("O5", "C3", "2024-03-05", 40, "refunded", None),  # refunded in full
    ("C9", "C3", "2024-03-09", 0, "paid", 25),  # a credit note, never a purchase
]


def _workspace(path: Path, rows: list[tuple[object, ...]]) -> Workspace:
    ws = Workspace.init(path)
    src = pa.table(
        {
            "order_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "order_date": pa.array(
                [dt.datetime.fromisoformat(str(r[2])) for r in rows], pa.timestamp("us")
            ),
            "revenue": pa.array([float(str(r[3])) for r in rows], pa.float64()),
            "status": [r[4] for r in rows],
            "refund_amount": pa.array([r[5] for r in rows], pa.float64()),
        }
    )
    contract = table("orders")
    cols = ", ".join(
        f'"{c}"' if c in src.column_names else f'NULL AS "{c}"' for c in contract.column_names
    )
    with ws.transaction() as con:
        con.register("_src", src)
        con.execute(f"CREATE TEMP VIEW _orders AS SELECT {cols} FROM _src")
        ws.upsert(con, contract, "_orders")
        con.execute("DROP VIEW _orders")
        con.unregister("_src")
    return ws


def _plain_last_paid(rows: list[tuple[object, ...]]) -> dt.date | None:
    """Not cancelled, not a credit note (revenue 0 with a refund), more revenue than
    refund (a status "refunded" without an amount refunds everything)."""
    days = []
    for _oid, _c, day, revenue, status, refund in rows:
        if status == "cancelled":
            continue
        rev = float(str(revenue))
        back = rev if status == "refunded" and refund is None else float(str(refund or 0))
        if rev == 0 and back > 0:
            continue
        if rev - back > 0:
            days.append(dt.date.fromisoformat(str(day)))
    return max(days, default=None)


def test_the_last_paid_order_is_the_ledgers_and_the_stored_one_is_read_again(
    tmp_path: Path,
) -> None:
    ws = _workspace(tmp_path / "ws", ORDERS)
    expected = _plain_last_paid(ORDERS)
    assert expected == dt.date(2024, 2, 20)
    assert _last_paid_order(ws) == expected
    stored = ws.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_shared_paid_order_bounds%'"
    ).fetchone()
    assert stored == (1,)  # kept for the data version: the next report reads it
    assert _last_paid_order(ws) == expected
    ws.close()


def test_no_paid_order_means_nothing_to_prepare(tmp_path: Path) -> None:
    rows = [r for r in ORDERS if r[4] in ("cancelled", "refunded") or r[0] == "C9"]
    ws = _workspace(tmp_path / "ws", rows)
    assert _plain_last_paid(rows) is None
    assert _last_paid_order(ws) is None
    ws.close()


def test_a_report_has_the_ledger_stored_first_and_only_that_when_the_rest_is_done(
    tmp_path: Path,
) -> None:
    from regulars.datasets import simulate
    from regulars.engine._shared import SHARED_REGISTRY
    from regulars.report import needs_preparation, prepare_workspace

    ws = Workspace.init(tmp_path / "ws")
    simulate(n_customers=150, years=2, seed=3).write(ws)
    assert needs_preparation(ws)
    first = prepare_workspace(ws)
    assert (first.fitted, first.scored, first.planned) == (True, True, True)
    assert not needs_preparation(ws)

    def ledgers() -> list[tuple[str]]:
        sql = f"SELECT name FROM \"{SHARED_REGISTRY}\" WHERE kind = 'ledger'"
        return [tuple(r) for r in ws.con.execute(sql).fetchall()]

    (name,) = ledgers()
    ws.con.execute(f'DROP TABLE "{name[0]}"')
    ws.con.execute(f"DELETE FROM \"{SHARED_REGISTRY}\" WHERE kind = 'ledger'")
    assert needs_preparation(ws)  # the ledger alone is missing
    again = prepare_workspace(ws, progress=lambda _m: None)
    assert (again.fitted, again.scored, again.planned) == (False, False, False)
    assert ledgers() == [name]
    assert not needs_preparation(ws)
    ws.close()
