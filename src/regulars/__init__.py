"""regulars: keep and grow the customers you already have.

The stages of the flow are subpackages, each importable on its own:
:mod:`regulars.schema` (the data contract), :mod:`regulars.store` (the workspace),
:mod:`regulars.io` (imports and exports), :mod:`regulars.engine` (Ibis backends),
:mod:`regulars.ledger` (paid orders, refunds and credit notes),
:mod:`regulars.metrics`, :mod:`regulars.models`, :mod:`regulars.actions`,
:mod:`regulars.report` and :mod:`regulars.datasets`.
"""

from __future__ import annotations

import warnings

from regulars.errors import (
    ActionError,
    ConfigError,
    ConvergenceError,
    ImportDataError,
    NotFittedError,
    RegularsError,
    SchemaError,
    WorkspaceError,
)

__version__ = "0.1.0"

# Ibis 12 reads pandas' deprecated ``future.infer_string`` option on every conversion to
# pandas, and pandas 3 warns each time.  The warning is about Ibis, not the user's code.
warnings.filterwarnings("ignore", message="The 'future.infer_string' option is deprecated")

__all__ = [
    "ActionError",
    "ConfigError",
    "ConvergenceError",
    "ImportDataError",
    "NotFittedError",
    "RegularsError",
    "SchemaError",
    "WorkspaceError",
    "__version__",
]
