"""Workspace folder, DuckDB file and transactional writes."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from regulars.config import CONFIG_FILE, Config, default_config_text, load_config
from regulars.errors import WorkspaceError
from regulars.schema import TABLES, Table, create_table_sql

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa
    from ibis.backends.duckdb import Backend as DuckDBBackend

__all__ = [
    "DATA_VERSION_TABLE",
    "DB_FILE",
    "ENV_VAR",
    "Workspace",
    "damaged_message",
    "resolve_workspace_path",
]

DB_FILE = "regulars.duckdb"
ENV_VAR = "REGULARS_WORKSPACE"
#: Seconds a command waits for another regulars command to release the workspace
#: before it gives up with a clear message (``$REGULARS_LOCK_WAIT`` overrides it).
LOCK_WAIT_SECONDS = 5.0
LOCK_WAIT_VAR = "REGULARS_LOCK_WAIT"
#: Environment variable that overrides ``[engine] memory``.
ENGINE_MEMORY_VAR = "REGULARS_ENGINE_MEMORY"
#: The one-row table that holds the workspace's data version (see
#: :meth:`Workspace.data_version`).
DATA_VERSION_TABLE = "_regulars_data_version"
_DATA_VERSION_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{DATA_VERSION_TABLE}" '
    "(version VARCHAR NOT NULL, changed_at TIMESTAMP NOT NULL)"
)


def resolve_workspace_path(path: str | Path | None = None) -> Path:
    """``path``, else ``$REGULARS_WORKSPACE``, else the current directory."""
    if path is not None and str(path) != "":
        return Path(path).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.cwd()


class Workspace:
    """A regulars workspace: ``regulars.toml`` plus ``regulars.duckdb`` in one folder.

    Open an existing one with :meth:`open`, create one with :meth:`init`.  The DuckDB
    connection is opened lazily and shared by the Ibis backend (:attr:`ibis`), so reads
    through Ibis see every committed write.

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace.init(tempfile.mkdtemp())
    >>> ws.table("orders").count().execute()
    0
    >>> ws.close()
    """

    def __init__(self, path: Path, config: Config, *, read_only: bool = False) -> None:
        self.path = path
        self.config = config
        self.read_only = read_only
        #: Whether derived tables shared per data version (:func:`regulars.engine.shared_table`)
        #: are stored in the file when missing.  The web app turns it off: a page view
        #: reads stored copies but never writes (a write would also drop its page cache).
        self.stores_shared_tables = True
        self._con: duckdb.DuckDBPyConnection | None = None
        self._ibis: DuckDBBackend | None = None

    # -- construction ---------------------------------------------------------------
    @classmethod
    def init(
        cls,
        path: str | Path | None = None,
        *,
        name: str | None = None,
        currency: str = "EUR",
        channels: dict[str, str] | None = None,
        exist_ok: bool = True,
        kind: str = "studio",
    ) -> Workspace:
        """Create a workspace at ``path`` (the folder is created if needed).

        An existing ``regulars.toml`` is kept; the database gets any missing tables.
        ``kind`` (studio, shop or subscription) is written as ``[workspace] kind`` and
        sets the defaults of the playbooks (see docs/actions.md, "Business profiles").
        """
        root = resolve_workspace_path(path)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise WorkspaceError(
                f"Cannot create a workspace at {root}: it is a file, not a folder.\n"
                "Fix: choose another path."
            ) from None
        except NotADirectoryError:
            blocker = next((p for p in root.parents if p.exists()), root)
            raise WorkspaceError(
                f"Cannot create a workspace at {root}: {blocker} is a file, not a folder.\n"
                "Fix: choose another path."
            ) from None
        except PermissionError:
            raise WorkspaceError(
                f"Cannot create a workspace at {root}: permission denied.\n"
                "Fix: choose a folder you may write to."
            ) from None
        cfg = root / CONFIG_FILE
        if cfg.exists() and not exist_ok:
            raise WorkspaceError(f"{root} is already a regulars workspace ({cfg} exists).")
        if not cfg.exists():
            cfg.write_text(
                default_config_text(
                    name=name or root.resolve().name,
                    currency=currency.upper(),
                    channels=channels,
                    kind=kind,
                ),
                encoding="utf-8",
            )
        ws = cls(root, load_config(cfg))
        ws.ensure_tables()
        return ws

    @classmethod
    def open(cls, path: str | Path | None = None, *, read_only: bool = False) -> Workspace:
        """Open the workspace at ``path`` (default: ``$REGULARS_WORKSPACE`` or ``.``)."""
        root = resolve_workspace_path(path)
        cfg = root / CONFIG_FILE
        if not cfg.exists():
            raise WorkspaceError(
                f"No regulars workspace at {root}: {CONFIG_FILE} is missing. "
                f"Create one with `regulars init {root}`, or point --workspace (or "
                f"${ENV_VAR}) at an existing one."
            )
        ws = cls(root, load_config(cfg), read_only=read_only)
        if not ws.db_path.exists() and ws.config.engine.backend == "duckdb":
            raise WorkspaceError(
                f"The workspace at {root} has no database: {ws.db_path} is missing "
                f"(its {CONFIG_FILE} is there). regulars does not create an empty one in "
                "its place, so a moved or deleted database is not mistaken for an empty "
                f"book.\nFix: restore {DB_FILE} from a backup, or run `regulars init "
                f"{root}` to start this workspace again with an empty database."
            )
        if not read_only:
            ws.ensure_tables()
        return ws

    # -- connections ----------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection (opened on first use)."""
        if self._con is None:
            self._con = self._connect()
            if not self.read_only:
                # Holding the write lock, no other process uses the spill folder: files
                # left there by a killed command can go (not the ones DuckDB may have
                # opened already for this connection).
                self._remove_spill_of_others()
        return self._con

    @property
    def spill_path(self) -> Path:
        """This process's folder for DuckDB's temporary files (data that does not fit).

        ``regulars.duckdb.tmp-<process id>``: each process spills into its own folder,
        beside the database (DuckDB creates it when it first spills, and only one level
        deep), so a writer, holding the database's write lock, removes what killed
        commands left without touching the files its own connection has opened, and
        no reader's folder ever depends on another's.
        """
        return self.path / f"{DB_FILE}.tmp-{os.getpid()}"

    def _remove_spill_of_others(self) -> None:
        # Also the shared folder of earlier versions, regulars.duckdb.tmp.
        for entry in self.path.glob(f"{DB_FILE}.tmp*"):
            if entry == self.spill_path:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the database; wait a moment for another command's lock, then explain."""
        wait = float(os.environ.get(LOCK_WAIT_VAR, LOCK_WAIT_SECONDS))
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                con = duckdb.connect(
                    str(self.db_path),
                    read_only=self.read_only,
                    config={"temp_directory": str(self.spill_path)},
                )
            except duckdb.Error as exc:
                text = str(exc)
                if _is_lock_error(text) and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise WorkspaceError(self._open_error(text)) from None
            try:
                con.execute(f"SET memory_limit = '{max(self.memory_limit // 1024**2, 64)}MiB'")
            # (a multiple of 0.5 GiB, or of 1 MiB below 1 GiB, which DuckDB prints exactly,
            # so imports and actions that set their own limit can set this one back)
            except BaseException:
                con.close()
                raise
            return con

    @property
    def memory_limit(self) -> int:
        """DuckDB's memory limit for this workspace's connection, in bytes.

        ``REGULARS_ENGINE_MEMORY``, else ``[engine] memory``, else an eighth of the
        machine's memory (between 1 GiB and 16 GiB), like an import's default: DuckDB's
        own default (80% of the machine) let one metric on 30 M order lines take 7 GiB.
        Rounded to 0.5 GiB (1 MiB below 1 GiB).
        """
        from regulars.io._memory import chosen_memory, default_memory, machine_memory

        total = machine_memory()
        found = chosen_memory(
            (
                (os.environ.get(ENGINE_MEMORY_VAR), ENGINE_MEMORY_VAR),
                (self.config.engine.memory, "[engine] memory"),
            ),
            total,
        )
        limit = default_memory(total) if found is None else found[0]
        half, mib = 512 * 1024**2, 1024**2
        if limit >= 2 * half:
            return round(limit / half) * half
        return max(limit // mib, 64) * mib

    def _open_error(self, text: str) -> str:
        """The message for a database that does not open: what, why, and the fix."""
        db = self.db_path
        if _is_lock_error(text):
            pid = re.search(r"\(PID (\d+)\)", text)
            who = f" (PID {pid.group(1)})" if pid else ""
            return (
                f"{self.path}: another regulars command{who} is using this workspace; "
                "retry in a moment."
            )
        lowered = text.lower()
        if "permission denied" in lowered or "read-only file system" in lowered:
            if self.read_only:
                return (
                    f"Cannot read the workspace database {db}: permission denied.\n"
                    "Fix: ask the owner of the workspace for read access to the folder "
                    "and the file."
                )
            return (
                f"Cannot write to the workspace database {db}: permission denied.\n"
                "Fix: run the command as a user who may write to the folder and the file. "
                "Commands that only read (metrics, report, export, chart) work on a "
                "read-only workspace."
            )
        if "not a valid duckdb database" in lowered or "is a directory" in lowered:
            return (
                f"The workspace database {db} is not a regulars database (it is another "
                "kind of file, a folder, or damaged beyond its header).\n"
                f"Fix: restore {DB_FILE} from a backup, or move it away and run `regulars "
                f"init {self.path}` to start again with an empty one."
            )
        if "corrupt" in lowered or "checksum" in lowered or "serializ" in lowered:
            return damaged_message(db)
        first = text.splitlines()[0] if text else type(text).__name__
        return f"Cannot open the workspace database {db}: {_strip_duckdb(first)}."

    @property
    def ibis(self) -> DuckDBBackend:
        """An Ibis DuckDB backend over the same connection."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            # A failed command may leave spilled data behind.
            shutil.rmtree(self.spill_path, ignore_errors=True)
        self._con = None
        self._ibis = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @property
    def parquet_path(self) -> Path | None:
        """The folder of the data's Parquet files, when the engine reads them.

        ``[engine] parquet_dir`` (relative to the workspace folder) with the ``parquet``
        or ``spark`` backend; None on the ``duckdb`` backend or without the setting,
        where the data are the tables of ``regulars.duckdb``.
        """
        raw = self.config.engine.parquet_dir
        if self.config.engine.backend == "duckdb" or not raw:
            return None
        if "://" in raw:
            return Path(raw)
        path = Path(raw).expanduser()
        return path if path.is_absolute() else self.path / path

    def data_select(self, name: str) -> str | None:
        """SQL that reads data table ``name`` from the Parquet folder (None: the file's).

        See :func:`regulars.store._parquet.data_select`.
        """
        from regulars.store._parquet import data_select

        return data_select(self, name)

    def import_target(
        self, con: duckdb.DuckDBPyConnection, table: str
    ) -> AbstractContextManager[None]:
        """Where an import into ``table`` lands: enter inside its :meth:`transaction`.

        On a workspace whose data are Parquet files (:attr:`parquet_path`), the
        tables the import writes become temporary tables of the transaction, and a
        clean exit replaces their Parquet files (see ``regulars.store._parquet``).
        Otherwise nothing happens: the import writes the workspace file's tables.
        """
        from regulars.store._parquet import writing_parquet

        return writing_parquet(self, con, table)

    # -- tables ---------------------------------------------------------------------
    def ensure_tables(self) -> None:
        """Create every contract table that does not exist yet (and the data version)."""
        for t in TABLES.values():
            self.con.execute(create_table_sql(t))
        self.con.execute(_DATA_VERSION_DDL)
        row = self.con.execute(f'SELECT count(*) FROM "{DATA_VERSION_TABLE}"').fetchone()
        if not row or not row[0]:  # a new workspace, or one made before the stamp existed
            self.bump_data_version(self.con)

    # -- data version ---------------------------------------------------------------
    @property
    def data_version(self) -> str | None:
        """A stamp that changes whenever the workspace's data change.

        Every write of data (an import, and any other write to the contract tables)
        calls :meth:`bump_data_version` inside its transaction, so a derived table
        stored with the stamp it was computed from (the RFM summary, the
        customer-period table: see :func:`regulars.engine.shared_table`) is current
        exactly while the stamp is unchanged.  None when the workspace has no stamp
        (a read-only workspace made by an older regulars).
        """
        try:
            row = self.con.execute(
                f'SELECT version FROM "{DATA_VERSION_TABLE}" ORDER BY changed_at DESC LIMIT 1'
            ).fetchone()
        except duckdb.CatalogException:
            return None
        return str(row[0]) if row else None

    def bump_data_version(self, con: duckdb.DuckDBPyConnection) -> str:
        """Give the data a new version stamp; call inside the write's :meth:`transaction`.

        Derived tables computed from the previous version stop being reused from the
        moment the transaction commits; a write that rolls back keeps the old stamp.
        Returns the new stamp.
        """
        version = uuid.uuid4().hex
        con.execute(_DATA_VERSION_DDL)
        con.execute(f'DELETE FROM "{DATA_VERSION_TABLE}"')
        con.execute(
            f'INSERT INTO "{DATA_VERSION_TABLE}" VALUES (?, current_localtimestamp())', [version]
        )
        return version

    def has_table(self, name: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        return bool(row and row[0])

    def table(self, name: str) -> ir.Table:
        """The Ibis table ``name``; a clear error lists the tables that exist."""
        if not self.has_table(name):
            existing = sorted(
                r[0]
                for r in self.con.execute(
                    "SELECT table_name FROM information_schema.tables"
                ).fetchall()
            )
            raise WorkspaceError(
                f"Table {name!r} does not exist in {self.db_path}. "
                f"Existing tables: {', '.join(existing) or '(none)'}."
            )
        return self.ibis.table(name)

    def count(self, name: str) -> int:
        row = self.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """``BEGIN`` ... ``COMMIT``; any exception rolls everything back."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

    def upsert(self, con: duckdb.DuckDBPyConnection, table: Table, source: str) -> int:
        """Write the rows of relation/view ``source`` into ``table``, keyed by its key.

        Rows whose key already exists are replaced, so writing the same rows twice
        changes nothing.  Call inside :meth:`transaction`.  Returns the rows written.
        A write to a contract table (orders, customers, touches...) bumps the data
        version (:meth:`bump_data_version`) in the same transaction.
        """
        if table.name in TABLES:
            self.bump_data_version(con)
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        on = " AND ".join(f't."{k}" = s."{k}"' for k in table.key)
        con.execute(f'DELETE FROM "{table.name}" t USING {source} s WHERE {on}')
        con.execute(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM {source}')
        row = con.execute(f"SELECT count(*) FROM {source}").fetchone()
        return int(row[0]) if row else 0

    def replace_table(self, name: str, data: pa.Table | ir.Table | Any) -> None:
        """Replace a derived table (scores, actions...) with ``data`` atomically."""
        import ibis.expr.types as ir

        with self.transaction() as con:
            if isinstance(data, ir.Table):
                sql = self.ibis.compile(data)
                con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
            else:
                con.register("_regulars_replace_src", data)
                try:
                    con.execute(
                        f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _regulars_replace_src'
                    )
                finally:
                    con.unregister("_regulars_replace_src")


def _is_lock_error(text: str) -> bool:
    return "Could not set lock" in text or "Conflicting lock" in text


def _strip_duckdb(text: str) -> str:
    """A DuckDB message without its error class and its documentation link."""
    text = re.sub(r"^[A-Za-z ]+Error: ", "", text)
    return re.sub(r"\s*See also https?://\S+", "", text).rstrip(". ")


def damaged_message(db: Path) -> str:
    """The message for a database whose blocks fail their checksums."""
    return (
        f"The workspace database {db} is damaged (a block failed its checksum); "
        "regulars stopped before using it.\n"
        f"Fix: restore {DB_FILE} from a backup. Tables that still read can be saved "
        "first with `regulars export TABLE --out FILE`."
    )
