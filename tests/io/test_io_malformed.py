"""A standing suite of malformed files, imported through the CLI as a user would.

Every case in ``_malformed.cases()`` (over 500 files across all importable tables:
encodings, delimiters, numbers, dates, markup, control characters, huge fields,
wrong types, truncated gzip, Excel and Parquet) must end in one of two ways:

- a clean error: exit status 1, no traceback, nothing written, and a message that
  names the file, and for each rejected row its row (or line), column, value and
  a fix (a whole-file problem names the file and the fix);
- an import that stored exactly what the case expects.

Garbage accepted silently fails the test.  The full run is slow; every 25th case
runs in the fast suite.  The tallies are printed in docs/reliability.md
("Malformed files"), which the slow test keeps true.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _malformed import EITHER, ERROR, Case, cases
from click.testing import CliRunner

from regulars.cli import app

CASES = cases()
SAMPLE = CASES[::25]
RELIABILITY = Path(__file__).parents[2] / "docs" / "reliability.md"
_FIX = re.compile(
    r"Fix:|[Pp]ass |[Ss]ave |[Mm]ap |[Cc]heck |[Uu]se |[Dd]ecompress|[Gg]ive it|[Oo]pen it"
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("malformed")
    result = CliRunner().invoke(app, ["init", str(root / "ws")])
    assert result.exit_code == 0, result.output
    return root / "ws"


def _snapshot(ws: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(ws / "regulars.duckdb"), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: sorted(map(repr, con.execute(f'SELECT * FROM "{n}"').fetchall())) for n in names}  # type: ignore[misc]
    finally:
        con.close()


def _query(ws: Path, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(ws / "regulars.duckdb"), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _check_message(case: Case, text: str) -> None:
    """Every rejection names the file, row, column, value and fix."""
    assert text.startswith("Error: "), text
    body = text[len("Error: ") :]
    if "so nothing was imported." in body.splitlines()[0]:
        items = [ln[4:] for ln in body.splitlines() if ln.startswith("  - ")]
        assert items, body
        for item in items:
            assert item.startswith(case.filename), item
            assert re.match(rf"{re.escape(case.filename)}, (row|line) [0-9,]+", item), item
            if ', column "' in item:
                assert re.search(r': "[^"]*"|is empty', item), item
            assert "Fix: " in item, item
    else:
        assert case.filename in body, body
        assert _FIX.search(body), body


def run_case(case: Case, template: Path, tmp: Path) -> str:
    """Import ``case`` into a copy of ``template``; return 'error', 'accepted' or 'either'."""
    ws = tmp / "ws"
    shutil.copytree(template, ws)
    path = tmp / case.filename
    path.write_bytes(case.data)
    before = _snapshot(ws)
    result = CliRunner().invoke(app, ["import", case.table, str(path), "-w", str(ws), *case.args])
    out = result.output
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case.name}: {result.exception!r}"
    )
    if result.exit_code == 1:
        assert case.expect in (ERROR, EITHER), f"{case.name}: a valid file was refused: {out}"
        assert _snapshot(ws) == before, f"{case.name}: a failed import wrote something"
        _check_message(case, out.strip())
        return "error"
    assert result.exit_code == 0, f"{case.name}: exit {result.exit_code}: {out}"
    assert case.expect != ERROR, f"{case.name}: garbage was accepted: {out}"
    if case.expect == EITHER:
        return "either"
    sql, want, *params = case.expect
    assert _query(ws, sql, params) == want, f"{case.name}: stored the wrong data"
    return "accepted"


@pytest.mark.parametrize("case", SAMPLE, ids=[c.name for c in SAMPLE])
def test_a_sample_of_malformed_files(case: Case, template: Path, tmp_path: Path) -> None:
    run_case(case, template, tmp_path)


def tallies(outcomes: list[str]) -> str:
    n = Counter(outcomes)
    return (
        f"- files tried: {len(outcomes)}\n"
        f"- clean errors (exit 1, file/row/column/value/fix, nothing written): {n['error']}\n"
        f"- accepted and stored exactly as expected: {n['accepted']}\n"
        f"- accepted where either outcome is right (a file cut inside its last value, a "
        f"negative amount read as a return): {n['either']}\n"
        "- tracebacks: 0; partial writes: 0; garbage accepted silently: 0\n"
    )


@pytest.mark.slow
def test_every_malformed_file(template: Path, tmp_path: Path) -> None:
    failures, outcomes = [], []
    for i, case in enumerate(CASES):
        try:
            outcomes.append(run_case(case, template, tmp_path / str(i)))
        except AssertionError as exc:
            failures.append(f"{case.name}: {str(exc)[:300]}")
    assert not failures, "\n".join(failures)
    assert len(CASES) >= 300
    text = tallies(outcomes)
    assert text in RELIABILITY.read_text(encoding="utf-8"), (
        "docs/reliability.md, section 'Malformed files', should list:\n" + text
    )
