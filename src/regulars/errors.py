"""Exceptions raised by regulars.

Every exception derives from :class:`RegularsError`, and each subclass also inherits
the builtin it resembles, so ``except ValueError`` keeps working for callers that do
not know about regulars.  Messages say what is wrong, what was received, what is
valid and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "ConfigError",
    "ConvergenceError",
    "ImportDataError",
    "NotFittedError",
    "RegularsError",
    "SchemaError",
    "WorkspaceError",
]


class RegularsError(Exception):
    """Root of every error regulars raises on purpose."""


class ConfigError(RegularsError, ValueError):
    """``regulars.toml`` holds an unknown key or a value of the wrong kind."""


class WorkspaceError(RegularsError, FileNotFoundError):
    """The workspace is missing or cannot be opened."""


class SchemaError(RegularsError, ValueError):
    """Data does not follow the data contract (a missing column, a wrong type...)."""


class ImportDataError(SchemaError):
    """An import found invalid rows; nothing was written.

    ``problems`` holds the first problems found (file, row, column, value,
    expected, fix) and ``bad_rows`` the total number of invalid rows.
    """

    def __init__(
        self, message: str, *, problems: list[dict[str, object]] | None = None, bad_rows: int = 0
    ) -> None:
        super().__init__(message)
        self.problems = problems or []
        self.bad_rows = bad_rows


class ActionError(RegularsError, ValueError):
    """An action or playbook request cannot be done (unknown id, wrong state...)."""


class NotFittedError(RegularsError, ValueError, AttributeError):
    """A model was used before ``fit`` was called."""


class ConvergenceError(RegularsError, RuntimeError):
    """The optimizer did not converge; the message says what to try."""
