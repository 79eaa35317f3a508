"""The test run itself: tests that share costly state share a worker."""

from __future__ import annotations

import pytest


@pytest.mark.spark
def test_spark_tests_share_one_worker(request: pytest.FixtureRequest) -> None:
    """Under ``--dist loadgroup`` a Spark test carries the group ``spark`` in its id,
    which is how pytest-xdist keeps the group on one worker (one JVM for them all).

    pytest 9.2 dropped that id silently (pytest-xdist#1386), and every Spark test
    module then started a JVM on each worker.
    """
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not a pytest-xdist worker under --dist loadgroup")
    assert request.node.nodeid.endswith("@spark"), request.node.nodeid
