"""Choosing the Ibis backend for a workspace: its DuckDB file, Parquet files or Spark.

``[engine] backend`` in ``regulars.toml`` picks one of:

``duckdb`` (default)
    The workspace's own ``regulars.duckdb`` file.
``parquet``
    A folder of ``<table>.parquet`` files (or ``<table>/`` folders of Parquet parts),
    ``[engine] parquet_dir``, read in place through temporary views of the workspace's
    own DuckDB connection, which also holds the derived tables (scores, fits, actions).
``spark``
    A Spark session: the one passed in, else the active one, else a new local session
    (``[engine] spark_master``) with its own temporary warehouse.  Tables come from
    ``parquet_dir`` when it is set, else from tables or views of the session named like
    the contract tables (``orders``...), else from the workspace's DuckDB file, copied
    to temporary Parquet files.

Whatever the source, every contract table is present (an empty one when the source
has none) and has every contract column (a missing optional column reads as null),
so the metrics run unchanged.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from regulars.errors import SchemaError, WorkspaceError
from regulars.schema import TABLES, Table
from regulars.store._parquet import LOGGED, data_select

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

    from regulars.config import Config
    from regulars.store import Workspace

__all__ = [
    "arrow_schema",
    "backend_for",
    "computed_once",
    "conform",
    "engine_name",
    "engine_of",
    "handed_over",
    "has_table",
    "ibis_schema",
    "interactive_config",
    "parquet_tables",
    "table",
    "tables",
    "write_derived",
]

#: Prefix of the temporary views over the Parquet files (``backend = "parquet"``).
_PARQUET_VIEW = "_regulars_parquet_"
#: The folder of the workspace where Spark writes derived tables.
DERIVED_DIR = "derived"
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
#: Workspace -> (engine, its tables, the data version they were read at).
_CACHE: weakref.WeakKeyDictionary[
    Any, tuple[tuple[str, BaseBackend, dict[str, ir.Table]], str | None]
] = weakref.WeakKeyDictionary()


def _arrow_type(duck: str) -> pa.DataType:
    m = _DECIMAL.fullmatch(duck.replace(" ", ""))
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    return {
        "VARCHAR": pa.string(),
        "JSON": pa.string(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),
        "DOUBLE": pa.float64(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "BOOLEAN": pa.bool_(),
    }[duck]


def arrow_schema(name: str | Table) -> pa.Schema:
    """The Arrow schema of contract table ``name`` (JSON columns are strings)."""
    t = TABLES[name] if isinstance(name, str) else name
    return pa.schema([pa.field(c.name, _arrow_type(c.type), not c.required) for c in t.columns])


def ibis_schema(name: str | Table) -> ibis.Schema:
    """The Ibis schema of contract table ``name``."""
    return ibis.Schema.from_pyarrow(arrow_schema(name))


def conform(table: ir.Table, name: str) -> ir.Table:
    """Give ``table`` every column of contract table ``name``.

    Missing optional columns are added as typed nulls; a missing required column is a
    :class:`~regulars.errors.SchemaError` that lists the columns present.  Extra
    columns are kept.
    """
    contract = TABLES.get(name)
    if contract is None:
        return table
    have = set(table.columns)
    missing_required = [c for c in contract.required if c not in have]
    if missing_required:
        raise SchemaError(
            f"Table {name!r} has no column {', '.join(repr(c) for c in missing_required)} "
            f"(required). Existing columns: {', '.join(repr(c) for c in table.columns)}. "
            "Rename the column in the source, or import the file with --map."
        )
    add = {
        c.name: ibis.null(dt.dtype(_arrow_type(c.type)))
        for c in contract.columns
        if c.name not in have
    }
    return table.mutate(**add) if add else table


def _parquet_dir(workspace: Workspace) -> Path:
    raw = workspace.config.engine.parquet_dir
    if not raw:
        raise WorkspaceError(
            "[engine] backend = 'parquet' needs [engine] parquet_dir, the folder that holds "
            "orders.parquet, customers.parquet... Set it in regulars.toml."
        )
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = workspace.path / path
    if not path.is_dir():
        raise WorkspaceError(
            f"[engine] parquet_dir = {raw!r}: folder {path} does not exist. "
            "Point it at the folder that holds orders.parquet, customers.parquet..."
        )
    return path


def parquet_tables(folder: Path) -> dict[str, str]:
    """Table name -> path (file, or folder of parts) of the Parquet tables in ``folder``."""
    from regulars.store._parquet import table_paths

    return {name: str(path) for name, path in table_paths(folder).items()}


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_parquet(workspace: Workspace, folder: Path) -> tuple[BaseBackend, dict[str, ir.Table]]:
    """The Parquet tables as temporary views of the workspace's own DuckDB connection.

    One engine then sees the data (read in place, nothing copied) and the derived
    tables of the workspace file (scores, fits, actions), so the report and the
    actions join them without mixing backends, and ``regulars score`` writes its
    table inside DuckDB without a round trip through Python.
    """
    con = workspace.ibis
    out: dict[str, ir.Table] = {}
    for name in parquet_tables(folder):
        body = data_select(workspace, name)  # the files, and the touches logged in the app
        if body is None:
            continue
        view = f"{_PARQUET_VIEW}{name}"
        workspace.con.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {body}')
        out[name] = con.table(view)
    if LOGGED not in out and workspace.has_table(LOGGED):
        out[LOGGED] = con.table(LOGGED)  # no touches file: the logged ones
    for name in TABLES:
        if name not in out:
            out[name] = con.create_table(
                f"{_PARQUET_VIEW}{name}", schema=ibis_schema(name), temp=True, overwrite=True
            )
    for name in _file_tables(workspace):  # derived tables (scores...) of the workspace file
        if name not in TABLES:
            out.setdefault(name, con.table(name))
    return con, out


def _file_tables(workspace: Workspace) -> list[str]:
    # Listed through the raw connection: Ibis 12's list_tables calls a DuckDB API
    # that newer DuckDB releases deprecate.
    rows = workspace.con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_catalog = current_database() "
        "ORDER BY table_name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _spark(workspace: Workspace, session: Any) -> tuple[BaseBackend, dict[str, ir.Table]]:
    from regulars.engine._spark import local_spark_session

    if session is None:
        session = local_spark_session(workspace.config.engine.spark_master)
    con = ibis.pyspark.connect(session)
    out: dict[str, ir.Table] = {}
    if workspace.config.engine.parquet_dir:
        for name, path in parquet_tables(_parquet_dir(workspace)).items():
            out[name] = con.read_parquet(path, table_name=f"regulars_{name}")
    else:
        existing = set(con.list_tables())
        for name in (*TABLES, "guest_orders"):
            if name in existing:
                out[name] = con.table(name)
        missing = [n for n in TABLES if n not in out]
        if missing and workspace.db_path.exists():
            out.update(_copy_from_duckdb(workspace, con, missing))
    for name, path in _derived_tables(workspace).items():
        out[name] = con.read_parquet(path, table_name=f"regulars_{name}")
    for name in TABLES:
        if name not in out:
            empty = session.createDataFrame([], schema=_spark_ddl(name))
            empty.createOrReplaceTempView(f"regulars_{name}")
            out[name] = con.table(f"regulars_{name}")
    return con, out


def derived_dir(workspace: Workspace) -> Path:
    """Where Spark writes the workspace's derived tables (``<workspace>/derived``)."""
    return workspace.path / DERIVED_DIR


