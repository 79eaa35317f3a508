"""Fixtures shared by every metric test: one test body, run on DuckDB and on Spark.

How to use them
---------------
``book`` is a factory that puts small tables on the backend under test and returns a
:class:`~regulars.metrics.MetricContext`::

    def test_new_customer(book):
        ctx = book(
            orders={"order_id": ["o1"], "customer_id": ["c1"],
                    "order_date": ["2024-01-05"], "revenue": ["100.00"]},
            customers={"customer_id": ["c1"], "channel": ["google-ads"]},
            config=Config(channels={"google-ads": "cold"}),   # optional
        )
        out = frame(growth_accounting(ctx, period="month"))

* Tables are given as dicts of lists, pandas DataFrames or pyarrow Tables.  Each is
  cast to its contract schema (``regulars.engine.arrow_schema``): money may be written
  as strings, ints or Decimals, dates and timestamps as ISO strings or Python dates.
  Omitted optional columns are nulls, omitted contract tables are empty.  Tables that
  are not in the contract (``scores``) are passed through as they are.
* ``book.name`` is ``"duckdb"`` or ``"spark"``; ``book.inputs`` holds the Arrow
  tables of the last call, so an oracle can read them with ``.to_pandas()``.
* The ``book`` fixture is parametrised over backends.  DuckDB always runs.  The Spark
  variant is marked ``spark`` (deselected by default; run ``pytest -m spark``) and
  uses one session-scoped local PySpark session (``spark_session`` fixture) with its
  own temporary warehouse folder; its tables are written to Parquet under
  ``tmp_path`` and read by Spark, so types (DECIMAL(18,2), TIMESTAMP) are exact.
* A local Spark query costs seconds however small its data, so Spark runs the tests
  marked ``@pytest.mark.on_spark``: the hand-checked cases of every metric and the
  first case of each metric's random-book oracle, which between them reach every
  code path of the Ibis plans.  The other Spark variants are deselected (and counted
  as such); ``REGULARS_SPARK_ALL=1 pytest -m spark tests/metrics`` runs them all.
* ``frame(expr)`` executes an Ibis expression and normalises the result so the two
  backends compare equal: date columns become ``datetime.date``, rows are sorted by
  every column in order, and the index is reset.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from regulars.config import Config
from regulars.engine import arrow_schema
from regulars.metrics import MetricContext
from regulars.schema import TABLES

_COUNTER = itertools.count()


def _convert_value(value: Any, typ: pa.DataType) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if pa.types.is_decimal(typ):
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-typ.scale))
    if pa.types.is_timestamp(typ):
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value)
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime(value.year, value.month, value.day)
        return value
    if pa.types.is_date(typ):
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        if isinstance(value, dt.datetime | pd.Timestamp):
            return value.date()
        return value
    return value


def to_contract_arrow(name: str, data: Any) -> pa.Table:
    """``data`` (dict of lists, DataFrame or Arrow table) as contract table ``name``."""
    if isinstance(data, pa.Table):
        if name not in TABLES:
            return data
        data = data.to_pydict()
    elif isinstance(data, pd.DataFrame):
        data = {c: data[c].tolist() for c in data.columns}
    if name not in TABLES:
        return pa.table(data)
    schema = arrow_schema(name)
    n = len(next(iter(data.values()))) if data else 0
    columns = {}
    for field in schema:
        values = data.get(field.name, [None] * n)
        columns[field.name] = pa.array(
            [_convert_value(v, field.type) for v in values], type=field.type
        )
    extra = {k: pa.array(v) for k, v in data.items() if k not in columns}
    return pa.table({**columns, **extra}).cast(
        pa.schema(
            [pa.field(f.name, f.type, True) for f in schema]
            + [pa.field(k, v.type) for k, v in extra.items()]
        )
    )


class Book:
    """Factory of :class:`MetricContext` objects on one backend (see module docstring)."""

    def __init__(self, name: str, tmp_path: Path, spark: Any = None) -> None:
        self.name = name
        self.tmp_path = tmp_path
        self.spark = spark
        self.inputs: dict[str, pa.Table] = {}
        if name == "duckdb":
            import ibis

            self.con = ibis.duckdb.connect()
        else:
            import ibis

            self.con = ibis.pyspark.connect(spark)

    def tables(self, **data: Any) -> dict[str, Any]:
        """Ibis tables for ``data`` (missing contract tables empty)."""
        arrow = {name: to_contract_arrow(name, d) for name, d in data.items() if d is not None}
        for name in TABLES:
            arrow.setdefault(name, arrow_schema(name).empty_table())
        self.inputs = arrow
        out = {}
        for name, tbl in arrow.items():
            unique = f"{name}_{next(_COUNTER)}"
            if self.name == "duckdb":
                out[name] = self.con.create_table(unique, tbl)
            else:
                path = self.tmp_path / f"{unique}.parquet"
                pq.write_table(tbl, path)
                out[name] = self.con.read_parquet(str(path), table_name=unique)
        return out

    def __call__(self, *, config: Config | None = None, **data: Any) -> MetricContext:
        return MetricContext(self.tables(**data), config if config is not None else Config())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the Spark variant of ``on_spark`` tests only, in their first case."""
    import os

    if os.environ.get("REGULARS_SPARK_ALL") == "1":
        return
    seen: set[str] = set()
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is None or spec.params.get("book") != "spark":
            keep.append(item)
            continue
        key = f"{item.path}::{item.originalname}"  # type: ignore[attr-defined]
        if item.get_closest_marker("on_spark") is not None and key not in seen:
            seen.add(key)
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local PySpark session for the whole run, with its own temporary warehouse."""
    from regulars.engine import local_spark_session, stop_local_spark_session

    session = local_spark_session("local[2]", shuffle_partitions=2)
    yield session
    stop_local_spark_session()


#: Marks of the Spark variant.  PySpark 4.0's toPandas uses pandas options and
#: arguments that pandas 3 deprecates (``astype(copy=False)``, the
#: ``future.infer_string`` option); those Pandas4Warnings are PySpark's, not ours.
SPARK_MARKS = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=SPARK_MARKS)])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Book:
    """A :class:`Book` on DuckDB, and on local PySpark when ``-m spark`` selects it."""
    spark = request.getfixturevalue("spark_session") if request.param == "spark" else None
    return Book(request.param, tmp_path, spark)


def frame(expr: Any, sort: list[str] | None = None) -> pd.DataFrame:
    """Execute ``expr`` and normalise the result for comparisons across backends."""
    df = expr.to_pyarrow().to_pandas()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]) and col in ("period", "cohort"):
            df[col] = [None if pd.isna(v) else v.date() for v in df[col]]
    keys = sort if sort is not None else list(df.columns)
    keys = [k for k in keys if df[k].map(lambda v: v is not None).all()]
    if keys and len(df):
        df = df.sort_values(keys, kind="mergesort")
    return df.reset_index(drop=True)


@pytest.fixture
def to_frame() -> Callable[..., pd.DataFrame]:
    """:func:`frame` as a fixture, for modules that prefer not to import conftest."""
    return frame
