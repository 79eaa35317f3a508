"""``regulars actions``, ``action``, ``touch`` and ``effectiveness`` through click's runner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.store import Workspace

LAPSED = ["2023-01-01", "2023-01-31", "2023-03-02"]


def _insert(ws: Workspace, table: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    src = pa.Table.from_pylist(rows)
    cols = ", ".join(src.column_names)
    ws.con.register("_src", src)
    ws.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _src")
    ws.con.unregister("_src")


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    """Two lapsed customers (win_back), one new (check-in due), one brand new."""
    path = tmp_path / "shop"
    ws = Workspace.init(path, name="Shop")
    (path / "regulars.toml").write_text("[actions]\nholdout_share = 0.0\n", encoding="utf-8")
    orders = []
    for cid, revenue in (("C1", 300.0), ("C2", 900.0)):
        for i, day in enumerate(LAPSED):
            orders.append(
                {
                    "order_id": f"{cid}-{i}",
                    "customer_id": cid,
                    "order_date": dt.datetime.fromisoformat(day),
                    "revenue": revenue,
                }
            )
    for oid, cid, day in (("N-1", "C3", 10), ("N-2", "C4", 30)):
        orders.append(
            {
                "order_id": oid,
                "customer_id": cid,
                "order_date": dt.datetime(2024, 6, day),
                "revenue": 50.0,
            }
        )
    _insert(ws, "orders", orders)
    _insert(ws, "customers", [{"customer_id": "C2", "name": "Bea Ltd"}])
    ws.close()
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def json_actions(ws_path: Path, *extra: str) -> list[dict]:  # type: ignore[type-arg]
    code, out, _ = run("actions", "-w", str(ws_path), "--format", "json", *extra)
    assert code == 0
    return json.loads(out)  # type: ignore[no-any-return]


def test_actions_json_records(ws_path: Path) -> None:
    rows = json_actions(ws_path)
    assert [r["customer_id"] for r in rows] == ["C2", "C1", "C3"]
    first = rows[0]
    for key in (
        "action_id",
        "customer_id",
        "playbook",
        "reason",
        "value_at_stake",
        "priority",
        "due",
    ):
        assert first[key] is not None
    assert first["playbook"] == "win_back"
    assert first["value_at_stake"] == 2700.0
    assert first["name"] == "Bea Ltd"
    assert first["due"] == "2023-05-31"  # lapsed since 3 usual gaps after the last order
    assert rows[2]["playbook"] == "guarantee_check_in"
    # The reason as data: a list of clauses, the first one's code as reason_code.
    assert isinstance(first["reason_params"], list)
    assert first["reason_params"][0]["code"] == first["reason_code"]
    # Stable ids across runs.
    assert [r["action_id"] for r in json_actions(ws_path)] == [r["action_id"] for r in rows]


def test_actions_table_filters_and_limits(ws_path: Path) -> None:
    code, out, err = run("actions", "-w", str(ws_path), "--playbook", "win_back", "--limit", "1")
    assert code == 0
    assert "Bea Ltd" in out
    assert "2,700 EUR" in out
    assert "C1" not in out
    assert "3 open of this week's 25, 0 held out" in err
    code, out, _ = run("actions", "-w", str(ws_path), "--format", "csv", "--today", "2024-06-10")
    lines = out.splitlines()
    assert lines[0].startswith("action_id,customer_id,name,playbook,reason,value_at_stake")
    assert len(lines) == 3  # C3's check-in is not due yet on its first day


def test_action_done_snooze_dismiss(ws_path: Path) -> None:
    rows = json_actions(ws_path)
    c2, c1, c3 = (r["action_id"] for r in rows)
    code, out, _ = run(
        "action", "done", c2, "--outcome", "accepted", "--note", "Booked", "-w", str(ws_path)
    )
    assert code == 0
    assert "is done; outcome: accepted; touch T-" in out
    code, out, _ = run("action", "snooze", c1, "--until", "2024-07-01", "-w", str(ws_path))
    assert code == 0
    assert "is snoozed until 2024-07-01" in out
    code, out, _ = run("action", "dismiss", c3, "-w", str(ws_path))
    assert code == 0
    assert json_actions(ws_path) == []
    assert [r["customer_id"] for r in json_actions(ws_path, "--today", "2024-07-01")] == ["C1"]
    with Workspace.open(ws_path) as ws:
        assert ws.con.execute("SELECT kind, note FROM touches").fetchall() == [("email", "Booked")]


def test_action_errors_are_one_clear_line(ws_path: Path) -> None:
    code, _, err = run("action", "done", "A-nope", "-w", str(ws_path))
    assert code == 1
    assert "Error: No action with id 'A-nope'" in err
    assert "Traceback" not in err
    (first, *_) = json_actions(ws_path)
    code, _, err = run(
        "action", "done", first["action_id"], "--until", "2024-08-01", "-w", str(ws_path)
    )
    assert code == 1
    assert "--until applies to snooze and dismiss" in err
    code, _, err = run(
        "action", "done", first["action_id"], "--outcome", "maybe", "-w", str(ws_path)
    )
    assert code == 2
    assert "'maybe' is not one of 'accepted', 'declined', 'no-reply'" in err


def test_touch_logs_a_contact(ws_path: Path) -> None:
    code, out, _ = run(
        "touch",
        "C1",
        "--kind",
        "idea",
        "--note",
        "VAT note",
        "--at",
        "2024-06-09 10:00",
        "--offer",
        "retainer",
        "-w",
        str(ws_path),
    )
    assert code == 0
    assert "Logged idea with C1 (T-" in out
    with Workspace.open(ws_path) as ws:
        assert ws.con.execute("SELECT customer_id, kind, note FROM touches").fetchall() == [
            ("C1", "idea", "VAT note")
        ]
        assert ws.con.execute("SELECT product FROM offers").fetchall() == [("retainer",)]
    code, _, err = run("touch", "C9", "--kind", "call", "-w", str(ws_path))
    assert code == 1
    assert "Unknown customer 'C9'" in err
    code, _, err = run("touch", "C1", "--kind", "fax", "-w", str(ws_path))
    assert code == 2


def test_effectiveness(ws_path: Path) -> None:
    code, out, _ = run("effectiveness", "-w", str(ws_path))
    assert code == 0
    assert "No actions yet" in out
    json_actions(ws_path)
    code, out, _ = run(
        "effectiveness", "-w", str(ws_path), "--format", "json", "--today", "2024-12-31"
    )
    assert code == 0
    rows = {r["playbook"]: r for r in json.loads(out)}
    assert rows["win_back"]["treated"] == 2
    assert rows["win_back"]["held_out"] == 0
    assert rows["win_back"]["held_out_repurchase"] is None
    code, out, _ = run("effectiveness", "-w", str(ws_path), "--today", "2024-12-31")
    assert code == 0
    assert "win_back" in out
    code, out, _ = run("effectiveness", "-w", str(ws_path), "--signals", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {r["signal"] for r in data["strength"]} >= {"orders", "days_since_order"}
    code, out, _ = run("effectiveness", "-w", str(ws_path), "--signals")
    assert code == 0
    assert "How well each signal predicted repurchase" in out


@pytest.mark.parametrize("command", [["actions"], ["action", "done"], ["touch"], ["effectiveness"]])
def test_help_has_examples(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "Examples:" in out
    assert "--workspace" in out or command == ["action"]


def test_an_empty_workspace_has_nothing_to_do(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "empty").close()
    code, out, _ = run("actions", "-w", str(tmp_path / "empty"))
    assert code == 0
    assert "No open actions" in out
    code, out, _ = run("effectiveness", "-w", str(tmp_path / "empty"), "--signals")
    assert code == 0


def test_a_missing_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    code, _, err = run("actions", "-w", str(tmp_path / "nowhere"))
    assert code == 1
    assert "regulars init" in err
