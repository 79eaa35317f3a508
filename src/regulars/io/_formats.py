"""Reading source files into a staging table of text columns.

Every reader streams the file into the temporary table ``_rg_raw0`` (one VARCHAR
column per source column, in file order) through DuckDB's own readers; only Excel
goes through Python (openpyxl in read-only mode, in Arrow batches).  The view
``_rg_raw`` adds ``_row``, the 1-based data row.  A Parquet file is not copied:
``_rg_raw`` reads it in place, its columns as text, numbered by ``file_row_number``.
Lines DuckDB cannot parse (too many or too few fields, broken quoting, bad
encoding) are collected as ``structural`` problems with their line number.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from regulars.errors import SchemaError
from regulars.io._mapping import sql_ident, squash

__all__ = [
    "FORMATS",
    "RAW",
    "Staged",
    "detect_format",
    "drop_staging",
    "locate_rows",
    "stage_file",
]

FORMATS = ("csv", "tsv", "xlsx", "parquet", "jsonl", "whitespace")
RAW = "_rg_raw"
_RAW0 = "_rg_raw0"
_REJ = "_rg_rejects"
_REJ_SCAN = "_rg_rejects_scan"
LINE_COL = "__rg_line"
ERR_COL = "__rg_err"

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "iso8859-1": "latin-1"}
_BATCH = 10_000


@dataclass
class Staged:
    """A file staged into ``_rg_raw``."""

    path: Path
    format: str
    columns: list[str]
    rows: int
    has_line: bool = False
    has_err: bool = False
    structural: list[dict[str, Any]] = field(default_factory=list)
    text_path: Path | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    # Columns the file stores as numbers or as dates and times (Parquet): their text
    # is DuckDB's own, so there is no decimal comma or day/month order to detect.
    numeric: frozenset[str] = frozenset()
    temporal: frozenset[str] = frozenset()
    # Parquet columns also staged as stored (column -> (their SQL in ``_rg_raw``, their
    # type)): fields whose values the type proves read them without the text round trip.
    typed: dict[str, tuple[str, str]] = field(default_factory=dict)
    # A workbook read from several sheets: (sheet name, lines before it), in order; a
    # line of the staged rows is then that sheet's line plus its offset.
    sheets: list[tuple[str, int]] = field(default_factory=list)
    # What the reader did that the summary should say (sheets read or left out).
    remarks: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.path.name

    def sheet_line(self, line: int) -> tuple[str, int]:
        """("", line), or for a workbook read from several sheets, the sheet of a
        staged line and its line there."""
        if len(self.sheets) < 2 or line <= 0:  # one sheet, or no line known
            return "", line
        name, offset = next(s for s in reversed(self.sheets) if s[1] < line)
        return name, line - offset


def detect_format(path: Path, format: str | None) -> str:
    """The format named by ``format``, else by the file extension."""
    if format is not None:
        fmt = format.lower().lstrip(".")
        fmt = {"excel": "xlsx", "json": "jsonl", "ndjson": "jsonl", "txt": "csv"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise SchemaError(f"Unknown format {format!r}. Valid formats: {', '.join(FORMATS)}.")
        return fmt
    ext = path.suffix.lower()
    if ext == ".gz":
        ext = Path(path.stem).suffix.lower()
        if ext not in (".csv", ".tsv", ".txt", ".tab", ".jsonl", ".ndjson", ".json"):
            raise SchemaError(
                f"{path.name}: only gzipped text files (.csv.gz, .tsv.gz, .jsonl.gz) can be "
                "read. Decompress it first, or pass --format."
            )
    if ext == ".xls":
        raise SchemaError(
            f"{path.name} is an old Excel 97-2003 workbook (.xls), which regulars cannot "
            "read. Save it as .xlsx or CSV in Excel and import that file."
        )
    if ext not in _EXTENSIONS:
        raise SchemaError(
            f"Cannot tell the format of {path.name} from its extension {ext or '(none)'!r}. "
            f"Pass --format with one of: {', '.join(FORMATS)}."
        )
    if ext == ".txt" and _looks_whitespace_separated(path):
        return "whitespace"
    return _EXTENSIONS[ext]


def _looks_whitespace_separated(path: Path) -> bool:
    """A ``.txt`` file whose first line has no comma, semicolon, tab or bar but at
    least two fields between spaces (the CDNOW transaction files): read as
    ``whitespace``, as ``--format whitespace`` would."""
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False  # the reader says what is wrong with the file
    if b"\x00" in head:  # UTF-16 and binary files keep the CSV reader and its errors
        return False
    line = next((ln for ln in head.decode("latin-1").splitlines() if ln.strip()), "")
    return not any(sep in line for sep in ",;\t|") and len(line.split()) >= 2


def _duck_message(exc: BaseException) -> str:
    text = str(exc).split("\n\n  file =")[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("Possible", "*", "LINE "))]
    msg = " ".join(lines[:3])
    return re.sub(r"^(Invalid Input Error|IO Error|Conversion Error):\s*", "", msg)


def _norm_encoding(encoding: str | None, label: str = "the file") -> str:
    if not encoding:
        return "utf-8"
    hint = "Use a text encoding such as utf-8, cp1252, latin-1, cp1251, utf-16 or shift_jis."
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise SchemaError(f"Cannot read {label}: unknown encoding {encoding!r}. {hint}") from None
    # base64, zlib, rot13...: codecs that do not turn bytes into text.
    if not getattr(info, "_is_text_encoding", True) or info.name in ("rot-13", "rot13"):
        raise SchemaError(
            f"Cannot read {label}: --encoding {encoding!r} is not a text encoding. {hint}"
        )
    return info.name


@contextlib.contextmanager
def _text_source(
    path: Path, encoding: str, native: Sequence[str] = tuple(_DUCKDB_ENCODINGS)
) -> Iterator[tuple[Path, str]]:
    """The file as DuckDB can read it: itself, or a temporary UTF-8 copy.

    Transcoding streams 1 MiB chunks through an incremental decoder, so memory
    stays constant whatever the file size.
    """
    if encoding in native:
        yield path, _DUCKDB_ENCODINGS[encoding]
        return
    fd, tmp = tempfile.mkstemp(prefix="regulars-", suffix=".utf8.txt")
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        offset, lines = 0, 1
        with _open_bytes(path) as src, os.fdopen(fd, "wb") as dst:
            chunk: bytes | None = b""
            while chunk is not None:
                chunk = src.read(1 << 20) or None
                try:
                    text = decoder.decode(chunk or b"", final=chunk is None)
                except UnicodeError as exc:
                    start = getattr(exc, "start", 0)
                    raise SchemaError(
                        f"{path.name}, line {lines:,} (byte {offset + start:,}): the bytes "
                        f"are not valid {encoding} text ({getattr(exc, 'reason', exc)}). "
                        "Nothing was imported. Fix: pass the file's real --encoding (utf-8, "
                        "cp1252, cp1251, latin-1; utf-16 files start with a byte-order "
                        "mark), or save it as UTF-8."
                    ) from None
                lines += text.count("\n")
                dst.write(text.encode("utf-8", errors="surrogatepass"))
                offset += len(chunk or b"")
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError | EOFError):
            raise SchemaError(
                f"Cannot read {path.name}: {exc}. Nothing was imported. Fix: check that the "
                "file is complete and readable (a gzipped file may be cut off)."
            ) from None
        raise
    try:
        yield Path(tmp), "utf-8"
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzipped (DuckDB reads .gz itself)."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _first_line(path: Path, encoding: str) -> str:
    try:
        with _open_bytes(path) as f:
            head = f.read(1 << 20)
    except (OSError, EOFError) as exc:
        raise SchemaError(
            f"Cannot read {path.name}: {exc}. Nothing was imported. Fix: check that the file "
            "is complete and readable (a gzipped file may be cut off)."
        ) from None
    if not head.strip():
        raise SchemaError(
            f"{path.name} is empty: it has no header row and no data. Fix: export the file "
            "again, with a header row and its data rows."
        )
    try:
        text = head.decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 8:  # not just a character cut at the chunk end
            raise SchemaError(
                f"{path.name} is not valid {encoding} text (byte {exc.start:,} cannot be "
                "decoded). If it was saved by Excel or an older system, pass --encoding "
                "cp1252 (Western Europe), cp1251 (Cyrillic) or latin-1."
            ) from None
        text = head[: exc.start].decode(encoding)
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise SchemaError(
            f"{path.name} contains NUL bytes, so it is not a text file in {encoding}. "
            "If it is UTF-16, pass --encoding utf-16; if it is a spreadsheet or Parquet "
            "file, give it its real extension or pass --format."
        )
    return text


def _header(text: str, delimiter: str | None) -> tuple[str, list[str]]:
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    if delimiter is None:
        counts = {d: _count_outside_quotes(first, d) for d in (",", ";", "\t", "|")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    return delimiter, _clean_names(row)


def _count_outside_quotes(line: str, delim: str) -> int:
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            n += 1
    return n


def _clean_names(names: Sequence[Any]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names, start=1):
        name = str(raw).replace("\ufeff", "").strip() if raw is not None else ""
        name = name or f"column{i}"
        if name.startswith("__rg_"):
            name = name[2:]
        base, n = name, 2
        while name.lower() in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name.lower())
        out.append(name)
    return out


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP VIEW IF EXISTS {RAW}")
    for t in (_RAW0, _REJ, _REJ_SCAN):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _rowid_base(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """The first rowid of ``table``, whose rowids run on without gaps.

    Inside a transaction DuckDB numbers new rows from 2**55, so row numbers are
    taken relative to the first rowid.
    """
    row = con.execute(f"SELECT min(rowid), max(rowid), count(*) FROM {table}").fetchone()
    lo, hi, n = row or (None, None, 0)
    if lo is None:
        return 0
    if int(hi) - int(lo) + 1 != int(n):  # never seen; keep file order anyway
        raise SchemaError(f"Internal error: staging rows of {table} are not contiguous.")
    return int(lo)


def _finish(con: duckdb.DuckDBPyConnection, staged: Staged) -> Staged:
    base = _rowid_base(con, _RAW0)
    con.execute(f"CREATE TEMP VIEW {RAW} AS SELECT rowid - {base} + 1 AS _row, * FROM {_RAW0}")
    row = con.execute(f"SELECT count(*) FROM {_RAW0}").fetchone()
    staged.rows = int(row[0]) if row else 0
    if staged.rows == 0 and not staged.structural:
        raise SchemaError(
            f"{staged.label} has a header but no data rows. Nothing was imported. Fix: check "
            "that the export includes its data (filters, date range)."
        )
    return staged


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    *,
    encoding: str | None,
    stack: contextlib.ExitStack,
    whitespace_columns: dict[int, tuple[str, ...]] | None = None,
) -> Staged:
    """Stream ``path`` into ``_rg_raw`` and describe what was read."""
    if not path.is_file():
        raise SchemaError(f"File not found: {path}. Check the path.")
    drop_staging(con)
    enc = _norm_encoding(encoding, path.name)
    if fmt in ("csv", "tsv"):
        return _stage_csv(con, path, fmt, enc, stack)
    if fmt == "whitespace":
        return _stage_whitespace(con, path, enc, stack, whitespace_columns or {})
    if fmt == "jsonl":
        return _stage_jsonl(con, path, enc, stack)
    if fmt == "parquet":
        return _stage_parquet(con, path)
    return _stage_xlsx(con, path)


def _stage_csv(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, enc: str, stack: contextlib.ExitStack
) -> Staged:
    text_path, duck_enc = stack.enter_context(_text_source(path, enc))
    head = _first_line(text_path, "utf-8" if duck_enc == "utf-8" else "latin-1")
    delimiter, names = _header(head, "\t" if fmt == "tsv" else None)
    cols = "{" + ", ".join(f"{_sql_str(n)}: 'VARCHAR'" for n in names) + "}"
    try:
        con.execute(
            f"CREATE TEMP TABLE {_RAW0} AS SELECT * FROM read_csv({_sql_str(str(text_path))}, "
            f"delim={_sql_str(delimiter)}, quote='\"', escape='\"', header=true, "
            f"auto_detect=false, columns={cols}, encoding={_sql_str(duck_enc)}, "
            f"strict_mode=true, store_rejects=true, rejects_table='{_REJ}', "
            f"rejects_scan='{_REJ_SCAN}', max_line_size=16777216)"
        )
        rejects = con.execute(
            f"SELECT byte_position, line, error_type, csv_line, error_message FROM {_REJ} "
            "ORDER BY byte_position"
        ).fetchall()
    except duckdb.Error as exc:
        raise SchemaError(
            f"Cannot read {path.name} as {fmt.upper()}: {_duck_message(exc)}. Nothing was "
            "imported. Fix: check that the file is a complete delimited text file, or pass "
            "--format."
        ) from None
    staged = Staged(path, fmt, names, 0, text_path=text_path, delimiter=delimiter, encoding=enc)
    # DuckDB may log one line more than once (once per missing column): keep one.
    rejects = list({int(r[0] or 0): r for r in reversed(rejects)}.values())[::-1]
    if rejects:
        lines = _lines_at(text_path, [int(r[0] or 0) for r in rejects])
        for (_pos, line, etype, csv_line, msg), real in zip(rejects, lines, strict=True):
            text = str(csv_line or "").strip("\r\n")
            staged.structural.append(
                {
                    "line": real or int(line),
                    "kind": str(etype),
                    "text": text[:200],
                    "message": _reject_message(str(etype), str(msg), names, delimiter, text),
                    "fix": _REJECT_FIXES.get(str(etype), "correct or remove the line"),
                }
            )
    return _finish(con, staged)


_REJECT_FIXES = {
    "TOO MANY COLUMNS": "quote values that contain the separator, and check for cut-off lines",
    "MISSING COLUMNS": "quote values that contain the separator, and check for cut-off lines",
    "INVALID ENCODING": "pass the file's --encoding (for example cp1252 or cp1251), or save "
    "it as UTF-8",
    "INVALID UNICODE": "pass the file's --encoding (for example cp1252 or cp1251), or save "
    "it as UTF-8",
    "UNQUOTED VALUE": 'close the quote, or double the quotes inside a quoted value ("")',
}


def _reject_message(etype: str, msg: str, names: Sequence[str], delimiter: str, text: str) -> str:
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, delimiter)
    if etype in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        try:
            n: object = len(next(csv.reader(io.StringIO(text), delimiter=delimiter)))
        except (csv.Error, StopIteration):
            found = re.search(r"Found: (\d+)", msg)
            n = found.group(1) if found else "a different number of"
        return (
            f"has {n} fields but the header has {len(names)} (fields are separated by "
            f"{shown}; quote values that contain it, and check for cut-off lines)"
        )
    if etype in ("INVALID ENCODING", "INVALID UNICODE"):
        return "is not valid UTF-8 text (pass --encoding, for example cp1252 or cp1251)"
    if etype == "UNQUOTED VALUE":
        return 'has a quote (") that is never closed'
    return msg.split("\n")[0]


def _lines_at(path: Path, positions: list[int]) -> list[int]:
    """1-based line numbers of byte ``positions`` (sorted), counting newlines."""
    out: list[int] = []
    if not positions:
        return out
    lines, offset, i = 1, 0, 0
    with _open_bytes(path) as f:
        while i < len(positions) and (chunk := f.read(1 << 20)):
            while i < len(positions) and positions[i] < offset + len(chunk):
                out.append(lines + chunk.count(b"\n", 0, positions[i] - offset))
                i += 1
            lines += chunk.count(b"\n")
            offset += len(chunk)
    out.extend([0] * (len(positions) - len(out)))
    return out


def locate_rows(staged: Staged, rows: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Map staged ``_row`` numbers to (data row in the file, line) for messages."""
    wanted = set(rows)
    if not wanted:
        return {}
    if staged.format not in ("csv", "tsv") or staged.text_path is None:
        return {r: (r, 0) for r in wanted}
    found: dict[int, tuple[int, int]] = {}
    ncols = len(staged.columns)
    last = max(wanted)
    with io.TextIOWrapper(
        _open_bytes(staged.text_path), encoding="utf-8-sig", errors="replace", newline=""
    ) as f:
        reader = csv.reader(f, delimiter=staged.delimiter)
        prev_end, file_row, duck_row, header = 0, 0, 0, True
        for record in reader:
            start, prev_end = prev_end + 1, reader.line_num
            if not record:
                continue
            if header:
                header = False
                continue
            file_row += 1
            if len(record) != ncols:
                continue
            duck_row += 1
            if duck_row in wanted:
                found[duck_row] = (file_row, start)
                if duck_row >= last:
                    break
    return {r: found.get(r, (r, 0)) for r in wanted}


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _stage_whitespace(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    enc: str,
    stack: contextlib.ExitStack,
    named: dict[int, tuple[str, ...]],
) -> Staged:
    text_path, duck_enc = stack.enter_context(_text_source(path, enc))
    head = _first_line(text_path, "utf-8" if duck_enc == "utf-8" else "latin-1")
    first = next((ln for ln in head.splitlines() if ln.strip()), "").split()
    has_header = bool(first) and not re.fullmatch(r"[-+0-9.,]+", first[0])
    if has_header:
        names = _clean_names(first)
    else:
        names = list(named.get(len(first), [f"column{i}" for i in range(1, len(first) + 1)]))
    try:
        con.execute(
            f"CREATE TEMP TABLE _rg_lines AS SELECT line FROM read_csv("
            f"{_sql_str(str(text_path))}, columns={{'line': 'VARCHAR'}}, delim='\x1f', "
            f"quote='', escape='', header=false, auto_detect=false, "
            f"encoding={_sql_str(duck_enc)}, max_line_size=16777216)"
        )
        n = len(names)
        base = _rowid_base(con, "_rg_lines")
        parts = ", ".join(f"p[{i + 1}] AS {sql_ident(c)}" for i, c in enumerate(names))
        con.execute(
            f"CREATE TEMP TABLE {_RAW0} AS SELECT {parts}, ln AS {LINE_COL}, "
            f"CASE WHEN len(p) <> {n} THEN 'has ' || len(p) || ' fields, expected {n} "
            f"(' || {_sql_str(', '.join(names))} || ')' END AS {ERR_COL} "
            f"FROM (SELECT string_split_regex(trim(line, ' \t' || chr(65279)), '\\s+') AS p, "
            f"rowid - {base} + 1 AS ln "
            f"FROM _rg_lines WHERE trim(coalesce(line, '')) <> '') "
            f"WHERE ln > {1 if has_header else 0} ORDER BY ln"
        )
        con.execute("DROP TABLE _rg_lines")
    except duckdb.Error as exc:
        raise SchemaError(
            f"Cannot read {path.name}: {_duck_message(exc)}. Fix: check the file, or pass --format."
        ) from None
    return _finish(con, Staged(path, "whitespace", names, 0, has_line=True, has_err=True))


