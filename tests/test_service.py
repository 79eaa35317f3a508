"""The service layer: oracle tests against plain pandas on a small hand-made book."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from regulars import service
from regulars.errors import NotFoundError, RegularsError, hint_of
from regulars.store import Workspace

# Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

ORDERS = [
    # order_id, customer_id, date, revenue
    ("I-1", "C-1", "2024-01-05", 100.0),
    ("I-2", "C-1", "2024-03-10", 250.0),
    ("CI-2", "C-1", "2024-03-20", 0.0),  # a credit note (refund 250): a return
    ("I-3", "C-2", "2024-02-01", 80.0),
    ("I-4", "C-3", "2024-02-15", 60.0),
    ("I-5", "C-2", "2024-04-01", 40.0),
]
CUSTOMERS = [
    ("C-1", "Ada Studio", "ada@example.com", "referral", "smb", None),
    ("C-2", "Bor Legal", "office@bor.example", "google-ads", "smb", "C-1"),
    ("C-3", "Cvet Café", None, "organic", "micro", None),
    ("C-4", "Dora (no orders)", None, "organic", "micro", None),
]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    con = ws.con
    for cid, name, email, channel, segment, ref in CUSTOMERS:
        con.execute(
            "INSERT INTO customers (customer_id, name, email, channel, segment, referred_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [cid, name, email, channel, segment, ref],
        )
    for oid, cid, day, revenue in ORDERS:
        refund = 250.0 if oid == "CI-2" else None
        con.execute(
            "INSERT INTO orders (order_id, customer_id, order_date, revenue, refund_amount) "
            "VALUES (?, ?, ?, ?, ?)",
            [oid, cid, dt.datetime.fromisoformat(day), revenue, refund],
        )
    con.execute(
        "INSERT INTO touches (touch_id, customer_id, touched_at, kind, note) VALUES "
        "('T-1', 'C-1', TIMESTAMP '2024-02-01 09:00', 'call', 'Checked in')"
    )
    yield ws
    ws.close()


def _oracle() -> pd.DataFrame:
    o = pd.DataFrame(ORDERS, columns=["order_id", "customer_id", "date", "revenue"])
    o = o[o.order_id != "CI-2"]  # the credit note is a return
    o = o[~o.order_id.isin(["I-2"])]  # I-2 is fully refunded by CI-2: not a paid order
    per = o.groupby("customer_id").agg(
        orders=("order_id", "nunique"), last_order=("date", "max"), revenue=("revenue", "sum")
    )
    c = pd.DataFrame(CUSTOMERS, columns=["customer_id", "name", "email", "ch", "seg", "ref"])
    out = c.set_index("customer_id").join(per)
    out["orders"] = out["orders"].fillna(0).astype(int)
    return out


def test_list_customers_matches_pandas(ws: Workspace) -> None:
    page = service.list_customers(ws, sort="orders", descending=True)
    oracle = _oracle()
    assert page.total == len(oracle)
    got = {r["customer_id"]: r for r in page.rows}
    for cid, row in oracle.iterrows():
        assert got[cid]["orders"] == row["orders"], cid
        last = None if pd.isna(row["last_order"]) else dt.date.fromisoformat(row["last_order"])
        assert got[cid]["last_order"] == last, cid
    expected = oracle.reset_index().sort_values(["orders", "customer_id"], ascending=[False, True])
    assert [r["customer_id"] for r in page.rows] == list(expected.customer_id)


def test_list_customers_search_and_paging(ws: Workspace) -> None:
    assert [r["customer_id"] for r in service.list_customers(ws, query="BOR").rows] == ["C-2"]
    assert [r["customer_id"] for r in service.list_customers(ws, query="ada@").rows] == ["C-1"]
    first = service.list_customers(ws, sort="name", descending=False, limit=2)
    second = service.list_customers(ws, sort="name", descending=False, limit=2, offset=2)
    names = [r["name"] for r in first.rows + second.rows]
    assert names == sorted(c[1] for c in CUSTOMERS)
    with pytest.raises(RegularsError, match="Valid: name") as err:
        service.list_customers(ws, sort="nope")
    assert hint_of(err.value)["field"] == "sort"


def test_customer_detail_and_unknown_id(ws: Workspace) -> None:
    row = service.customer_detail(ws, "C-1")
    assert row["name"] == "Ada Studio"
    assert row["why"] == [("no_scores", {})]
    with pytest.raises(NotFoundError):
        service.customer_detail(ws, "C-404")


def test_timeline_is_newest_first_and_has_every_kind(ws: Workspace) -> None:
    events = service.customer_timeline(ws, "C-1")
    kinds = [e["kind"] for e in events]
    assert kinds.count("order") == 2
    assert kinds.count("return") == 1
    assert kinds.count("refund") == 1  # the credit note netted against I-2
    assert "touch" in kinds
    assert "referral" in kinds  # C-1 referred C-2
    stamps = [e["at"] for e in events if e["at"] is not None]
    as_dt = [s if isinstance(s, dt.datetime) else dt.datetime.combine(s, dt.time()) for s in stamps]
    assert as_dt == sorted(as_dt, reverse=True)


@pytest.mark.parametrize("cid", ["C-1", "C-2", "C-3", "C-4"])
def test_prepared_customer_queries_equal_the_plain_ones(ws: Workspace, cid: str) -> None:
    from regulars.service._customers import CustomerQueries

    queries = CustomerQueries(ws)  # compiled once, run with the id as a DuckDB parameter
    assert queries.detail(ws, cid) == service.customer_detail(ws, cid)
    assert queries.timeline(ws, cid) == service.customer_timeline(ws, cid)
    assert queries.page(ws, cid) == (queries.detail(ws, cid), queries.timeline(ws, cid))
    with pytest.raises(NotFoundError, match="C-404"):
        queries.detail(ws, "C-404")
    assert queries.timeline(ws, "C-404") == []
    # an id that looks like SQL is only a value
    assert queries.timeline(ws, "x' OR '1'='1") == []


def test_run_metric_equals_the_metric_function(ws: Workspace) -> None:
    from regulars.metrics import growth_accounting

    via_service = service.run_metric(ws, "growth-accounting", period="month").to_pandas()
    direct = growth_accounting(ws, period="month").to_pandas()
    pd.testing.assert_frame_equal(via_service, direct)
    clipped = service.run_metric(ws, "new-vs-returning", period="month", start=dt.date(2024, 3, 5))
    assert (pd.to_datetime(clipped.to_pandas()["period"]) >= pd.Timestamp("2024-03-01")).all()


def test_measure_error_carries_a_hint(ws: Workspace) -> None:
    with pytest.raises(RegularsError) as err:
        service.run_metric(ws, "growth-sources", measure="customers")
    assert hint_of(err.value) == {"option": "measure", "field": "measure"}
    with pytest.raises(RegularsError, match="Available"):
        service.metric_function("no-such-metric")


def test_model_registry_matches_the_models() -> None:
    from regulars.models._workspace import PURCHASE_MODELS, SPEND_MODELS

    assert set(service.PURCHASE_MODELS) == set(PURCHASE_MODELS)
    assert set(service.SPEND_MODELS) == set(SPEND_MODELS)
    assert set(service.MODEL_NAMES) == set(PURCHASE_MODELS) | set(SPEND_MODELS)


def test_preview_maps_columns_and_reports_missing(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("order_id,Who,When,HowMuch\nA-1,C-1,2024-03-01,12.5\n", encoding="utf-8")
    p = service.preview_file(f, "orders")
    assert p.columns == ["order_id", "Who", "When", "HowMuch"]
    assert p.rows == [["A-1", "C-1", "2024-03-01", "12.5"]]
    assert p.mapping == {"order_id": "order_id"}
    from regulars.schema import TABLES

    required = [c.name for c in TABLES["orders"].columns if c.required]
    assert p.missing == [name for name in required if name != "order_id"]
    assert "customer_id" in p.missing
    assert p.problem is not None
    fixed = service.preview_file(
        f, "orders", mapping={"customer_id": "Who", "order_date": "When", "revenue": "HowMuch"}
    )
    assert fixed.problem is None
    assert fixed.missing == []


def test_preview_guesses_a_shop_export(tmp_path: Path) -> None:
    f = tmp_path / "shop.csv"
    f.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n",
        encoding="utf-8",
    )
    p = service.preview_file(f, "orders")
    assert p.mapping == {
        "order_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "order_date": "InvoiceDate",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "product": "StockCode",
    } | {
        k: v
        for k, v in p.mapping.items()
        if k not in {"order_id", "customer_id", "order_date", "quantity", "unit_price", "product"}
    }
    assert p.missing == []
    assert p.problem is None


def test_serialisers_keep_money_exact() -> None:
    import decimal

    import pyarrow as pa

    table = pa.table({"period": [dt.date(2024, 1, 1)], "revenue": [decimal.Decimal("10.05")]})
    assert service.to_csv(table) == "period,revenue\n2024-01-01,10.05\n"
    assert '"revenue": 10.05' in service.to_json(table)
