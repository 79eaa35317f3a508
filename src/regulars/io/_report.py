"""Collecting invalid rows and turning them into messages.

Row problems come from the error codes of ``_rg_typed`` (one per field, plus
cross-field checks); group problems (lines of one order that disagree, one key with
different values) are added by the table's pipeline.  Every bad row lands in
``_rg_bad`` with its reason, which is what ``--skip-invalid`` writes next to the
input.  The first :data:`MAX_PROBLEMS` problems become the error message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from regulars.errors import ImportDataError
from regulars.io._formats import LINE_COL, RAW, Staged, locate_rows
from regulars.io._parse import CODES, FieldSpec, describe, sql_str

__all__ = [
    "BAD",
    "MAX_PROBLEMS",
    "Check",
    "Problem",
    "collect_row_problems",
    "raise_problems",
]

BAD = "_rg_bad"
ROWBAD = "_rg_rowbad"
MAX_PROBLEMS = 10


@dataclass(frozen=True)
class Check:
    """A row-level check that is not about one field's text (cross-field rules)."""

    name: str
    label: str
    code_sql: str
    texts: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    field: str = ""
    raw: str = ""  # SQL of the field's raw text, to show the value

    @property
    def e(self) -> str:
        return f'"{self.name}__e"'


@dataclass
class Problem:
    """One problem for the error message."""

    row: int
    column: str = ""
    field: str = ""
    value: str | None = None
    what: str = ""
    expected: str = ""
    fix: str = ""
    line: int = 0
    order: str | None = None
    sheet: str = ""

    def as_dict(self, file: str) -> dict[str, object]:
        return {
            "file": file,
            "row": self.row,
            "line": self.line,
            **({"sheet": self.sheet} if self.sheet else {}),
            "column": self.column,
            "field": self.field,
            "value": self.value,
            "expected": self.expected,
            "fix": self.fix,
            "message": self.message(file),
        }

    def message(self, file: str) -> str:
        where = f"{file}, row {self.row:,}" if self.row else file
        if self.sheet:
            where += f' (sheet "{self.sheet}", line {self.line:,})'
        elif self.line and self.line != self.row + 1:
            where += f" (line {self.line:,})" if self.row else f", line {self.line:,}"
        if self.order is not None:
            where += f', order "{self.order}"'
        if self.column:
            where += f', column "{self.column}"' + (f" ({self.field})" if self.field else "")
        value = "" if self.value is None else f'"{_short(self.value)}" '
        text = f"{where}: {value}{self.what}"
        if self.expected:
            text += f" (expected {self.expected})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text + "."


def _short(v: str, n: int = 60) -> str:
    """The value as shown in a message: control characters made visible, cut at ``n``."""
    v = _CONTROL.sub(_visible, v)
    return v if len(v) <= n else v[: n - 1] + "…"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{ord(ch):02x}")


def _reason_sql(spec: FieldSpec, raw: str) -> str:
    label = sql_str(f'column "{spec.source.label}" ({spec.name}): ')
    whens = " ".join(f"WHEN {sql_str(c)} THEN {sql_str(w)}" for c, w in CODES.items())
    shown = f"left(replace({raw}, chr(10), ' '), 60)"
    return (
        f"CASE WHEN {spec.e} IS NOT NULL THEN {label} || CASE WHEN {raw} IS NULL THEN "
        f"'is empty' ELSE '\"' || {shown} || '\" ' || CASE {spec.e} {whens} ELSE {spec.e} "
        "END END END"
    )


def _check_reason_sql(check: Check) -> str:
    whens = " ".join(f"WHEN {sql_str(c)} THEN {sql_str(t[0])}" for c, t in check.texts.items())
    label = sql_str(f'column "{check.label}" ({check.field}): ' if check.label else "")
    what = f"CASE {check.e} {whens} ELSE {check.e} END" if whens else check.e
    return f"CASE WHEN {check.e} IS NOT NULL THEN {label} || {what} END"


def collect_row_problems(
    con: duckdb.DuckDBPyConnection,
    specs: Sequence[FieldSpec],
    checks: Sequence[Check],
    *,
    keep: str,
    none: bool = False,
) -> int:
    """Write rows with field errors to ``_rg_bad``; return how many there are.

    ``keep`` is a SQL condition on ``_rg_typed`` rows that are imported at all (rows
    left out by a preset are never errors).  ``none``: a pass over the rows already
    found none, so the tables are made empty without reading the rows.
    """
    codes = [s.e for s in specs] + [c.e for c in checks]
    if none and codes:
        con.execute(
            f"CREATE TEMP TABLE {ROWBAD} AS SELECT _row, {', '.join(codes)} FROM _rg_typed LIMIT 0"
        )
        con.execute(f"CREATE TEMP TABLE {BAD} (_row BIGINT, reason VARCHAR, own BOOLEAN)")
        return 0
    if not codes:
        con.execute(f"CREATE TEMP TABLE {ROWBAD} (_row BIGINT)")
        con.execute(f"CREATE TEMP TABLE {BAD} (_row BIGINT, reason VARCHAR, own BOOLEAN)")
        return 0
    any_code = " OR ".join(f"{c} IS NOT NULL" for c in codes)
    con.execute(
        f"CREATE TEMP TABLE {ROWBAD} AS SELECT _row, {', '.join(codes)} FROM _rg_typed "
        f"WHERE ({any_code}) AND ({keep})"
    )
    raws = ", ".join(f'{s.raw_sql()} AS "{s.name}__raw"' for s in specs) or "NULL AS _none"
    reasons = [_reason_sql(s, f'raw."{s.name}__raw"') for s in specs]
    reasons += [_check_reason_sql(c) for c in checks]
    con.execute(
        f"CREATE TEMP TABLE {BAD} AS SELECT b._row, concat_ws('; ', {', '.join(reasons)}) "
        f"AS reason, true AS own FROM {ROWBAD} b JOIN (SELECT _row, {raws} FROM {RAW} "
        f"WHERE _row IN (SELECT _row FROM {ROWBAD})) raw ON raw._row = b._row"
    )
    row = con.execute(f"SELECT count(*) FROM {ROWBAD}").fetchone()
    return int(row[0]) if row else 0


