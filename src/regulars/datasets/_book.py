"""The simulated customer book: one Arrow table per contract table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from regulars.datasets._params import SimulationParams
from regulars.schema import table

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["TABLE_NAMES", "SimulatedBook"]

# The contract tables in the order they are written (customers first).
TABLE_NAMES = (
    "customers",
    "orders",
    "order_lines",
    "subscriptions",
    "touches",
    "spend",
    "feedback",
)


@dataclass(frozen=True)
class SimulatedBook:
    """A simulated customer book: one ``pyarrow.Table`` per contract table.

    Each table has exactly the columns of :mod:`regulars.schema`, in order, with the
    Arrow types that hold them (VARCHAR and JSON as string, DATE as date32,
    TIMESTAMP as timestamp[us], DECIMAL(18,2) as decimal128(18, 2), DOUBLE as
    float64, INTEGER as int32).

    Attributes
    ----------
    start, end : datetime.date
        First simulated day and the first day after the simulation.
    currency : str
        ISO code of every money column.
    channels : dict of str to str
        Channel name -> channel kind, for ``[channels]`` in ``regulars.toml``.
    params : SimulationParams
        The parameters the book was drawn with.
    seed : int
        The seed it was drawn with.
    """

    customers: pa.Table
    orders: pa.Table
    order_lines: pa.Table
    subscriptions: pa.Table
    touches: pa.Table
    spend: pa.Table
    feedback: pa.Table
    start: dt.date
    end: dt.date
    currency: str
    seed: int
    channels: dict[str, str] = field(default_factory=dict)
    params: SimulationParams = field(default_factory=SimulationParams, repr=False)

    def tables(self) -> dict[str, pa.Table]:
        """Table name -> Arrow table, in writing order."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def __iter__(self) -> Iterator[tuple[str, pa.Table]]:
        return iter(self.tables().items())

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={t.num_rows:,}" for name, t in self)
        return (
            f"SimulatedBook({self.start.isoformat()} to {self.end.isoformat()}, "
            f"{self.currency}, seed={self.seed}: {counts})"
        )

    def to_parquet(self, folder: str | Path) -> dict[str, Path]:
        """Write ``<table>.parquet`` for every table into ``folder`` (created if needed).

        The same book always gives byte-identical files.  Returns name -> path.
        """
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, t in self:
            path = root / f"{name}.parquet"
            pq.write_table(t, path, compression="zstd")
            paths[name] = path
        return paths

    def write(self, workspace: Workspace) -> dict[str, int]:
        """Load every table into ``workspace`` in one transaction.

        Rows are upserted by their natural key, so writing the same book twice
        changes nothing.  Returns table name -> rows written.
        """
        written: dict[str, int] = {}
        with workspace.transaction() as con:
            for name, t in self:
                view = f"_regulars_sim_{name}"
                con.register(view, t)
                try:
                    written[name] = workspace.upsert(con, table(name), view)
                finally:
                    con.unregister(view)
        return written
