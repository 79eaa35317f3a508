"""The compute backend: Ibis over the workspace's DuckDB file by default.

``tables(workspace)`` returns the workspace's tables as Ibis tables on the configured
backend (``[engine] backend`` in regulars.toml).  Metrics and models take these
tables and stay backend-neutral.
"""

from __future__ import annotations

from regulars.engine._backend import backend_for, tables

__all__ = ["backend_for", "tables"]