def _stage_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, enc: str, stack: contextlib.ExitStack
) -> Staged:
    # DuckDB's JSON reader is UTF-8 only: anything else is transcoded.
    text_path, _ = stack.enter_context(_text_source(path, enc, native=("utf-8",)))
    _first_line(text_path, "utf-8")
    src = _sql_str(str(text_path))
    try:
        keys = [
            str(r[0])
            for r in con.execute(
                "SELECT k FROM (SELECT unnest(ks) AS k, r FROM (SELECT json_keys(json) AS ks, "
                f"row_number() OVER () AS r FROM read_json_objects({src}, format='auto') "
                "WHERE json_type(json) = 'OBJECT')) GROUP BY k ORDER BY min(r), k"
            ).fetchall()
        ]
        if not keys:
            raise SchemaError(
                f"{path.name} has no JSON objects with fields. Expected one object per "
                'line, such as {"order_id": "A-1", "customer_id": "C-1", ...}.'
            )
        names = _clean_names(keys)
        cols = "{" + ", ".join(f"{_sql_str(k)}: 'VARCHAR'" for k in keys) + "}"
        renames = ", ".join(
            f"{sql_ident(k)} AS {sql_ident(n)}" for k, n in zip(keys, names, strict=True)
        )
        con.execute(
            f"CREATE TEMP TABLE {_RAW0} AS SELECT {renames} FROM read_json({src}, "
            f"format='auto', records=true, columns={cols}, maximum_object_size=16777216)"
        )
    except duckdb.Error as exc:
        raise SchemaError(
            f"Cannot read {path.name} as JSON Lines: {_duck_message(exc)}. Nothing was "
            "imported. Fix: correct that line (one complete JSON object per line), or check "
            "that the file is not cut off."
        ) from None
    return _finish(con, Staged(path, "jsonl", names, 0))


