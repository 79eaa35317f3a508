"""Helpers of the import/export tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regulars.schema import TABLES
from regulars.store import Workspace

DATA = Path(__file__).parent / "data"

# The usual column names of a hand-made invoices file, mapped onto the contract.
INVOICE_MAP = {
    "order_id": "Invoice",
    "customer_id": "Client",
    "order_date": "Date",
    "revenue": "Total",
}


def write(path: Path, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    """Write ``text`` to ``path`` in ``encoding`` (with a UTF-8 BOM if asked)."""
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def contents(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Every contract table, sorted, so two snapshots compare exactly."""
    out = {}
    for name in TABLES:
        found = ws.con.execute(f'SELECT * FROM "{name}"').fetchall()
        out[name] = sorted(found, key=lambda r: tuple(str(v) for v in r))
    return out


def rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return ws.con.execute(sql).fetchall()
