"""An import is one transaction: killing the process leaves the workspace as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from _io_helpers import contents, write

from regulars.io import import_file
from regulars.store import Workspace

CHILD = """
import sys, time
from regulars.io import _import
from regulars.io import import_file
from regulars.store import Workspace

path, big, hook = sys.argv[1], sys.argv[2], sys.argv[3]
ws = Workspace.open(path)
if hook == "after-write":
    write_rows = _import.write_rows

    def slow_write(con, workspace, plan, result, **kw):
        write_rows(con, workspace, plan, result, **kw)
        print("WROTE", result.records, flush=True)  # the rows are in the open transaction now
        time.sleep(60)

    _import.write_rows = slow_write
print("STARTED", flush=True)
import_file(ws, "orders", big)
print("DONE", flush=True)
"""


def _big_file(path: Path, n: int) -> Path:
    duckdb.sql(
        f"COPY (SELECT 'K-' || (i // 3) AS order_id, 'C-' || ((i // 3) % 50000) AS customer_id, "
        f"DATE '2021-01-01' + CAST((i // 3) % 900 AS INTEGER) AS order_date, 'p' || (i % 97) AS "
        f"product, 1 + i % 4 AS quantity, round(5 + (i % 5000) / 100, 2) AS unit_price "
        f"FROM range({n}) t(i)) TO '{path}' (HEADER)"
    )
    return path


def _kill_during_import(tmp_path: Path, n: int, hook: str, delay: float) -> None:
    ws = Workspace.init(tmp_path / "ws")
    write(tmp_path / "base.csv", "order_id,customer_id,order_date,revenue\nK-0,C-x,2020-01-01,5\n")
    import_file(ws, "orders", tmp_path / "base.csv")
    before = contents(ws)
    ws.close()
    big = _big_file(tmp_path / "big.csv", n)

    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "ws"), str(big), hook],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        wanted = "WROTE" if hook == "after-write" else "STARTED"
        deadline = time.monotonic() + 300
        line = ""
        while not line.startswith(wanted) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(delay)
        assert proc.poll() is None, "the import finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    ws = Workspace.open(tmp_path / "ws")
    try:
        assert contents(ws) == before
        # The workspace still works.
        import_file(
            ws,
            "orders",
            write(
                tmp_path / "more.csv",
                "order_id,customer_id,order_date,revenue\nK-9,C-y,2020-02-01,7\n",
            ),
        )
        assert ws.count("orders") == 2
    finally:
        ws.close()


def test_kill_after_rows_were_written(tmp_path: Path) -> None:
    """Killed after the orders were upserted, before the commit."""
    _kill_during_import(tmp_path, 60_000, "after-write", 0.5)


@pytest.mark.slow
def test_kill_a_large_import_midway(tmp_path: Path) -> None:
    """Killed by the clock while a 3-million-line file is being imported."""
    _kill_during_import(tmp_path, 3_000_000, "none", 4.0)
