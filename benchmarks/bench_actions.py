"""Benchmark: ``regulars actions`` on a large scored book (DuckDB).

Builds (once, cached in ``benchmarks/_data/scale``) the workspace of
``bench_scale.py`` for ``--lines`` simulated order lines: import, fit and score. Then
copies it, so every measurement starts from the same state, and runs ``regulars
actions --format csv`` twice in a row in its own process: the first run (no stored
list yet) and the second (the list is kept: the sticky path). Prints each run's wall
time, CPU time (user + sys) and peak RSS (``wait4``'s ``ru_maxrss``), the rows printed,
and the load average before and after, since the machine may be shared (the CPU time
is then the fairer measure).

    python benchmarks/bench_actions.py --lines 3000000
    python benchmarks/bench_actions.py --lines 30000000 --json out.json
    python benchmarks/bench_actions.py --workspace path/to/scored/workspace
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_scale


def scored_workspace(lines: int, seed: int) -> Path:
    """The workspace of ``bench_scale`` for ``lines`` lines, imported, fitted and scored."""
    data = bench_scale.generate(lines, seed)
    ws = bench_scale.DATA / f"ws_actions_{lines}_{seed}"
    if (ws / ".scored").exists():
        return ws
    shutil.rmtree(ws, ignore_errors=True)
    made = bench_scale.workspace("duckdb", data, lines)
    made.rename(ws)
    env = {**os.environ, "REGULARS_WORKSPACE": str(ws)}
    for name, cmd in (
        ("import", [bench_scale.REGULARS, "import", "orders", str(data)]),
        ("fit", [bench_scale.REGULARS, "fit"]),
        ("score", [bench_scale.REGULARS, "score"]),
    ):
        r = bench_scale.run(cmd, ws, env, None)
        print(f"{name:8} {r['seconds']:>8.1f} s {r['rss_mib']:>7,} MiB  rc={r['rc']}")
        if r["rc"] != 0:
            raise SystemExit(f"{name} failed: {' | '.join(r['error'])}")  # type: ignore[arg-type]
    (ws / ".scored").touch()
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workspace", type=Path, help="a scored workspace to copy instead")
    parser.add_argument("--runs", type=int, default=2, help="runs in a row on the same copy")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument(
        "--csv-dir", type=Path, help="keep each run's CSV here (actions_1.csv...), to compare"
    )
    args = parser.parse_args()
    source = args.workspace or scored_workspace(args.lines, args.seed)
    bench_scale.compile_bytecode()  # untimed: the timed runs use bytecode, as installed
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_actions_") as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(source, ws)
        env = {**os.environ, "REGULARS_WORKSPACE": str(ws), "COLUMNS": "200"}
        for i in range(args.runs):
            load = os.getloadavg()
            out = Path(tmp) / f"actions_{i}.csv"
            r = bench_scale.run([bench_scale.REGULARS, "actions", "--format", "csv"], ws, env, out)
            r["rows"] = max(len(out.read_text().splitlines()) - 1, 0)
            r["load_before"] = [round(x, 2) for x in load]
            r["load_after"] = [round(x, 2) for x in os.getloadavg()]
            results.append(r)
            if args.csv_dir:
                args.csv_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(out, args.csv_dir / f"actions_{i + 1}.csv")
            mark = "ok" if r["rc"] == 0 else f"FAILED: {' | '.join(r['error'])}"  # type: ignore[arg-type]
            print(
                f"actions run {i + 1}: {r['seconds']:>8.1f} s wall {r['cpu_seconds']:>7.1f} s CPU "
                f"{r['rss_mib']:>7,} MiB {r['rows']:>4} rows  load {r['load_before'][0]:.1f} -> "
                f"{r['load_after'][0]:.1f}  {mark}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps({"source": str(source), "runs": results}, indent=2))


if __name__ == "__main__":
    main()
