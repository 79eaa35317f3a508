"""An identical re-import of orders is recognised, and writes nothing.

Re-importing a file changes nothing (rows are keyed), but doing the work again
costs as much as the first import.  Each import of orders records, in its own
transaction, the SHA-256 of the file's bytes, the options that shape its result,
the data version it left and what it did.  An import whose file content and options
are the same, into a workspace whose data have not changed since (the same data
version, and the same row counts of the tables an import writes), can only write
the rows that are there already: it reports the recorded result and writes nothing.

Only ``orders`` takes this path (other tables have columns, such as a touch's
outcome, that other commands update in place), and never with ``skip_invalid``
(that writes the rejected rows next to the file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from regulars.io._result import ImportResult

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["LAST_IMPORT", "Fingerprint", "fingerprint", "previous", "record"]

LAST_IMPORT = "_regulars_last_import"
_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{LAST_IMPORT}" (fingerprint VARCHAR, data_version VARCHAR, '
    "counts VARCHAR, result VARCHAR, recorded_at TIMESTAMP)"
)
#: Tables whose row counts must match the record (cheap: DuckDB keeps them).
_COUNTED = ("orders", "order_lines", "guest_orders", "customers")
#: Fields of ImportResult that are not stored: the file, and what differs per run.
_NOT_STORED = {"path", "seconds", "rejected_path"}


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """The file's content hash and the import's options, as one text."""

    text: str


def fingerprint(path: Path, options: Mapping[str, object]) -> Fingerprint:
    """SHA-256 of the bytes of ``path`` together with the options of the import."""
    from regulars import __version__

    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    opts = json.dumps({**options, "regulars": __version__}, sort_keys=True, default=str)
    return Fingerprint(f"{digest}:{hashlib.sha256(opts.encode()).hexdigest()}")


def _counts(con: duckdb.DuckDBPyConnection) -> str:
    tables = {str(r[0]) for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    parts = []
    for t in _COUNTED:
        n = 0
        if t in tables:
            row = con.execute(f'SELECT count(*) FROM "{t}"').fetchone()
            n = int(row[0]) if row else 0
        parts.append(f"{t}={n}")
    return ",".join(parts)


def previous(workspace: Workspace, fp: Fingerprint, path: Path) -> ImportResult | None:
    """The result of the last import if it had ``fp`` and nothing changed since."""
    con = workspace.con
    try:
        row = con.execute(
            f'SELECT data_version, counts, result, recorded_at FROM "{LAST_IMPORT}" '
            "WHERE fingerprint = ?",
            [fp.text],
        ).fetchone()
    except duckdb.CatalogException:
        return None
    if row is None or row[0] != workspace.data_version or row[1] != _counts(con):
        return None
    fields: dict[str, Any] = json.loads(str(row[2]))
    for name in ("guest_revenue", "customer_revenue"):
        fields[name] = Decimal(fields[name])
    result = ImportResult(path=path, **fields)
    result.new_records = 0
    result.customers_created = 0
    when = row[3].strftime("%Y-%m-%d %H:%M:%S") if row[3] is not None else "an earlier time"
    result.remarks.append(
        f"Same content and options as the import of {when}, and the workspace's data have "
        "not changed since: nothing to write (the file was read only to compare its bytes)."
    )
    return result


def record(
    con: duckdb.DuckDBPyConnection, fp: Fingerprint, data_version: str, result: ImportResult
) -> None:
    """Remember this import (call inside its transaction, after its last write)."""
    fields = {
        f.name: getattr(result, f.name)
        for f in dataclasses.fields(result)
        if f.name not in _NOT_STORED
    }
    con.execute(_DDL)
    con.execute(f'DELETE FROM "{LAST_IMPORT}"')
    con.execute(
        f'INSERT INTO "{LAST_IMPORT}" VALUES (?, ?, ?, ?, current_localtimestamp())',
        [fp.text, data_version, _counts(con), json.dumps(fields, default=str)],
    )
