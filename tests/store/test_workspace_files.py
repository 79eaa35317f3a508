"""Workspace files that are missing, damaged, locked or read-only give exact messages.

Each failure names the file, says what is wrong and how to fix it; none of them
prints DuckDB's own text (error class, PID of a foreign process, a URL), and none
silently creates an empty database in place of a missing one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from regulars.cli import app
from regulars.errors import ConfigError, WorkspaceError
from regulars.store import DB_FILE, Workspace


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    with Workspace.init(path) as ws:
        ws.con.execute(
            "INSERT INTO orders (order_id, customer_id, order_date, revenue) "
            "SELECT 'O' || i, 'C' || (i % 50), TIMESTAMP '2024-01-01' + i * INTERVAL 1 HOUR, "
            "10 + i % 7 FROM range(2000) t(i)"
        )
        ws.con.execute("CHECKPOINT")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.fixture
def held_lock(ws_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the workspace open for writing."""
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        con = duckdb.connect({str(ws_path / DB_FILE)!r})
        print("ready", flush=True)
        sys.stdin.readline()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.communicate("\n", timeout=30)


def test_missing_database_is_an_error_not_a_new_empty_book(ws_path: Path) -> None:
    (ws_path / DB_FILE).unlink()
    for read_only in (False, True):
        with pytest.raises(WorkspaceError, match="has no database") as info:
            Workspace.open(ws_path, read_only=read_only)
        assert "regulars init" in str(info.value)
    assert not (ws_path / DB_FILE).exists()
    code, err = run("metrics", "growth-accounting", "-w", str(ws_path))
    assert code == 1
    assert "regulars.duckdb is missing" in err
    # `regulars init` is the documented way to start again with an empty database
    Workspace.init(ws_path).close()
    with Workspace.open(ws_path) as ws:
        assert ws.count("orders") == 0


@pytest.mark.parametrize("kind", ["garbage", "folder"])
def test_a_file_that_is_not_a_database(ws_path: Path, kind: str) -> None:
    db = ws_path / DB_FILE
    db.unlink()
    if kind == "folder":
        db.mkdir()
    else:
        db.write_bytes(b"not a database\n" * 500)
    code, err = run("metrics", "growth-accounting", "-w", str(ws_path))
    assert code == 1
    assert "is not a regulars database" in err
    assert "Fix: restore regulars.duckdb from a backup" in err
    assert "IO Error" not in err
    assert "another regulars" not in err.lower()  # not the wrong advice of waiting


def test_damaged_blocks(ws_path: Path) -> None:
    db = ws_path / DB_FILE
    data = bytearray(db.read_bytes())
    for i in range(12288 + 100, 12288 + 1100):  # inside the first data block
        data[i] ^= 0x55
    db.write_bytes(bytes(data))
    code, err = run("metrics", "growth-accounting", "-w", str(ws_path))
    assert code == 1
    assert "is damaged (a block failed its checksum)" in err
    assert "Traceback" not in err


