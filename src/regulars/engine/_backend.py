"""Choosing the Ibis backend for a workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from regulars.schema import TABLES

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

    from regulars.store import Workspace

__all__ = ["backend_for", "tables"]


def backend_for(workspace: Workspace) -> BaseBackend:
    """The Ibis backend the workspace's analytics run on (DuckDB by default)."""
    return workspace.ibis


def tables(workspace: Workspace) -> dict[str, ir.Table]:
    """Every contract table of the workspace as an Ibis table on its backend."""
    backend = backend_for(workspace)
    return {name: backend.table(name) for name in TABLES}
