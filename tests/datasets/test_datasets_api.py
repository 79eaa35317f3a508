"""The public API of regulars.datasets is pinned, and its examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

import regulars.datasets

PUBLIC = [
    "Channel",
    "Package",
    "Plan",
    "Service",
    "ShopExport",
    "SimulatedBook",
    "SimulationParams",
    "load_cdnow",
    "load_donations",
    "load_retention",
    "simulate",
    "simulate_orders_to_parquet",
    "simulate_shop_export",
]


def test_public_names_are_pinned_and_sorted() -> None:
    assert regulars.datasets.__all__ == PUBLIC
    assert sorted(regulars.datasets.__all__) == regulars.datasets.__all__
    for name in PUBLIC:
        assert getattr(regulars.datasets, name) is not None


@pytest.mark.parametrize(
    "module",
    [
        "regulars.datasets._loaders",
        "regulars.datasets._shop",
        "regulars.datasets._simulate",
        "regulars.datasets._stream",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