def _derived_tables(workspace: Workspace) -> dict[str, str]:
    folder = derived_dir(workspace)
    if not folder.is_dir():
        return {}
    return {
        entry.name: str(entry)
        for entry in sorted(folder.iterdir())
        if entry.is_dir() and not entry.name.startswith(".") and any(entry.glob("*.parquet"))
    }


def write_derived(workspace: Workspace, name: str, expr: ir.Table) -> None:
    """Write derived table ``name`` (scores...) from ``expr``, where the data live.

    On the workspace's DuckDB connection (``duckdb`` and ``parquet`` backends) it
    replaces the table of the workspace file inside DuckDB.  On Spark, Spark writes
    it as Parquet to ``<workspace>/derived/<name>/`` (later commands read it from
    there), and the workspace file gets a copy that DuckDB reads from those files,
    for the commands that keep state there (actions, export).  The rows never pass
    through Python in one piece.
    """
    backend = expr._find_backend(use_default=True)
    if backend is workspace.ibis:
        workspace.replace_table(name, expr)
        if (derived_dir(workspace) / name).is_dir():
            # A Spark workspace written through DuckDB (the web app's refit, see
            # interactive_config): Spark reads derived/<name>/, so it gets the new rows.
            _copy_to_derived(workspace, name)
        _CACHE.pop(workspace, None)
        return
    folder = derived_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}-{uuid.uuid4().hex[:12]}"
    target = folder / name
    try:
        backend.to_parquet(expr, str(tmp))
        source = _sql_string(str(tmp / "*.parquet"))
        types = ", ".join(
            f'CAST("{c}" AS {_duck_type(t)}) AS "{c}"' for c, t in expr.schema().items()
        )
        with workspace.transaction() as con:
            con.execute(
                f'CREATE OR REPLACE TABLE "{name}" AS SELECT {types} FROM read_parquet({source})'
            )
        old = folder / f".{name}-old-{uuid.uuid4().hex[:12]}"
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _CACHE.pop(workspace, None)


