"""CSV outputs are safe to open in a spreadsheet (OWASP CSV injection), with --raw to opt out."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.io import export_table
from regulars.io._export import safe_cell
from regulars.store import Workspace

PAYLOADS = [
    '=HYPERLINK("https://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["Ann", "-12.50", "+49", "Studio [berlin] GmbH", "", "a=b"]


def oracle(value: str) -> str:
    """OWASP: a text cell starting with = + - @ tab CR gets a leading quote, unless a number."""
    is_number = value.lstrip("+-").replace(".", "").replace(",", "").isdigit() and value[:1] in (
        "+",
        "-",
        *"0123456789",
    )
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not is_number else value


@pytest.mark.parametrize("value", [*PAYLOADS, *HARMLESS])
def test_safe_cell_follows_the_owasp_rule(value: str) -> None:
    assert safe_cell(value) == oracle(value)


def test_numbers_stay_numbers() -> None:
    assert safe_cell(-12.5) == -12.5
    assert safe_cell(None) is None


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    ws = Workspace.init(path)
    (path / "regulars.toml").write_text("[actions]\nholdout_share = 0.0\n", encoding="utf-8")
    names = [*PAYLOADS, *HARMLESS]
    customers = [{"customer_id": f"C{i}", "name": n} for i, n in enumerate(names)]
    orders = [
        {
            "order_id": f"O{i}-{j}",
            "customer_id": f"C{i}",
            "order_date": dt.datetime(2023, 1 + 2 * j, 1),
            "revenue": 100.0 + i,
            "refund_amount": 12.5 if i == 0 and j == 0 else None,
        }
        for i in range(len(names))
        for j in range(3)
    ]
    orders.append(
        {
            "order_id": "N",
            "customer_id": "CN",
            "order_date": dt.datetime(2024, 6, 1),
            "revenue": 10.0,
            "refund_amount": None,
        }
    )
    for table, rows in (("customers", customers), ("orders", orders)):
        src = pa.Table.from_pylist(rows)
        ws.con.register("_src", src)
        cols = ", ".join(src.column_names)
        ws.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _src")
        ws.con.unregister("_src")
    ws.close()
    return path


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_export_csv_neutralises_text_cells(ws_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "customers", "-w", str(ws_path)])
    assert result.exit_code == 0, result.output
    names = {r["customer_id"]: r["name"] for r in _rows(result.stdout)}
    for i, value in enumerate([*PAYLOADS, *HARMLESS]):
        assert names[f"C{i}"] == oracle(value)


def test_export_csv_keeps_numbers(ws_path: Path, tmp_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        ws.con.execute("UPDATE orders SET revenue = -12.50 WHERE order_id = 'N'")
        buf = io.BytesIO()
        export_table(ws, "orders", out=buf)
    rows = {r["order_id"]: r for r in _rows(buf.getvalue().decode())}
    assert rows["N"]["revenue"] == "-12.50"


def test_export_raw_writes_cells_as_stored(ws_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "customers", "--raw", "-w", str(ws_path)])
    assert result.exit_code == 0, result.output
    names = {r["customer_id"]: r["name"] for r in _rows(result.stdout)}
    for i, value in enumerate([*PAYLOADS, *HARMLESS]):
        assert names[f"C{i}"] == value


def test_export_json_is_not_changed(ws_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        buf = io.BytesIO()
        export_table(ws, "customers", format="jsonl", out=buf)
    assert PAYLOADS[0].replace('"', '\\"') in buf.getvalue().decode()


def test_actions_csv_neutralises_names(ws_path: Path) -> None:
    runner = CliRunner()
    safe = runner.invoke(app, ["actions", "--format", "csv", "-w", str(ws_path)])
    assert safe.exit_code == 0, safe.output
    rows = _rows(safe.stdout)
    by_customer = {r["customer_id"]: r for r in rows}
    names = [*PAYLOADS, *HARMLESS]
    shown = [i for i in range(len(names)) if f"C{i}" in by_customer]
    assert any(names[i] in PAYLOADS for i in shown)
    for i in shown:
        assert by_customer[f"C{i}"]["name"] == oracle(names[i])
        assert not by_customer[f"C{i}"]["value_at_stake"].startswith("'")
    raw = runner.invoke(app, ["actions", "--format", "csv", "--raw", "-w", str(ws_path)])
    raw_names = {r["customer_id"]: r["name"] for r in _rows(raw.stdout)}
    for i in shown:
        assert raw_names[f"C{i}"] == names[i]
