"""``export_table``: any workspace table to CSV, Parquet, JSON or JSON Lines.

DuckDB's ``COPY`` writes the file in a streaming way.  Standard output gets the
same bytes, copied from a temporary file in chunks, so memory stays flat for
tables of any size.

CSV is safe to open in a spreadsheet: a text cell that starts like a formula
(``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading single
quote, the OWASP advice against CSV injection.  Numbers, dates and text that is a
plain number (``-12.50``) are left alone; ``raw=True`` turns it off.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import duckdb

from regulars.errors import SchemaError, WorkspaceError
from regulars.io._mapping import sql_ident
from regulars.io._parse import sql_str
from regulars.schema import TABLES

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["EXPORT_FORMATS", "FORMULA_START", "export_table", "safe_cell"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Text that is only a number: no formula can hide in it.
_PLAIN_NUMBER = "[+-]?[0-9][0-9.,]*"


QUOTE = "'"


def safe_cell(value: Any) -> Any:
    """``value`` ready for a CSV cell: a formula-like text cell gets a leading ``'``.

    Examples
    --------
    >>> safe_cell('=HYPERLINK("http://x", "click")')
    '\'=HYPERLINK("http://x", "click")'
    >>> safe_cell("-12.50"), safe_cell(-12.5), safe_cell("Ann")
    ('-12.50', -12.5, 'Ann')
    """
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not re.fullmatch(_PLAIN_NUMBER, value)
    ):
        return QUOTE + value
    return value


EXPORT_FORMATS = ("csv", "parquet", "json", "jsonl")
_COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER",
    "parquet": "FORMAT parquet",
    "json": "FORMAT json, ARRAY true",
    "jsonl": "FORMAT json",
}


def export_table(
    workspace: Workspace,
    table: str,
    *,
    format: str = "csv",
    out: str | Path | BinaryIO | None = None,
    raw: bool = False,
) -> int:
    """Write ``table`` to ``out`` (a path, a binary stream, or standard output).

    Parameters
    ----------
    workspace : Workspace
        The workspace to read.
    table : str
        Any table of the workspace: the contract tables and derived ones (scores...).
    format : {"csv", "parquet", "json", "jsonl"}
        ``json`` is one array of records; ``jsonl`` one record per line.
    out : path or binary file, optional
        Where to write; standard output when omitted.
    raw : bool, default False
        CSV only: write text cells exactly as stored.  By default a text cell that
        starts like a spreadsheet formula gets a leading ``'`` (see :func:`safe_cell`).

    Returns
    -------
    int
        The number of rows written.

    Examples
    --------
    >>> import io, tempfile
    >>> from regulars.store import Workspace
    >>> ws = Workspace.init(tempfile.mkdtemp())
    >>> buf = io.BytesIO()
    >>> export_table(ws, "spend", format="csv", out=buf)
    0
    >>> buf.getvalue().decode().strip()
    'channel,period_start,period_end,amount'
    >>> ws.close()
    """
    fmt = format.lower()
    if fmt not in _COPY_OPTIONS:
        raise SchemaError(
            f"Unknown export format {format!r}. Valid formats: {', '.join(EXPORT_FORMATS)}."
        )
    if not workspace.has_table(table):
        workspace.table(table)  # raises the error that lists the existing tables
    con = workspace.con
    name = table
    if (select := workspace.data_select(table)) is not None:  # a Parquet workspace's file
        name = "_regulars_export"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select}")
    source = sql_ident(name)
    order = ""
    if table in TABLES:
        order = " ORDER BY " + ", ".join(sql_ident(k) for k in TABLES[table].key)
    columns = "*"
    if fmt == "csv" and not raw:
        columns = _safe_columns(con, name)
    query = f"SELECT {columns} FROM {source}{order}"
    row = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    n = int(row[0]) if row else 0
    if isinstance(out, str | Path):
        target = Path(out)
        if target.parent and not target.parent.exists():
            raise WorkspaceError(
                f"Cannot write {target}: the folder {target.parent} does not exist."
            )
        _copy(con, query, target, fmt)
        return n
    stream: BinaryIO = out if out is not None else sys.stdout.buffer
    fd, tmp = tempfile.mkstemp(prefix="regulars-export-", suffix=f".{fmt}")
    os.close(fd)
    try:
        _copy(con, query, Path(tmp), fmt)
        with open(tmp, "rb") as f:
            shutil.copyfileobj(f, stream, 1 << 20)
        with contextlib.suppress(AttributeError, ValueError):
            stream.flush()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return n


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path, fmt: str) -> None:
    try:
        con.execute(f"COPY ({query}) TO {sql_str(str(target))} ({_COPY_OPTIONS[fmt]})")
    except duckdb.Error as exc:
        raise WorkspaceError(f"Cannot write {target}: {str(exc).splitlines()[0]}") from None


def _safe_columns(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The select list of ``table`` with every text column passed through safe_cell."""
    starts = ", ".join(sql_str(c) for c in FORMULA_START)
    parts = []
    for name, type_, *_ in con.execute(f"DESCRIBE {sql_ident(table)}").fetchall():
        col = sql_ident(name)
        if str(type_).upper() == "VARCHAR":
            parts.append(
                f"CASE WHEN left({col}, 1) IN ({starts}) AND NOT regexp_full_match({col}, "
                f"{sql_str(_PLAIN_NUMBER)}) THEN {sql_str(QUOTE)} || {col} ELSE {col} END "
                f"AS {col}"
            )
        else:
            parts.append(col)
    return ", ".join(parts)
