"""`regulars init` and the CLI's error handling, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from regulars.cli import app


def test_init_creates_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "shop"), "--currency", "usd"])
    assert result.exit_code == 0, result.output
    assert "Workspace ready" in result.output
    assert 'currency = "USD"' in (tmp_path / "shop" / "regulars.toml").read_text()


def test_help_has_examples() -> None:
    result = CliRunner().invoke(app, ["init", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output


def test_console_script_reports_bad_config_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("regulars")
    subprocess.run([str(exe), "init", str(tmp_path)], check=True, capture_output=True)
    (tmp_path / "regulars.toml").write_text("[workspace]\nperiod = 'week'\n")
    env = {**os.environ, "REGULARS_WORKSPACE": str(tmp_path)}
    proc = subprocess.run([str(exe), "init"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "'week' is not valid" in proc.stderr
    assert "Traceback" not in proc.stderr
