"""The data of a Parquet workspace: one ``<table>.parquet`` per table in ``parquet_dir``.

A workspace whose ``[engine] backend`` is ``parquet`` (or ``spark`` with ``parquet_dir``)
keeps its data tables as Parquet files, which the engines read in place.  ``regulars
import`` writes there, with the same checks and the same all-or-nothing promise as
into the workspace file:

1. the import runs on the workspace's DuckDB connection, in its transaction, as
   usual; only the tables it writes (``orders``, ``order_lines``, ``guest_orders``
   and ``customers`` for orders; the table and ``customers`` for the others) are
   temporary tables of that transaction, filled from their Parquet files, which
   shadow the workspace file's (empty) tables of the same names: the import's
   upsert by natural key, its customer merge and its referral checks see the data
   that is there;
2. when every check passed, each written table is copied (DuckDB ``COPY``) to a
   hidden temporary file in the folder, ``.<table>-<random>.parquet``;
3. the new files are renamed into place (``<table>.parquet``; a folder of parts
   that held the table is moved away and deleted), and the transaction commits with
   a new data version.

A failure before step 3 leaves every file as it was (the temporary files are
removed); a failure while renaming puts back the files already replaced.  So an
import changes the folder completely or not at all, and importing the same file
again writes the same rows.  Each import rewrites the files of the tables it
writes: the time of an import into a table that has data grows with that table.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from regulars.errors import WorkspaceError
from regulars.schema import GUEST_ORDERS, TABLES, Table

if TYPE_CHECKING:
    import duckdb

    from regulars.store._workspace import Workspace

__all__ = ["LOGGED", "data_select", "import_tables", "table_paths", "writing_parquet"]

#: The data table that surfaces write row by row (a touch logged in the app or with
#: ``regulars touch``): into the workspace file on every engine, not by rewriting the
#: folder's file; :func:`data_select` reads those rows beside the folder's.
LOGGED = "touches"


def table_paths(folder: Path) -> dict[str, Path]:
    """Table name -> path (a file, or a folder of parts) of the Parquet tables in ``folder``.

    ``<table>.parquet`` files and ``<table>/`` folders that hold ``*.parquet`` parts
    (at any depth); a file wins over a folder of the same name.  Hidden entries (a
    ``.``-name, such as an import's temporary file) are not tables.
    """
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for entry in sorted(folder.iterdir(), key=lambda p: (p.is_file(), p.name)):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".parquet":
            found[entry.stem] = entry
        elif entry.is_dir() and any(entry.rglob("*.parquet")):
            found[entry.name] = entry
    return found


def data_select(workspace: Workspace, name: str) -> str | None:
    """The SQL ``SELECT`` of data table ``name`` of a Parquet workspace (None: not one).

    The rows of its Parquet file (or folder of parts) as they are, and for
    :data:`LOGGED` also the workspace file's rows whose key the folder does not have.
    None when the workspace's data are not Parquet files (:attr:`Workspace.parquet_path`)
    or the folder has no such table.
    """
    folder = workspace.parquet_path
    if folder is None or "://" in str(folder):
        return None
    path = table_paths(folder).get(name)
    if path is None:
        return None
    files = f"read_parquet({_sql_string(f'{path}/**/*.parquet' if path.is_dir() else str(path))})"
    body = f"SELECT * FROM {files}"
    if name == LOGGED and workspace.has_table(LOGGED):
        row = workspace.con.execute("SELECT current_database()").fetchone()
        logged = f'"{row[0] if row else "main"}".main."{LOGGED}"'
        body += (
            f" UNION ALL BY NAME SELECT * FROM {logged} f WHERE f.touch_id NOT IN "
            f"(SELECT touch_id FROM {files} WHERE touch_id IS NOT NULL)"
        )
    return body


def import_tables(table: str) -> tuple[Table, ...]:
    """The tables an import into ``table`` writes (see :mod:`regulars.io`)."""
    names = [table]
    if table == "orders":
        names += ["order_lines", "customers"]
    elif table != "customers" and "customer_id" in TABLES[table].column_names:
        names.append("customers")
    out = [TABLES[n] for n in names]
    if table == "orders":
        out.append(GUEST_ORDERS)
    return tuple(out)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shadow(con: duckdb.DuckDBPyConnection, t: Table, source: Path | None) -> None:
    """Temporary table ``t.name`` (it shadows the file's table) with ``source``'s rows."""
    have: set[str] = set()
    relation = None
    if source is not None:
        pattern = f"{source}/**/*.parquet" if source.is_dir() else str(source)
        relation = f"read_parquet({_sql_string(pattern)})"
        have = {str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    missing = [c for c in t.required if c not in have] if relation else []
    if missing:
        raise WorkspaceError(
            f"{source}: the Parquet table {t.name!r} has no column "
            f"{', '.join(repr(c) for c in missing)} (required). Existing columns: "
            f"{', '.join(repr(c) for c in sorted(have))}. Rename the column in the file, or "
            "move the file away, before importing into this workspace."
        )
    cols = []
    for c in t.columns:
        kind = "VARCHAR" if c.type == "JSON" else c.type
        value = f'"{c.name}"' if c.name in have else "NULL"
        cols.append(f'CAST({value} AS {kind}) AS "{c.name}"')
    body = f"SELECT {', '.join(cols)} " + (f"FROM {relation}" if relation else "WHERE false")
    con.execute(f'CREATE TEMP TABLE "{t.name}" AS {body}')


@contextlib.contextmanager
def writing_parquet(
    workspace: Workspace, con: duckdb.DuckDBPyConnection, table: str
) -> Iterator[None]:
    """Run an import into ``table`` against the workspace's Parquet folder.

    Enter inside the import's transaction, after :meth:`Workspace.transaction`; on a
    clean exit the written tables replace their Parquet files (see the module notes)
    before the transaction commits.  Without a Parquet folder it does nothing.
    """
    folder = workspace.parquet_path
    if folder is None:
        yield
        return
    if "://" in str(workspace.config.engine.parquet_dir):
        raise WorkspaceError(
            f"[engine] parquet_dir = {workspace.config.engine.parquet_dir!r} is not a local "
            "folder: `regulars import` writes Parquet files with DuckDB, on this machine. "
            "Write the files with Spark instead (see docs/scale.md), or set parquet_dir to "
            "a mounted folder."
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = import_tables(table)
    existing = table_paths(folder)
    for t in written:
        _shadow(con, t, existing.get(t.name))
    done = False
    temps: dict[str, Path] = {}
    try:
        yield
        tag = uuid.uuid4().hex[:12]
        for t in written:
            if t.name not in existing and _empty(con, t.name):
                continue  # nothing there before, nothing now: no file
            tmp = folder / f".{t.name}-{tag}.parquet"
            temps[t.name] = tmp
            con.execute(
                f'COPY (SELECT * FROM temp.main."{t.name}") TO {_sql_string(str(tmp))} '
                "(FORMAT parquet, COMPRESSION zstd)"
            )
        _swap(folder, temps, existing, tag)
        done = True
    finally:
        for t in written:
            con.execute(f'DROP TABLE IF EXISTS temp.main."{t.name}"')
        if not done:
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)


def _empty(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute(f'SELECT 1 FROM temp.main."{name}" LIMIT 1').fetchone() is None


def _swap(folder: Path, temps: dict[str, Path], existing: dict[str, Path], tag: str) -> None:
    """Rename each new file into place; on a failure, put the old ones back."""
    moved: list[tuple[Path, Path]] = []  # (backup, original place)
    placed: list[Path] = []
    try:
        for name, tmp in temps.items():
            target = folder / f"{name}.parquet"
            old = existing.get(name)
            if old is not None:
                backup = folder / f".{name}-old-{tag}{'.parquet' if old.is_file() else ''}"
                old.rename(backup)
                moved.append((backup, old))
            tmp.rename(target)
            placed.append(target)
    except OSError as exc:
        for target in placed:
            target.unlink(missing_ok=True)
        for backup, original in reversed(moved):
            with contextlib.suppress(OSError):
                backup.rename(original)
        raise WorkspaceError(
            f"Could not replace the Parquet files in {folder}: {exc}. Nothing was imported; "
            "check that the folder is writable."
        ) from None
    for backup, _ in moved:
        if backup.is_dir():
            shutil.rmtree(backup, ignore_errors=True)
        else:
            backup.unlink(missing_ok=True)
