"""Benchmark: the engines themselves, DuckDB against a local Spark session, same SQL.

What limits a metric on Spark in local mode?  This benchmark runs the building blocks
of the metrics as plain SQL, without regulars, on one Parquet file of simulated orders
(``bench_scale.py``'s, generated and cached the same way), once on DuckDB and once on
a local Spark session with regulars' own settings
(:func:`regulars.engine.local_spark_session`: ``local[2]``, 64 shuffle partitions, a
4 GiB driver heap), each query twice (cold and warm), and prints each time and the
Spark / DuckDB ratio:

1. orders and revenue per month (``count``, ``sum``);
2. distinct customers per month (``count(DISTINCT customer_id)``);
3. one row per customer: orders, first and last date (the RFM summary's shape);
4. revenue per customer and month (the customer-period table's shape);
5. each order's previous order of the same customer (``lag`` over a window with a
   tie-breaker), counted.

A metric does at least one of these over all the orders, so the ratio of the warm
runs is about the least a metric can reach on Spark against DuckDB on this machine
(issue 13 asks for 5x at 30 M order lines).

    python benchmarks/bench_engines.py --lines 30000000
    python benchmarks/bench_engines.py --lines 1000000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scale

QUERIES = {
    "orders and revenue per month": (
        "SELECT date_trunc('month', order_date) AS m, count(*) AS n, sum(revenue) AS r "
        "FROM {t} GROUP BY 1"
    ),
    "distinct customers per month": (
        "SELECT date_trunc('month', order_date) AS m, count(DISTINCT customer_id) AS c "
        "FROM {t} GROUP BY 1"
    ),
    "one row per customer": (
        "SELECT count(*) AS n FROM (SELECT customer_id, count(*) AS n, min(order_date) AS f, "
        "max(order_date) AS l FROM {t} GROUP BY customer_id)"
    ),
    "revenue per customer and month": (
        "SELECT count(*) AS n FROM (SELECT customer_id, date_trunc('month', order_date) AS m, "
        "sum(revenue) AS r FROM {t} GROUP BY 1, 2)"
    ),
    "previous order of the same customer": (
        "SELECT count(*) AS n FROM (SELECT order_date, lag(order_date) OVER (PARTITION BY "
        "customer_id ORDER BY order_date, order_id) AS p FROM {t}) WHERE p IS NOT NULL"
    ),
}


def timed(run: object, sql: str) -> tuple[float, list[tuple[object, ...]]]:
    t0 = time.perf_counter()
    rows = run(sql)  # type: ignore[operator]
    return time.perf_counter() - t0, sorted(rows, key=repr)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, default=30_000_000, help="simulated order lines")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads (Spark: local[2])")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()

    import duckdb

    from regulars.engine import local_spark_session

    path = bench_scale.generate(args.lines, args.seed)
    print(f"{args.lines:,} order lines: {path}  (load average {os.getloadavg()[0]:.1f})")
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    source = f"read_parquet('{path}')"

    def on_duckdb(sql: str) -> list[tuple[object, ...]]:
        return con.execute(sql.format(t=source)).fetchall()

    t0 = time.perf_counter()
    spark = local_spark_session()
    spark.read.parquet(str(path)).createOrReplaceTempView("orders")
    start = time.perf_counter() - t0

    def on_spark(sql: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in spark.sql(sql.format(t="orders")).collect()]

    results: dict[str, dict[str, float]] = {}
    print(f"Spark session started and the file registered in {start:.1f} s\n")
    head = ("query", "DuckDB", "again", "Spark", "again", "warm ratio")
    print(f"{head[0]:40s} {head[1]:>8s} {head[2]:>8s} {head[3]:>8s} {head[4]:>8s} {head[5]:>10s}")
    for name, sql in QUERIES.items():
        d1, d_rows = timed(on_duckdb, sql)
        d2, _ = timed(on_duckdb, sql)
        s1, s_rows = timed(on_spark, sql)
        s2, _ = timed(on_spark, sql)
        if len(d_rows) != len(s_rows) or (len(d_rows) == 1 and d_rows != s_rows):
            raise SystemExit(f"{name}: the engines disagree ({d_rows[:3]} against {s_rows[:3]})")
        results[name] = {"duckdb": d1, "duckdb_again": d2, "spark": s1, "spark_again": s2}
        print(f"{name:40s} {d1:7.1f}s {d2:7.1f}s {s1:7.1f}s {s2:7.1f}s {s2 / d2:9.1f}x")
    spark.stop()
    if args.json:
        args.json.write_text(
            json.dumps({"lines": args.lines, "spark_start": start, "queries": results}, indent=2)
        )


if __name__ == "__main__":
    main()
