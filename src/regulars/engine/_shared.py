"""Derived tables shared per data version: computed once, reused until the data change.

Several commands derive the same table from the orders: ``fit`` and ``score`` the RFM
summary, the metrics and the actions the customer-period table.  :func:`shared_table`
computes such a table once per *data version* (the stamp that every import bumps, see
:meth:`regulars.store.Workspace.data_version`) and hands the stored copy to every later
caller that asks for the same ``kind`` and ``params``:

* on the workspace's DuckDB connection (``duckdb`` and ``parquet`` backends) it is a
  table of the workspace file, ``_shared_<kind>_<hash>``, listed in
  ``_regulars_shared`` with the data version it was computed from; so ``regulars
  score`` reads what ``regulars fit`` stored, in another process.  Tables of an older
  data version are dropped when a newer one is stored;
* on Spark it is written as Parquet by Spark to
  ``<workspace>/derived/.shared/_shared_<kind>_<hash>-<version>/`` (with its Ibis
  schema beside the parts), so the next command, in a new Spark session, reads the
  files instead of computing it again; folders of other data versions are removed
  when a new one is written.  That needs data whose version the workspace knows: a
  local ``parquet_dir`` (its files' names, sizes and times are part of the version) or
  the workspace's own tables.  With tables of the Spark catalogue or a remote
  ``parquet_dir``, which can change without regulars knowing, and when the folder
  cannot be written, it is computed once per Spark session (:func:`computed_once`)
  instead.  Either way a session keeps what it read or computed, keyed by the data
  version.

``params`` must name everything the table depends on besides the data (the
observation end, the time unit, the settings of the ledger...); regulars' version is
added, so an upgrade never reads a table computed by older code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import uuid
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regulars.engine._backend import backend_for, computed_once, engine_name

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from regulars.store import Workspace

__all__ = ["SHARED_REGISTRY", "data_version", "shared_stored", "shared_table"]

#: The table that lists the shared tables of the workspace file.
SHARED_REGISTRY = "_regulars_shared"
_PREFIX = "_shared_"
_REGISTRY_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{SHARED_REGISTRY}" (name VARCHAR PRIMARY KEY, '
    "kind VARCHAR NOT NULL, params VARCHAR NOT NULL, data_version VARCHAR NOT NULL, "
    "created_at TIMESTAMP NOT NULL)"
)
#: Spark: session -> {(name, data version): computed table}.
_SESSION: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], ir.Table]] = (
    weakref.WeakKeyDictionary()
)


def _parquet_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of the Parquet files the data come from."""
    parts = []
    for path in sorted(folder.rglob("*.parquet")):
        st = path.stat()
        parts.append(f"{path.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def data_version(ws: Workspace) -> str | None:
    """The version of the data the workspace's analytics read (None: unknown).

    The workspace's stamp (:meth:`~regulars.store.Workspace.data_version`), and with
    ``[engine] parquet_dir`` also the names, sizes and modification times of the
    Parquet files, which change outside regulars.
    """
    stamp = ws.data_version
    if stamp is None:
        return None
    raw = ws.config.engine.parquet_dir
    if ws.config.engine.backend != "duckdb" and raw:
        folder = Path(raw).expanduser()
        if not folder.is_absolute():
            folder = ws.path / folder
        if folder.is_dir():
            stamp = f"{stamp}-{_parquet_fingerprint(folder)}"
    return stamp


def _name(kind: str, params: Mapping[str, Any]) -> tuple[str, str]:
    from regulars import __version__

    text = json.dumps({**params, "_regulars": __version__}, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()[:16]
    return f"{_PREFIX}{kind}_{digest}", text


def shared_table(
    ws: Workspace,
    kind: str,
    params: Mapping[str, Any],
    build: Callable[[], ir.Table],
    *,
    one_per_kind: bool = False,
) -> ir.Table:
    """The derived table ``kind`` for ``params``, computed once per data version.

    Parameters
    ----------
    ws
        The workspace.
    kind
        A short name of what the table is (``rfm``, ``customer_periods``...): letters,
        digits and underscores.
    params
        Everything besides the data that the table depends on (JSON-serialisable).
    build
        Returns the table's expression on the workspace's engine
        (:func:`~regulars.engine.backend_for`); called only when no stored copy of the
        current data version exists.
    one_per_kind
        Keep one stored table of ``kind``: storing this one drops those of other
        ``params`` (for a table that depends on the day, so that a run every day on
        the same data does not pile up a copy per day).

    Returns
    -------
    ibis.Table
        A table on the workspace's engine with the rows of ``build()``.  A read-only
        workspace reads a stored copy of the current data version when there is one,
        and otherwise gets ``build()`` itself, as does one whose data version is unknown.

    Examples
    --------
    Actions reuse the RFM summary that ``regulars fit`` stored (see
    ``regulars.models.workspace_rfm``), or their own per-customer table::

        table = shared_table(ws, "last_orders", {"credit_window_days": 30}, build)
    """
    if not kind.replace("_", "").isalnum():
        raise ValueError(f"kind={kind!r} must be letters, digits and underscores.")
    version = data_version(ws)
    if version is None:
        return build()
    name, text = _name(kind, params)
    backend = backend_for(ws)
    if engine_name(backend) == "pyspark":
        tables = _SESSION.setdefault(backend._session, {})
        hit = tables.get((name, version))
        if hit is None:
            for key in [k for k in tables if k[0] == name]:  # older data versions
                del tables[key]
            hit = tables[(name, version)] = _on_spark(
                ws, backend, kind, name, version, build, one_per_kind=one_per_kind
            )
        return hit
    if backend is not ws.ibis:
        return build()
    con = ws.con
    if _is_stored(ws, name, version):
        return ws.ibis.table(name)
    if ws.read_only or not ws.stores_shared_tables:  # reads a stored copy, stores none
        return build()
    con.execute(_REGISTRY_DDL)
    sql = ws.ibis.compile(build())
    with ws.transaction() as tx:
        stale = tx.execute(
            f'SELECT name FROM "{SHARED_REGISTRY}" '
            "WHERE data_version <> ? OR name = ? OR (? AND kind = ?)",
            [version, name, one_per_kind, kind],
        ).fetchall()
        for (old,) in stale:
            tx.execute(f'DROP TABLE IF EXISTS "{old}"')
            tx.execute(f'DELETE FROM "{SHARED_REGISTRY}" WHERE name = ?', [old])
        tx.execute(f'CREATE TABLE "{name}" AS {sql}')
        tx.execute(
            f'INSERT INTO "{SHARED_REGISTRY}" VALUES (?, ?, ?, ?, current_localtimestamp())',
            [name, kind, text, version],
        )
    return ws.ibis.table(name)


#: Where Spark stores the shared tables, under the workspace's ``derived`` folder (a
#: dot folder: not read as a derived table of its own).
SPARK_SHARED_DIR = ".shared"
#: The Ibis schema of a stored table, written beside its Parquet parts (Spark skips
#: files whose names start with an underscore).
_SCHEMA_FILE = "_regulars_schema.json"


def _spark_folder(ws: Workspace, backend: Any) -> Path | None:
    """Where Spark stores the shared tables of ``ws``, or None when the data version
    does not cover the data (tables of the Spark catalogue, a remote ``parquet_dir``)."""
    from regulars.engine._backend import derived_dir
    from regulars.schema import TABLES

    raw = ws.config.engine.parquet_dir
    if raw:
        folder = Path(raw).expanduser()
        if not folder.is_absolute():
            folder = ws.path / folder
        if not folder.is_dir():  # s3a://..., hdfs://...: no fingerprint of the files
            return None
    elif set(backend.list_tables()) & {*TABLES, "guest_orders"}:
        return None  # the session's own tables: they change without a data version
    return derived_dir(ws) / SPARK_SHARED_DIR


def _on_spark(
    ws: Workspace,
    backend: Any,
    kind: str,
    name: str,
    version: str,
    build: Callable[[], ir.Table],
    *,
    one_per_kind: bool,
) -> ir.Table:
    """:func:`shared_table` on Spark: the stored Parquet files of this data version,
    else ``build()`` written there by Spark and read back (or, where nothing can be
    stored, computed once for the session)."""
    folder = _spark_folder(ws, backend)
    if folder is None:
        return computed_once(build())
    tag = hashlib.sha256(version.encode()).hexdigest()[:16]
    target = folder / f"{name}-{tag}"
    if (target / _SCHEMA_FILE).is_file():
        return _read_spark(backend, target)
    if not ws.stores_shared_tables:  # a what-if run: reads stored copies, stores none
        return computed_once(build())
    expr = build()
    tmp = folder / f".{name}-{uuid.uuid4().hex[:12]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        backend.to_parquet(expr, str(tmp))
        schema = {column: str(dtype) for column, dtype in expr.schema().items()}
        (tmp / _SCHEMA_FILE).write_text(json.dumps(schema))
        with contextlib.suppress(OSError):  # another command stored it first: keep that
            tmp.rename(target)
    except OSError:  # a folder that cannot be written: computed for this session only
        return computed_once(expr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not (target / _SCHEMA_FILE).is_file():  # not stored after all: this session only
        return computed_once(expr)
    kind_prefix = f"{_PREFIX}{kind}_"
    for entry in folder.iterdir():  # other data versions, and the kind's other copies
        stem, _, entry_tag = entry.name.rpartition("-")
        stale = entry_tag != tag or (one_per_kind and stem.startswith(kind_prefix))
        if entry != target and not entry.name.startswith(".") and stale:
            shutil.rmtree(entry, ignore_errors=True)
    return _read_spark(backend, target)


def _read_spark(backend: Any, folder: Path) -> ir.Table:
    """The Parquet files of a stored shared table, with the types it was written with."""
    import ibis

    saved = json.loads((folder / _SCHEMA_FILE).read_text())
    schema = ibis.schema({column: ibis.dtype(dtype) for column, dtype in saved.items()})
    out = backend.read_parquet(str(folder), table_name=f"regulars_shared_{uuid.uuid4().hex}")
    if out.schema() != schema:  # Spark's own types (nullability) back to the expression's
        out = out.cast(schema)
    return out


def shared_stored(ws: Workspace, kind: str, params: Mapping[str, Any]) -> bool:
    """Whether :func:`shared_table` would read a stored copy for ``kind`` and
    ``params`` (True also where it never stores one: Spark, another engine, an
    unknown data version), so a read-only command can ask whether a writer should
    store it first."""
    version = data_version(ws)
    backend = backend_for(ws)
    if version is None or engine_name(backend) == "pyspark" or backend is not ws.ibis:
        return True
    return _is_stored(ws, _name(kind, params)[0], version)


def shared_rows(ws: Workspace, kind: str, params: Mapping[str, Any]) -> bool:
    """Whether :func:`shared_table` gives rows computed before the query that reads
    them, not ``build()`` inside it: a stored copy of the current data version in the
    workspace file, or Spark, which stores the table (or keeps it for the session)
    when it is first read.  A caller that needs only part of the table can read the
    part from its sources instead when this is False."""
    version = data_version(ws)
    if version is None:
        return False
    backend = backend_for(ws)
    if engine_name(backend) == "pyspark":
        return True
    return backend is ws.ibis and _is_stored(ws, _name(kind, params)[0], version)


def _is_stored(ws: Workspace, name: str, version: str) -> bool:
    """Whether the workspace file holds shared table ``name`` of data ``version``."""
    if not ws.has_table(SHARED_REGISTRY):
        return False
    row = ws.con.execute(
        f'SELECT data_version FROM "{SHARED_REGISTRY}" WHERE name = ?', [name]
    ).fetchone()
    return row is not None and row[0] == version and ws.has_table(name)
