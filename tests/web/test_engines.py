"""The web app's data on a Parquet workspace (and a Spark one) equal those on DuckDB.

The oracle is the test book in its workspace file.  The Parquet workspace reads the
same tables from a folder of Parquet files (``regulars export --format parquet`` of
the oracle's tables), and computes its own scores and actions.  Each page's data come
from the service, as the views call it: the customer list, a customer's page (its
prepared queries, as the app keeps them), this week's queue, and the Growth page's
report sections.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regulars import service
from regulars.engine import interactive_config, tables
from regulars.schema import GUEST_ORDERS, TABLES
from regulars.service._customers import CustomerQueries
from regulars.store import Workspace

from .conftest import build_workspace, client_for

# Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

SORTS = (("clv", True), ("name", False), ("last_order", True), ("orders", True))


def _parquet_copy(oracle: Path, root: Path, engine: str) -> Path:
    """A workspace on ``engine`` whose data are the oracle's tables as Parquet files."""
    lake = root / "lake"
    if not lake.exists():
        lake.mkdir(parents=True)
        with Workspace.open(oracle, read_only=True) as ws:
            for name in (*TABLES, GUEST_ORDERS.name):
                if ws.has_table(name):
                    ws.con.execute(f"COPY \"{name}\" TO '{lake / name}.parquet' (FORMAT parquet)")
    path = root / engine
    path.mkdir()
    text = (oracle / "regulars.toml").read_text(encoding="utf-8")
    setting = f'backend = "{engine}"\nparquet_dir = "../lake"'
    (path / "regulars.toml").write_text(text.replace('backend = "duckdb"', setting, 1), "utf-8")
    return path


def _derived(path: Path) -> None:
    """Scores and this week's actions of the workspace at ``path``, as the oracle has."""
    from regulars.actions import compute_actions
    from regulars.models import score_workspace

    with Workspace.open(path) as ws:
        ws.config = interactive_config(ws.config)
        score_workspace(ws)
        compute_actions(ws)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("engines")
    oracle = build_workspace(root / "duckdb")
    lake = _parquet_copy(oracle, root, "parquet")
    _derived(lake)
    yield oracle, lake
    shutil.rmtree(root, ignore_errors=True)


def _page_data(path: Path) -> dict[str, Any]:
    """What the customer, customer-page and week views get from the service."""
    with Workspace.open(path) as ws:
        ws.config = interactive_config(ws.config)  # as the app opens it
        lists = {
            (sort, desc): service.list_customers(ws, sort=sort, descending=desc, limit=40).rows
            for sort, desc in SORTS
        }
        found = service.list_customers(ws, query="a", limit=500)
        ids = [r["customer_id"] for r in lists[("clv", True)][:6]]
        queries = CustomerQueries(ws)
        pages = {cid: _without_actions(queries.page(ws, cid)) for cid in ids}
        plain = {
            cid: (service.customer_detail(ws, cid), service.customer_timeline(ws, cid))
            for cid in ids[:2]
        }
        week = [
            {k: v for k, v in r.items() if k not in ("action_id", "created_on")}
            for r in service.week_queue(ws)
        ]
        return {
            "lists": lists,
            "found": (found.total, found.rows),
            "pages": pages,
            "plain": {k: _without_actions(v) for k, v in plain.items()},
            "week": sorted(map(str, week)),
        }


def _without_actions(page: tuple[dict[str, Any], list[dict[str, Any]]]) -> Any:
    """A customer's page without its actions' random ids (compared in ``week``)."""
    detail, timeline = page
    return detail, [e for e in timeline if e["kind"] != "action"]


