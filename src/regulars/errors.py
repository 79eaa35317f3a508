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
    "NotFoundError",
    "RegularsError",
    "SchemaError",
    "WorkspaceError",
    "hint_of",
]


class RegularsError(Exception):
    """Root of every error regulars raises on purpose.

    ``hint`` optionally names what the user should change, as data, so that each
    surface can word it: ``{"option": "map", "field": "order_id"}`` reads
    ``--map order_id=COLUMN`` in the CLI and "choose a column for order_id" in the
    web app.  Keys: ``option`` (the CLI flag without dashes or the setting),
    ``field`` (a contract field or parameter), ``value`` (a suggested value).
    """

    def __init__(self, *args: object, hint: dict[str, str] | None = None) -> None:
        super().__init__(*args)
        self.hint: dict[str, str] = dict(hint or {})


def hint_of(exc: BaseException) -> dict[str, str]:
    """The structured hint of ``exc`` (empty when it has none)."""
    return dict(getattr(exc, "hint", None) or {})


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


class NotFoundError(RegularsError, LookupError):
    """A requested object (customer, action, import...) does not exist."""


class NotFittedError(RegularsError, ValueError, AttributeError):
    """A model was used before ``fit`` was called."""


class ConvergenceError(RegularsError, RuntimeError):
    """The optimizer did not converge; the message says what to try."""
