"""Output paths that cannot be written give one clear error, no traceback, no stray file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.store import Workspace


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    with Workspace.init(path) as ws:
        ws.con.execute(
            "INSERT INTO orders (order_id, customer_id, order_date, revenue) "
            "SELECT 'O' || i, 'C' || (i % 20), TIMESTAMP '2024-01-01' + i * INTERVAL 1 DAY, "
            "10 + i % 7 FROM range(300) t(i)"
        )
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stderr


COMMANDS = [
    ("report",),
    ("chart", "growth-sources"),
    ("metrics", "growth-accounting", "--format", "csv"),
    ("export", "orders"),
    ("score",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_missing_folder(ws_path: Path, tmp_path: Path, command: tuple[str, ...]) -> None:
    out = tmp_path / "missing" / "dir" / "r.out"
    code, err = run(*command, "-w", str(ws_path), "--out", str(out))
    assert code == 1
    assert "the folder" in err
    assert "does not exist" in err
    assert "Fix:" in err
    assert not out.parent.exists()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_below_a_file(ws_path: Path, tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code, err = run(*command, "-w", str(ws_path), "--out", str(tmp_path / "afile" / "r.out"))
    assert code == 1
    assert "afile is a file, not a folder" in err


def test_report_into_a_folder(ws_path: Path, tmp_path: Path) -> None:
    code, err = run("report", "-w", str(ws_path), "--out", str(tmp_path))
    assert code == 2  # a usage error, found by the option's type
    assert "is a directory" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_read_only_folder(ws_path: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    code, err = run("report", "-w", str(ws_path), "--out", str(locked / "r.html"))
    assert code == 1
    assert "permission denied" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "command",
    [("export", "orders"), ("metrics", "growth-accounting"), ("actions", "--format", "csv")],
    ids=lambda c: c[0],
)
def test_full_disk_on_stdout(ws_path: Path, command: tuple[str, ...]) -> None:
    exe = Path(sys.executable).with_name("regulars")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [str(exe), *command, "-w", str(ws_path)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert proc.returncode == 1
    assert "No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_closed_pipe_is_quiet(ws_path: Path) -> None:
    exe = Path(sys.executable).with_name("regulars")
    proc = subprocess.run(
        f"{exe} export orders -w {ws_path} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.startswith("order_id,")
    assert "Traceback" not in proc.stderr
    assert "Error" not in proc.stderr
