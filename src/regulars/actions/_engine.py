"""Where the actions read from: the engine for the data, the workspace file for state.

The imported tables (orders, order lines, customers, touches, feedback,
subscriptions) and the scores are read through :func:`regulars.engine.tables`, like
the metrics and the models, so the playbooks run on DuckDB, on a Parquet folder and
on Spark alike.  The action *state* (``actions``, ``action_events``, ``offers``,
``reward_payments``, ``score_history``) always lives in the workspace's own DuckDB
file, ``regulars.duckdb``, whatever the backend: it is small, written in
transactions, and belongs to the workspace rather than to the data.

When the engine is not the workspace's DuckDB connection (``backend = "parquet"`` or
``"spark"``), the few state rows a playbook needs (offers, closed actions, one score
snapshot) are handed to the engine as in-memory tables, and touches logged with
``regulars touch`` (written to the workspace file) are added to the engine's touches.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from regulars.errors import ConfigError

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

    from regulars.store import Workspace

__all__ = [
    "MEMORY_ENV_VAR",
    "actions_memory",
    "computed_here",
    "engine_backend",
    "input_tables",
    "latest_order_date",
    "memory_limit",
    "on_workspace_file",
    "scalar",
    "scratch_file",
    "scratch_path",
    "shared_here",
    "state_table",
]

#: Bumped when a table the actions share per data version changes its columns or rows.
SHARED_FORMAT = 1

#: Uncompressed bytes a paid order and its items take in a run's temporary tables
#: (two string ids, the order's kind, product and category, the item's name, a date
#: and two amounts), measured on DuckDB 1.5.  Above the memory limit, the run's
#: tables go to a compressed scratch file (:func:`scratch_file`).
BYTES_PER_ORDER = 100

#: Name under which a run's scratch file is attached to the workspace's connection.
SCRATCH_DATABASE = "_regulars_scratch"

# id(backend) -> (backend, attached name) while a run has a scratch file.
_SCRATCH: dict[int, tuple[Any, str]] = {}

#: Environment variable that overrides ``[actions] memory``.
MEMORY_ENV_VAR = "REGULARS_ACTIONS_MEMORY"
_MIN_MEMORY = 256 * 1024**2
_DEFAULT_SOURCE = "the default (an eighth of the machine's memory)"


def engine_backend(ws: Workspace) -> BaseBackend:
    """The Ibis backend the workspace's data are read on."""
    from regulars.engine import backend_for

    return backend_for(ws)


def on_workspace_file(ws: Workspace) -> bool:
    """Whether the engine is the workspace's own DuckDB connection."""
    return ws.config.engine.backend == "duckdb"


def _touches(ws: Workspace, engine_touches: ir.Table) -> ir.Table:
    """The engine's touches plus those ``regulars touch`` logged in the workspace file."""
    from regulars.engine import backend_for, handed_over, ibis_schema

    if on_workspace_file(ws) or not ws.has_table("touches") or ws.count("touches") == 0:
        return engine_touches
    schema = ibis_schema("touches")
    logged = handed_over(
        ws.table("touches").select(*schema.names).to_pyarrow(), backend_for(ws)
    ).cast(schema)
    return engine_touches.select(*schema.names).cast(schema).union(logged, distinct=True)


def input_tables(ws: Workspace) -> dict[str, ir.Table]:
    """The imported tables and ``scores`` on the workspace's engine.

    ``scores`` is the engine's table when it has one, else the workspace file's
    (``regulars score`` writes it there), handed to the engine; it is missing when
    the workspace was never scored.
    """
    from regulars.engine import backend_for, handed_over, tables

    out = tables(ws)
    out["touches"] = _touches(ws, out["touches"])
    if "scores" not in out and not on_workspace_file(ws) and ws.has_table("scores"):
        out["scores"] = handed_over(ws.table("scores").to_pyarrow(), backend_for(ws))
    return out


def state_table(ws: Workspace, name: str, expr: ir.Table | None = None) -> ir.Table:
    """Action state table ``name`` (or ``expr`` over it) where the inputs can join it.

    On the workspace's DuckDB file it stays a lazy table; on another engine the rows
    are read from the workspace file and handed over (:func:`regulars.engine.handed_over`),
    so keep ``expr`` small (a filter or an aggregate).
    """
    from regulars.engine import backend_for, handed_over

    t = ws.table(name) if expr is None else expr
    if on_workspace_file(ws):
        return t
    return handed_over(t.to_pyarrow(), backend_for(ws))


