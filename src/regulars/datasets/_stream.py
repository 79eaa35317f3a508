"""Stream simulated orders to one Parquet file, chunk by chunk, in bounded memory."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from regulars.datasets._arrow import arrow_schema
from regulars.datasets._calendar import make_calendar, parse_start
from regulars.datasets._lifecycle import draw_lives
from regulars.datasets._orders import Orders, draw_orders
from regulars.datasets._params import SimulationParams, currency_scale
from regulars.datasets._simulate import orders_table
from regulars.errors import ConfigError
from regulars.schema import table

__all__ = ["simulate_orders_to_parquet"]

_PILOT_CUSTOMERS = 20_000
# Largest row group: pyarrow's default, a good size for DuckDB and Spark readers.
ROW_GROUP_LINES = 1 << 20


def _rng(seed: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk,)))


def _take(orders: Orders, keep: np.ndarray | slice) -> Orders:
    """The orders selected by ``keep`` (lines are not needed when streaming)."""
    fields = {}
    for f in dataclasses.fields(orders):
        value = getattr(orders, f.name)
        fields[f.name] = value if f.name.startswith("line_") else value[keep]
    return Orders(**fields)


def _truncate(
    orders: Orders, n_customers: int, keep_lines: int, seed: int, chunk: int
) -> tuple[Orders, int]:
    """Keep ``keep_lines`` orders: whole customers in random order, then part of one.

    The kept customers are renumbered 0, 1, ... in their original order.  Returns
    the orders and the number of customers kept.
    """
    rank = _rng(seed, (1 << 29) + chunk).permutation(n_customers)
    counts = np.bincount(rank[orders.customer], minlength=n_customers)
    cum = np.cumsum(counts)
    last = int(np.searchsorted(cum, keep_lines, side="left"))
    before = int(cum[last - 1]) if last > 0 else 0
    keep = rank[orders.customer] < last
    partial = np.flatnonzero(rank[orders.customer] == last)[: keep_lines - before]
    keep[partial] = True
    kept_customer = rank <= last
    new_number = np.cumsum(kept_customer) - 1
    taken = _take(orders, keep)
    taken.customer = new_number[taken.customer]
    return taken, int(kept_customer.sum())


def _rescale(
    params: SimulationParams, pilot: Orders, n_pilot: int, target: float
) -> tuple[SimulationParams, float]:
    """Scale the buying rate (and plans, if needed) to ``target`` orders per customer.

    Returns the new parameters and the expected orders per customer.  A customer's
    orders are the first order, the repeat orders (proportional to the buying rate)
    and the plan invoices (about proportional to the plan rates).
    """
    repeats = np.count_nonzero(pilot.n_prior > 0) / n_pilot
    invoices = np.count_nonzero(pilot.n_prior < 0) / n_pilot
    if target >= 1.0 + invoices:
        factor = float(np.clip((target - 1.0 - invoices) / max(repeats, 1e-9), 1e-3, 1e4))
        plans = 1.0
    else:
        factor = 1e-3
        plans = max((target - 1.0) / max(invoices, 1e-9), 0.0)
    scaled = dataclasses.replace(
        params,
        purchase_rate=params.purchase_rate * factor,
        subscription_rate=params.subscription_rate * plans,
        second_subscription_rate=params.second_subscription_rate * plans,
        winback_subscription_rate=params.winback_subscription_rate * plans,
    )
    return scaled, max(1.0 + factor * repeats + plans * invoices, 1.0)


def simulate_orders_to_parquet(
    path: str | Path,
    *,
    n_lines: int,
    seed: int = 0,
    n_customers: int | None = None,
    start: str | dt.date = "2022-01-01",
    years: int = 4,
    chunk_lines: int = 5_000_000,
    currency: str = "EUR",
    params: SimulationParams | None = None,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write exactly ``n_lines`` simulated orders to one Parquet file, for benchmarks.

    The customers are drawn in chunks of about ``chunk_lines`` orders; each
    customer's whole history is drawn inside one chunk, so memory stays bounded by
    the chunk while the file can hold 100 M orders or more.  Each chunk becomes one
    or more row groups of at most ``chunk_lines`` rows.  The columns are those of
    the ``orders`` contract table, one row per order; within a chunk the rows are
    sorted by time.  Customer and order ids are numbered across chunks.  Only the
    very last customer may lose the end of their history, so that the file holds
    exactly ``n_lines`` rows.

    Parameters
    ----------
    path : str or pathlib.Path
        The Parquet file to write (zstd-compressed); its folder is created.
    n_lines : int
        Number of orders to write.
    seed : int, default 0
        Random seed; the same arguments give the same file.
    n_customers : int, optional
        Aim for about this many customers by scaling the customers' buying rate
        (``purchase_rate``); by default the business's own rate decides (about
        5.5 orders per customer over four years).
    start, years, currency, params
        As in :func:`simulate`.
    chunk_lines : int, default 5,000,000
        Orders drawn per chunk (and the largest row group).  Memory grows with it.
    progress : callable, optional
        Called with the number of orders written so far after each chunk.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pyarrow.parquet as pq
    >>> out = simulate_orders_to_parquet(tempfile.mkdtemp() + "/o.parquet", n_lines=1000)
    >>> pq.ParquetFile(out).metadata.num_rows
    1000
    """
    if n_lines < 1 or chunk_lines < 1:
        raise ConfigError(
            f"n_lines = {n_lines!r} and chunk_lines = {chunk_lines!r} must both be at least 1."
        )
    if n_customers is not None and not 1 <= n_customers <= n_lines:
        raise ConfigError(
            f"n_customers = {n_customers!r} must be between 1 and n_lines ({n_lines}): "
            "every customer places at least one order."
        )
    params = params or SimulationParams()
    cal = make_calendar(parse_start(start), years, params)
    scale = params.price_scale if params.price_scale is not None else currency_scale(currency)

    # A pilot run tells how many orders a customer places, and which part of them
    # (the repeat orders) grows with the buying rate.
    n_pilot = min(_PILOT_CUSTOMERS, max(2_000, n_lines))
    pilot = draw_orders(
        _rng(seed, 1 << 30),
        cal,
        draw_lives(_rng(seed, (1 << 30) + 1), cal, n_pilot, params, scale),
        params,
        scale,
        with_lines=False,
    )
    per_customer = len(pilot) / n_pilot
    if n_customers is not None:
        params, per_customer = _rescale(params, pilot, n_pilot, n_lines / n_customers)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(n_lines)))
    row_group = min(chunk_lines, ROW_GROUP_LINES)
    written = customers = chunk = 0
    with pq.ParquetWriter(out, arrow_schema(table("orders")), compression="zstd") as writer:
        while written < n_lines:
            # Aim at the chunk size, or a little above what is still missing (so
            # that the last chunk rarely needs a successor).
            remaining = n_lines - written
            want = min(chunk_lines, 1.1 * remaining + 100)
            chunk_customers = max(1, int(np.ceil(want / per_customer)))
            lives = draw_lives(_rng(seed, 2 * chunk), cal, chunk_customers, params, scale)
            orders = draw_orders(
                _rng(seed, 2 * chunk + 1), cal, lives, params, scale, with_lines=False
            )
            chunk += 1
            n_cust = chunk_customers
            if len(orders) > remaining:
                orders, n_cust = _truncate(orders, chunk_customers, remaining, seed, chunk)
            del lives
            # Convert and write at most a row group at a time, to bound memory.
            for lo in range(0, len(orders), row_group):
                tbl = orders_table(
                    cal,
                    _take(orders, slice(lo, lo + row_group)),
                    params,
                    customer_offset=customers,
                    order_offset=written,
                    customer_width=width,
                    order_width=width,
                )
                writer.write_table(tbl, row_group_size=row_group)
                written += tbl.num_rows
                del tbl
            del orders
            customers += n_cust
            if progress is not None:
                progress(written)
    return out
