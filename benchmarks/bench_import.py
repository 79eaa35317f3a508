"""Benchmark: import a large line-item CSV into a fresh workspace.

Generates ``--lines`` order lines (default 10 million; three lines per order,
deterministic, so every run imports the same file) into ``benchmarks/_data/``,
imports them with ``regulars.io.import_file`` in a child process, and prints the
wall time, the CPU time and the child's peak resident memory.  The point: memory
stays bounded (DuckDB's limit during an import is ``[import] memory``, by default an
eighth of the machine's memory, and it spills beyond) while the file is several times
larger.  ``benchmarks/bench_scale.py --only import`` does the same for Parquet.

    python benchmarks/bench_import.py                 # 10 M lines
    python benchmarks/bench_import.py --lines 1000000
    python benchmarks/bench_import.py --memory 1GiB
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).parent
DATA = HERE / "_data" / "import"

CHILD = """
import json, resource, sys, time
from regulars.io import import_file
from regulars.store import Workspace

ws = Workspace.init(sys.argv[1])
t0 = time.perf_counter()
r = import_file(ws, "orders", sys.argv[2], memory=sys.argv[3] if len(sys.argv) > 3 else None)
seconds = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "seconds": seconds,
    "cpu_seconds": usage.ru_utime + usage.ru_stime,
    "records": r.records,
    "lines": r.lines,
    "customers": r.customers_created,
}))
ws.close()
"""


def generate(path: Path, lines: int) -> Path:
    """Order lines: 3 per order, 1 M customers at most, 4 years of dates, 500 products."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    duckdb.sql(
        f"""COPY (SELECT 'O-' || (i // 3) AS order_id,
                   'C-' || ((i // 3) * 7919 % 1000003) AS customer_id,
                   strftime(DATE '2020-01-01' + CAST((i // 3) % 1461 AS INTEGER), '%Y-%m-%d')
                       AS order_date,
                   'P-' || (hash(i) % 500) AS product,
                   'cat-' || (hash(i) % 20) AS category,
                   1 + (hash(i * 7) % 4) AS quantity,
                   round(5 + (hash(i * 13) % 50000) / 100.0, 2) AS unit_price
            FROM range({lines}) t(i)) TO '{tmp}' (HEADER)"""
    )
    tmp.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument(
        "--memory",
        metavar="SIZE",
        help="DuckDB's memory limit during the import, e.g. 1GiB (default: regulars' own)",
    )
    args = parser.parse_args()

    src = generate(DATA / f"order_lines_{args.lines}.csv", args.lines)
    ws = DATA / f"ws_{args.lines}"
    shutil.rmtree(ws, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ws), str(src)] + ([args.memory] if args.memory else []),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    size = src.stat().st_size / 1024**2
    db = (ws / "regulars.duckdb").stat().st_size / 1024**2
    print(f"file:            {src.name}, {size:,.0f} MiB, {args.lines:,} lines")
    print(
        f"imported:        {child['records']:,} orders, {child['lines']:,} lines, "
        f"{child['customers']:,} customers"
    )
    print(f"import time:     {child['seconds']:.1f} s (process {wall:.1f} s)")
    print(f"CPU time:        {child['cpu_seconds']:.1f} s")
    print(f"peak RSS:        {peak:,.0f} MiB (file {size:,.0f} MiB)")
    print(f"database file:   {db:,.0f} MiB")
    shutil.rmtree(ws, ignore_errors=True)


if __name__ == "__main__":
    main()
