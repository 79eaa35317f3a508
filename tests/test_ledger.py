"""The order ledger (regulars.ledger) and the four stages that read it.

The oracle below is the rule of docs/data.md ("Paid orders, returns and credit notes")
written again in plain Python, one order at a time.  The same book is then read by
the metrics, the models, the actions and the report, and each must count the same
paid orders and the same money as the oracle.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pytest

from regulars.actions._features import build_context, paid_orders
from regulars.engine import arrow_schema, conform
from regulars.ledger import (
    DEFAULT_CREDIT_WINDOW_DAYS,
    credit_window_days,
    guest_ledger,
    has_amounts,
    order_ledger,
)
from regulars.metrics import growth_accounting, new_vs_returning
from regulars.models import rfm_summary
from regulars.models._workspace import model_transactions
from regulars.report._data import ReportData, _customer_activity
from regulars.store import Workspace

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
COLUMNS = (
    "order_id",
    "customer_id",
    "order_date",
    "revenue",
    "status",
    "refund_amount",
    "refund_date",
)


# -- the oracle: docs/data.md, one order at a time ----------------------------------------


def oracle_ledger(rows: list[dict[str, Any]], window: int) -> dict[str, dict[str, Any]]:
    """order_id -> refund, net, is_credit_note, credit_for, is_purchase, customer, day."""
    book: dict[str, dict[str, Any]] = {}
    for r in rows:
        status = r.get("status") or "paid"
        if status == "cancelled":
            continue
        rev = r["revenue"]
        own = r.get("refund_amount")
        if own is None:
            own = rev if status == "refunded" else ZERO
        book[r["order_id"]] = {
            "customer": r["customer_id"],
            "ts": r["order_date"],
            "day": r["order_date"].date(),
            "rev": rev,
            "own": own,
            "status": status,
            "credit": rev is not None and own is not None and rev == 0 and own > 0,
        }
    credits = [k for k, v in book.items() if v["credit"]]
    invoices = [k for k, v in book.items() if not v["credit"] and v["rev"] and v["rev"] > 0]
    link: dict[str, str] = {}
    for c in credits:  # (a) "C" + the invoice's id, same customer
        target = c[1:] if c.startswith("C") else None
        if target in invoices and book[target]["customer"] == book[c]["customer"]:
            link[c] = target
    for _ in range(3):  # (b) rounds: the most recent earlier order of exactly that amount
        taken = set(link.values())
        proposal: dict[str, str] = {}
        for c in credits:
            if c in link:
                continue
            cn = book[c]
            cands = [
                i
                for i in invoices
                if i not in taken
                and book[i]["customer"] == cn["customer"]
                and book[i]["rev"] - book[i]["own"] == cn["own"]
                and book[i]["day"] <= cn["day"]
                and (cn["day"] - book[i]["day"]).days <= window
            ]
            if cands:
                proposal[c] = max(cands, key=lambda i: (book[i]["ts"], i))
        by_invoice: dict[str, list[str]] = defaultdict(list)
        for c, i in proposal.items():
            by_invoice[i].append(c)
        for i, cs in by_invoice.items():  # an order takes the earliest credit note
            link[min(cs, key=lambda c: (book[c]["ts"], c))] = i
    credited: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for c, i in link.items():
        credited[i] += book[c]["own"]
    out = {}
    for k, v in book.items():
        if v["credit"]:
            refund = ZERO if k in link else v["own"]
        else:
            refund = None if v["own"] is None else v["own"] + credited[k]
        net = None if v["rev"] is None or refund is None else v["rev"] - refund
        if v["credit"]:
            purchase = False
        elif v["rev"] is None:
            purchase = v["status"] != "refunded"
        else:
            purchase = net is not None and net > 0
        out[k] = {
            "customer": v["customer"],
            "day": v["day"],
            "refund": refund,
            "net": net,
            "is_credit_note": v["credit"],
            "credit_for": link.get(k),
            "is_purchase": purchase,
        }
    return out


# -- books -----------------------------------------------------------------------------


def order(
    oid: str,
    cust: str,
    day: str,
    rev: str | None,
    status: str | None = None,
    refund: str | None = None,
) -> dict[str, Any]:
    return {
        "order_id": oid,
        "customer_id": cust,
        "order_date": dt.datetime.fromisoformat(day),
        "revenue": None if rev is None else Decimal(rev),
        "status": status,
        "refund_amount": None if refund is None else Decimal(refund),
    }


def hand_book() -> list[dict[str, Any]]:
    """One customer per case, named after it."""
    return [
        # The example: an invoice and its C-prefixed cancellation, same day.
        order("541433", "only-cancelled", "2024-01-18 10:01", "77183.60"),
        order("C541433", "only-cancelled", "2024-01-18 10:17", "0", "refunded", "77183.60"),
        # A repeat order reversed by its credit note is not a repeat purchase.
        order("600001", "repeat-cancelled", "2024-01-05", "120.00"),
        order("600002", "repeat-cancelled", "2024-03-05", "168000.00"),
        order("C600002", "repeat-cancelled", "2024-03-06", "0", "refunded", "168000.00"),
        # A credit note without a linked id, matched by amount (the latest such order).
        order("700001", "amount", "2024-02-01", "50.00"),
        order("700002", "amount", "2024-03-01", "50.00"),
        order("CN-1", "amount", "2024-03-20", "0", "refunded", "50.00"),
        # Two credit notes of the same amount: the second takes the earlier order.
        order("710001", "twice", "2024-02-01", "25.00"),
        order("710002", "twice", "2024-03-01", "25.00"),
        order("CN-3", "twice", "2024-03-10", "0", "refunded", "25.00"),
        order("CN-4", "twice", "2024-03-11", "0", "refunded", "25.00"),
        # A credit note too late for its order: unlinked, negative on its own day.
        order("800001", "late", "2024-01-02", "80.00"),
        order("CN-2", "late", "2024-06-30", "0", "refunded", "80.00"),
        # A C-linked partial credit note: the order stays a purchase with its net.
        order("810001", "partial-credit", "2024-02-10", "200.00"),
        order("C810001", "partial-credit", "2024-02-12", "0", "refunded", "30.00"),
        # Refunds of the order itself.
        order("900001", "refunds", "2024-01-10", "100.00", "paid", "40.00"),
        order("900002", "refunds", "2024-02-10", "100.00", "refunded"),
        order("900003", "refunds", "2024-03-10", "100.00", "refunded", "130.00"),
        order("900004", "refunds", "2024-04-10", "100.00", "cancelled"),
        order("900005", "refunds", "2024-05-10", "0.00"),
        order("900006", "refunds", "2024-05-11", "60.00"),
        # A credit note whose C-id names another customer's order: not that order.
        order("C900006", "stranger", "2024-05-12", "0", "refunded", "60.00"),
    ]


def random_book(seed: int, n_customers: int = 150) -> list[dict[str, Any]]:
    """Every case at random: refunds, cancellations and all kinds of credit notes."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 1, 1)
    rows: list[dict[str, Any]] = []
    cases = ["plain", "partial", "full", "over", "cancelled", "c_link", "c_amount", "c_free"]
    weights = np.array([10, 2, 1, 1, 1, 2, 2, 1], dtype=float)
    for c in range(n_customers):
        cust = f"K{c:03d}"
        n = int(rng.integers(1, 7))
        days = sorted(int(d) for d in rng.integers(0, 540, size=n))
        for k, d in enumerate(days):
            oid = f"{c:03d}{k:02d}"
            when = start + dt.timedelta(days=d, hours=int(rng.integers(8, 18)))
            rev = Decimal(int(rng.integers(100, 50_000))) / 100
            case = rng.choice(cases, p=weights / weights.sum())
            status, refund = rng.choice([None, "paid"]), None
            if case == "partial":
                refund = (rev * Decimal(str(round(rng.uniform(0.1, 0.9), 2)))).quantize(CENT)
            elif case == "full":
                status = "refunded"
            elif case == "over":
                status, refund = "refunded", (rev * Decimal("1.2")).quantize(CENT)
            elif case == "cancelled":
                status = "cancelled"
            rows.append(
                {
                    "order_id": oid,
                    "customer_id": cust,
                    "order_date": when,
                    "revenue": rev,
                    "status": None if status is None else str(status),
                    "refund_amount": refund,
                }
            )
            if case not in ("c_link", "c_amount", "c_free"):
                continue
            later = when + dt.timedelta(days=int(rng.choice([0, 1, 20, 89, 91, 200])), hours=1)
            amount = rev
            if case == "c_link" and rng.random() < 0.4:
                amount = (rev * Decimal("0.5")).quantize(CENT)
            if case == "c_free":
                amount = Decimal(int(rng.integers(1, 500))) / 100
            cid = f"C{oid}" if case == "c_link" else f"R{oid}"
            rows.append(
                {
                    "order_id": cid,
                    "customer_id": cust,
                    "order_date": later,
                    "revenue": ZERO,
                    "status": "refunded",
                    "refund_amount": amount,
                }
            )
    return rows