def test_the_pages_data_equal_those_on_duckdb(workspaces: tuple[Path, Path]) -> None:
    oracle, lake = workspaces
    want, got = _page_data(oracle), _page_data(lake)
    assert want["lists"][("clv", True)], "the book should list customers"
    for key in want["lists"]:
        assert got["lists"][key] == want["lists"][key], key
    assert got["found"] == want["found"]
    assert got["pages"] == want["pages"]
    assert any(len(tl) > 3 for _, tl in want["pages"].values())
    assert got["plain"] == want["plain"]
    assert got["week"] == want["week"]
    assert want["week"], "the book should have actions this week"
    with Workspace.open(lake, read_only=True) as ws:
        assert ws.count("orders") == 0  # the pages read the Parquet files, not the file


@pytest.mark.slow  # the report's every section, twice
def test_the_growth_page_equals_the_one_on_duckdb(workspaces: tuple[Path, Path]) -> None:
    from regulars.report import render_document, report_document

    pages = []
    for path in workspaces:
        with Workspace.open(path) as ws:
            ws.config = interactive_config(ws.config)
            doc, t = report_document(ws, period="quarter", lang="en")
            pages.append(render_document(doc, t))
    assert pages[0] == pages[1]
    assert 'data-chart="growth-accounting"' in pages[0]


def test_the_customer_pages_of_the_app_on_a_parquet_workspace(
    workspaces: tuple[Path, Path], web_app: Path
) -> None:
    from django.conf import settings

    _oracle, lake = workspaces
    with Workspace.open(lake, read_only=True) as ws:
        row = service.list_customers(ws, sort="clv", limit=1).rows[0]
    before = settings.REGULARS_WORKSPACE
    settings.REGULARS_WORKSPACE = str(lake)
    try:
        client = client_for("vic")
        listing = client.get("/customers/?sort=clv")
        assert listing.status_code == 200
        assert row["customer_id"] in listing.content.decode()
        page = client.get(f"/customers/{row['customer_id']}/")
        assert page.status_code == 200
        assert str(row["email"]) in page.content.decode()
        assert client.get("/week/").status_code == 200
    finally:
        settings.REGULARS_WORKSPACE = before


@pytest.mark.spark
# PySpark 4.0's toPandas uses pandas options that pandas 3 deprecates.
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_a_spark_workspace_serves_the_same_pages_and_spark_sees_a_web_refit(
    workspaces: tuple[Path, Path],
) -> None:
    """The app reads a Spark workspace through DuckDB (a page cannot wait for Spark),
    and what it writes (a refit's scores) reaches Spark's ``derived/`` folder."""
    from regulars.engine import backend_for, local_spark_session
    from regulars.models import score_workspace

    oracle, lake = workspaces
    path = _parquet_copy(oracle, lake.parent, "spark")
    local_spark_session("local[2]", shuffle_partitions=2)
    with Workspace.open(path) as ws:  # as `regulars score` on Spark: derived/scores/
        score_workspace(ws)
        assert backend_for(ws).name == "pyspark"
    _derived(path)  # as the app's refit: through DuckDB
    want, got = _page_data(lake), _page_data(path)
    assert got == want
    with Workspace.open(path) as ws:
        file_scores = ws.con.execute(
            "SELECT customer_id, p_alive, scored_at FROM scores ORDER BY customer_id"
        ).fetchall()
        spark = tables(ws)["scores"].select("customer_id", "p_alive", "scored_at")
        seen = sorted(tuple(r.values()) for r in spark.to_pyarrow().to_pylist())
    assert seen == file_scores  # Spark reads the rows the app wrote


def test_the_page_cache_sees_a_parquet_file_written_by_another_program(
    workspaces: tuple[Path, Path], web_app: Path
) -> None:
    import os

    from django.conf import settings

    from regulars.web._cache import fingerprint

    _oracle, lake = workspaces
    before = settings.REGULARS_WORKSPACE
    settings.REGULARS_WORKSPACE = str(lake)
    try:
        first = fingerprint()
        assert fingerprint() == first
        orders = lake.parent / "lake" / "orders.parquet"
        st = orders.stat()
        os.utime(orders, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert fingerprint() != first
    finally:
        settings.REGULARS_WORKSPACE = before
