"""regulars: keep and grow the customers you already have."""

from __future__ import annotations

from regulars.errors import (
    ConfigError,
    ConvergenceError,
    ImportDataError,
    NotFittedError,
    RegularsError,
    SchemaError,
    WorkspaceError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "ImportDataError",
    "NotFittedError",
    "RegularsError",
    "SchemaError",
    "WorkspaceError",
    "__version__",
]