def orders_table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([arrow_schema("orders").field(c).with_nullable(True) for c in COLUMNS])
    return pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=schema)


def ledger_rows(table: ir.Table) -> dict[str, dict[str, Any]]:
    out = order_ledger(table).to_pyarrow().to_pylist()
    return {r["order_id"]: r for r in out}


def duck_orders(rows: list[dict[str, Any]]) -> ir.Table:
    con = ibis.duckdb.connect()
    return conform(con.create_table("orders", orders_table(rows)), "orders")


def assert_ledger_matches(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    assert set(got) == set(want)
    for k, w in want.items():
        g = got[k]
        assert (g["refund"], g["net_revenue"]) == (w["refund"], w["net"]), k
        assert g["is_credit_note"] == w["is_credit_note"], k
        assert g["credit_for"] == w["credit_for"], k
        assert g["is_purchase"] == w["is_purchase"], k


# -- the ledger itself -----------------------------------------------------------------


def test_hand_book_matches_the_rule() -> None:
    rows = hand_book()
    got = ledger_rows(duck_orders(rows))
    assert_ledger_matches(got, oracle_ledger(rows, DEFAULT_CREDIT_WINDOW_DAYS))
    # The cases the book was written for.
    assert got["C541433"]["credit_for"] == "541433"
    assert not got["541433"]["is_purchase"]
    assert got["541433"]["refund_date"] == dt.date(2024, 1, 18)
    assert got["CN-1"]["credit_for"] == "700002"
    assert got["CN-2"]["credit_for"] is None
    assert (got["CN-3"]["credit_for"], got["CN-4"]["credit_for"]) == ("710002", "710001")
    assert got["CN-2"]["net_revenue"] == Decimal("-80.00")
    assert got["810001"]["is_purchase"]
    assert got["C900006"]["credit_for"] is None
    assert "900004" not in got


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_book_matches_the_rule(seed: int) -> None:
    rows = random_book(seed)
    want = oracle_ledger(rows, DEFAULT_CREDIT_WINDOW_DAYS)
    assert_ledger_matches(ledger_rows(duck_orders(rows)), want)
    # Row order does not matter.
    shuffled = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]
    assert_ledger_matches(ledger_rows(duck_orders(shuffled)), want)


