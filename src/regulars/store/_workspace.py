"""Workspace folder, DuckDB file and transactional writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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

__all__ = ["DB_FILE", "ENV_VAR", "Workspace", "resolve_workspace_path"]

DB_FILE = "regulars.duckdb"
ENV_VAR = "REGULARS_WORKSPACE"


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
        root.mkdir(parents=True, exist_ok=True)
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
            try:
                self._con = duckdb.connect(str(self.db_path), read_only=self.read_only)
            except duckdb.Error as exc:
                raise WorkspaceError(
                    f"Cannot open the workspace database {self.db_path}: {exc}. "
                    "Another regulars process may be writing to it; wait for it to finish."
                ) from None
        return self._con

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
        self._con = None
        self._ibis = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- tables ---------------------------------------------------------------------
    def ensure_tables(self) -> None:
        """Create every contract table that does not exist yet."""
        for t in TABLES.values():
            self.con.execute(create_table_sql(t))

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
        """
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