def first_row_problems(
    con: duckdb.DuckDBPyConnection,
    specs: Sequence[FieldSpec],
    checks: Sequence[Check],
    limit: int = MAX_PROBLEMS,
) -> list[Problem]:
    named: list[tuple[str, str]] = [(s.name, s.e) for s in specs]
    named += [(c.name, c.e) for c in checks]
    parts = [
        f"SELECT _row, {i} AS ord, {sql_str(name)} AS fld, {e} AS code FROM {ROWBAD} "
        f"WHERE {e} IS NOT NULL"
        for i, (name, e) in enumerate(named)
    ]
    if not parts:
        return []
    hits = con.execute(
        f"SELECT _row, fld, code FROM ({' UNION ALL '.join(parts)}) ORDER BY _row, ord "
        f"LIMIT {limit}"
    ).fetchall()
    if not hits:
        return []
    by_name = {s.name: s for s in specs}
    rows = sorted({int(h[0]) for h in hits})
    raw_of = {s.name: s.raw_sql() for s in specs}
    raw_of.update({c.field: c.raw for c in checks if c.raw and c.field not in raw_of})
    raw_cols = ", ".join(f'{sql} AS "{n}"' for n, sql in raw_of.items()) or "NULL AS _none"
    raw_rows = con.execute(
        f"SELECT _row, {raw_cols} FROM {RAW} WHERE _row IN ({', '.join(map(str, rows))})"
    ).fetchall()
    names = ["_row", *raw_of]
    raws = {int(r[0]): dict(zip(names, r, strict=True)) for r in raw_rows}
    checks_by = {c.name: c for c in checks}
    out = []
    for row, fld, code in hits:
        spec = by_name.get(fld)
        if spec is not None:
            what, expected, fix = describe(spec, str(code))
            value = raws.get(int(row), {}).get(fld)
            if code == "empty":
                value = None
            out.append(
                Problem(
                    int(row),
                    spec.source.label,
                    fld,
                    None if value is None else str(value),
                    what,
                    expected,
                    fix,
                )
            )
        else:
            chk = checks_by[fld]
            what, expected, fix = chk.texts.get(str(code), (str(code), "", ""))
            value = raws.get(int(row), {}).get(chk.field) if chk.field in raw_of else None
            out.append(
                Problem(
                    int(row),
                    chk.label,
                    chk.field,
                    None if value is None else str(value),
                    what,
                    expected,
                    fix,
                )
            )
    return out


def raise_problems(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    problems: list[Problem],
    *,
    bad_rows: int,
    rejected_name: str,
) -> None:
    """Raise the ImportDataError that lists ``problems`` (nothing was written)."""
    structural = [
        Problem(
            0,
            what=f"{s['message']}: {_short(s['text'], 80)!r}",
            line=int(s["line"]),
            fix=str(s.get("fix", "")),
        )
        for s in staged.structural
    ]
    total = bad_rows + len(structural)
    rows = sorted({p.row for p in problems if p.row})
    if staged.has_line and rows:
        got = dict(
            con.execute(
                f"SELECT _row, {LINE_COL} FROM {RAW} WHERE _row IN ({', '.join(map(str, rows))})"
            ).fetchall()
        )
        for p in problems:
            p.sheet, p.line = staged.sheet_line(int(got.get(p.row, 0) or 0))
    elif staged.format in ("csv", "tsv") and rows:
        located = locate_rows(staged, rows)
        for p in problems:
            if p.row in located:
                p.row, p.line = located[p.row]
    shown = (structural + sorted(problems, key=lambda p: p.row))[:MAX_PROBLEMS]
    noun = "row is" if total == 1 else "rows are"
    lines = [f"{staged.label}: {total:,} {noun} invalid, so nothing was imported."]
    lines += [f"  - {p.message(staged.label)}" for p in shown]
    if total > len(shown):
        lines.append(f"  ... {total:,} invalid rows in all.")
    lines.append(
        "Fix these rows and import again, or pass --skip-invalid to import the valid rows "
        f"and write the rejected ones, each with its reason, to {rejected_name} (or to "
        "--rejects PATH)."
    )
    raise ImportDataError(
        "\n".join(lines),
        problems=[p.as_dict(staged.label) for p in shown],
        bad_rows=total,
    )