def _copy_to_derived(workspace: Workspace, name: str) -> None:
    """Table ``name`` of the workspace file, copied to ``derived/<name>/`` by DuckDB."""
    folder = derived_dir(workspace)
    tmp = folder / f".{name}-{uuid.uuid4().hex[:12]}"
    old = folder / f".{name}-old-{uuid.uuid4().hex[:12]}"
    target = folder / name
    try:
        tmp.mkdir()
        part = _sql_string(str(tmp / "part-00000.parquet"))
        workspace.con.execute(f'COPY "{name}" TO {part} (FORMAT parquet)')
        target.rename(old)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _duck_type(t: dt.DataType) -> str:
    import ibis.backends.sql.datatypes as sqltypes

    return str(sqltypes.DuckDBType.from_ibis(t).sql("duckdb"))


def _copy_from_duckdb(workspace: Workspace, con: Any, names: list[str]) -> dict[str, ir.Table]:
    folder = Path(tempfile.mkdtemp(prefix="regulars-spark-tables-"))
    out: dict[str, ir.Table] = {}
    for name in names:
        if not workspace.has_table(name):
            continue
        target = folder / f"{name}.parquet"
        workspace.con.execute(f"COPY \"{name}\" TO '{target}' (FORMAT parquet)")
        out[name] = con.read_parquet(str(target), table_name=f"regulars_{name}")
    for extra in ("scores", "guest_orders"):  # derived tables the analytics read
        if workspace.has_table(extra):
            target = folder / f"{extra}.parquet"
            workspace.con.execute(f"COPY \"{extra}\" TO '{target}' (FORMAT parquet)")
            out[extra] = con.read_parquet(str(target), table_name=f"regulars_{extra}")
    return out


def _spark_ddl(name: str) -> str:
    def spark_type(duck: str) -> str:
        if duck.startswith("DECIMAL"):
            return duck.replace(" ", "")
        return {
            "VARCHAR": "STRING",
            "JSON": "STRING",
            "DATE": "DATE",
            "TIMESTAMP": "TIMESTAMP_NTZ",
            "DOUBLE": "DOUBLE",
            "INTEGER": "INT",
            "BIGINT": "BIGINT",
            "BOOLEAN": "BOOLEAN",
        }[duck]

    return ", ".join(f"`{c.name}` {spark_type(c.type)}" for c in TABLES[name].columns)


