"""Every command gives the same results on DuckDB, a Parquet folder and Spark.

A small simulated book goes through the command line as a user runs it (click's test
runner, in process): once on the workspace's DuckDB file, the oracle, and once on each
other engine.  Each command runs once per engine and is checked against the oracle:

``import``
    The oracle imports each table's file with ``regulars import``.  The Parquet folder
    holds the oracle's tables as ``regulars export --format parquet`` writes them
    (order lines too, which no file imports), read in place by the ``parquet`` and
    ``spark`` engines.  ``parquet-import`` is a Parquet workspace with an empty folder
    of its own, into which ``regulars import`` writes the same files as the oracle
    imports.  Every contract table reads the same on each engine.
``metrics``
    ``regulars metrics growth-accounting --format csv``: the same text.
``fit``
    ``regulars fit --holdout none --json``: the same model, parameters equal to 1e-6.
``score``
    ``regulars score``, then ``regulars export scores``: the same rows (floats to 9
    significant digits; engines may sum in another order).
``actions``
    ``regulars actions --format csv``: the same text.
``report``
    ``regulars report --no-fit``: the same page.  Its figures come from every metric
    and from the scores joined with the orders (customer value, CLV per channel).
``web``
    The web app's data, from the service as its views call it on a workspace opened
    as the app opens it (a Spark workspace through DuckDB,
    :func:`regulars.engine.interactive_config`): the customer list, the pages of the
    most valuable customers, and this week's queue.

The Spark runs share one local session (started once, kept for the other Spark tests
of the process); a local Spark query costs seconds however small its data, so the
book is small and every command runs once.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.datasets import simulate
from regulars.engine import backend_for, tables
from regulars.schema import TABLES
from regulars.store import Workspace

COMMANDS = ("import", "metrics", "fit", "score", "actions", "report", "web")
#: ``[engine]`` settings of each engine; the Parquet folder is ``<root>/lake``.
ENGINES = {
    "duckdb": 'backend = "duckdb"',
    "parquet": 'backend = "parquet"\nparquet_dir = "../../lake"',
    "parquet-import": 'backend = "parquet"\nparquet_dir = "lake"',  # its own, filled by import
    "spark": 'backend = "spark"\nparquet_dir = "../../lake"',
}
#: Columns of the scores that name the run, not the customer.
RUN_COLUMNS = ("scored_at", "fit_id")


@dataclass
class Run:
    """What each command gave on one engine, or why it failed, and how long it took."""

    engine: str
    path: Path
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def result(self, command: str) -> Any:
        if command in self.errors:
            pytest.fail(f"{command} on {self.engine} failed:\n{self.errors[command]}")
        return self.results[command]


def cli(*args: Any) -> str:
    """``regulars ARGS`` as a user runs it; its output, or an error with the traceback."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exit_code != 0:
        trace = ""
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(
            f"regulars {' '.join(map(str, args))}: exit {result.exit_code}\n{result.output}{trace}"
        )
    return result.output


def _rounded(value: Any) -> Any:
    """Floats to 9 significant digits, also inside dicts, lists and tuples.

    Sums of floats come out in the engine's order of addition, which differs between
    engines and runs (a customer's spend summed in parallel): the last digits move.
    """
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_rounded(v) for v in value)
    return value