def test_window_follows_the_guarantee() -> None:
    rows = hand_book()
    got = order_ledger(duck_orders(rows), credit_window_days=200).to_pyarrow().to_pylist()
    late = {r["order_id"]: r for r in got}["CN-2"]
    assert late["credit_for"] == "800001"
    assert_ledger_matches({r["order_id"]: r for r in got}, oracle_ledger(rows, 200))


def test_credit_window_days_reads_the_guarantee() -> None:
    from regulars.config import Config, GuaranteeConfig

    assert credit_window_days(None) == DEFAULT_CREDIT_WINDOW_DAYS
    assert credit_window_days(Config(guarantee=GuaranteeConfig(days=30))) == 30
    assert credit_window_days(Config(guarantee=GuaranteeConfig(days=0))) == 90


def test_an_order_without_an_amount_is_a_purchase_of_unknown_money() -> None:
    rows = [
        order("a1", "log", "2024-01-01", None),
        order("a2", "log", "2024-02-01", None, "refunded"),
        order("a3", "log", "2024-03-01", "10.00"),
    ]
    got = ledger_rows(duck_orders(rows))
    assert got["a1"]["is_purchase"]
    assert got["a1"]["net_revenue"] is None
    assert not got["a2"]["is_purchase"]
    assert_ledger_matches(got, oracle_ledger(rows, DEFAULT_CREDIT_WINDOW_DAYS))


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # PySpark's own
@pytest.mark.parametrize("credit_notes", [True, False], ids=["credit-notes", "none"])
def test_the_ledger_is_the_same_on_spark(tmp_path: Path, credit_notes: bool) -> None:
    import pyarrow.parquet as pq

    from regulars.engine import local_spark_session

    def is_credit_note(r: dict[str, Any]) -> bool:
        return r["revenue"] == ZERO and (r.get("refund_amount") or ZERO) > ZERO

    rows = random_book(4, n_customers=60)
    if not credit_notes:  # Spark then skips the matching (nothing to link)
        rows = [r for r in rows if not is_credit_note(r)]
    assert any(is_credit_note(r) for r in rows) == credit_notes
    pq.write_table(orders_table(rows), tmp_path / "orders.parquet")
    session = local_spark_session("local[2]", shuffle_partitions=2)
    con = ibis.pyspark.connect(session)
    t = conform(con.read_parquet(tmp_path / "orders.parquet"), "orders")
    got = {r["order_id"]: r for r in order_ledger(t).to_pyarrow().to_pylist()}
    assert_ledger_matches(got, oracle_ledger(rows, DEFAULT_CREDIT_WINDOW_DAYS))


