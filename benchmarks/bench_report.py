"""Benchmark: build the whole HTML report from 10 M simulated order lines.

The orders are written once to ``benchmarks/_data/report-<lines>/orders.parquet``
(``simulate_orders_to_parquet``, fixed seed) and read through a workspace whose
``[engine] backend = "parquet"``, so the analytics run in DuckDB straight over the
file.  Prints the time of each stage and the peak memory (max RSS) of the process.

Usage::

    .venv/bin/python benchmarks/bench_report.py              # 10 M lines
    .venv/bin/python benchmarks/bench_report.py --lines 1e6 --period quarter
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def _workspace(lines: int, seed: int) -> Path:
    from regulars.datasets._stream import simulate_orders_to_parquet
    from regulars.store import Workspace

    root = HERE / "_data" / f"report-{lines}"
    data = root / "data"
    orders = data / "orders.parquet"
    if not orders.exists():
        t0 = time.perf_counter()
        simulate_orders_to_parquet(orders, n_lines=lines, seed=seed)
        print(f"simulated {lines:,} order lines in {time.perf_counter() - t0:.1f} s -> {orders}")
    ws = Workspace.init(root / "ws", name=f"Benchmark ({lines:,} orders)")
    ws.close()
    cfg = root / "ws" / "regulars.toml"
    text = cfg.read_text(encoding="utf-8")
    if 'backend = "parquet"' not in text:
        text = text.replace('backend = "duckdb"', f'backend = "parquet"\nparquet_dir = "{data}"')
        cfg.write_text(text, encoding="utf-8")
    return root / "ws"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=float, default=10_000_000, help="order lines (10 M)")
    parser.add_argument("--period", default="year", choices=["month", "quarter", "year"])
    parser.add_argument("--lang", default="en")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = int(args.lines)

    from regulars.report import write_report
    from regulars.report._render import vega_javascript

    ws = _workspace(lines, args.seed)
    vega_javascript()  # built once and cached on disk; not part of the report's cost
    before = _peak_mb()
    t0 = time.perf_counter()
    out = write_report(ws, ws.parent / "report.html", period=args.period, lang=args.lang)
    seconds = time.perf_counter() - t0
    size = out.stat().st_size
    print(
        f"report: {lines:,} order lines, period={args.period}: {seconds:.1f} s, "
        f"{size / 1e6:.2f} MB HTML, peak RSS {_peak_mb():.0f} MB "
        f"(before the report: {before:.0f} MB) -> {out}"
    )


if __name__ == "__main__":
    main()
