"""Build Arrow columns of the contract types straight from NumPy arrays.

Money is kept as integer cents while simulating and becomes ``decimal128(18, 2)``
without passing through floats, so every sum is exact to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from regulars.errors import SchemaError
from regulars.schema import Table

__all__ = [
    "arrow_schema",
    "arrow_type",
    "dates",
    "ids",
    "money",
    "table_from_columns",
    "timestamps",
]

MONEY_TYPE = pa.decimal128(18, 2)
_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "DECIMAL(18,2)": MONEY_TYPE,
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
}

_US_PER_DAY = 86_400_000_000


def arrow_type(duckdb_type: str) -> pa.DataType:
    """The Arrow type that holds a contract column of DuckDB type ``duckdb_type``."""
    try:
        return _TYPES[duckdb_type.replace(" ", "").upper()]
    except KeyError:
        raise SchemaError(
            f"No Arrow type for the contract type {duckdb_type!r}. "
            f"Known types: {', '.join(_TYPES)}."
        ) from None


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a contract table (required columns are not nullable)."""
    return pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=not c.required) for c in table.columns]
    )


def _validity(mask: npt.NDArray[np.bool_] | None) -> tuple[pa.Buffer | None, int]:
    """Arrow validity bitmap for ``mask`` (True = null)."""
    if mask is None or not mask.any():
        return None, 0
    valid = np.packbits(~mask, bitorder="little")
    return pa.py_buffer(valid.tobytes()), int(mask.sum())


def money(cents: npt.ArrayLike, mask: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """``decimal128(18, 2)`` from integer cents; ``mask`` marks nulls."""
    values = np.ascontiguousarray(cents, dtype=np.int64)
    n = len(values)
    # A decimal128 is a 16-byte little-endian two's complement integer of cents.
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63
    validity, nulls = _validity(mask)
    return pa.Array.from_buffers(
        MONEY_TYPE, n, [validity, pa.py_buffer(words.tobytes())], null_count=nulls
    )


def timestamps(
    epoch_day: int, day: npt.ArrayLike, seconds: npt.ArrayLike | None = None
) -> pa.Array:
    """``timestamp[us]`` from days after ``epoch_day`` (days since 1970) plus seconds."""
    us = (np.asarray(day, dtype=np.int64) + epoch_day) * _US_PER_DAY
    if seconds is not None:
        us = us + np.asarray(seconds, dtype=np.int64) * 1_000_000
    return pa.array(us, type=pa.int64()).cast(pa.timestamp("us"))


def dates(
    epoch_day: int, day: npt.ArrayLike, mask: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """``date32`` from days after ``epoch_day``; ``mask`` marks nulls."""
    d = (np.asarray(day, dtype=np.int64) + epoch_day).astype(np.int32)
    if mask is not None and mask.any():
        d = np.where(mask, 0, d).astype(np.int32)
        return pa.array(d, type=pa.date32(), mask=mask)
    return pa.array(d, type=pa.date32())


def ids(
    prefix: str, numbers: npt.ArrayLike, width: int, mask: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """Text ids such as ``C-00042``: ``prefix`` + zero-padded ``numbers``."""
    arr = np.asarray(numbers, dtype=np.int64)
    if mask is not None and mask.any():
        digits = pa.array(arr, mask=mask).cast(pa.string())
    else:
        digits = pa.array(arr).cast(pa.string())
    padded = pc.utf8_lpad(digits, width=width, padding="0")
    return pc.binary_join_element_wise(prefix, padded, "")


def table_from_columns(table: Table, columns: Mapping[str, pa.Array | pa.ChunkedArray]) -> pa.Table:
    """A ``pa.Table`` with exactly the contract columns of ``table``, in order.

    Columns missing from ``columns`` are all null; an extra column is an error.
    """
    extra = set(columns) - set(table.column_names)
    if extra:
        raise SchemaError(
            f"Columns {', '.join(sorted(extra))} are not in the contract of {table.name!r}. "
            f"Its columns are: {', '.join(table.column_names)}."
        )
    schema = arrow_schema(table)
    n = len(next(iter(columns.values()))) if columns else 0
    arrays = []
    for f in schema:
        if f.name in columns:
            arr = columns[f.name]
            arrays.append(arr if arr.type == f.type else arr.cast(f.type))
        else:
            arrays.append(pa.nulls(n, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