# -- every stage counts the same -------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.init(tmp_path / "ws")
    rows = hand_book() + random_book(7)
    workspace.con.register("_src", orders_table(rows))
    cols = ", ".join(COLUMNS)
    workspace.con.execute(f"INSERT INTO orders ({cols}) SELECT {cols} FROM _src")
    workspace.con.unregister("_src")
    workspace.rows = rows  # type: ignore[attr-defined]
    yield workspace
    workspace.close()


def _purchases(rows: list[dict[str, Any]], until: dt.date | None = None) -> dict[str, Any]:
    if until is not None:
        rows = [r for r in rows if r["order_date"].date() <= until]
    led = oracle_ledger(rows, DEFAULT_CREDIT_WINDOW_DAYS)
    return {k: v for k, v in led.items() if v["is_purchase"]}


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def test_metrics_count_the_ledger(ws: Workspace) -> None:
    led = oracle_ledger(ws.rows, DEFAULT_CREDIT_WINDOW_DAYS)  # type: ignore[attr-defined]
    facts = {k: v for k, v in led.items() if not (v["is_credit_note"] and v["credit_for"])}
    cohort: dict[str, dt.date] = {}
    for v in facts.values():
        if v["is_purchase"]:
            m = _month(v["day"])
            cohort[v["customer"]] = min(cohort.get(v["customer"], m), m)
    want: dict[dt.date, dict[str, Any]] = defaultdict(
        lambda: {
            "new_orders": 0,
            "returning_orders": 0,
            "new_revenue": ZERO,
            "returning_revenue": ZERO,
        }
    )
    for v in facts.values():
        m = _month(v["day"])
        first = cohort.get(v["customer"])
        group = "returning" if first is not None and first < m else "new"
        want[m][f"{group}_orders"] += int(v["is_purchase"])
        want[m][f"{group}_revenue"] += v["net"]
    # The book opens with the data: no customer was a customer before it (the
    # left-censoring detector of docs/metrics.md is tested in tests/metrics).
    import dataclasses

    opened = min(v["day"] for v in facts.values()).isoformat()
    settings = dataclasses.replace(ws.config.workspace, business_start=opened)
    config = dataclasses.replace(ws.config, workspace=settings)
    nvr = new_vs_returning(ws, period="month", config=config).to_pyarrow().to_pylist()
    for r in nvr:
        w = want.get(r["period"], want.default_factory())  # type: ignore[misc]
        for key, value in w.items():
            assert r[key] == value, (r["period"], key)
    ga = growth_accounting(ws, period="month").to_pyarrow().to_pylist()
    previous = ZERO
    for r in ga:
        revenue = want[r["period"]]["new_revenue"] + want[r["period"]]["returning_revenue"]
        assert r["revenue"] == revenue, r["period"]
        change = r["new"] + r["expansion"] + r["resurrected"] - r["contraction"] - r["churned"]
        assert change == revenue - previous, r["period"]
        previous = revenue


