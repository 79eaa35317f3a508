"""Data and messages are never Rich markup, and never drive the terminal.

A customer typed the names; the operator's terminal must show them as they are
(``[berlin]`` stays, ``[/x]`` does not crash, ``[link=…]`` is no link) and no control
character reaches it (no window title, no cleared screen).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from regulars._text import visible
from regulars.cli import app
from regulars.cli._common import SafeConsole, esc
from regulars.store import Workspace

MARKUP_NAMES = [
    "Studio [berlin] GmbH",
    "[/x]",
    "[link=https://evil.example]click[/link]",
    "[bold red]Boss[/]",
    "trailing backslash \\",
]
CONTROL_NAMES = [
    "Title\x1b]0;pwned\x07Co",
    "Clear\x1b[2JCo",
    "Bell\x07 and CSI\x9b31m Co",
    "Return\rHidden Co",
    "Bidi\u202eoc.liam\u202c Co",
]


def _insert(ws: Workspace, table: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    src = pa.Table.from_pylist(rows)
    cols = ", ".join(src.column_names)
    ws.con.register("_src", src)
    ws.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _src")
    ws.con.unregister("_src")


def _workspace(path: Path, names: list[str]) -> Path:
    """One lapsed customer per name: each gets a win_back action."""
    ws = Workspace.init(path, name="Shop")
    (path / "regulars.toml").write_text("[actions]\nholdout_share = 0.0\n", encoding="utf-8")
    orders, customers = [], []
    for i, name in enumerate(names):
        cid = f"C{i}"
        customers.append({"customer_id": cid, "name": name})
        for j, day in enumerate(("2023-01-01", "2023-01-31", "2023-03-02")):
            orders.append(
                {
                    "order_id": f"{cid}-{j}",
                    "customer_id": cid,
                    "order_date": dt.datetime.fromisoformat(day),
                    "revenue": 100.0 * (i + 1),
                }
            )
    orders.append(
        {
            "order_id": "N-1",
            "customer_id": "CN",
            "order_date": dt.datetime(2024, 6, 30),
            "revenue": 50.0,
        }
    )
    _insert(ws, "orders", orders)
    _insert(ws, "customers", customers)
    ws.close()
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_esc_keeps_every_character_of_markup() -> None:
    console = SafeConsole(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    for name in MARKUP_NAMES:
        console.print(f"[bold]{esc(name)}[/]")
    text = console.export_text()
    for name in MARKUP_NAMES:
        assert name in text


def test_visible_leaves_no_control_character() -> None:
    for name in CONTROL_NAMES:
        shown = visible(name)
        assert all(ch.isprintable() for ch in shown), shown
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\u202e") == "\\u202e"


def test_actions_table_shows_bracketed_names_as_they_are(tmp_path: Path) -> None:
    path = _workspace(tmp_path / "shop", MARKUP_NAMES)
    code, out, err = run("actions", "-w", str(path))
    assert code == 0, err
    for name in MARKUP_NAMES:
        assert name in out
    assert "\x1b]8;" not in out  # no terminal hyperlink


def test_actions_table_makes_control_characters_visible(tmp_path: Path) -> None:
    path = _workspace(tmp_path / "shop", CONTROL_NAMES)
    code, out, err = run("actions", "-w", str(path))
    assert code == 0, err
    for ch in ("\x1b", "\x07", "\x9b", "\r", "\u202e"):
        assert ch not in out + err
    assert "Title\\x1b]0;pwned\\x07Co" in out
    assert "Clear\\x1b[2JCo" in out


@pytest.mark.parametrize("name", [*MARKUP_NAMES, *CONTROL_NAMES])
def test_touch_confirmation_shows_the_customer_as_typed(tmp_path: Path, name: str) -> None:
    path = _workspace(tmp_path / "shop", ["Ann"])
    with Workspace.open(path) as ws:
        _insert(ws, "customers", [{"customer_id": name, "name": "x"}])
    code, out, err = run("touch", name, "--kind", "call", "-w", str(path))
    assert code == 0, err
    assert visible(name) in out
    assert "\x1b" not in out


def test_error_message_keeps_the_config_key_in_brackets(tmp_path: Path) -> None:
    path = tmp_path / "shop"
    Workspace.init(path).close()
    (path / "regulars.toml").write_text('[workspace]\ncurrency = "EURO"\n', encoding="utf-8")
    code, _out, err = run("metrics", "growth-accounting", "-w", str(path))
    assert code == 1
    assert "[workspace] currency" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["[/x]", "[link=https://evil.example]click[/link]"])
def test_error_message_with_markup_in_the_data(tmp_path: Path, value: str) -> None:
    """A value such as ``[/x]`` in a rejected cell is printed, not parsed."""
    path = tmp_path / "shop"
    Workspace.init(path).close()
    src = tmp_path / "orders.csv"
    src.write_text(f"order_id,customer_id,order_date,revenue\nA1,C1,{value},10\n", encoding="utf-8")
    code, _out, err = run("import", "orders", str(src), "-w", str(path))
    assert code == 1
    assert value in err.replace("\n", "")
    assert "MarkupError" not in err
    assert "\x1b]8;" not in err


def test_error_message_with_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "shop"
    Workspace.init(path).close()
    src = tmp_path / "orders.csv"
    src.write_text(
        "order_id,customer_id,order_date,revenue\nA1,C1,\x1b]0;pwned\x07,10\n", encoding="utf-8"
    )
    code, _out, err = run("import", "orders", str(src), "-w", str(path))
    assert code == 1
    assert "\x1b" not in err
    assert "\x07" not in err


def test_json_escapes_every_control_character(tmp_path: Path) -> None:
    import json

    path = _workspace(tmp_path / "shop", CONTROL_NAMES)
    code, out, err = run("actions", "-w", str(path), "--format", "json")
    assert code == 0, err
    assert all(ch.isprintable() or ch in "\n " for ch in out)
    names = {r["name"] for r in json.loads(out)}
    assert names & set(CONTROL_NAMES)  # the data itself is exact


def _on_a_terminal(args: list[str]) -> str:
    """Run the console script with its stdout on a pseudo-terminal; return what it showed."""
    import os
    import pty
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("regulars")
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(exe), *args], stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(
    "command",
    [["export", "customers"], ["actions", "--format", "csv"], ["export", "customers", "--raw"]],
    ids=["export", "actions-csv", "export-raw"],
)
def test_machine_output_on_a_terminal_shows_no_control_character(
    tmp_path: Path, command: list[str]
) -> None:
    path = _workspace(tmp_path / "shop", CONTROL_NAMES)
    shown = _on_a_terminal([*command, "-w", str(path)])
    assert "Clear\\x1b[2JCo" in shown
    assert "\x1b" not in shown
    assert "\x9b" not in shown
