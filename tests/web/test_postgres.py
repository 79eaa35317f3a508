"""The app's own state in PostgreSQL: a throwaway cluster, migrations, a login, an
outcome and the audit log (``regulars serve --database-url postgresql://...``).

The cluster runs from Debian's ``initdb``/``pg_ctl`` in a temporary folder, on a free
loopback port, as an unprivileged user (PostgreSQL refuses to run as root).  The
app runs in a child process, because Django is configured once per process and this
test session's app uses SQLite.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import build_workspace

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]

#: The unprivileged user that runs the cluster when the tests run as root.
PG_USER = "nobody"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of a fresh PostgreSQL cluster, stopped and deleted afterwards."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: "
            "apt-get install postgresql to run this test"
        )
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed")
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:  # pragma: no cover - util-linux is everywhere
            pytest.skip("running as root and runuser is missing: cannot start PostgreSQL")
        prefix = ["runuser", "-u", PG_USER, "--"]
    root = Path(tempfile.mkdtemp(prefix="regulars-pg-"))
    if prefix:
        shutil.chown(root, user=PG_USER)
    data, port = root / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}

    def run(*cmd: str) -> None:
        full = [*prefix, *cmd]
        subprocess.run(full, check=True, capture_output=True, text=True, env=env, cwd=root)

    init = [initdb, "-D", str(data), "-U", "regulars", "--auth=trust", "-E", "UTF8", "--no-sync"]
    run(*init, "--no-instructions")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root}"
    options += " -c fsync=off"
    try:
        log = str(root / "log")
        run(pg_ctl, "-D", str(data), "-l", log, "-o", options, "-w", "-t", "120", "start")
        yield f"postgresql://regulars@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


_APP = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    from regulars.web import create_user, setup
    setup(sys.argv[1], database_url=sys.argv[2])
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from regulars.service import week_queue
    from regulars.store import Workspace
    from regulars.web.models import AuditEvent

    setup_test_environment()
    create_user("pat", role="owner", password="owner-pass-93kd")
    client = Client()
    login = client.post("/login/", {"username": "pat", "password": "owner-pass-93kd"})
    with Workspace.open(sys.argv[1]) as ws:
        action = week_queue(ws, limit=1)[0]["action_id"]
    done = client.post(f"/week/{action}/done/", {"outcome": "accepted", "note": "on postgres"})
    page = client.get("/audit/")
    print(json.dumps({
        "vendor": connection.vendor,
        "tables": sorted(connection.introspection.table_names()),
        "login": [login.status_code, login.get("Location", "")],
        "done": done.status_code,
        "action": action,
        "events": list(AuditEvent.objects.values_list("event", "username", "detail")),
        "audit_page": [page.status_code, page.content.decode()],
    }))
    """
)


def test_the_app_keeps_its_state_in_postgresql(postgres_url: str, tmp_path: Path) -> None:
    workspace = build_workspace(tmp_path / "ws")
    proc = subprocess.run(
        [sys.executable, "-c", _APP, str(workspace), postgres_url],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "REGULARS_SECRET_KEY": "test-only-key-" + "x" * 40},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["vendor"] == "postgresql"
    assert {"auth_user", "regulars_web_auditevent", "regulars_web_digestrun"} <= set(out["tables"])
    assert out["login"] == [302, "/week/"]
    assert out["done"] == 302
    events = {(event, user) for event, user, _detail in out["events"]}
    assert {("login", "pat"), ("action_done", "pat")} <= events
    done = next(d for e, _u, d in out["events"] if e == "action_done")
    assert json.loads(done)["action_id"] == out["action"]
    status, html = out["audit_page"]
    assert status == 200
    assert "action_done" in html
    assert not (workspace / ".regulars-web" / "app.sqlite3").exists()
