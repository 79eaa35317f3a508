"""Settings for the whole test run."""

from __future__ import annotations

import json
import os

import pytest

#: A local Spark session tuned for the tests' tiny tables: a query's cost is planning
#: and JIT compilation, not data, so the JVM compiles less eagerly and adaptive
#: re-planning and whole-stage code generation are off.  Results are the same.
#: TieredStopAtLevel=1 shrinks the JIT's code cache to 48 MiB, which a report's worth of
#: queries fills: the JVM then stops compiling ("CodeCache is full. Compiler has been
#: disabled") and every later query of the session runs interpreted, so the cache gets
#: 256 MiB (the report on Spark in tests/engine/test_parity.py: 39 s -> 31 s).
#: CompileThresholdScaling=1 undoes regulars' own default of 10 (for a command's large
#: queries): with only the quick compiler, the tests' many small queries ran about 10%
#: slower interpreted for longer (tests/metrics/test_growth.py on Spark: 48-49 s -> 44 s).
SPARK_TEST_CONF = {
    "spark.driver.extraJavaOptions": (
        "-XX:CompileThresholdScaling=1 -XX:TieredStopAtLevel=1 -XX:+UseParallelGC "
        "-XX:ReservedCodeCacheSize=256m"
    ),
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.default.parallelism": "2",
}


def pytest_configure(config: pytest.Config) -> None:
    # setdefault: a developer can still try other settings from the shell.
    os.environ.setdefault("REGULARS_SPARK_CONF", json.dumps(SPARK_TEST_CONF))


#: Session fixtures that take seconds to build (a fitted workspace, its report): the
#: tests that use one run on one worker, which builds it once.
SHARED_FIXTURES = ("demo_workspace", "shop_workspace", "orders_only_workspace")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (``--dist loadgroup``), tests that share costly state share a
    worker (an ``xdist_group``), so that each piece of state is built once:

    * every Spark test, and every test of a module with a Spark test and a
      module-scoped fixture, in the group ``spark``: one JVM serves them all;
    * a test of another module with a module-scoped fixture, in its module's group;
    * else a test that uses one of :data:`SHARED_FIXTURES`, in that fixture's group.

    pytest 9.2 breaks this grouping silently (pyproject.toml pins pytest below it);
    ``tests/test_suite_setup.py`` checks that it holds.
    """
    spark_modules = {i.path for i in items if i.get_closest_marker("spark") is not None}
    for item in items:
        group = None
        defs = getattr(item, "_fixtureinfo", None)
        scopes = {d.scope for ds in (defs.name2fixturedefs.values() if defs else ()) for d in ds}
        if item.get_closest_marker("spark") is not None or (
            "module" in scopes and item.path in spark_modules
        ):
            group = "spark"
        elif "module" in scopes:
            group = item.path.relative_to(config.rootpath).as_posix()
        else:
            group = next((f for f in SHARED_FIXTURES if f in item.fixturenames), None)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