def _load(workspace: Workspace, session: Any) -> tuple[str, BaseBackend, dict[str, ir.Table]]:
    kind = workspace.config.engine.backend
    if kind == "duckdb":
        con: BaseBackend = workspace.ibis
        found = {name: con.table(name) for name in _file_tables(workspace)}
    elif kind == "parquet":
        con, found = _duckdb_parquet(workspace, _parquet_dir(workspace))
    else:
        con, found = _spark(workspace, session)
    return kind, con, {name: conform(t, name) for name, t in found.items()}


def _cached(workspace: Workspace, session: Any) -> tuple[str, BaseBackend, dict[str, ir.Table]]:
    if session is not None or workspace.config.engine.backend == "duckdb":
        return _load(workspace, session)
    entry = _CACHE.get(workspace)
    kind = workspace.config.engine.backend
    # An import (into a Parquet folder too) bumps the stamp: read the tables again.
    version = workspace.data_version
    hit = entry[0] if entry is not None and entry[1] == version else None
    if hit is None or hit[0] != kind or (kind == "parquet" and hit[1] is not workspace.ibis):
        hit = _load(workspace, None)
        _CACHE[workspace] = (hit, version)
    return hit


def backend_for(workspace: Workspace, *, session: Any = None) -> BaseBackend:
    """The Ibis backend the workspace's analytics run on.

    Parameters
    ----------
    workspace : Workspace
    session : pyspark.sql.SparkSession, optional
        With ``[engine] backend = "spark"``: the session to use (default: the active
        session, else a new local one).

    Returns
    -------
    ibis backend
        DuckDB over ``regulars.duckdb`` (``duckdb``), the same connection with views
        of the Parquet folder (``parquet``) or PySpark (``spark``).
    """
    if session is None and workspace.config.engine.backend == "duckdb":
        # The workspace's own connection: no need to open (and describe) every table.
        return workspace.ibis
    return _cached(workspace, session)[1]


def tables(workspace: Workspace, *, session: Any = None) -> dict[str, ir.Table]:
    """Every table of the workspace as an Ibis table on its configured backend.

    The contract tables (``orders``, ``customers``, ``spend``...) are always present,
    with every contract column; derived tables that exist (``scores``...) come too.

    Examples
    --------
    >>> import tempfile
    >>> from regulars.store import Workspace
    >>> ws = Workspace.init(tempfile.mkdtemp())
    >>> sorted(tables(ws))[:3]
    ['customers', 'feedback', 'order_lines']
    >>> ws.close()
    """
    return dict(_cached(workspace, session)[2])


def table(workspace: Workspace, name: str) -> ir.Table:
    """One table of the workspace on its engine: ``tables(workspace)[name]``.

    On the ``duckdb`` engine it opens that one table of the workspace file (a surface
    that reads a few tables per request does not list them all).  A table that does
    not exist is a :class:`~regulars.errors.WorkspaceError` that lists those that do.
    """
    if workspace.config.engine.backend == "duckdb":
        return conform(workspace.table(name), name)
    found = _cached(workspace, None)[2]
    if name not in found:
        raise WorkspaceError(
            f"Table {name!r} does not exist in the workspace at {workspace.path}. "
            f"Existing tables: {', '.join(sorted(found)) or '(none)'}."
        )
    return found[name]


def has_table(workspace: Workspace, name: str) -> bool:
    """Whether :func:`table` finds table ``name`` (contract tables always exist)."""
    if workspace.config.engine.backend == "duckdb":
        return workspace.has_table(name)
    return name in _cached(workspace, None)[2]


def interactive_config(config: Config) -> Config:
    """``config`` with the engine that interactive surfaces (the web app) use.

    A web page has to answer in a fraction of a second, and a Spark query costs
    seconds however small.  So on a ``spark`` workspace the web app reads the same
    data through DuckDB, in process: the Parquet folder (``parquet_dir``, as the
    ``parquet`` engine reads it) or, without one, the workspace file.  The results
    are the same (``tests/engine/test_parity.py``).  Other engines are kept.
    """
    engine = config.engine
    if engine.backend != "spark":
        return config
    local = dataclasses.replace(engine, backend="parquet" if engine.parquet_dir else "duckdb")
    return dataclasses.replace(config, engine=local)


