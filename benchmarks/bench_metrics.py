"""Benchmark every growth metric on 10 M order lines on DuckDB.

What it does:

1. Writes ``--lines`` simulated orders (default 10,000,000) with a fixed seed to
   ``benchmarks/_data/metrics-<lines>/orders.parquet`` with the simulator's streaming
   writer (``simulate_orders_to_parquet``), then derives ``customers.parquet`` (every
   customer, with a channel and, for about a quarter of them, a referrer) and
   ``spend.parquet`` (monthly spend per channel).  Existing files are reused.
2. Opens a workspace whose ``[engine]`` reads that folder in place
   (``backend = "parquet"``: DuckDB over the Parquet files, nothing is copied).
3. Runs every metric in ``regulars.metrics`` that the CLI offers, monthly, fully
   (``to_pyarrow``), timing each one, then prints the time per metric and the total.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_metrics.py                    # 10 M lines
    .venv/bin/python benchmarks/bench_metrics.py --lines 1000000 --period quarter

Each metric is timed once with ``--threads`` DuckDB threads (default 2): wall clock
and the CPU seconds of the process (less sensitive to other work on a shared machine).
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20240607
CHANNELS = {
    "google-ads": "cold",
    "cold-email": "cold",
    "newsletter": "organic",
    "partner": "partner",
    "referral": "referral",
}


def prepare(folder: Path, lines: int) -> None:
    """Write orders, customers and spend Parquet files into ``folder`` (once)."""
    import duckdb

    from regulars.datasets import simulate_orders_to_parquet

    folder.mkdir(parents=True, exist_ok=True)
    orders = folder / "orders.parquet"
    if not orders.exists():
        t0 = time.perf_counter()
        print(f"Writing {lines:,} simulated orders to {orders} ...", flush=True)
        simulate_orders_to_parquet(orders, n_lines=lines, seed=SEED)
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    con = duckdb.connect()
    src = str(orders).replace("'", "''")
    customers = folder / "customers.parquet"
    if not customers.exists():
        names = list(CHANNELS)[:-1]
        cases = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(names))
        con.execute(
            f"""
            COPY (
              SELECT customer_id,
                     NULL::VARCHAR AS name, NULL::VARCHAR AS email, NULL::VARCHAR AS phone,
                     NULL::DATE AS acquired_at,
                     CASE hash(customer_id) % {len(names)} {cases} END AS channel,
                     CASE WHEN hash(customer_id || 'r') % 4 = 0
                          THEN min(customer_id) OVER () END AS referred_by,
                     NULL::VARCHAR AS segment, NULL::VARCHAR AS attributes
              FROM (SELECT DISTINCT customer_id FROM read_parquet('{src}'))
            ) TO '{customers}' (FORMAT parquet)
            """
        )
    spend = folder / "spend.parquet"
    if not spend.exists():
        con.execute(
            f"""
            COPY (
              WITH months AS (
                SELECT DISTINCT date_trunc('month', order_date)::DATE AS m
                FROM read_parquet('{src}')
              )
              SELECT c.channel, m AS period_start,
                     (m + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS period_end,
                     (1000 + hash(c.channel || m::VARCHAR) % 50000)::DECIMAL(18, 2) AS amount
              FROM months, (VALUES ('google-ads'), ('cold-email'), ('newsletter'),
                                   ('partner'), ('retention')) c(channel)
            ) TO '{spend}' (FORMAT parquet)
            """
        )
    con.close()


def workspace(folder: Path, threads: int):  # type: ignore[no-untyped-def]
    from regulars.store import Workspace

    root = Path(tempfile.mkdtemp(prefix="regulars-bench-metrics-"))
    ws = Workspace.init(root)
    cfg = root / "regulars.toml"
    text = cfg.read_text().replace(
        'backend = "duckdb"', f'backend = "parquet"\nparquet_dir = "{folder}"', 1
    )
    channels = "\n".join(f'"{k}" = "{v}"' for k, v in CHANNELS.items())
    # Replace the [channels] table with the benchmark's channel names.
    text = re.sub(r"\[channels\]\n(?:[^\[\n].*\n|\n)*", f"[channels]\n{channels}\n\n", text)
    cfg.write_text(text)
    ws.close()
    ws = Workspace.open(root)
    from regulars.engine import backend_for

    backend_for(ws).raw_sql(f"SET threads = {threads}")
    return ws


def _cpu() -> float:
    """CPU seconds of this process (user + system): less noisy than wall clock on a
    shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--period", default="month", choices=["month", "quarter", "year"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--data", type=Path, help="Folder with the Parquet files (default: benchmarks/_data)."
    )
    args = parser.parse_args()

    import regulars.metrics
    from regulars.cli._metrics import METRICS

    folder = args.data or HERE / "_data" / f"metrics-{args.lines}"
    prepare(folder, args.lines)
    ws = workspace(folder, args.threads)
    from regulars.engine import tables

    n_orders = tables(ws)["orders"].count().to_pyarrow().as_py()
    print(
        f"regulars metrics benchmark: {n_orders:,} orders, period={args.period}, "
        f"DuckDB over Parquet, {args.threads} threads, Python {platform.python_version()}"
    )
    print(f"{'metric':<26}{'seconds':>10}{'cpu s':>10}{'rows out':>12}")
    total = total_cpu = 0.0
    for cli_name, func_name in METRICS.items():
        func = getattr(regulars.metrics, func_name, None)
        if func is None or inspect.ismodule(func):
            print(f"{cli_name:<26}{'(not available)':>22}")
            continue
        t0, c0 = time.perf_counter(), _cpu()
        result = func(ws, period=args.period).to_pyarrow()
        dt, dc = time.perf_counter() - t0, _cpu() - c0
        total += dt
        total_cpu += dc
        print(f"{cli_name:<26}{dt:>10.2f}{dc:>10.2f}{result.num_rows:>12,}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'total':<26}{total:>10.2f}{total_cpu:>10.2f}")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"peak memory of this process: {peak:,.0f} MB")
    ws.close()


if __name__ == "__main__":
    sys.exit(main())