# Parquet types a field may read as stored (see FieldSpec.read_typed).
_TYPED = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "DATE", "TIMESTAMP")


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    src = _sql_str(str(path))
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet({src})").fetchall()
        keys = [str(r[0]) for r in desc]
        names = _clean_names(keys)
        sel = ", ".join(
            f"CAST({sql_ident(k)} AS VARCHAR) AS {sql_ident(n)}"
            for k, n in zip(keys, names, strict=True)
        )
        # Numbers and dates also as stored, under names no file column can take
        # (_clean_names renames "__rg_…"): a step that reads only these never
        # formats the values as text (a view computes only the columns read).
        lower = {n.lower() for n in names}
        typed = {
            n: (sql_ident(f"__rg_t_{n}"), str(r[1]).upper())
            for n, r in zip(names, desc, strict=True)
            if str(r[1]).upper().startswith(_TYPED) and f"__rg_t_{n}".lower() not in lower
        }
        for k, n in zip(keys, names, strict=True):
            if n in typed:
                sel += f", {sql_ident(k)} AS {typed[n][0]}"
        # A Parquet file is read in place, not copied: every step streams its row
        # groups again (``file_row_number`` numbers the rows in file order), so a file
        # of any size stages in no memory and no spill space.
        con.execute(
            f"CREATE TEMP VIEW {RAW} AS SELECT CAST(file_row_number AS BIGINT) + 1 AS _row, "
            f"{sel} FROM read_parquet({src}, file_row_number = true)"
        )
        row = con.execute(
            f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata({src})"
        ).fetchone()
    except duckdb.Error as exc:
        raise SchemaError(
            f"Cannot read {path.name} as Parquet: {_duck_message(exc)}. Nothing was imported. "
            "Fix: write the Parquet file again (it may be cut off or damaged), or pass "
            "--format if it is not Parquet."
        ) from None
    if not names:
        raise SchemaError(f"{path.name} has no columns. Fix: check the file.")
    types = {n: str(r[1]).upper() for n, r in zip(names, desc, strict=True)}
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
    staged = Staged(
        path,
        "parquet",
        names,
        int(row[0]) if row else 0,
        numeric=frozenset(n for n, t in types.items() if t.startswith(numeric)),
        temporal=frozenset(n for n, t in types.items() if t in ("DATE", "TIMESTAMP")),
        typed=typed,
    )
    if staged.rows == 0:
        raise SchemaError(
            f"{staged.label} has a header but no data rows. Nothing was imported. Fix: check "
            "that the export includes its data (filters, date range)."
        )
    return staged