def engine_of(expr: ir.Expr) -> BaseBackend | None:
    """The engine ``expr`` runs on, or None for an expression over in-memory rows only.

    The one place that asks Ibis which backend holds an expression's tables: the
    engine-specific steps (a checkpoint on Spark, a temporary table on DuckDB) branch
    on :func:`engine_name` of it.
    """
    try:
        return expr._find_backend(use_default=False)
    except Exception:  # in-memory rows only (or tables of several engines)
        return None


def engine_name(backend: BaseBackend | None) -> str:
    """Ibis' name of ``backend`` (``duckdb``, ``pyspark``), "" for None."""
    return str(getattr(backend, "name", "") or "")


def computed_once(t: ir.Table) -> ir.Table:
    """``t`` itself, or on Spark ``t`` computed now, so later plans read it as data.

    Spark's analyser and optimiser walk the whole plan of a query, and they inline
    every reuse of a common subquery (a cached temporary view too: it keeps its plan).
    A plan that refers to one intermediate result many times (the ledger's credit
    links, three times per matching round; the ledger, once per step of a metric)
    grows exponentially: a growth-sources query on six orders took 50 s to analyse,
    and larger ones exhausted the driver's heap.  On Spark ``t`` is therefore computed
    once and checkpointed (``DataFrame.localCheckpoint``), which cuts its lineage: the
    table is one leaf of every later plan.  Its temporary view is dropped when the
    returned expression is garbage collected.  DuckDB plans the same SQL without that
    growth, so the other engines keep the lazy expression.
    """
    backend = engine_of(t)
    if backend is None or engine_name(backend) != "pyspark":  # in-memory rows, or DuckDB
        return t
    import uuid

    backend._run_pre_execute_hooks(t)
    session = backend._session
    frame = session.sql(backend.compile(t)).localCheckpoint(eager=True)
    name = f"regulars_once_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(name)
    out = backend.table(name)
    schema = t.schema()
    if out.schema() != schema:  # Spark's own types back to the expression's
        out = out.cast(schema)
    weakref.finalize(out.op(), _drop_view, session, name)
    return out


def handed_over(data: pa.Table, backend: BaseBackend) -> ir.Table:
    """Arrow rows ``data`` as a table of ``backend``, to join with its tables.

    On DuckDB they become a temporary table, dropped when the returned expression is
    garbage collected.  An in-memory table (``ibis.memtable``) would reach DuckDB as
    an Arrow scan, which has two faults there.  It has no cardinality estimates, so
    the optimizer may join the wrong pair first (the scores' two uploaded tables, joined
    to each other on ``frequency``: a fan-out of tens of millions of rows on a book of
    20,000 customers).  And DuckDB 1.5 sometimes pushes a join's
    Bloom filter into the scan, which PyArrow scans refuse ("Pushdown Filter Type
    BLOOM_FILTER is not currently supported in PyArrow Scans", duckdb-python issue
    463).  Other engines (Spark, whose planner broadcasts a small side) get an
    in-memory table.
    """
    if engine_name(backend) != "duckdb":
        return ibis.memtable(data)
    name = f"_regulars_handed_{uuid.uuid4().hex[:12]}"
    out = backend.create_table(name, obj=data, temp=True)
    weakref.finalize(out.op(), _drop_temp_table, backend, name)
    return out


def _drop_temp_table(backend: BaseBackend, name: str) -> None:
    import contextlib

    with contextlib.suppress(Exception):  # a closed connection took its tables with it
        backend.raw_sql(f'DROP TABLE IF EXISTS temp.main."{name}"')


def _drop_view(session: Any, name: str) -> None:
    import contextlib

    with contextlib.suppress(Exception):  # a stopped session took its views with it
        session.catalog.dropTempView(name)
