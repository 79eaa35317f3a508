"""Benchmark: every command of a new user, at scale, on DuckDB, Parquet or Spark.

Generates ``--lines`` simulated orders (``simulate_orders_to_parquet``, fixed seed) into
``benchmarks/_data/``, then runs the commands a user would run, each in its own process,
and prints each step's wall time, CPU time and peak resident memory (``wait4``'s
``ru_maxrss`` of that process, or the sampled peak of it and its descendants, such as
Spark's JVM, when that is larger; see :func:`run`):

1. ``regulars import orders FILE`` (DuckDB engine only: Parquet and Spark read the file
   in place), then the same import again (``import again``: it must change nothing, and
   the script checks the row counts of the tables);
2. ``regulars metrics NAME`` for every metric the orders can answer;
3. ``regulars fit`` (default model choice and holdout check);
4. ``regulars score``;
5. ``regulars actions``;
6. ``regulars report``.

With several engines (``--engines duckdb,parquet``) the same book runs on each, and the
outputs (metrics as CSV, this week's actions as CSV) are compared with the first engine's:
the script says for each step whether they are identical.  The fit (``regulars fit
--json``) is compared too: the same model and number of customers, and every parameter
and log-likelihood (purchase and spend model) within 1e-6 of the first engine's
(relative, or absolute below 1).

    python benchmarks/bench_scale.py --lines 1000000
    python benchmarks/bench_scale.py --lines 10000000 --engines duckdb,parquet,spark
    python benchmarks/bench_scale.py --lines 100000000 --skip report --json out.json
    python benchmarks/bench_scale.py --lines 30000000 --only import
    python benchmarks/bench_scale.py --lines 30000000 --skip import --reuse
    python benchmarks/bench_scale.py --lines 10000000 --engines spark --reference duckdb
    python benchmarks/bench_scale.py --lines 5000000 --shop
    python benchmarks/bench_scale.py --lines 2000000 --engines parquet,spark --only metrics \
        --metrics new-vs-returning,lifecycle

``--shop`` runs the same steps on a messy online-shop export instead
(``simulate_shop_export``: invoices of many lines minutes apart, credit notes, guest
checkouts, postage and manual lines, one-week bursts, customers from before the data
start, partial first and last months), written as the CSV a shop exports (about
``--lines`` lines; DuckDB only, into a ``--kind shop`` workspace, imported with no
flags as docs/data.md describes).

Every step runs with compiled bytecode (``benchmarks/_bytecode.py``: compiled once,
untimed), as an installed package has it, so no step's CPU time is compiling modules.

A step that fails is reported with the end of its error output, and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bytecode import bytecode_env, compile_bytecode

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data" / "scale"
METRICS = (
    "new-vs-returning",
    "growth-accounting",
    "growth-sources",
    "cohort-retention",
    "lifecycle",
    "guarantee",
    "packages",
)
# The console script of the interpreter running this benchmark.
REGULARS = str(Path(sys.executable).with_name("regulars"))
STEPS = ("import", "metrics", "fit", "score", "actions", "report")
#: Steps whose standard output is kept (and compared across engines), and the file.
STDOUT = {"fit": "fit.json", "actions": "actions.csv"}
#: Fitted parameters agree across engines within this (relative, or absolute below 1).
PARAM_TOLERANCE = 1e-6


def generate(lines: int, seed: int) -> Path:
    """The orders file for ``lines`` orders (cached in ``_data/scale``)."""
    path = DATA / f"orders_{lines}_{seed}" / "orders.parquet"
    if path.exists():
        return path
    _in_child("generate", lines, seed)
    return path


def _in_child(function: str, lines: int, seed: int) -> None:
    """Run ``function(lines, seed)`` of this module in a child process.

    Generating data in the benchmark's own process would distort every step's peak
    RSS: a child's ``ru_maxrss`` starts from its parent's resident size at ``fork``.
    """
    if os.environ.get("_BENCH_SCALE_CHILD"):
        globals()[f"_{function}"](lines, seed)
        return
    code = f"import bench_scale; bench_scale._{function}({lines}, {seed})"
    env = {**os.environ, "_BENCH_SCALE_CHILD": "1"}
    subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env, check=True)


def _generate(lines: int, seed: int) -> None:
    from regulars.datasets import simulate_orders_to_parquet

    path = DATA / f"orders_{lines}_{seed}" / "orders.parquet"
    t0 = time.perf_counter()
    tmp = path.with_name("orders.tmp.parquet")
    # Chunks of 1 M orders keep the generator itself under 1 GiB at any size.
    simulate_orders_to_parquet(tmp, n_lines=lines, seed=seed, chunk_lines=1_000_000)
    tmp.rename(path)
    print(f"generated {lines:,} orders in {time.perf_counter() - t0:.0f} s: {path}")


#: Lines of a simulated shop export per customer (``simulate_shop_export``'s defaults:
#: about 4.3 invoices of 17 lines each, plus guests' invoices), measured at 13,700
#: customers: 1,309,163 lines.
SHOP_LINES_PER_CUSTOMER = 95.6


def generate_shop(lines: int, seed: int) -> tuple[Path, int]:
    """A shop export CSV of about ``lines`` lines (cached), and its exact line count."""
    path = DATA / f"shop_{lines}_{seed}" / "shop.csv"
    count = path.with_name("lines.txt")
    if not (path.exists() and count.exists()):
        _in_child("generate_shop", lines, seed)
    return path, int(count.read_text())


def _generate_shop(lines: int, seed: int) -> None:
    from regulars.datasets import simulate_shop_export

    path = DATA / f"shop_{lines}_{seed}" / "shop.csv"
    t0 = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    shop = simulate_shop_export(max(1, round(lines / SHOP_LINES_PER_CUSTOMER)), seed=seed)
    tmp = path.with_name("shop.tmp.csv")
    shop.lines.to_csv(tmp, index=False)
    tmp.rename(path)
    path.with_name("lines.txt").write_text(str(len(shop.lines)))
    print(
        f"generated a shop export of {len(shop.lines):,} lines in "
        f"{time.perf_counter() - t0:.0f} s: {path}"
    )


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class TreeSampler(threading.Thread):
    """Samples a process's descendants every half second (Linux ``/proc``).

    A Spark step's JVM is a child that the command never waits for (it exits when
    its parent's pipe closes), so ``wait4`` sees neither its CPU nor its memory.
    This records, per descendant, its last CPU time and its peak RSS (``VmHWM``),
    and the peak of the whole tree's RSS (root included) at any one sample.
    """

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.cpu: dict[int, float] = {}
        self.hwm: dict[int, int] = {}
        self.tree_peak_kib = 0
        self.done = threading.Event()

    def _pids(self) -> list[int]:
        out, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    kids = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                    todo += [int(k) for k in kids]
            except OSError:
                pass
        return out

    def sample(self) -> None:
        total = 0
        for pid in self._pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            rss = int(fields.get("VmRSS", "0 kB").split()[0])
            total += rss
            if pid != self.root:
                self.cpu[pid] = (int(stat[11]) + int(stat[12])) / _TICK
                hwm = int(fields.get("VmHWM", "0 kB").split()[0])
                self.hwm[pid] = max(self.hwm.get(pid, 0), hwm)
        self.tree_peak_kib = max(self.tree_peak_kib, total)

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()


def run(cmd: list[str], cwd: Path, env: dict[str, str], stdout: Path | None) -> dict[str, object]:
    """Run one command; its wall time, CPU, peak RSS (MiB), exit code and error tail.

    ``cpu_seconds`` and ``rss_mib`` count the command and its descendants: ``wait4``
    for the command (and the children it waits for), and the sampled CPU of the
    descendants it does not wait for (Spark's JVM, ``child_cpu_seconds``).
    ``rss_mib`` is the larger of the command's own peak and the peak of the whole
    tree at one sample (``tree_rss_mib``); ``child_rss_mib`` is the largest peak of
    one descendant (the JVM).
    """
    t0 = time.perf_counter()
    with open(stdout or os.devnull, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=bytecode_env(env), stdout=out, stderr=subprocess.PIPE, text=True
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        assert proc.stderr is not None
        err = proc.stderr.read()  # also waits for a JVM that shares the pipe
        sampler.done.set()
        sampler.join()
        _pid, status, usage = os.wait4(proc.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    child_cpu = sum(sampler.cpu.values())
    own_rss = usage.ru_maxrss / 1024
    return {
        "seconds": round(time.perf_counter() - t0, 2),
        "rss_mib": round(max(own_rss, sampler.tree_peak_kib / 1024)),
        "tree_rss_mib": round(sampler.tree_peak_kib / 1024),
        "child_rss_mib": round(max(sampler.hwm.values(), default=0) / 1024),
        # CPU time of the process and its children: the better guide on a shared machine.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime + child_cpu, 1),
        "child_cpu_seconds": round(child_cpu, 1),
        "rc": rc,
        "error": err.strip().splitlines()[-3:] if rc else [],
        # The machine may be shared: the 1-minute load average when the step ended.
        "load": round(os.getloadavg()[0], 1),
    }


def workspace(engine: str, data: Path, lines: int, label: str = "") -> Path:
    """A fresh workspace for ``engine`` whose orders are ``data``."""
    ws = DATA / f"ws_{engine}{label}_{lines}"
    shutil.rmtree(ws, ignore_errors=True)
    subprocess.run(
        [REGULARS, "init", str(ws), "--currency", "EUR", *(["--kind", "shop"] if label else [])],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if engine != "duckdb":
        toml = ws / "regulars.toml"
        settings = f'backend = "{engine}"\nparquet_dir = "{data.parent}"\n'
        if engine == "spark":
            settings += 'spark_master = "local[2]"\n'
        text = toml.read_text()
        start = text.index("[engine]\n") + len("[engine]\n")
        end = text.index("\n[", start) + 1
        toml.write_text(text[:start] + settings + text[end:])
    return ws


def steps(
    engine: str, data: Path, out: Path, skip: set[str], metrics: tuple[str, ...] = METRICS
) -> list[tuple[str, list[str]]]:
    base = [REGULARS]
    todo: list[tuple[str, list[str]]] = []
    if engine == "duckdb" and "import" not in skip:
        todo.append(("import", [*base, "import", "orders", str(data)]))
        todo.append(("import again", [*base, "import", "orders", str(data)]))
    if "metrics" not in skip:
        for name in metrics:
            todo.append(
                (
                    f"metrics {name}",
                    [*base, "metrics", name, "--format", "csv", "--out", str(out / f"{name}.csv")],
                )
            )
    if "fit" not in skip:
        todo.append(("fit", [*base, "fit", "--json"]))
    if "score" not in skip:
        todo.append(("score", [*base, "score"]))
    if "actions" not in skip:
        todo.append(("actions", [*base, "actions", "--format", "csv"]))
    if "report" not in skip:
        todo.append(("report", [*base, "report", "--out", str(out / "report.html")]))
    return todo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default="duckdb", help="comma-separated: duckdb,parquet,spark")
    parser.add_argument("--skip", default="", help=f"comma-separated steps of {', '.join(STEPS)}")
    parser.add_argument("--only", default="", help="comma-separated: run only these steps")
    parser.add_argument("--json", type=Path, help="write all results to this JSON file")
    parser.add_argument(
        "--metrics",
        default=",".join(METRICS),
        help="comma-separated: the metrics the metrics step runs (default: all)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep each engine's workspace of an earlier run (with --only/--skip import)",
    )
    parser.add_argument(
        "--reference",
        help="compare with the outputs this engine's earlier run left in its workspace "
        "(for example duckdb), instead of the first engine's",
    )
    parser.add_argument(
        "--shop",
        action="store_true",
        help="a messy shop export (CSV of invoice lines) instead of clean orders; DuckDB only",
    )
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.shop and engines != ["duckdb"]:
        parser.error("--shop runs on DuckDB only (the other engines read orders in place)")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    if unknown := sorted(set(metrics) - set(METRICS)):
        parser.error(f"--metrics: unknown {', '.join(unknown)}; known: {', '.join(METRICS)}")
    if args.only:
        only = {s.strip() for s in args.only.split(",") if s.strip()}
        skip |= set(STEPS) - only

    compile_bytecode()  # untimed: every timed command runs with bytecode, as installed
    label = "_shop" if args.shop else ""
    if args.shop:
        data, lines = generate_shop(args.lines, args.seed)
    else:
        data, lines = generate(args.lines, args.seed), args.lines
    results: dict[str, dict[str, dict[str, object]]] = {}
    for engine in engines:
        ws = DATA / f"ws_{engine}{label}_{args.lines}"
        if not (args.reuse and (ws / "regulars.toml").exists()):
            ws = workspace(engine, data, args.lines, label)
        out = ws / "_out"
        out.mkdir(exist_ok=True)
        env = {**os.environ, "REGULARS_WORKSPACE": str(ws), "COLUMNS": "200"}
        results[engine] = {}
        print(f"\n== {engine}: {lines:,} {'shop export lines' if args.shop else 'orders'}")
        for name, cmd in steps(engine, data, out, skip, metrics):
            r = run(cmd, ws, env, out / STDOUT[name] if name in STDOUT else None)
            results[engine][name] = r
            mark = "ok" if r["rc"] == 0 else f"FAILED: {' | '.join(r['error'])}"  # type: ignore[arg-type]
            if name.startswith("import") and r["rc"] == 0:
                counts = table_counts(ws)
                r["counts"] = counts
                r["lines_per_second"] = round(lines / float(r["seconds"]))  # type: ignore[arg-type]
                if name == "import again":
                    same = counts == results[engine]["import"].get("counts")
                    mark += ", nothing changed" if same else f", COUNTS CHANGED: {counts}"
                else:
                    mark += f", {r['lines_per_second']:,} lines/s, {counts}"
            print(
                f"{name:32} {r['seconds']:>9.1f} s {r['rss_mib']:>7,} MiB  "
                f"CPU {r['cpu_seconds']:>7.1f} s  load {r['load']:>5}  "
                f"{mark}",
                flush=True,
            )
        reference = args.reference or engines[0]
        if engine != reference:
            compare(DATA / f"ws_{reference}_{args.lines}" / "_out", out, results[engine])
    if args.json:
        summary = {"lines": lines, "shop": args.shop, "results": results}
        args.json.write_text(json.dumps(summary, indent=2))


def table_counts(ws: Path) -> dict[str, int]:
    """Rows of the tables an import of orders writes."""
    import duckdb

    con = duckdb.connect(str(ws / "regulars.duckdb"), read_only=True)
    try:
        return {
            t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in ("orders", "order_lines", "customers")
        }
    finally:
        con.close()


def compare(first: Path, other: Path, results: dict[str, dict[str, object]]) -> None:
    """Say whether each CSV output is identical to the first engine's."""
    for path in sorted(first.glob("*.csv")):
        theirs = other / path.name
        same = theirs.exists() and theirs.read_bytes() == path.read_bytes()
        key = "actions" if path.stem == "actions" else f"metrics {path.stem}"
        if key in results:
            results[key]["same_as_first_engine"] = same
        verdict = "identical" if same else "DIFFERENT" if theirs.exists() else "not run here"
        print(f"  {path.name:30} {verdict}")
    theirs = other / "fit.json"
    if (first / "fit.json").exists() and "fit" in results:
        problems = (
            fit_differences(first / "fit.json", theirs) if theirs.exists() else ["no fit.json"]
        )
        results["fit"]["same_as_first_engine"] = not problems
        results["fit"]["differences"] = problems
        verdict = "; ".join(problems) or "same model, parameters within 1e-6"
        print(f"  {'fit.json':30} {'DIFFERENT: ' if problems else ''}{verdict}")


def _fitted(path: Path) -> dict[str, object]:
    """What must agree across engines in a ``regulars fit --json`` output."""
    fit = json.loads(path.read_text())
    spend = fit.get("spend") or {}
    out: dict[str, object] = {
        "model": fit["model"],
        "n_customers": fit["n_customers"],
        "log_likelihood": fit["log_likelihood"],
        "spend model": spend.get("model"),
        "spend log_likelihood": spend.get("log_likelihood"),
    }
    out.update({f"param {k}": v for k, v in fit["params"].items()})
    out.update({f"spend param {k}": v for k, v in (spend.get("params") or {}).items()})
    return out


def fit_differences(first: Path, other: Path) -> list[str]:
    """How ``other``'s fit differs from ``first``'s (empty: the same to 1e-6)."""
    mine, theirs = _fitted(first), _fitted(other)
    problems = []
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if isinstance(a, float) and isinstance(b, float):
            if abs(a - b) > PARAM_TOLERANCE * max(1.0, abs(a)):
                problems.append(f"{key} {a!r} vs {b!r}")
        elif a != b:
            problems.append(f"{key} {a!r} vs {b!r}")
    return problems


if __name__ == "__main__":
    main()