def scalar(expr: ir.Scalar) -> Any:
    """The value of a scalar expression, as a Python object (None for null)."""
    value = expr.to_pyarrow().as_py()
    return value


def latest_order_date(ws: Workspace) -> _dt.date | None:
    """The date of the latest order that is not cancelled, read through the engine."""
    o = input_tables(ws)["orders"]
    o = o.filter(o.status.fill_null("paid") != "cancelled")
    value = scalar(o.order_date.cast("date").max())
    if isinstance(value, _dt.datetime):
        return value.date()
    return value if isinstance(value, _dt.date) else None


def computed_here(t: ir.Table) -> ir.Table:
    """``t`` computed once in the engine, for a run that reads it several times.

    On Spark a checkpoint (:func:`regulars.engine.computed_once`: a cached view keeps
    its plan, which every later query would analyse again); on DuckDB a temporary
    table, or a table of the run's scratch file on a large book (:func:`scratch_file`),
    dropped when the returned expression is garbage collected.  A table of in-memory
    rows only (no engine behind it) is returned as it is.
    """
    from regulars.engine import computed_once
    from regulars.engine._backend import engine_of

    backend = engine_of(t)
    if backend is None:  # in-memory rows only: nothing to compute
        return t
    scratch = _SCRATCH.get(id(backend))
    if scratch is not None and scratch[0] is backend:
        return _scratch_copy(backend, t, scratch[1])
    once = computed_once(t)
    return t.cache() if once is t else once


def shared_here(
    ws: Workspace, kind: str, params: Mapping[str, Any], build: Callable[[], ir.Table]
) -> ir.Table:
    """``build()`` stored once per data version (:func:`regulars.engine.shared_table`)
    and read by every later run on the same data.

    The run that computes it reads its own copy (:func:`computed_here`), and the
    stored one is written from that copy; a read-only workspace (the web app) stores
    nothing and computes it once for the run.  ``params`` must name everything
    besides the data that the rows depend on (the day, the settings); the actions'
    format and the ledger's credit window are added.
    """
    from regulars.engine import shared_table
    from regulars.engine._backend import engine_name
    from regulars.ledger import credit_window_days

    backend = engine_backend(ws)
    # Spark: shared_table checkpoints it; on a large book the stored table, compressed
    # in the workspace file, is read instead of a second copy in the scratch file.
    direct = engine_name(backend) == "pyspark" or id(backend) in _SCRATCH
    built: list[ir.Table] = []

    def make() -> ir.Table:
        t = build()
        built.append(t if direct else computed_here(t))
        return built[-1]

    full = {
        **params,
        "credit_window_days": credit_window_days(ws.config),
        "actions_format": SHARED_FORMAT,
    }
    out = shared_table(ws, kind, full, make, one_per_kind=True)  # per day: keep the last
    return built[-1] if built and not direct else out


def actions_memory(ws: Workspace) -> tuple[int, str]:
    """DuckDB's memory limit while the actions are computed, and where it came from.

    ``REGULARS_ACTIONS_MEMORY``, else ``[actions] memory``, else the default of an
    import (an eighth of the machine's memory, between 1 GiB and 16 GiB; see
    :mod:`regulars.io._memory`).
    """
    from regulars.io._memory import chosen_memory, default_memory, machine_memory

    total = machine_memory()
    found = chosen_memory(
        (
            (os.environ.get(MEMORY_ENV_VAR), MEMORY_ENV_VAR),
            (ws.config.actions.memory, "[actions] memory"),
        ),
        total,
    )
    if found is not None:
        chosen, where, text = found
        if chosen < _MIN_MEMORY:
            raise ConfigError(
                f"{where} = {text!r} is too small to compute the actions: give DuckDB at "
                f'least 256 MiB (for example "2GiB", or "auto" for '
                f"{default_memory(total) / 1024**3:.1f} GiB on this machine)."
            )
        return chosen, where
    return default_memory(total), _DEFAULT_SOURCE


@contextlib.contextmanager
def memory_limit(ws: Workspace) -> Iterator[None]:
    """The workspace connection's DuckDB memory limit set to :func:`actions_memory`
    while the block runs, then set back.

    DuckDB keeps what fits and spills the rest (hash tables, sorts, the run's
    temporary tables) to its temporary folder, ``regulars.duckdb.tmp-<pid>`` beside the
    workspace file, so the peak memory of ``regulars actions`` stays bounded whatever
    the size of the book.  Only the DuckDB and Parquet engines use this connection;
    Spark has its own memory settings.
    """
    if ws.config.engine.backend == "spark":
        yield
        return
    limit, _source = actions_memory(ws)
    con = ws.con
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    old = str(row[0]) if row else None
    con.execute(f"SET memory_limit = '{max(limit // 1024**2, 1)}MiB'")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a closed connection keeps nothing to restore
            con.execute("RESET memory_limit")
            now = con.execute("SELECT current_setting('memory_limit')").fetchone()
            if old is not None and (now is None or str(now[0]) != old):
                con.execute(f"SET memory_limit = '{old}'")


