"""The workspace: a folder with ``regulars.toml`` and an embedded DuckDB file."""

from __future__ import annotations

from regulars.store._workspace import DB_FILE, ENV_VAR, Workspace, resolve_workspace_path

__all__ = ["DB_FILE", "ENV_VAR", "Workspace", "resolve_workspace_path"]
