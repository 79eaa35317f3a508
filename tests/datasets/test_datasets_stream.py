"""simulate_orders_to_parquet(): exact size, bounded chunks, consistent customers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from regulars.datasets import simulate_orders_to_parquet
from regulars.datasets._arrow import arrow_schema
from regulars.errors import ConfigError
from regulars.schema import table


@pytest.mark.parametrize("n_lines", [1, 999, 12_345])
def test_writes_exactly_the_requested_lines(tmp_path: Path, n_lines: int) -> None:
    path = simulate_orders_to_parquet(tmp_path / "orders.parquet", n_lines=n_lines, seed=3)
    f = pq.ParquetFile(path)
    assert f.metadata.num_rows == n_lines
    assert f.schema_arrow == arrow_schema(table("orders"))
    t = f.read()
    assert len(pc.unique(t["order_id"])) == n_lines
    assert t["customer_id"].null_count == 0


def test_chunks_are_bounded_and_customers_stay_in_one_chunk(tmp_path: Path) -> None:
    chunk = 4_000
    seen: list[int] = []
    path = simulate_orders_to_parquet(
        tmp_path / "o.parquet", n_lines=30_000, chunk_lines=chunk, progress=seen.append
    )
    f = pq.ParquetFile(path)
    sizes = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    assert max(sizes) <= chunk
    assert sum(sizes) == 30_000
    assert seen[-1] == 30_000
    assert seen == sorted(seen)
    # Customers are numbered across chunks: each one's orders sit in one chunk, so
    # in one row group, or across a full row group and the rest of the same chunk.
    groups = []
    for i in range(f.metadata.num_row_groups):
        ids = f.read_row_group(i, columns=["customer_id"])["customer_id"]
        groups.append(np.array([int(s[2:]) for s in pc.unique(ids).to_pylist()]))
    for i, g in enumerate(groups):
        later = np.concatenate(groups[i + 1 :]) if i + 1 < len(groups) else np.array([])
        shared = np.intersect1d(g, later)
        if len(shared):
            assert sizes[i] == chunk
            assert np.isin(shared, groups[i + 1]).all()
    numbers = np.unique(np.concatenate(groups))
    assert numbers[0] == 1
    assert numbers[-1] == len(numbers)  # no gaps


def test_same_arguments_give_the_same_file(tmp_path: Path) -> None:
    a = simulate_orders_to_parquet(tmp_path / "a.parquet", n_lines=5_000, chunk_lines=2_000)
    b = simulate_orders_to_parquet(tmp_path / "b.parquet", n_lines=5_000, chunk_lines=2_000)
    assert a.read_bytes() == b.read_bytes()
    c = simulate_orders_to_parquet(tmp_path / "c.parquet", n_lines=5_000, seed=1)
    assert not pq.read_table(c).equals(pq.read_table(a))


@pytest.mark.parametrize("n_customers", [500, 4_000, 18_000])
def test_n_customers_is_roughly_met(tmp_path: Path, n_customers: int) -> None:
    path = simulate_orders_to_parquet(
        tmp_path / "o.parquet", n_lines=20_000, n_customers=n_customers, seed=2
    )
    t = pq.read_table(path, columns=["customer_id"])
    assert t.num_rows == 20_000
    assert abs(len(pc.unique(t["customer_id"])) / n_customers - 1) < 0.15


def test_dates_and_money_follow_the_contract(tmp_path: Path) -> None:
    path = simulate_orders_to_parquet(
        tmp_path / "o.parquet", n_lines=3_000, start="2020-06-15", years=2
    )
    t = pq.read_table(path).to_pandas()
    assert t["order_date"].min() >= np.datetime64("2020-06-15")
    assert t["order_date"].max() < np.datetime64("2022-06-15")
    assert set(t["kind"]) == {"one-off", "subscription", "package"}
    assert (t["revenue"] > 0).all()


def test_bad_sizes_say_what_is_valid(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must both be at least 1"):
        simulate_orders_to_parquet(tmp_path / "o.parquet", n_lines=0)
    with pytest.raises(ConfigError, match="must be between 1 and n_lines"):
        simulate_orders_to_parquet(tmp_path / "o.parquet", n_lines=10, n_customers=11)


@pytest.mark.slow
def test_a_million_lines_in_small_chunks(tmp_path: Path) -> None:
    path = simulate_orders_to_parquet(
        tmp_path / "o.parquet", n_lines=1_000_000, chunk_lines=250_000
    )
    f = pq.ParquetFile(path)
    assert f.metadata.num_rows == 1_000_000
    assert max(f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)) <= (
        250_000
    )