def scratch_path(ws: Workspace) -> Any:
    """This process's scratch file, ``regulars.duckdb.tmp-<pid>.scratch`` beside the
    workspace file: removed at the end of the run, and (like the spill folder) by the
    next command that writes to the workspace if a killed run left it."""
    return ws.spill_path.with_name(ws.spill_path.name + ".scratch")


def scratch_memory(limit: int) -> int:
    """The default memory limit while a run uses its scratch file: five sixths of it,
    down to a multiple of 0.5 GiB, at least 1 GiB (3 GiB: 2.5 GiB).

    On a book that large DuckDB allocates about a third more than its limit outside
    it (joins of 18 M customers' facts with their scores and names at 100 M orders: a
    peak of 4.28 GiB under a 3 GiB limit, 3.59 GiB under 2.5 GiB, which was also faster,
    the same list).  A limit set in ``[actions] memory`` or the environment is kept.
    """
    half = 512 * 1024**2
    return max(limit * 5 // 6 // half * half, 2 * half)


@contextlib.contextmanager
def scratch_file(ws: Workspace) -> Iterator[bool]:
    """The run's intermediate tables (:func:`computed_here`) in a compressed scratch
    file while the block runs, when the book's paid orders would not fit the actions'
    memory (:func:`actions_memory`) as temporary tables; yields whether it did.

    DuckDB keeps temporary tables uncompressed (about :data:`BYTES_PER_ORDER` bytes
    an order for the paid orders and their items) and spills what does not fit to its
    temporary folder: at 100 M orders, more than 20 GB of spill.  A table of an
    attached database file is written compressed (about a fifth of that, measured on
    the paid orders) and read about as fast; writing it costs about four times as
    much CPU, so a book that fits in memory keeps temporary tables.  Only the
    workspace's own connection (``duckdb`` and ``parquet`` engines) has one.  With the
    default ``[actions] memory``, DuckDB's limit is lowered to :func:`scratch_memory`
    for the run.
    """
    backend = engine_backend(ws)
    if ws.config.engine.backend == "spark" or id(backend) in _SCRATCH:
        yield False
        return
    limit, source = actions_memory(ws)
    orders = scalar(input_tables(ws)["orders"].count())
    if int(orders or 0) * BYTES_PER_ORDER <= limit:
        yield False
        return
    path = scratch_path(ws)
    _remove_scratch(path)  # left by an earlier process of the same id
    con = ws.con
    con.execute(f"ATTACH '{path}' AS {SCRATCH_DATABASE}")
    if source == _DEFAULT_SOURCE and limit > scratch_memory(limit):
        # (memory_limit, around this block, sets the workspace's own limit back)
        con.execute(f"SET memory_limit = '{scratch_memory(limit) // 1024**2}MiB'")
    _SCRATCH[id(backend)] = (backend, SCRATCH_DATABASE)
    try:
        yield True
    finally:
        del _SCRATCH[id(backend)]
        with contextlib.suppress(Exception):
            con.execute(f"DETACH {SCRATCH_DATABASE}")
        _remove_scratch(path)


def _remove_scratch(path: Any) -> None:
    """The scratch file and its write-ahead log, if there."""
    for part in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(OSError):
            part.unlink()


def _scratch_copy(backend: Any, t: ir.Table, database: str) -> ir.Table:
    """``t`` written to a table of the scratch file ``database``, dropped when the
    returned expression is garbage collected (or with the file)."""
    name = f"_regulars_once_{uuid.uuid4().hex[:12]}"
    backend._run_pre_execute_hooks(t)  # in-memory tables it reads, registered
    sql = backend.compile(t)
    backend.con.execute(f'CREATE TABLE {database}.main."{name}" AS {sql}')
    out = backend.table(name, database=(database, "main"))
    schema = t.schema()
    if out.schema() != schema:
        out = out.cast(schema)
    weakref.finalize(out.op(), _drop_scratch, backend, database, name)
    return out


def _drop_scratch(backend: Any, database: str, name: str) -> None:
    with contextlib.suppress(Exception):  # detached, or the connection closed: gone
        backend.con.execute(f'DROP TABLE IF EXISTS {database}.main."{name}"')
