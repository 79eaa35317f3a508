"""Hand-made customer books for the action tests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from regulars.config import load_config
from regulars.schema import TABLES
from regulars.store import Workspace

SCORES_SQL = (
    "CREATE TABLE IF NOT EXISTS scores (customer_id VARCHAR, frequency DOUBLE, "
    "recency DOUBLE, T DOUBLE, monetary_value DOUBLE, p_alive DOUBLE, "
    "expected_orders_90d DOUBLE, expected_orders_365d DOUBLE, expected_spend DOUBLE, "
    "clv DOUBLE, model VARCHAR, scored_at TIMESTAMP)"
)


def insert(ws: Workspace, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table``; missing columns stay null."""
    if not rows:
        return
    if table == "scores":
        ws.con.execute(SCORES_SQL)
    src = pa.Table.from_pylist(rows)
    cols = ", ".join(f'"{c}"' for c in src.column_names)
    ws.con.register("_test_src", src)
    try:
        ws.con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _test_src')
    finally:
        ws.con.unregister("_test_src")
    if table in TABLES:  # a write of data gives it a new version, as an import does
        ws.bump_data_version(ws.con)


class Book:
    """A workspace with helpers to add rows in a few words."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._n = 0
        self.sections: dict[str, dict[str, Any]] = {}
        self.extra = ""

    def customer(self, customer_id: str, **kw: Any) -> Book:
        insert(self.ws, "customers", [{"customer_id": customer_id, **kw}])
        return self

    def order(self, customer_id: str, day: str, revenue: float = 100.0, **kw: Any) -> Book:
        self._n += 1
        row = {
            "order_id": kw.pop("order_id", f"O{self._n:05d}"),
            "customer_id": customer_id,
            "order_date": dt.datetime.fromisoformat(day),
            "revenue": revenue,
            **kw,
        }
        insert(self.ws, "orders", [row])
        return self

    def orders(self, customer_id: str, days: list[str], revenue: float = 100.0, **kw: Any) -> Book:
        for d in days:
            self.order(customer_id, d, revenue, **kw)
        return self

    def touch(self, customer_id: str, day: str, kind: str = "call") -> Book:
        self._n += 1
        insert(
            self.ws,
            "touches",
            [
                {
                    "touch_id": f"T{self._n:05d}",
                    "customer_id": customer_id,
                    "touched_at": dt.datetime.fromisoformat(day),
                    "kind": kind,
                }
            ],
        )
        return self

    def feedback(self, customer_id: str, day: str, score: float) -> Book:
        insert(
            self.ws,
            "feedback",
            [
                {
                    "customer_id": customer_id,
                    "feedback_date": dt.date.fromisoformat(day),
                    "score": score,
                }
            ],
        )
        return self

    def subscription(self, sub_id: str, customer_id: str, start: str, **kw: Any) -> Book:
        row = {
            "subscription_id": sub_id,
            "customer_id": customer_id,
            "start_date": dt.date.fromisoformat(start),
            "price": kw.pop("price", 100.0),
            "billing_period": kw.pop("billing_period", "year"),
        }
        for k in ("end_date", "cancel_date"):
            if k in kw:
                kw[k] = dt.date.fromisoformat(kw[k])
        insert(self.ws, "subscriptions", [{**row, **kw}])
        return self

    def score(self, customer_id: str, p_alive: float, clv: float, **kw: Any) -> Book:
        row = {
            "customer_id": customer_id,
            "p_alive": p_alive,
            "clv": clv,
            "expected_orders_365d": kw.pop("expected_orders_365d", 2.0),
            "model": "bgnbd",
            "scored_at": dt.datetime.fromisoformat(kw.pop("scored_at", "2024-06-30")),
            **kw,
        }
        insert(self.ws, "scores", [row])
        return self

    def set(self, section: str, **values: Any) -> Book:
        """Set keys of a regulars.toml section (``"actions"``, ``"playbooks.win_back"``)."""
        self.sections.setdefault(section, {}).update(values)
        return self.raw("")

    def raw(self, text: str) -> Book:
        """Add raw TOML (arrays of tables such as ``[[referrals.rules]]``) at the end."""
        self.extra += text
        lines = []
        for name, keys in self.sections.items():
            lines.append(f"[{name}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
        path = self.ws.path / "regulars.toml"
        path.write_text("\n".join(lines) + "\n" + self.extra, encoding="utf-8")
        self.ws.config = load_config(path)
        return self


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Book]:
    """An empty workspace without a holdout or a weekly capacity (tests that need one
    set it)."""
    ws = Workspace.init(tmp_path / "ws")
    b = Book(ws)
    b.set("actions", holdout_share=0.0, weekly_capacity=0)
    yield b
    ws.close()
