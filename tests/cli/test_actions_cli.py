"""``regulars actions``, ``action``, ``touch`` and ``effectiveness`` through click's runner."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
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


def test_an_80_column_terminal_shows_every_id_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "wide"
    ws = Workspace.init(path, name="Shop")
    (path / "regulars.toml").write_text("[actions]\nholdout_share = 0.0\n", encoding="utf-8")
    rows = [
        {
            "order_id": f"{i}-{j}",
            "customer_id": f"C{i:02d}",
            "order_date": dt.datetime.fromisoformat(day),
            "revenue": 100.0 + i,
        }
        for i in range(12)
        for j, day in enumerate(LAPSED)
    ]
    _insert(ws, "orders", rows)
    long_name = "Studio [berlin] GmbH, a customer with a very long name indeed"
    _insert(ws, "customers", [{"customer_id": "C11", "name": long_name}])
    ws.close()
    result = CliRunner(env={"COLUMNS": "80"}).invoke(
        app, ["actions", "-w", str(path), "--today", "2024-06-30"]
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    with Workspace.open(path) as w:
        ids = [r[0] for r in w.con.execute("SELECT action_id FROM actions").fetchall()]
    assert len(ids) == 12
    for aid in ids:  # every id whole, at the start of its row, with its reason below
        (i,) = [n for n, line in enumerate(lines) if line.startswith(aid)]
        assert lines[i + 1].startswith("    No order for")
    assert "Studio [berlin]" in result.stdout  # user text is not markup
    # A short start of an id is enough for `action done`.
    code, out, _ = run("action", "done", ids[0][:8], "--no-touch", "-w", str(path))
    assert code == 0
    assert f"{ids[0]} (win_back" in out
    code, _, err = run("action", "done", "A-", "-w", str(path))
    assert code == 1
    assert "No action with id 'A-'" in err
    result = CliRunner(env={"COLUMNS": "80"}).invoke(
        app, ["effectiveness", "-w", str(path), "--today", "2024-12-31"]
    )
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "lift:" in result.stdout
    assert "marked done: 1" in result.stdout


def test_init_kind_shop_sets_the_shop_profile(tmp_path: Path) -> None:
    code, _, _ = run("init", str(tmp_path / "shop"), "--kind", "shop")
    assert code == 0
    with Workspace.open(tmp_path / "shop") as ws:
        cfg = ws.config
    assert cfg.workspace.kind == "shop"
    assert cfg.guarantee.days == 0
    assert not cfg.playbooks.package_offer.enable
    assert cfg.products.exclude
    code, _, err = run("init", str(tmp_path / "bakery"), "--kind", "bakery")
    assert code == 2
    assert "'bakery' is not one of 'studio', 'shop', 'subscription'" in err


def test_a_past_today_prints_a_what_if_note(ws_path: Path) -> None:
    run("actions", "-w", str(ws_path))
    code, _, err = run("actions", "-w", str(ws_path), "--today", "2024-01-01")
    assert code == 0
    assert "What-if view for 2024-01-01" in err


def test_a_book_without_amounts_shows_no_money(tmp_path: Path) -> None:
    """A customer + date log: no "0 EUR" anywhere, JSON null, ranked by orders."""
    path = tmp_path / "log"
    Workspace.init(path, name="Shop").close()
    (path / "regulars.toml").write_text("[actions]\nholdout_share = 0.0\n", encoding="utf-8")
    log = tmp_path / "log.csv"
    log.write_text(
        "cust,date\n"
        + "".join(f"A1,{day}\n" for day in LAPSED)
        + "".join(f"Z9,2023-01-{d:02d}\n" for d in range(1, 29, 4))
    )
    code, _, err = run("import", "orders", str(log), "-w", str(path))
    assert code == 0, err
    code, out, err = run("actions", "-w", str(path), "--today", "2024-06-30")
    assert code == 0
    assert "no amounts" in out
    assert "EUR" not in out + err
    assert "ranked by the orders at stake" in err
    rows = json_actions(path, "--today", "2024-06-30")
    assert [r["customer_id"] for r in rows] == ["Z9", "A1"]  # 7 orders a year, then 3
    assert [r["value_at_stake"] for r in rows] == [None, None]
    assert [r["orders_at_stake"] for r in rows] == [7.0, 3.0]
    code, out, _ = run("actions", "-w", str(path), "--format", "csv", "--today", "2024-06-30")
    first = next(csv.DictReader(io.StringIO(out)))
    assert (first["value_at_stake"], first["orders_at_stake"]) == ("", "7.0")  # empty, not 0


def _one_message(
    ws_path: Path, monkeypatch: pytest.MonkeyPatch, compute: Callable[..., None]
) -> str:
    """`regulars actions` with ``compute`` in place of the actions: it must fail with
    one message and no traceback; the message, on one line."""
    import regulars.actions

    monkeypatch.setattr(regulars.actions, "compute_actions", compute)
    result = CliRunner().invoke(app, ["actions", "-w", str(ws_path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


def test_the_engine_out_of_memory_is_one_clear_message(
    ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's own out-of-memory error (here from a query that may not spill) inside a
    command: one message that names the settings and the spill folder, no traceback."""
    import duckdb

    def starved(ws: Workspace, **_: object) -> None:
        con = duckdb.connect()
        con.execute("SET temp_directory = ''")
        con.execute("SET memory_limit = '20MB'")
        con.execute("SELECT count(DISTINCT i::VARCHAR) FROM range(30000000) t(i)").fetchall()

    text = _one_message(ws_path, monkeypatch, starved)
    assert "Error: The database engine ran out of memory or of disk" in text
    assert "Out of Memory Error: failed to allocate" in text
    assert "Nothing was written by the unfinished step" in text
    assert "regulars.duckdb.tmp-<pid>" in text
    assert "[actions] memory" in text
    with Workspace.open(ws_path, read_only=True) as ws:
        assert not ws.has_table("actions")


def test_spark_out_of_memory_is_one_clear_message(
    ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JVM out of memory reported through Py4J (as a 30 M-line book's per-customer
    aggregate did on a local session with 4 shuffle partitions): one message naming the
    driver memory and the partitions, no traceback; any other Py4J error is not hidden."""
    import regulars.actions

    java_error = type("Py4JJavaError", (Exception,), {"__module__": "py4j.protocol"})

    def starved(ws: Workspace, **_: object) -> None:
        raise java_error(
            "An error occurred while calling o171.localCheckpoint.\n"
            ": org.apache.spark.SparkException: Job aborted due to stage failure\n"
            "Caused by: org.apache.spark.memory.SparkOutOfMemoryError: No enough memory "
            "for aggregation\n\tat org.apache.spark.sql.execution.Foo.bar(Foo.java:1)"
        )

    text = _one_message(ws_path, monkeypatch, starved)
    assert "Error: Spark ran out of memory: Caused by: org.apache.spark.memory." in text
    assert "SparkOutOfMemoryError: No enough memory for aggregation" in text
    assert "Nothing was written by the unfinished step" in text
    assert "$REGULARS_SPARK_DRIVER_MEMORY" in text
    assert "spark.sql.shuffle.partitions" in text

    def broken(ws: Workspace, **_: object) -> None:
        raise java_error("An error occurred: java.lang.IllegalStateException: no")

    monkeypatch.setattr(regulars.actions, "compute_actions", broken)
    result = CliRunner().invoke(app, ["actions", "-w", str(ws_path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, java_error)
