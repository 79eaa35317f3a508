"""A local Spark session for regulars (tests, laptops) with its own warehouse folder."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from regulars.errors import WorkspaceError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["local_spark_session", "stop_local_spark_session"]

_LOCAL: dict[str, Any] = {}


def _import_spark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise WorkspaceError(
            "[engine] backend = 'spark' needs PySpark, which is not installed. "
            "Install it with: pip install 'regulars[spark]' (PySpark 3.5 or 4.0, and Java 17)."
        ) from None
    return pyspark.sql


_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
#: The JIT of a new local session's JVM.  Each command starts a JVM of its own, and on
#: a metric at 2 M order lines its JIT compilers took a third of the JVM's CPU:
#: compiling methods only after ten times the usual number of calls leaves the cold
#: ones (start-up, planning) to the interpreter and still compiles the hot loops.
#: Results are the same (docs/performance.md, which also has the parallel collector
#: tried: less CPU at 2 M lines, more at 10 M).
_JVM_DEFAULTS = ("-XX:CompileThresholdScaling=10",)


def _extra_conf() -> dict[str, str]:
    """``REGULARS_SPARK_CONF``: further settings of a new local session, as JSON."""
    text = os.environ.get("REGULARS_SPARK_CONF", "").strip()
    if not text:
        return {}
    try:
        conf = json.loads(text)
    except json.JSONDecodeError:
        conf = None  # reported below, like any value that is not an object
    if not isinstance(conf, dict):
        raise WorkspaceError(
            f"REGULARS_SPARK_CONF must be a JSON object of Spark settings, got {text!r}. "
            'Fix: for example REGULARS_SPARK_CONF=\'{"spark.sql.adaptive.enabled": "false"}\'.'
        )
    return {str(k): str(v) for k, v in conf.items()}


def _jvm_options(own: str) -> list[str]:
    """regulars' JVM options (:data:`_JVM_DEFAULTS`), then ``own``: a repeated one wins."""
    return [*_JVM_DEFAULTS, *own.split()]


def local_spark_session(master: str = "local[2]", *, shuffle_partitions: int = 64) -> SparkSession:
    """The active Spark session, or a new local one with its own temporary warehouse.

    An already running session (for example the one a notebook or a cluster job made)
    is reused as it is.  A new session gets a fresh temporary ``spark.sql.warehouse.dir``
    and Derby home (removed at exit), no web UI, the UTC session time zone (naive
    business timestamps stay as they are), 64 shuffle partitions (adaptive execution
    merges those of a small shuffle, so a small book pays nothing for them; with 4, a
    30 M-line book's per-customer aggregates ran out of memory), a 4 GiB driver heap
    (``REGULARS_SPARK_DRIVER_MEMORY`` changes it), and a JVM that compiles less eagerly
    (:data:`_JVM_DEFAULTS`, less CPU per command).
    ``REGULARS_SPARK_CONF`` adds settings as a JSON object (its
    ``spark.driver.extraJavaOptions`` are appended to regulars' own).

    Parameters
    ----------
    master : str
        Spark master URL for a new session, ``local[2]`` by default.
    shuffle_partitions : int
        ``spark.sql.shuffle.partitions`` for a new session.
    """
    sql = _import_spark()
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        return active
    extra = _extra_conf()
    warehouse = tempfile.mkdtemp(prefix="regulars-spark-")
    java_options = " ".join(
        [f"-Dderby.system.home={warehouse}/derby", *_jvm_options(extra.pop(_JAVA_OPTIONS, ""))]
    )
    try:
        builder = (
            sql.SparkSession.builder.master(master)
            .appName("regulars")
            .config("spark.sql.warehouse.dir", f"{warehouse}/warehouse")
            .config(_JAVA_OPTIONS, java_options)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            # A local session's driver does all the work: the default 1 GiB heap runs out
            # on the larger metric plans.
            .config("spark.driver.memory", os.environ.get("REGULARS_SPARK_DRIVER_MEMORY", "4g"))
        )
        for key, value in extra.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing, port clash...
        shutil.rmtree(warehouse, ignore_errors=True)
        raise WorkspaceError(
            f"Could not start a local Spark session ({master}): {exc}. "
            "Spark needs Java 17 on PATH (or JAVA_HOME); check `java -version`."
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    _LOCAL["session"] = session
    _LOCAL["warehouse"] = warehouse
    return session


def stop_local_spark_session() -> None:
    """Stop the session :func:`local_spark_session` created, and delete its warehouse."""
    session = _LOCAL.pop("session", None)
    warehouse = _LOCAL.pop("warehouse", None)
    if session is not None:
        session.stop()
    if warehouse is not None:
        shutil.rmtree(warehouse, ignore_errors=True)


atexit.register(stop_local_spark_session)
