"""Fixtures of the import/export tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regulars.store import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh, empty workspace."""
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()
