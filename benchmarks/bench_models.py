"""Benchmark the customer-model pipeline of regulars against lifetimes 0.11.3.

What it does, in one run:

1. Generates ``--customers`` customers with a fixed seed from a BG/NBD purchase process
   with Gamma-Gamma spend (about 3 transactions per customer) and writes them to
   Parquet (``benchmarks/_data``; reused when it already exists).
2. Runs the regulars pipeline in a subprocess: the RFM summary in DuckDB, the BG/NBD
   and Gamma-Gamma fits, scoring every customer (P(alive), expected purchases in 90
   days) and the 12-month CLV, timing each step.  It also times a bare DuckDB
   ``GROUP BY customer_id`` (count, min, max, sum) over the same file.
3. Runs the same steps with lifetimes 0.11.3 in its own virtual environment
   (``benchmarks/.lifetimes-venv``, created on first use, since lifetimes needs
   pandas < 2 era packages) on the same Parquet file.
4. Prints each step's time and the ratio, and checks that the fitted parameters agree
   to 1e-4 (relative).
5. The command-line path (issue 13): imports the same orders into a workspace (once,
   untimed, kept in ``benchmarks/_data``), then times ``regulars fit -w WS`` and
   ``regulars score -w WS`` with their defaults (``--model auto`` with the holdout
   check, parameter intervals), each a fresh process on a fresh copy of the workspace,
   against the whole lifetimes script as one process (start-up, reading the Parquet
   file, RFM, BG/NBD and Gamma-Gamma fits, P(alive), expected orders in 90 days and
   the 12-month CLV) and the same script with clvkit 0.2.1 (its own environment,
   ``benchmarks/.clvkit-venv``).  clvkit runs on ``--clvkit-sample`` customers (default
   100,000) and its compute time is extrapolated linearly, which the output says.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_models.py                      # 1 M customers
    .venv/bin/python benchmarks/bench_models.py --customers 10000000 --no-lifetimes
    .venv/bin/python benchmarks/bench_models.py --only-cli          # the CLI ratios only

Both sides get the same number of threads (``--threads``, default 2).  Each step is
timed once (wall clock); the machine is shared, so expect some noise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bytecode import bytecode_env, compile_bytecode

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "_data"
VENV = HERE / ".lifetimes-venv"
#: lifetimes 0.11.3 (2020) predates pandas 2 and NumPy 2.  This set installs from
#: wheels on Python 3.11 and runs lifetimes without errors.
LIFETIMES_PINS = [
    "lifetimes==0.11.3",
    "pandas==1.5.3",
    "numpy==1.23.5",
    "scipy==1.11.4",
    "autograd==1.7.0",
    "pyarrow==17.0.0",
]
OBSERVATION_END = "2025-12-31"
SEED = 20240601
#: The generating process, per day: BG/NBD r, alpha, a, b; Gamma-Gamma p, q, v; and
#: the span of first purchases before the end of observation.
TRUE_PARAMS = {"r": 0.5, "alpha": 36.0, "a": 0.8, "b": 2.4, "p": 6.0, "q": 4.0, "v": 15.0}
SPAN_DAYS = 730
CHUNK = 1_000_000
CLVKIT_VENV = HERE / ".clvkit-venv"
CLVKIT_PINS = ["clvkit==0.2.1", "pyarrow"]


# -- data ------------------------------------------------------------------------------


def generate(n_customers: int, path: Path, seed: int = SEED) -> dict[str, Any]:
    """Write ``n_customers`` customers' transactions to ``path`` (Parquet).

    Each customer's first purchase falls uniformly in the ``SPAN_DAYS`` days before
    the end of observation.  Repeat purchases follow the BG/NBD story: a Poisson
    process with rate ``lambda ~ Gamma(r, 1/alpha)`` per day, and after each repeat
    purchase the customer leaves with probability ``p ~ Beta(a, b)``.  So the number of
    repeat purchases is ``min(N, K)`` with ``N ~ Poisson(lambda T)`` (purchases while
    alive and observed) and ``K ~ Geometric(p)``, and the times of the first ``min(N,
    K)`` of the ``N`` uniform purchase times are drawn directly as order statistics.
    Each purchase's amount is ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)`` per customer.
    Vectorised, in chunks of a million customers, each with its own seed.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tp = TRUE_PARAMS
    end_us = int(np.datetime64(f"{OBSERVATION_END}T23:59:59", "us").astype(np.int64))
    seeds = np.random.SeedSequence(seed).spawn((n_customers + CHUNK - 1) // CHUNK)
    tmp = path.with_suffix(".tmp")
    schema = pa.schema(
        [("customer_id", pa.string()), ("order_date", pa.timestamp("us")), ("amount", pa.float64())]
    )
    rows = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for i, ss in enumerate(seeds):
            rng = np.random.default_rng(ss)
            first_id = i * CHUNK
            n = min(CHUNK, n_customers - first_id)
            age = rng.uniform(0.0, SPAN_DAYS, n)  # days from first purchase to the end
            lam = rng.gamma(tp["r"], 1.0 / tp["alpha"], n)
            drop = rng.beta(tp["a"], tp["b"], n)
            n_alive = rng.poisson(lam * age)
            k_life = rng.geometric(drop)
            x = np.minimum(n_alive, k_life)
            total = int(x.sum())
            owner = np.repeat(np.arange(n), x)
            starts = np.cumsum(x) - x
            j = np.arange(total) - np.repeat(starts, x)  # 0-based rank among repeats
            # Order statistics of N uniforms: log(1 - U_(k)) = sum_{i<=k} log(V_i) / (N - i + 1).
            step = np.log(rng.uniform(size=total)) / (np.repeat(n_alive, x) - j)
            csum = np.cumsum(step)
            before = np.concatenate([[0.0], csum])[np.repeat(starts, x)]
            u = -np.expm1(csum - before)
            offset = np.concatenate([np.zeros(n), u * age[owner]])  # days after first
            who = np.concatenate([np.arange(n), owner])
            nu = rng.gamma(tp["q"], 1.0 / tp["v"], n)
            amount = np.round(rng.gamma(tp["p"], 1.0 / nu[who]), 2)
            ts = end_us - ((age[who] - offset) * 86_400e6).astype(np.int64)
            ts -= ts % 1_000_000
            order = rng.permutation(len(who))
            ids = pc.binary_join_element_wise(
                "C",
                pc.utf8_lpad(pa.array(who[order] + first_id).cast(pa.string()), 9, "0"),
                "",
            )
            writer.write_table(
                pa.table(
                    {
                        "customer_id": ids,
                        "order_date": pa.array(ts[order], pa.timestamp("us")),
                        "amount": pa.array(amount[order]),
                    },
                    schema=schema,
                ),
                row_group_size=CHUNK,
            )
            rows += len(who)
    tmp.replace(path)
    return {"customers": n_customers, "transactions": rows}


def data_file(n_customers: int, seed: int) -> Path:
    return DATA_DIR / f"bgnbd_{n_customers}_{seed}.parquet"


# -- the regulars side -----------------------------------------------------------------


def run_regulars(path: Path, threads: int, skip_bare: bool = False) -> dict[str, Any]:
    import duckdb
    import ibis

    from regulars.models import BetaGeoModel, GammaGammaModel, rfm_summary

    try:
        from regulars.models import score_customers  # type: ignore[attr-defined]
    except ImportError:  # not exported yet
        from regulars.models._scoring import score_customers

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    backend = ibis.duckdb.from_connection(con)
    times: dict[str, float] = {}

    def timed(name: str) -> Any:
        class _T:
            def __enter__(self) -> None:
                self.t0 = time.perf_counter()

            def __exit__(self, *exc: object) -> None:
                times[name] = time.perf_counter() - self.t0

        return _T()

    src = f"read_parquet('{path}')"
    if not skip_bare:
        # Warm the file cache with one untimed scan, then time each query once.
        con.execute(f"SELECT count(*), sum(amount) FROM {src}").fetchall()
        with timed("bare_group_by"):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE bare AS SELECT customer_id, count(*) AS n, "
                "min(order_date) AS first, max(order_date) AS last, sum(amount) AS total "
                f"FROM {src} GROUP BY customer_id"
            )
    tx = backend.read_parquet(str(path))
    with timed("rfm"):
        rfm_expr = rfm_summary(
            tx, monetary_value_col="amount", observation_end=OBSERVATION_END, time_unit="W"
        )
        rfm = backend.create_table("rfm", rfm_expr, temp=True)
    n_customers = int(rfm.count().execute())

    with timed("bgnbd_fit"):
        cells = (
            rfm.group_by(["frequency", "recency", "T"]).aggregate(weight=rfm.count()).to_pyarrow()
        )
        bg = BetaGeoModel().fit(cells)
    with timed("gamma_gamma_fit"):
        repeat = rfm.filter((rfm.frequency > 0) & (rfm.monetary_value > 0))
        spend_cells = (
            repeat.group_by(["frequency", "monetary_value"])
            .aggregate(weight=repeat.count())
            .to_pyarrow()
        )
        gg = GammaGammaModel().fit(spend_cells)
    with timed("score"):
        scored = score_customers(rfm, bg, horizons=(90,), time_unit="W")
        backend.create_table("scored", scored, temp=True)
    with timed("clv"):
        clv = score_customers(
            rfm.select("customer_id", "frequency", "recency", "T", "monetary_value"),
            bg,
            gg,
            horizons=(),
            clv_horizon=12,
            discount_rate=(1.01**12 - 1.0),
            time_unit="W",
        )
        backend.create_table("clv", clv, temp=True)
    summary = con.execute("SELECT sum(p_alive), sum(expected_orders_90d) FROM scored").fetchone()
    clv_sum = con.execute("SELECT sum(clv) FROM clv").fetchone()
    return {
        "times": times,
        "customers": n_customers,
        "distinct_purchase_tuples": cells.num_rows,
        "params": {"bgnbd": bg.params_, "gamma_gamma": gg.params_},
        "log_likelihood": {"bgnbd": bg.log_likelihood_},
        "sums": {
            "p_alive": summary[0] if summary else None,
            "expected_orders_90d": summary[1] if summary else None,
            "clv_12m": clv_sum[0] if clv_sum else None,
        },
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# -- the lifetimes side ----------------------------------------------------------------


def _read_orders(path: Path, sample: int | None) -> Any:
    """The orders as a pandas frame, for a peer: its ``sample`` first customers (by id),
    or all of them."""
    import numpy as np
    import pandas as pd

    tx = pd.read_parquet(path)
    if sample is not None:
        keep = np.sort(tx["customer_id"].unique())[:sample]
        tx = tx[tx["customer_id"].isin(keep)]
    return tx


def run_lifetimes(path: Path, sample: int | None) -> dict[str, Any]:
    t_start = time.perf_counter()
    import warnings

    import numpy as np
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    warnings.simplefilter("ignore")  # lifetimes' own FutureWarnings and overflows
    t0 = time.perf_counter()
    tx = _read_orders(path, sample)
    times: dict[str, float] = {"imports": t0 - t_start, "read": time.perf_counter() - t0}
    t0 = time.perf_counter()
    s = summary_data_from_transaction_data(
        tx,
        "customer_id",
        "order_date",
        monetary_value_col="amount",
        observation_period_end=OBSERVATION_END,
        freq="D",
        freq_multiplier=7,
    )
    times["rfm"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    times["bgnbd_fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    times["gamma_gamma_fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    p_alive = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    e90 = bgf.conditional_expected_number_of_purchases_up_to_time(
        90 / 7, s["frequency"], s["recency"], s["T"]
    )
    times["score"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    clv = ggf.customer_lifetime_value(
        bgf,
        s["frequency"],
        s["recency"],
        s["T"],
        s["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    times["clv"] = time.perf_counter() - t0
    return {
        "times": times,
        "customers": len(s),
        "params": {
            "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
            "gamma_gamma": {k: float(v) for k, v in ggf.params_.items()},
        },
        "sums": {
            "p_alive": float(np.sum(p_alive)),
            "expected_orders_90d": float(np.sum(e90)),
            "clv_12m": float(np.nansum(clv)),
        },
        "nan_clv": int(np.isnan(np.asarray(clv, dtype=float)).sum()),
        "expected_orders_90d": float(np.sum(e90)),
    }


# -- the clvkit side -------------------------------------------------------------------


def run_clvkit(path: Path, sample: int | None) -> dict[str, Any]:
    """clvkit 0.2.1: the same summary (weeks, same-day purchases merged), BG/NBD and
    Gamma-Gamma, P(alive), expected orders in 90 days and a 12-month CLV."""
    t_start = time.perf_counter()
    import warnings

    import numpy as np
    import pandas as pd
    from clvkit import BGNBD, CLV, CustomerBase, GammaGamma

    warnings.simplefilter("ignore")  # its independence check and assumption warnings
    t0 = time.perf_counter()
    tx = _read_orders(path, sample)
    times: dict[str, float] = {"imports": t0 - t_start, "read": time.perf_counter() - t0}
    t0 = time.perf_counter()
    cb = CustomerBase.from_transactions(
        tx,
        customer_id_col="customer_id",
        datetime_col="order_date",
        amount_col="amount",
        time_unit="W",
        collapse="D",
        # the end of the last day: clvkit refuses an end before the last timestamp
        observation_period_end=f"{OBSERVATION_END} 23:59:59",
    )
    times["rfm"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bg = BGNBD()
    clv = CLV(transaction_model=bg, monetary_model=GammaGamma()).fit(cb)
    times["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    p_alive = bg.probability_alive(cb)
    e90 = bg.predict(90 / 7, cb)
    times["score"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    value = clv.predict(horizon=52, discount_rate=1.01 ** (12 / 52) - 1.0)
    times["clv"] = time.perf_counter() - t0

    def total(pred: Any) -> float:
        frame = pred.to_pandas() if hasattr(pred, "to_pandas") else pred
        if isinstance(frame, pd.DataFrame):
            frame = frame.select_dtypes("number").iloc[:, -1]
        return float(np.nansum(np.asarray(frame, dtype=float)))

    return {
        "times": times,
        "customers": len(cb.to_pandas()),
        "sums": {
            "p_alive": total(p_alive),
            "expected_orders_90d": total(e90),
            "clv_12m": float(np.nansum(value.to_pandas()["clv"].to_numpy(dtype=float))),
        },
    }


def ensure_venv(venv: Path = VENV, pins: list[str] = LIFETIMES_PINS) -> Path:
    """A virtual environment with ``pins`` (created on first use)."""
    python = venv / "bin" / "python"
    if python.exists():
        return python
    uv = Path(sys.executable).parent / "uv"  # scripts/setup.sh installs it beside Python
    print(f"Creating {venv} with {', '.join(pins)} ...", flush=True)
    if uv.exists():
        subprocess.run([str(uv), "venv", "-q", "-p", sys.executable, str(venv)], check=True)
        env = {**os.environ, "VIRTUAL_ENV": str(venv)}
        subprocess.run([str(uv), "pip", "install", "-q", *pins], check=True, env=env)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return python


def ensure_lifetimes_venv() -> Path:
    return ensure_venv(VENV, LIFETIMES_PINS)


# -- the command-line path -------------------------------------------------------------


def _regulars_cmd() -> list[str]:
    script = Path(sys.executable).with_name("regulars")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from regulars.cli import main; main()"]


def cli_workspace(path: Path, n_customers: int, seed: int) -> Path:
    """A workspace with the benchmark's orders imported (built once, untimed)."""
    ws = DATA_DIR / f"ws_{n_customers}_{seed}"
    if (ws / "regulars.duckdb").exists():
        return ws
    tmp = ws.with_name(ws.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = _regulars_cmd()
    subprocess.run([*cmd, "init", str(tmp)], check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run(
        [*cmd, "import", "orders", str(path), "-w", str(tmp), "--map", "revenue=amount"],
        check=True,
        capture_output=True,
    )
    print(f"Imported the orders into {ws} in {time.perf_counter() - t0:.1f} s", flush=True)
    tmp.rename(ws)
    return ws


def _timed_process(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of one child process, and its output."""
    env = {**bytecode_env(), **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{' '.join(cmd[:3])} failed (exit {proc.returncode})")
    return wall, cpu, proc.stdout


def run_cli(pristine: Path) -> dict[str, Any]:
    """``regulars fit`` then ``regulars score``, defaults, on a fresh copy of the workspace."""
    run = pristine.with_name(pristine.name + ".run")
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(pristine, run)
    cmd = _regulars_cmd()
    env = {"COLUMNS": "120"}
    startup, startup_cpu, _ = _timed_process([*cmd, "--help"], env)
    fit, fit_cpu, fit_out = _timed_process([*cmd, "fit", "-w", str(run)], env)
    score, score_cpu, _ = _timed_process([*cmd, "score", "-w", str(run)], env)
    chosen = next((line for line in fit_out.splitlines() if line.startswith("Chosen:")), "")
    shutil.rmtree(run, ignore_errors=True)
    return {
        "times": {"startup": startup, "fit": fit, "score": score},
        "cpu": {"startup": startup_cpu, "fit": fit_cpu, "score": score_cpu},
        "chosen": chosen,
    }


def _script(python: Path, role: str, args: list[str]) -> tuple[float, float, dict[str, Any]]:
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", role, *args]
    wall, cpu, out = _timed_process(cmd)
    return wall, cpu, json.loads(out.strip().splitlines()[-1])


def cli_comparison(args: argparse.Namespace, path: Path, result: dict[str, Any]) -> None:
    """The CLI against the lifetimes and clvkit scripts, each a whole process."""
    pristine = cli_workspace(path, args.customers, args.seed)
    lt_python = ensure_lifetimes_venv()
    ck_python = None if args.no_clvkit else ensure_venv(CLVKIT_VENV, CLVKIT_PINS)
    print("Compiling the bytecode of every side (untimed) ...", flush=True)
    for python in (sys.executable, lt_python, ck_python):
        if python is not None:
            compile_bytecode(python)
    load = os.getloadavg()
    cli = run_cli(pristine)
    lt_wall, lt_cpu, lt = _script(lt_python, "lifetimes", ["--data", str(path)])
    out: dict[str, Any] = {
        "load_average_before": load,
        "cli": cli,
        "lifetimes": {"wall": lt_wall, "cpu": lt_cpu, "times": lt["times"]},
    }
    ck_wall = ck_cpu = None
    if ck_python is not None:
        sample = args.clvkit_sample if args.clvkit_sample < args.customers else None
        extra = ["--sample", str(sample)] if sample else []
        wall, cpu, ck = _script(ck_python, "clvkit", ["--data", str(path), *extra])
        fixed = ck["times"]["imports"] + ck["times"]["read"]
        scale = args.customers / ck["customers"] if sample else 1.0
        ck_wall = fixed + (wall - fixed) * scale
        ck_cpu = cpu * scale
        out["clvkit"] = {
            "wall_measured": wall,
            "customers": ck["customers"],
            "scale": scale,
            "wall": ck_wall,
            "times": ck["times"],
            "sums": ck["sums"],
        }
    out["load_average_after"] = os.getloadavg()
    total = cli["times"]["fit"] + cli["times"]["score"]
    total_cpu = cli["cpu"]["fit"] + cli["cpu"]["score"]
    print(
        f"\nCommand line on {args.customers:,} customers (load average before "
        f"{load[0]:.1f}, after {out['load_average_after'][0]:.1f}):"
    )
    print("                                 wall      CPU")
    for step, label in (("startup", "regulars --help (start-up)"), ("fit", "regulars fit")):
        print(f"  {label:<27} {cli['times'][step]:7.2f} s {cli['cpu'][step]:7.2f} s")
    print(f"  {'regulars score':<27} {cli['times']['score']:7.2f} s {cli['cpu']['score']:7.2f} s")
    print(f"  fit + score                 {total:7.2f} s {total_cpu:7.2f} s   {cli['chosen']}")
    print(f"  lifetimes 0.11.3 script     {lt_wall:7.2f} s {lt_cpu:7.2f} s")
    ratio = lt_wall / total
    line = f"  CLI vs lifetimes: {ratio:.2f}x (target: >= 10x)"
    if ck_wall is not None:
        scaled = out["clvkit"]["scale"] > 1
        note = f", extrapolated from {out['clvkit']['customers']:,}" if scaled else ""
        print(f"  clvkit 0.2.1 script         {ck_wall:7.2f} s {ck_cpu:7.2f} s  (wall{note})")
        line += f";  CLI vs clvkit: {ck_wall / total:.2f}x"
        out["clvkit_ratio"] = ck_wall / total
    print(line)
    out["lifetimes_ratio"] = ratio
    result["cli"] = out


# -- driver ----------------------------------------------------------------------------


def worker(python: Path | str, role: str, args: list[str]) -> dict[str, Any]:
    """Run one side in a fresh process (so its peak memory is its own)."""
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", role, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{role} worker failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    return info


def versions(python: Path | str, modules: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
        + repr(modules)
        + "}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-lifetimes", action="store_true", help="run regulars alone")
    ap.add_argument(
        "--lifetimes-sample",
        type=int,
        default=None,
        help="run lifetimes on the first N customers only and extrapolate its times "
        "linearly (said clearly in the output)",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--no-cli", action="store_true", help="skip the command-line comparison")
    ap.add_argument("--only-cli", action="store_true", help="only the command-line comparison")
    ap.add_argument("--no-clvkit", action="store_true", help="skip clvkit in the CLI comparison")
    ap.add_argument(
        "--clvkit-sample",
        type=int,
        default=100_000,
        help="run clvkit on the first N customers and extrapolate its compute time linearly "
        "(default 100,000; said in the output)",
    )
    ap.add_argument("--worker", choices=["regulars", "lifetimes", "clvkit"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--sample", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--skip-bare", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker == "regulars":
        print(json.dumps(run_regulars(args.data, args.threads, args.skip_bare)))
        return
    if args.worker == "lifetimes":
        print(json.dumps(run_lifetimes(args.data, args.sample)))
        return
    if args.worker == "clvkit":
        print(json.dumps(run_clvkit(args.data, args.sample)))
        return

    DATA_DIR.mkdir(exist_ok=True)
    path = data_file(args.customers, args.seed)
    if not path.exists():
        t0 = time.perf_counter()
        info = generate(args.customers, path, args.seed)
        print(
            f"Generated {info['customers']:,} customers, {info['transactions']:,} "
            f"transactions in {time.perf_counter() - t0:.1f} s -> {path}",
            flush=True,
        )
    print(f"Machine: {machine()}", flush=True)
    if args.only_cli:
        result_cli: dict[str, Any] = {"customers": args.customers, "seed": args.seed}
        cli_comparison(args, path, result_cli)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result_cli, indent=2, default=str))
        return
    env_threads = ["--threads", str(args.threads)]
    reg = worker(sys.executable, "regulars", ["--data", str(path), *env_threads])
    result: dict[str, Any] = {
        "customers": args.customers,
        "seed": args.seed,
        "machine": machine(),
        "regulars": reg,
        "regulars_versions": versions(
            sys.executable, ["regulars", "duckdb", "ibis-framework", "numpy", "scipy"]
        ),
    }
    print_regulars(reg)
    if not args.no_lifetimes:
        python = ensure_lifetimes_venv()
        extra = ["--sample", str(args.lifetimes_sample)] if args.lifetimes_sample else []
        env_threads_lt = {"OMP_NUM_THREADS": str(args.threads)}
        os.environ.update(env_threads_lt)
        lt = worker(python, "lifetimes", ["--data", str(path), *extra])
        result["lifetimes"] = lt
        result["lifetimes_versions"] = versions(
            python, ["lifetimes", "pandas", "numpy", "scipy", "autograd"]
        )
        compare(reg, lt, args.lifetimes_sample, result)
    if not args.no_cli:
        cli_comparison(args, path, result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))


STEPS = ["rfm", "bgnbd_fit", "gamma_gamma_fit", "score", "clv"]


def print_regulars(reg: dict[str, Any]) -> None:
    t = reg["times"]
    print(
        f"\nregulars on {reg['customers']:,} customers "
        f"({reg['distinct_purchase_tuples']:,} distinct (x, t_x, T) tuples):"
    )
    for step in STEPS:
        print(f"  {step:<16} {t[step]:8.2f} s")
    print(f"  {'total':<16} {sum(t[s] for s in STEPS):8.2f} s")
    print(f"  peak RSS {reg['peak_rss_mib']:,.0f} MiB")
    if "bare_group_by" in t:
        print(
            f"  RFM vs bare DuckDB GROUP BY customer_id: {t['rfm']:.2f} s / "
            f"{t['bare_group_by']:.2f} s = {t['rfm'] / t['bare_group_by']:.2f}x "
            "(target: at most 2x)"
        )


def compare(
    reg: dict[str, Any], lt: dict[str, Any], sample: int | None, result: dict[str, Any]
) -> None:
    scale = 1.0
    if sample:
        scale = reg["customers"] / lt["customers"]
        print(
            f"\nNOTE: lifetimes ran on a SUBSAMPLE of {lt['customers']:,} customers; its "
            f"times below are EXTRAPOLATED linearly (x{scale:.1f}) to "
            f"{reg['customers']:,} customers, and its parameters are those of the "
            "subsample (not compared)."
        )
    print("\nstep              regulars   lifetimes    speed-up")
    ratios = {}
    for step in STEPS:
        r, lft = reg["times"][step], lt["times"][step] * scale
        ratios[step] = lft / r
        print(f"  {step:<16} {r:8.2f} s {lft:9.2f} s {lft / r:9.1f}x")
    tr = sum(reg["times"][s] for s in STEPS)
    tl = sum(lt["times"][s] for s in STEPS) * scale
    ratios["total"] = tl / tr
    print(f"  {'total':<16} {tr:8.2f} s {tl:9.2f} s {tl / tr:9.1f}x  (target: >= 10x)")
    result["speedup"] = ratios
    if sample:
        return
    print("\nparameters (regulars vs lifetimes, relative difference; must be <= 1e-4):")
    worst = 0.0
    for model in ("bgnbd", "gamma_gamma"):
        for k, v in lt["params"][model].items():
            mine = reg["params"][model][k]
            rel = abs(mine - v) / abs(v)
            worst = max(worst, rel)
            print(f"  {model:<12} {k:<6} {mine:14.8g} {v:14.8g}  {rel:.1e}")
    result["max_param_rel_diff"] = worst
    print(f"  worst: {worst:.1e} -> {'OK' if worst <= 1e-4 else 'DIFFERENT'}")
    for k in ("p_alive", "expected_orders_90d", "clv_12m"):
        a, b = reg["sums"][k], lt["sums"][k]
        print(f"  sum of {k:<20} {a:16.6g} {b:16.6g}  {abs(a - b) / abs(b):.1e}")


if __name__ == "__main__":
    main()
