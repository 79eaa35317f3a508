"""One workspace, two doors: the app and the command line share the DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import client_for

pytestmark = [
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_page_says_busy_while_another_process_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings

    from regulars.web import _ws

    monkeypatch.setenv("REGULARS_LOCK_WAIT", "0.2")
    monkeypatch.setattr(_ws, "RETRY_SECONDS", 0.5)
    proc = _hold(Path(settings.REGULARS_WORKSPACE) / "regulars.duckdb", 4)
    try:
        response = client_for("vic").get("/customers/?q=busy-probe")
    finally:
        proc.wait(timeout=30)
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "The workspace is busy" in response.content.decode()
    assert client_for("vic").get("/customers/?q=busy-probe").status_code == 200


def test_the_command_line_waits_for_a_short_lock() -> None:
    from django.conf import settings

    from regulars.store import Workspace

    path = Path(settings.REGULARS_WORKSPACE)
    proc = _hold(path / "regulars.duckdb", 1.0)
    started = time.monotonic()
    try:
        with Workspace.open(path, read_only=True) as ws:
            assert ws.count("customers") > 0
    finally:
        proc.wait(timeout=30)
    assert time.monotonic() - started >= 0.5
