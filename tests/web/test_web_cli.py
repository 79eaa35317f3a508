"""regulars user add|list|disable|set-password, each in its own process (slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CLI = "from regulars.cli import main; main()"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CLI, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_user_commands(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert _run("init", ws).returncode == 0
    added = _run("user", "add", "maja", "--role", "staff", "--language", "sl", "-w", ws)
    assert added.returncode == 0, added.stderr
    assert "shown only now" in added.stdout
    password = added.stdout.rsplit(":", 1)[1].strip()
    assert len(password) >= 16
    listed = _run("user", "list", "-w", ws)
    assert "maja" in listed.stdout
    assert "staff" in listed.stdout
    dup = _run("user", "add", "maja", "-w", ws)
    assert dup.returncode == 1
    assert "already exists" in dup.stderr
    assert "Traceback" not in dup.stderr
    reset = _run("user", "set-password", "maja", "-w", ws)
    assert reset.returncode == 0
    assert reset.stdout.rsplit(":", 1)[1].strip() != password
    assert _run("user", "disable", "maja", "-w", ws).returncode == 0
    assert " no " in _run("user", "list", "-w", ws).stdout
    unknown = _run("user", "disable", "nobody", "-w", ws)
    assert unknown.returncode == 1
    assert "No user named 'nobody'. Users: maja." in unknown.stderr
    # app state lives in the workspace, owner-only
    app_dir = Path(ws) / ".regulars-web"
    assert (app_dir / "app.sqlite3").exists()
    assert oct(app_dir.stat().st_mode & 0o777) == "0o700"
    assert oct((app_dir / "secret_key").stat().st_mode & 0o777) == "0o600"
