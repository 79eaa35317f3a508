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

import datetime as _dt
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

    from regulars.store import Workspace

__all__ = [
    "engine_backend",
    "input_tables",
    "latest_order_date",
    "on_workspace_file",
    "scalar",
    "state_table",
]


def engine_backend(ws: Workspace) -> BaseBackend:
    """The Ibis backend the workspace's data are read on."""
    from regulars.engine import backend_for

    return backend_for(ws)


def on_workspace_file(ws: Workspace) -> bool:
    """Whether the engine is the workspace's own DuckDB connection."""
    return ws.config.engine.backend == "duckdb"


def _touches(ws: Workspace, engine_touches: ir.Table) -> ir.Table:
    """The engine's touches plus those ``regulars touch`` logged in the workspace file."""
    from regulars.engine import ibis_schema

    if on_workspace_file(ws) or not ws.has_table("touches") or ws.count("touches") == 0:
        return engine_touches
    schema = ibis_schema("touches")
    logged = ibis.memtable(ws.table("touches").select(*schema.names).to_pyarrow()).cast(schema)
    return engine_touches.select(*schema.names).cast(schema).union(logged, distinct=True)


def input_tables(ws: Workspace) -> dict[str, ir.Table]:
    """The imported tables and ``scores`` on the workspace's engine.

    ``scores`` is the engine's table when it has one, else the workspace file's
    (``regulars score`` writes it there), handed to the engine; it is missing when
    the workspace was never scored.
    """
    from regulars.engine import tables

    out = tables(ws)
    out["touches"] = _touches(ws, out["touches"])
    if "scores" not in out and not on_workspace_file(ws) and ws.has_table("scores"):
        out["scores"] = ibis.memtable(ws.table("scores").to_pyarrow())
    return out


def state_table(ws: Workspace, name: str, expr: ir.Table | None = None) -> ir.Table:
    """Action state table ``name`` (or ``expr`` over it) where the inputs can join it.

    On the workspace's DuckDB file it stays a lazy table; on another engine the rows
    are read from the workspace file and handed over in memory, so keep ``expr``
    small (a filter or an aggregate).
    """
    t = ws.table(name) if expr is None else expr
    if on_workspace_file(ws):
        return t
    return ibis.memtable(t.to_pyarrow())


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
