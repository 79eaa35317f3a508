"""Integrity rules at import: each a row-level error naming file, row, column, value, fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from _io_helpers import contents, rows, write

from regulars.errors import ImportDataError
from regulars.io import import_file
from regulars.store import Workspace


def _refused(ws: Workspace, tmp_path: Path, table: str, text: str, **kw: object) -> dict:
    f = write(tmp_path / f"{table}.csv", text)
    before = contents(ws)
    with pytest.raises(ImportDataError) as err:
        import_file(ws, table, f, **kw)  # type: ignore[arg-type]
    assert contents(ws) == before
    p = err.value.problems[0]
    assert p["file"] == f"{table}.csv"
    assert p["row"]
    assert p["fix"]
    return p


def test_self_referral(ws: Workspace, tmp_path: Path) -> None:
    p = _refused(ws, tmp_path, "customers", "customer_id,referred_by\nC-1,\nC-2,C-2\n")
    assert (p["row"], p["column"], p["value"]) == (2, "referred_by", "C-2")
    assert "self-referral" in str(p["message"])


def test_a_referral_cycle_in_the_file(ws: Workspace, tmp_path: Path) -> None:
    p = _refused(ws, tmp_path, "customers", "customer_id,referred_by\nA,B\nB,C\nC,A\nD,A\n")
    assert (p["row"], p["column"], p["value"]) == (1, "referred_by", "B")
    assert "makes a referral cycle: A → B → C → A" in str(p["message"])


def test_a_cycle_through_customers_already_there(ws: Workspace, tmp_path: Path) -> None:
    import_file(ws, "customers", write(tmp_path / "a.csv", "customer_id,referred_by\nA,B\nB,\n"))
    p = _refused(ws, tmp_path, "customers", "customer_id,referred_by\nB,A\n")
    assert "B → A → B" in str(p["message"])
    # An empty cell keeps A's referrer B, so this is still a cycle...
    _refused(ws, tmp_path, "customers", "customer_id,referred_by\nB,A\nA,\n")
    # ... unless empty cells clear: then A has no referrer and the cycle is broken.
    f = write(tmp_path / "b.csv", "customer_id,referred_by\nB,A\nA,\n")
    import_file(ws, "customers", f, clear_empty=True)
    assert rows(ws, "SELECT customer_id, referred_by FROM customers ORDER BY 1") == [
        ("A", None),
        ("B", "A"),
    ]


def test_cycles_are_skipped_with_skip_invalid(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", "customer_id,referred_by\nA,B\nB,A\nC,A\n")
    r = import_file(ws, "customers", f, skip_invalid=True)
    assert r.rows_rejected == 2
    assert rows(ws, "SELECT customer_id FROM customers WHERE customer_id = 'C'") == [("C",)]


def test_refund_greater_than_revenue(ws: Workspace, tmp_path: Path) -> None:
    p = _refused(
        ws,
        tmp_path,
        "orders",
        "order_id,customer_id,order_date,revenue,refund_amount\nA-1,C-1,2024-01-01,100,150\n",
    )
    assert 'its refund_amount "150.00" is more than its revenue "100.00"' in str(p["message"])


def test_a_credit_note_is_no_refund_error(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv", "order_id,customer_id,order_date,revenue\nC1,C-1,2024-01-01,-40\n"
    )
    import_file(ws, "orders", f)
    assert rows(ws, "SELECT revenue, refund_amount FROM orders")[0][1] == 40


def test_negative_cost(ws: Workspace, tmp_path: Path) -> None:
    p = _refused(
        ws,
        tmp_path,
        "orders",
        "order_id,customer_id,order_date,revenue,cost\nA,C,2024-01-01,9,-3\n",
    )
    assert (p["column"], p["value"]) == ("cost", "-3")
    assert "is negative" in str(p["message"])


@pytest.mark.parametrize("column", ["end_date", "cancel_date"])
def test_end_before_start(ws: Workspace, tmp_path: Path, column: str) -> None:
    p = _refused(
        ws,
        tmp_path,
        "subscriptions",
        f"subscription_id,customer_id,start_date,{column},price,billing_period\n"
        "S-1,C-1,2024-05-01,2024-04-30,10,month\n",
    )
    assert (p["column"], p["value"]) == (column, "2024-04-30")
    assert "is before start_date" in str(p["message"])


@pytest.mark.parametrize("score", ["-1", "11", "85"])
def test_scores_outside_their_scale(ws: Workspace, tmp_path: Path, score: str) -> None:
    p = _refused(
        ws, tmp_path, "feedback", f"customer_id,feedback_date,score\nC,2024-01-01,{score}\n"
    )
    assert (p["column"], p["value"]) == ("score", score)
    assert "outside the score scale" in str(p["message"])


def test_a_currency_column_must_be_the_workspace_currency(ws: Workspace, tmp_path: Path) -> None:
    p = _refused(
        ws,
        tmp_path,
        "orders",
        "order_id,customer_id,order_date,revenue,Currency\nA,C,2024-01-01,9,eur\nB,C,2024-01-01,9,usd\n",
    )
    assert (p["row"], p["column"], p["value"]) == (2, "Currency", "usd")
    assert "is not the workspace currency" in str(p["message"])


def test_customers_reimport_keeps_values_of_empty_cells(ws: Workspace, tmp_path: Path) -> None:
    full = "customer_id,name,email\nC-1,Ada Studio,ada@example.com\n"
    import_file(ws, "customers", write(tmp_path / "a.csv", full))
    import_file(
        ws, "customers", write(tmp_path / "b.csv", "customer_id,name,email\nC-1,,new@x.io\n")
    )
    assert rows(ws, "SELECT name, email FROM customers") == [("Ada Studio", "new@x.io")]
    import_file(
        ws,
        "customers",
        write(tmp_path / "c.csv", "customer_id,name,email\nC-1,,\n"),
        clear_empty=True,
    )
    assert rows(ws, "SELECT name, email FROM customers") == [(None, None)]