def _rfm_oracle(purchases: dict[str, Any]) -> dict[str, tuple[int, float]]:
    per_day: dict[str, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for v in purchases.values():
        per_day[v["customer"]][v["day"]] += v["net"]
    out = {}
    for cust, days in per_day.items():
        spends = [days[d] for d in sorted(days)][1:]
        out[cust] = (len(spends), float(sum(spends) / len(spends)) if spends else 0.0)
    return out


def test_models_count_the_ledger(ws: Workspace) -> None:
    want = _rfm_oracle(_purchases(ws.rows))  # type: ignore[attr-defined]
    rfm = rfm_summary(model_transactions(ws), monetary_value_col="net_revenue")
    got = {r["customer_id"]: r for r in rfm.to_pyarrow().to_pylist()}
    assert set(got) == set(want)
    for cust, (frequency, monetary) in want.items():
        assert got[cust]["frequency"] == frequency, cust
        assert got[cust]["monetary_value"] == pytest.approx(monetary, abs=1e-9), cust
    assert "only-cancelled" not in got
    assert got["repeat-cancelled"]["frequency"] == 0


def test_actions_count_the_ledger(ws: Workspace) -> None:
    today = dt.date(2024, 3, 5)  # C600002 (a day later) has not happened yet
    want = _purchases(ws.rows, until=today)  # type: ignore[attr-defined]
    got = paid_orders(ws, today).to_pyarrow().to_pylist()
    assert {r["order_id"] for r in got} == set(want)
    for r in got:
        assert r["net_revenue"] == pytest.approx(float(want[r["order_id"]]["net"]))
    counts: dict[str, int] = defaultdict(int)
    for v in want.values():
        counts[v["customer"]] += 1
    ctx = build_context(ws, today)
    customers = {r["customer_id"]: r for r in ctx.customers.to_pyarrow().to_pylist()}
    assert {k: v["orders"] for k, v in customers.items()} == counts
    assert customers["repeat-cancelled"]["orders"] == 2
    later = build_context(ws, dt.date(2024, 7, 1), temp_name="_later")
    customers = {r["customer_id"]: r for r in later.customers.to_pyarrow().to_pylist()}
    assert customers["repeat-cancelled"]["orders"] == 1
    assert "only-cancelled" not in customers


def test_report_counts_the_ledger(ws: Workspace) -> None:
    data = ReportData(ws, period="month")
    want = _rfm_oracle(_purchases(ws.rows, until=data.observation_end()))  # type: ignore[attr-defined]
    got = _customer_activity(data).to_pyarrow().to_pylist()
    assert {r["customer_id"]: r["frequency"] for r in got} == {k: f for k, (f, _) in want.items()}


def test_a_cancelled_order_gets_no_score_and_no_action(ws: Workspace) -> None:
    from regulars.actions import compute_actions
    from regulars.models._workspace import score_workspace

    score_workspace(ws)
    scores = {r["customer_id"]: r for r in ws.table("scores").to_pyarrow().to_pylist()}
    want = _rfm_oracle(_purchases(ws.rows))  # type: ignore[attr-defined]
    assert set(scores) == set(want)
    assert "only-cancelled" not in scores
    assert scores["repeat-cancelled"]["frequency"] == 0
    assert scores["repeat-cancelled"]["monetary_value"] == 0
    run = compute_actions(ws)
    acted = {r["customer_id"] for r in run.actions.to_pyarrow().to_pylist()}
    assert acted
    assert "only-cancelled" not in acted
    assert acted <= set(want)


def test_has_amounts_is_false_only_for_a_book_without_any_amount() -> None:
    day = dt.datetime(2024, 1, 2)
    log = [{"order_id": f"o{i}", "customer_id": "c", "order_date": day} for i in range(3)]
    assert not has_amounts(duck_orders(log))
    one = [*log, {"order_id": "x", "customer_id": "c", "order_date": day, "revenue": ZERO}]
    assert has_amounts(duck_orders(one))
    assert has_amounts(duck_orders([]))  # nothing says the amounts are missing


def test_guest_ledger_nets_a_credit_note_only_against_the_invoice_it_names() -> None:
    day = dt.datetime(2024, 3, 1)
    later = dt.datetime(2024, 4, 2)
    rows = [
        {"order_id": "G1", "order_date": day, "revenue": Decimal("20.00")},
        {"order_id": "G2", "order_date": day, "revenue": Decimal("5.00")},
        # CG1 names G1: netted.  R9 has G2's exact amount but names nothing: with no
        # customer to match by amount, it stays a negative amount on its own day.
        {"order_id": "CG1", "order_date": later, "revenue": ZERO, "refund_amount": Decimal("8")},
        {"order_id": "R9", "order_date": later, "revenue": ZERO, "refund_amount": Decimal("5")},
        {"order_id": "G3", "order_date": day, "revenue": Decimal("9.00"), "status": "cancelled"},
    ]
    guests = duck_orders(rows).drop("customer_id")
    got = {r["order_id"]: r for r in guest_ledger(guests).to_pyarrow().to_pylist()}
    assert set(got) == {"G1", "G2", "CG1", "R9"}
    assert "customer_id" not in guest_ledger(guests).columns
    assert (got["G1"]["refund"], got["G1"]["net_revenue"]) == (Decimal("8.00"), Decimal("12.00"))
    assert got["G1"]["refund_date"] == later.date()
    assert (got["CG1"]["credit_for"], got["CG1"]["net_revenue"]) == ("G1", ZERO)
    assert (got["R9"]["credit_for"], got["R9"]["net_revenue"]) == (None, Decimal("-5.00"))
    assert got["G2"]["is_purchase"]
    assert not got["R9"]["is_purchase"]


def test_public_names_are_pinned() -> None:
    import regulars.ledger

    assert regulars.ledger.__all__ == sorted(regulars.ledger.__all__)
    assert set(regulars.ledger.__all__) == {
        "DEFAULT_CREDIT_WINDOW_DAYS",
        "LEDGER_COLUMNS",
        "credit_window_days",
        "guest_ledger",
        "has_amounts",
        "order_ledger",
        "purchases",
    }
    got = order_ledger(duck_orders(hand_book()))
    assert set(regulars.ledger.LEDGER_COLUMNS) <= set(got.columns)
    assert "refund_amount" not in got.columns


def _prenetted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same book with each netted credit note folded into its invoice by hand:
    the credit note removed, its amount added to the invoice's refund_amount and its
    day as the invoice's refund_date (docs/data.md)."""
    led = oracle_ledger(rows, DEFAULT_CREDIT_WINDOW_DAYS)
    days: dict[str, dt.date] = {}
    for v in led.values():
        if v["credit_for"]:
            day = days.get(v["credit_for"])
            days[v["credit_for"]] = v["day"] if day is None else max(day, v["day"])
    out = []
    for r in rows:
        v = led.get(r["order_id"])
        if v is not None and v["credit_for"]:
            continue
        if v is not None and r["order_id"] in days:
            r = {**r, "refund_amount": v["refund"], "refund_date": days[r["order_id"]]}
        out.append(r)
    return out


def test_every_metric_nets_credit_notes_as_documented(tmp_path: Path) -> None:
    import regulars.metrics
    from regulars.cli._metrics import METRICS

    rows = hand_book() + random_book(11)
    books = []
    for name, book in (("raw", rows), ("prenetted", _prenetted(rows))):
        w = Workspace.init(tmp_path / name)
        w.con.register("_src", orders_table(book))
        cols = ", ".join(COLUMNS)
        w.con.execute(f"INSERT INTO orders ({cols}) SELECT {cols} FROM _src")
        w.con.unregister("_src")
        books.append(w)
    raw, folded = books
    assert raw.count("orders") > folded.count("orders")
    try:
        for cli_name, func_name in METRICS.items():
            func = getattr(regulars.metrics, func_name)
            for period in ("month", "quarter"):
                got = func(raw, period=period).to_pyarrow().to_pylist()
                want = func(folded, period=period).to_pyarrow().to_pylist()
                assert got == want, (cli_name, period)
    finally:
        raw.close()
        folded.close()


# -- a real shop's export ----------------------------------------------------------------


def _shop_orders(lines: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Orders of a line-item export as docs/data.md sums them, and the whole
    cancellations found from the lines themselves: credit note -> the invoice whose
    lines it negates one by one (an oracle independent of the ledger's rule)."""
    lines = lines[lines["CustomerID"].notna()].copy()
    lines["cents"] = (lines["UnitPrice"] * 100).round().astype("int64") * lines["Quantity"]
    lines["customer"] = lines["CustomerID"].astype("int64").astype(str)
    lines["ts"] = lines["InvoiceDate"].map(dt.datetime.fromisoformat)
    rows = []
    keys: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for inv, g in lines.groupby("InvoiceNo", sort=True):
        sold = int(g["cents"].clip(lower=0).sum())
        back = int(-g["cents"].clip(upper=0).sum())
        rows.append(
            {
                "order_id": str(inv),
                "customer_id": g["customer"].iloc[0],
                "order_date": g["ts"].min(),
                "revenue": Decimal(sold) / 100,
                "status": "refunded" if sold == 0 and back > 0 else None,
                "refund_amount": Decimal(back) / 100 if back else None,
            }
        )
        sign = -1 if str(inv).startswith("C") else 1
        key = tuple(sorted(zip(g["StockCode"], g["Quantity"] * sign, g["UnitPrice"], strict=True)))
        keys[str(inv)] = (g["customer"].iloc[0], key)
    originals: dict[tuple[str, tuple[Any, ...]], list[str]] = defaultdict(list)
    for inv, (cust, key) in keys.items():
        if not inv.startswith("C"):
            originals[(cust, key)].append(inv)
    whole = {}
    for inv, (cust, key) in keys.items():
        found = originals.get((cust, key), [])
        if inv.startswith("C") and len(found) == 1:
            whole[inv] = found[0]
    return rows, whole


@pytest.mark.slow
def test_a_shop_export_nets_its_cancellations(tmp_path: Path) -> None:
    from regulars.actions import compute_actions
    from regulars.datasets import simulate_shop_export
    from regulars.models._workspace import score_workspace

    shop = simulate_shop_export(seed=3)
    rows, whole = _shop_orders(shop.lines)
    assert len(shop.lines) >= 300_000
    assert len(whole) > 50
    ws = Workspace.init(tmp_path / "shop")
    try:
        ws.con.register("_src", orders_table(rows))
        cols = ", ".join(COLUMNS)
        ws.con.execute(f"INSERT INTO orders ({cols}) SELECT {cols} FROM _src")
        ws.con.unregister("_src")
        ledger = {
            r["order_id"]: r for r in order_ledger(ws.table("orders")).to_pyarrow().to_pylist()
        }
        for credit, invoice in whole.items():
            assert ledger[credit]["credit_for"] == invoice, credit
            assert not ledger[invoice]["is_purchase"], invoice
        invoices: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            if not r["order_id"].startswith("C"):
                invoices[r["customer_id"]].add(r["order_id"])
        cancelled = set(whole.values())
        gone = {c for c, invs in invoices.items() if invs <= cancelled}
        touched = {ledger[i]["customer_id"] for i in cancelled} - gone
        assert gone
        score_workspace(ws)
        scores = {r["customer_id"]: r for r in ws.table("scores").to_pyarrow().to_pylist()}
        assert not gone & set(scores)
        for cust in touched:  # a cancelled order is never a repeat purchase
            days = {
                ledger[i]["order_date"].date() for i in invoices[cust] if ledger[i]["is_purchase"]
            }
            assert scores[cust]["frequency"] == len(days) - 1, cust
        acted = {r["customer_id"] for r in compute_actions(ws).actions.to_pyarrow().to_pylist()}
        assert acted
        assert not gone & acted
    finally:
        ws.close()
