"""The top-level public API and the error hierarchy are pinned."""

from __future__ import annotations

import regulars
from regulars import errors


def test_top_level_exports() -> None:
    assert regulars.__all__ == sorted(regulars.__all__)
    assert set(regulars.__all__) == {
        "ActionError",
        "ConfigError",
        "ConvergenceError",
        "ImportDataError",
        "NotFittedError",
        "RegularsError",
        "SchemaError",
        "WorkspaceError",
        "__version__",
    }


def test_every_error_is_a_regulars_error_and_a_builtin() -> None:
    builtin_parent = {
        errors.ActionError: ValueError,
        errors.ConfigError: ValueError,
        errors.ConvergenceError: RuntimeError,
        errors.ImportDataError: ValueError,
        errors.NotFittedError: AttributeError,
        errors.NotFoundError: LookupError,
        errors.SchemaError: ValueError,
        errors.WorkspaceError: FileNotFoundError,
    }
    for name in errors.__all__:
        cls = getattr(errors, name)
        if not isinstance(cls, type):  # hint_of, a helper
            continue
        assert issubclass(cls, errors.RegularsError)
        if cls is not errors.RegularsError:
            assert issubclass(cls, builtin_parent[cls]), name


def test_import_error_carries_its_problems() -> None:
    exc = errors.ImportDataError("bad", problems=[{"row": 3}], bad_rows=7)
    assert exc.problems == [{"row": 3}]
    assert exc.bad_rows == 7