def test_lock_held_by_another_process(
    ws_path: Path, held_lock: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_LOCK_WAIT", "0")
    with pytest.raises(WorkspaceError) as info:
        Workspace.open(ws_path)
    text = str(info.value)
    assert f"(PID {held_lock.pid}) is using this workspace" in text
    assert text.endswith("retry in a moment.")
    assert "http" not in text
    assert "IO Error" not in text
    assert "python" not in text


def test_a_command_waits_for_a_short_lock(ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULARS_LOCK_WAIT", "30")
    code = f"import duckdb, time; c = duckdb.connect({str(ws_path / DB_FILE)!r}); " + (
        "print('ready', flush=True); time.sleep(1.5)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    started = time.monotonic()
    with Workspace.open(ws_path) as ws:
        assert ws.count("orders") == 2000
    assert time.monotonic() - started > 0.2  # it did wait
    proc.wait(timeout=30)


def test_read_only_commands_run_beside_a_reader(ws_path: Path, tmp_path: Path) -> None:
    """report and chart open the workspace read-only (a reader blocks every writer)."""
    code = textwrap.dedent(
        f"""
        import duckdb, sys
        con = duckdb.connect({str(ws_path / DB_FILE)!r}, read_only=True)
        print("ready", flush=True)
        sys.stdin.readline()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    try:
        os.environ["REGULARS_LOCK_WAIT"] = "0"
        out = tmp_path / "r.html"
        code_, err = run("report", "-w", str(ws_path), "--out", str(out))
        assert code_ == 0, err
        assert out.exists()
        code_, err = run("export", "orders", "-w", str(ws_path), "--out", str(tmp_path / "o.csv"))
        assert code_ == 0, err
    finally:
        os.environ.pop("REGULARS_LOCK_WAIT", None)
        proc.communicate("\n", timeout=30)


def test_permission_denied_message(ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: str, read_only: bool = False, config: object = None) -> None:
        raise duckdb.IOException(f'IO Error: Cannot open file "{path}": Permission denied')

    monkeypatch.setattr(duckdb, "connect", denied)
    with pytest.raises(WorkspaceError, match="permission denied") as info:
        _ = Workspace.open(ws_path, read_only=True).con
    assert "another regulars" not in str(info.value).lower()
    ws = Workspace(ws_path, Workspace.open(ws_path, read_only=True).config)
    with pytest.raises(WorkspaceError, match="work on a read-only workspace"):
        _ = ws.con


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs a private mount"
)
def test_read_only_workspace_on_a_read_only_mount(ws_path: Path, tmp_path: Path) -> None:
    """On a read-only file system: metrics, report and export work; writes say why not."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    exe = Path(sys.executable).with_name("regulars")
    script = (
        f"mount --bind {ws_path} {mnt} && mount -o remount,ro,bind {mnt} || exit 99; "
        f"{exe} metrics growth-accounting -w {mnt} >/dev/null || exit 1; "
        f"{exe} report -w {mnt} --out {tmp_path / 'r.html'} >/dev/null || exit 2; "
        f"{exe} export orders -w {mnt} --out {tmp_path / 'o.csv'} || exit 3; "
        f"{exe} touch C1 --kind call -w {mnt}; echo rc=$?"
    )
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, check=False
    )
    if proc.returncode == 99:
        pytest.skip("mounts are not allowed here")
    assert proc.returncode == 0, proc.stderr
    assert "rc=1" in proc.stdout
    assert "Cannot write to the workspace database" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_that_is_not_utf8(ws_path: Path) -> None:
    (ws_path / "regulars.toml").write_bytes(b'[workspace]\nname = "Caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text: line 2 has the byte 0xe9"):
        Workspace.open(ws_path)


def test_config_that_is_a_folder(ws_path: Path) -> None:
    (ws_path / "regulars.toml").unlink()
    (ws_path / "regulars.toml").mkdir()
    code, err = run("metrics", "growth-accounting", "-w", str(ws_path))
    assert code == 1
    assert "is a folder, not a settings file" in err


def test_spill_files_of_a_killed_command_go_at_the_next_open(ws_path: Path) -> None:
    """A writer clears what killed commands left, and spills into its own folder."""
    legacy = ws_path / f"{DB_FILE}.tmp"  # the shared folder of earlier versions
    legacy.mkdir()
    (legacy / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 4096)
    killed = ws_path / f"{DB_FILE}.tmp-4242"
    killed.mkdir()
    (killed / "duckdb_temp_storage_S64K-1.tmp").write_bytes(b"\0" * 4096)
    with Workspace.open(ws_path, read_only=True) as ws:
        ws.count("orders")
        assert killed.exists()  # only a writer cleans up
    with Workspace.open(ws_path) as ws:
        ws.con.execute("SET memory_limit = '64MiB'")
        # More than the limit: DuckDB spills, into this process's folder only.
        row = ws.con.execute(
            "SELECT count(*) FROM (SELECT md5(i::VARCHAR) AS h FROM range(2000000) t(i) ORDER BY h)"
        ).fetchone()
        assert row == (2_000_000,)
        assert sorted(p.name for p in ws_path.glob(f"{DB_FILE}.tmp*")) == [
            f"{DB_FILE}.tmp-{os.getpid()}"
        ]
    assert not list(ws_path.glob(f"{DB_FILE}.tmp*"))


def test_a_reader_spills_after_another_process_closed(ws_path: Path) -> None:
    """A reader's spill folder is its own: no other command's close removes its parent."""
    with Workspace.open(ws_path) as ws:  # a writer comes and goes
        ws.count("orders")
    with Workspace.open(ws_path, read_only=True) as ws:
        ws.con.execute("SET memory_limit = '64MiB'")
        row = ws.con.execute(
            "SELECT count(*) FROM (SELECT md5(i::VARCHAR) AS h FROM range(2000000) t(i) ORDER BY h)"
        ).fetchone()
        assert row == (2_000_000,)


def _failing_write(ws: Workspace) -> None:
    """A write that left spilled data, then fails inside its transaction."""
    with ws.transaction() as con:
        con.execute("CREATE TABLE big AS SELECT i FROM range(1000) t(i)")
        ws.spill_path.mkdir(parents=True, exist_ok=True)
        (ws.spill_path / "left.tmp").write_bytes(b"\0")
        con.execute("SELECT error('the import failed')")


def test_spill_files_go_when_a_failed_write_closes(ws_path: Path) -> None:
    ws = Workspace.open(ws_path)
    with pytest.raises(duckdb.Error, match="the import failed"):
        _failing_write(ws)
    ws.close()
    assert not list(ws_path.glob(f"{DB_FILE}.tmp*"))


def test_init_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code, err = run("init", str(tmp_path / "afile" / "sub"))
    assert code == 1
    assert "afile is a file, not a folder" in err
