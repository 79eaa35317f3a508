"""The compute backend: Ibis over the workspace's DuckDB file, Parquet files or Spark.

``tables(workspace)`` returns the workspace's tables as Ibis tables on the configured
backend (``[engine] backend`` in regulars.toml: ``duckdb``, ``parquet`` or ``spark``).
Metrics and models take these tables and stay backend-neutral.  ``docs/scale.md``
shows how to point a workspace at Parquet files or at a Spark session.
"""

from __future__ import annotations

from regulars.engine._backend import (
    arrow_schema,
    backend_for,
    computed_once,
    conform,
    handed_over,
    has_table,
    ibis_schema,
    interactive_config,
    table,
    tables,
    write_derived,
)
from regulars.engine._shared import data_version, shared_stored, shared_table
from regulars.engine._spark import local_spark_session, stop_local_spark_session

__all__ = [
    "arrow_schema",
    "backend_for",
    "computed_once",
    "conform",
    "data_version",
    "handed_over",
    "has_table",
    "ibis_schema",
    "interactive_config",
    "local_spark_session",
    "shared_stored",
    "shared_table",
    "stop_local_spark_session",
    "table",
    "tables",
    "write_derived",
]
