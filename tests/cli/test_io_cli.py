"""`regulars import` and `regulars export`, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.store import Workspace

DATA = Path(__file__).parents[1] / "io" / "data"
INVOICES = "Invoice,Client,Date,Total\nA-1,C-1,2024-03-01,120.50\nA-2,C-2,15.03.2024,80\n"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "shop")])
    assert result.exit_code == 0, result.output
    return tmp_path / "shop"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_import_with_maps_and_export_as_json(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    code, out = _run(
        "import", "orders", str(tmp_path / "invoices.csv"), "-w", str(shop),
        "--map", "order_id=Invoice", "--map", "customer_id=Client",
        "--map", "order_date=Date", "--map", "revenue=Total",
    )  # fmt: skip
    assert code == 0, out
    assert "Imported 2 of 2 rows from invoices.csv into orders: 2 orders (2 new" in out
    code, out = _run("export", "orders", "--format", "json", "-w", str(shop))
    assert code == 0, out
    records = json.loads(out)
    assert [(r["order_id"], r["revenue"]) for r in records] == [("A-1", 120.5), ("A-2", 80.0)]


def test_import_with_a_preset_then_export_to_a_file(shop: Path, tmp_path: Path) -> None:
    code, out = _run(
        "import", "orders", str(DATA / "shopify_orders.csv"), "--preset", "shopify",
        "-w", str(shop),
    )  # fmt: skip
    assert code == 0, out
    assert "Left out 1 row by the preset's rules." in out
    assert "Ignored columns (not mapped to any field): 'Paid at'" in out
    out_file = tmp_path / "lines.csv"
    code, out = _run("export", "order_lines", "--out", str(out_file), "-w", str(shop))
    assert code == 0, out
    assert "Wrote 6 rows of order_lines" in out
    assert out_file.read_text().splitlines()[0] == (
        "order_id,line_no,product,category,quantity,unit_price,revenue"
    )


def test_invalid_rows_exit_non_zero_without_traceback(shop: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,customer_id,order_date,revenue\nA-1,C-1,2024-13-01,10\n")
    code, out = _run("import", "orders", str(bad), "-w", str(shop))
    assert code == 1
    assert "Error: bad.csv: 1 row is invalid, so nothing was imported." in out
    assert '"2024-13-01" is not a date' in out
    assert "Traceback" not in out
    code, out = _run("import", "orders", str(bad), "-w", str(shop), "--skip-invalid")
    assert code == 0, out
    assert "Rejected 1 invalid row;" in out
    assert (tmp_path / "bad.rejected.csv").exists()


def test_missing_columns_and_bad_map_syntax(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "refs.csv").write_text("Ref,Who,Day,Total\nA-1,C-1,2024-03-01,1\n")
    code, out = _run("import", "orders", str(tmp_path / "refs.csv"), "-w", str(shop))
    assert code == 1
    assert "Existing columns: 'Ref', 'Who', 'Day', 'Total'" in out
    assert "--map customer_id=" in out
    # Invoice, Client, Date and Total are usual names: they map themselves.
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    code, out = _run("import", "orders", str(tmp_path / "invoices.csv"), "-w", str(shop))
    assert code == 0, out
    assert "Invoice → order_id, Client → customer_id, Date → order_date, Total → revenue" in out
    code, out = _run(
        "import", "orders", str(tmp_path / "invoices.csv"), "-w", str(shop), "--map", "Invoice"
    )
    assert code == 2
    assert "is not FIELD=COLUMN" in out


def test_options_reach_the_importer(shop: Path, tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_bytes("Invoice;Client;Date;Total\nA-1;Ёлка;03/04/2024;1,500\n".encode("cp1251"))
    code, out = _run(
        "import", "orders", str(f), "-w", str(shop), "--encoding", "cp1251",
        "--date-format", "%m/%d/%Y", "--decimal-comma", "--map", "order_id=Invoice",
        "--map", "customer_id=Client", "--map", "order_date=Date", "--map", "revenue=Total",
    )  # fmt: skip
    assert code == 0, out
    code, out = _run("export", "orders", "--format", "jsonl", "-w", str(shop))
    record = json.loads(out.splitlines()[0])
    assert (record["customer_id"], record["order_date"], record["revenue"]) == (
        "Ёлка",
        "2024-03-04 00:00:00",
        1.5,
    )


def test_export_unknown_table(shop: Path) -> None:
    code, out = _run("export", "scores", "-w", str(shop))
    assert code == 1
    assert "Table 'scores' does not exist" in out


@pytest.mark.parametrize("command", ["import", "export"])
def test_help_has_examples(command: str) -> None:
    code, out = _run(command, "--help")
    assert code == 0
    assert "Examples:" in out
    assert "--workspace" in out


def test_console_script(tmp_path: Path) -> None:
    """The installed `regulars` command, in a real process, with REGULARS_WORKSPACE."""
    exe = Path(sys.executable).with_name("regulars")
    env = {**os.environ, "REGULARS_WORKSPACE": str(tmp_path / "ws")}
    subprocess.run([str(exe), "init"], check=True, capture_output=True, env=env)
    (tmp_path / "o.csv").write_text(
        "order_id,customer_id,order_date,revenue\nA-1,C-1,2024-03-01,10\n", encoding="utf-8"
    )
    proc = subprocess.run(
        [str(exe), "import", "orders", str(tmp_path / "o.csv")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "1 order (1 new" in proc.stdout
    proc = subprocess.run(
        [str(exe), "import", "orders", str(tmp_path / "missing.csv")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "File not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [str(exe), "export", "orders"], capture_output=True, text=True, env=env, check=True
    )
    assert proc.stdout.splitlines()[1].startswith("A-1,C-1,2024-03-01 00:00:00,10.00")


def test_rejects_path_from_the_cli(shop: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,customer_id,order_date,revenue\nA-1,C-1,2024-13-01,10\n")
    target = tmp_path / "out" / "rej.csv"
    target.parent.mkdir()
    code, out = _run(
        "import", "orders", str(bad), "-w", str(shop), "--skip-invalid", "--rejects", str(target)
    )
    assert code == 0, out
    assert target.exists()
    assert not (tmp_path / "bad.rejected.csv").exists()


def test_guest_revenue_and_clear_empty_from_the_cli(shop: Path, tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text(
        "order_id,customer_id,order_date,revenue\nA-1,C-1,2024-03-01,10\nG-1,,2024-03-01,5\n"
    )
    code, out = _run("import", "orders", str(f), "-w", str(shop), "--guest-revenue", "include")
    assert code == 0, out
    assert "Revenue total: 15.00 net of returns (customers 10.00 + guests 5.00" in out
    c = tmp_path / "c.csv"
    c.write_text("customer_id,name\nC-1,Ada\n")
    assert _run("import", "customers", str(c), "-w", str(shop))[0] == 0
    c.write_text("customer_id,name\nC-1,\n")
    assert _run("import", "customers", str(c), "-w", str(shop), "--clear-empty")[0] == 0
    code, out = _run("export", "customers", "--format", "jsonl", "-w", str(shop))
    assert json.loads(out.splitlines()[0])["name"] is None


@pytest.mark.parametrize(("kind", "hinted"), [("studio", True), ("shop", False)])
def test_a_shop_export_in_a_studio_workspace_gets_a_kind_hint(
    tmp_path: Path, kind: str, hinted: bool
) -> None:
    from regulars.datasets import simulate_shop_export

    export = tmp_path / "shop.csv"
    simulate_shop_export(150, seed=2).lines.to_csv(export, index=False)
    ws = tmp_path / kind
    assert _run("init", str(ws), "--kind", kind)[0] == 0
    result = CliRunner().invoke(app, ["import", "orders", str(export), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "Imported" in result.stdout
    if hinted:
        assert "Hint: these orders look like a shop's (" in result.stderr
        assert 'lines such as "' in result.stderr
        assert 'set kind = "shop" under [workspace]' in result.stderr
        # The lines an order come from the import's own counts: the same as the table's.
        with Workspace.open(ws) as w:
            row = w.con.execute(
                "SELECT count(DISTINCT product), count(*) / count(DISTINCT order_id) "
                "FROM order_lines"
            ).fetchone()
        assert row is not None
        assert f"({row[0]:,} products, {row[1]:.1f} lines an order" in result.stderr
        # Said once, when the orders arrive: the same file again adds none.
        again = CliRunner().invoke(app, ["import", "orders", str(export), "-w", str(ws)])
        assert again.exit_code == 0, again.output
        assert "Hint" not in again.stderr
    else:
        assert "Hint" not in result.stderr


def test_a_studio_export_gets_no_kind_hint(shop: Path, tmp_path: Path) -> None:
    lines = "order_id,customer_id,order_date,product,revenue\n"
    lines += "".join(
        f"O{i},C{i % 7},2024-0{i % 9 + 1}-02,service-{i % 4},{100 + i}\n" for i in range(40)
    )
    (tmp_path / "studio.csv").write_text(lines, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["import", "orders", str(tmp_path / "studio.csv"), "-w", str(shop)]
    )
    assert result.exit_code == 0, result.output
    assert "Imported 40 of 40 rows" in result.stdout
    assert "Hint" not in result.stderr