def _csv_rows(text: str, drop: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """CSV text as sorted rows, numbers to 9 significant digits, ``drop`` left out."""

    def cell(value: str) -> Any:
        try:
            return _rounded(float(value))
        except ValueError:
            return value

    rows = list(csv.DictReader(io.StringIO(text)))
    return sorted(
        (tuple((k, cell(v)) for k, v in row.items() if k not in drop) for row in rows), key=str
    )


def _table_rows(t: Any) -> list[str]:
    return _table_rows_of(t.to_pyarrow().to_pylist())


def _table_rows_of(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(str({k: _rounded(v) for k, v in row.items()}) for row in rows)


def _workspace(root: Path, engine: str) -> Path:
    """A new workspace ``<root>/<engine>/shop`` on ``engine``: the same name on each
    engine, so the reports' titles agree."""
    path = root / engine / "shop"
    cli("init", path)
    cfg = path / "regulars.toml"
    cfg.write_text(cfg.read_text().replace('backend = "duckdb"', ENGINES[engine], 1))
    return path


def _run(engine: str, path: Path, load: Callable[[], None]) -> Run:
    """Every command on the workspace at ``path``, in order; a failure stops none."""
    run = Run(engine, path)
    w = ("-w", path)

    def imported() -> dict[str, list[str]]:
        load()
        ws = Workspace.open(path, read_only=True)
        try:
            if engine == "spark":
                assert backend_for(ws).name == "pyspark"
            else:  # one engine: the data and the workspace's derived tables
                assert backend_for(ws) is ws.ibis
            t = tables(ws)
            return {
                name: _table_rows(t[name].select(*TABLES[name].column_names)) for name in TABLES
            }
        finally:
            ws.close()

    def fit() -> dict[str, Any]:
        out = json.loads(cli("fit", "--holdout", "none", "--json", *w))
        spend = out["spend"] or {}
        return {"model": out["model"], "params": out["params"], "spend": spend.get("params")}

    def score() -> list[tuple[Any, ...]]:
        cli("score", *w)
        return _csv_rows(cli("export", "scores", *w), drop=RUN_COLUMNS)

    def report() -> str:
        cli("report", "--no-fit", "--out", path.parent / "report.html", *w)
        return (path.parent / "report.html").read_text(encoding="utf-8")

    def web() -> dict[str, Any]:
        from regulars import service
        from regulars.engine import interactive_config
        from regulars.service._customers import CustomerQueries

        ws = Workspace.open(path)
        try:
            ws.config = interactive_config(ws.config)  # as the web app opens it
            listed = service.list_customers(ws, sort="clv", limit=500)
            queries = CustomerQueries(ws)
            ids = [r["customer_id"] for r in listed.rows[:5]]
            return {
                "customers": (listed.total, _table_rows_of(listed.rows)),
                "pages": {cid: str(_rounded(queries.page(ws, cid))) for cid in ids},
                "week": _table_rows_of(service.week_queue(ws)),
            }
        finally:
            ws.close()

    steps: dict[str, Callable[[], Any]] = {
        "import": imported,
        "metrics": lambda: cli("metrics", "growth-accounting", "--format", "csv", *w),
        "fit": fit,
        "score": score,
        "actions": lambda: cli("actions", "--format", "csv", *w),
        "report": report,
        "web": web,
    }
    for command in COMMANDS:
        start = time.perf_counter()
        try:
            run.results[command] = steps[command]()
        except Exception:
            run.errors[command] = traceback.format_exc()
        run.seconds[command] = round(time.perf_counter() - start, 1)
    return run


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("parity")


@pytest.fixture(scope="module")
def oracle(root: Path) -> Run:
    """The commands on the workspace's DuckDB file, whose tables fill the Parquet folder."""
    files = simulate(n_customers=60, years=2, seed=3).to_parquet(root / "files")
    path = _workspace(root, "duckdb")

    def load() -> None:
        for name in TABLES:
            if TABLES[name].importable:
                cli("import", name, files[name], "-w", path)
        lake = root / "lake"
        lake.mkdir()
        for name in TABLES:
            cli(
                "export", name, "--format", "parquet", "--out", lake / f"{name}.parquet", "-w", path
            )

    run = _run("duckdb", path, load)
    assert not run.errors, run.errors
    return run


@pytest.fixture(scope="module")
def runs(root: Path, oracle: Run) -> Callable[[str], Run]:
    """The commands on ``engine``, run once per module, on the oracle's data."""
    done: dict[str, Run] = {}

    def get(engine: str) -> Run:
        if engine == "parquet-import" and engine not in done:
            path = _workspace(root, engine)

            def load() -> None:
                for name in TABLES:
                    if TABLES[name].importable:
                        cli("import", name, root / "files" / f"{name}.parquet", "-w", path)

            done[engine] = _run(engine, path, load)
        if engine not in done:
            if engine == "spark":
                from regulars.engine import local_spark_session

                # One session for the module, left running for the next Spark tests.
                local_spark_session("local[2]", shuffle_partitions=2)
            done[engine] = _run(engine, _workspace(root, engine), lambda: None)
        return done[engine]

    return get


SPARK = [
    pytest.mark.spark,
    # PySpark 4.0's toPandas uses pandas options that pandas 3 deprecates.
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]


@pytest.mark.slow  # the six commands on DuckDB and on the engine: tens of seconds
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "engine", ["parquet", "parquet-import", pytest.param("spark", marks=SPARK)]
)
def test_command_gives_what_it_gives_on_duckdb(
    runs: Callable[[str], Run], oracle: Run, engine: str, command: str
) -> None:
    run = runs(engine)
    got, want = run.result(command), oracle.result(command)
    print(f"{command} on {engine}: {run.seconds[command]} s (duckdb {oracle.seconds[command]} s)")
    if command == "import":
        assert got.keys() == want.keys()
        for name in want:
            assert got[name] == want[name], name
        assert want["orders"], "the book should have orders"
    elif command == "fit":
        assert got["model"] == want["model"]
        for part in ("params", "spend"):
            assert got[part].keys() == want[part].keys()
            for name, value in want[part].items():
                assert got[part][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    elif command == "score":
        assert got == want
        assert len(want) > 40
        if engine == "spark":  # written by Spark, beside the data; the file has a copy
            assert any((run.path / "derived" / "scores").glob("*.parquet"))
    elif command == "actions":
        assert got == want
        assert len(want.splitlines()) > 1, "the book should give some actions"
    elif command == "report":
        assert got == want
        assert 'data-chart="clv-distribution"' in want
    else:
        assert got == want
