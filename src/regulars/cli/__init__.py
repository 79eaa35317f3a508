"""The ``regulars`` command line.

Only this package imports the CLI framework.  Each command group lives in its own
module and registers itself on :data:`app`; commands are thin: they open the workspace,
call the library and render what it returns.
"""

from __future__ import annotations

from regulars.cli import (  # noqa: F401  (registers commands)
    _actions,
    _io,
    _metrics,
    _models,
    _report,
    _web,
    _workspace,
)
from regulars.cli._common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``regulars`` console script."""
    app()