def _cell(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def _stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    import openpyxl
    import pyarrow as pa

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise SchemaError(
            f"Cannot read {path.name} as an Excel workbook (.xlsx): {type(exc).__name__}"
            f"{': ' + str(exc) if str(exc) else ''}. Open it in Excel and save it as .xlsx "
            "or CSV."
        ) from None
    try:
        if not wb.worksheets:
            raise SchemaError(f"{path.name} has no worksheet. Fix: save it again from Excel.")
        names: list[str] | None = None
        line = 0
        batch: list[list[str | None]] = []
        lines: list[int] = []
        sheets: list[tuple[str, int]] = []
        other: list[str] = []

        def flush() -> None:
            assert names is not None
            data = {n: [r[i] for r in batch] for i, n in enumerate(names)}
            data[LINE_COL] = lines  # type: ignore[assignment]
            tbl = pa.table(
                data,
                schema=pa.schema(
                    [pa.field(n, pa.string()) for n in names] + [pa.field(LINE_COL, pa.int64())]
                ),
            )
            con.register("_rg_xlsx_batch", tbl)
            try:
                con.execute(f"INSERT INTO {_RAW0} SELECT * FROM _rg_xlsx_batch")
            finally:
                con.unregister("_rg_xlsx_batch")
            batch.clear()
            lines.clear()

        # The first sheet with a header row gives the columns; every later sheet whose
        # header row names the same columns is more of the same table (a workbook of
        # one sheet per year, as the Online Retail II data set), and is read too.
        for sheet in wb.worksheets:
            offset, header = line, None
            for values in sheet.iter_rows(values_only=True):
                line += 1
                cells = [_cell(v) for v in values]
                if not any(c is not None and c.strip() for c in cells):
                    continue
                if header is None:
                    while cells and cells[-1] is None:
                        cells.pop()
                    header = _clean_names(cells)
                    if names is None:
                        names = header
                        cols = ", ".join(f"{sql_ident(n)} VARCHAR" for n in names)
                        con.execute(f"CREATE TEMP TABLE {_RAW0} ({cols}, {LINE_COL} BIGINT)")
                    if list(map(squash, header)) != list(map(squash, names)):
                        other.append(sheet.title)
                        break
                    sheets.append((sheet.title, offset))
                    continue
                assert names is not None  # set with the first header row
                cells = (cells + [None] * len(names))[: len(names)]
                batch.append(cells)
                lines.append(line)
                if len(batch) >= _BATCH:
                    flush()
        if names is None:
            raise SchemaError(
                f"{path.name} is empty: none of its sheets has a header row. Fix: put the "
                "table on the first sheet, with a header row."
            )
        if batch:
            flush()
    except SchemaError:
        raise
    except Exception as exc:  # a damaged sheet can fail half-way
        raise SchemaError(
            f"Cannot read {path.name} as an Excel workbook: {type(exc).__name__}: {exc}. "
            "Nothing was imported. Fix: open it in Excel and save it as .xlsx or CSV."
        ) from None
    finally:
        wb.close()
    staged = Staged(path, "xlsx", names, 0, has_line=True, sheets=sheets)
    if len(sheets) > 1:
        read = ", ".join(repr(name) for name, _ in sheets)
        staged.remarks.append(
            f"Read {len(sheets)} sheets with the same columns, one after the other: {read}."
        )
    if other:
        staged.remarks.append(
            "Left out the sheets whose header row names other columns: "
            f"{', '.join(map(repr, other))} (save one as its own file to import it)."
        )
    return _finish(con, staged)
