"""``import_file``: one file into one contract table, in one transaction.

An import of orders whose file bytes and options are those of the last import, into
data unchanged since, reports that import's result and writes nothing (:mod:`._repeat`).
Otherwise the steps, all inside one DuckDB transaction (so a crash or a kill leaves
the workspace exactly as it was):

1. stream the file into a staging table of text columns, or read a Parquet file in
   place as text (:mod:`._formats`); DuckDB's memory and spill space are bounded by
   the import's budget (:mod:`._memory`);
2. map source columns onto contract fields (:mod:`._mapping`);
3. look at whole columns to settle decimal commas and day/month order, then parse
   every field in SQL into typed values and error codes (:mod:`._parse`; Parquet
   numbers and dates whose type proves their value are read as stored).  The typed
   rows of a Parquet file are a view that each later step reads again; those of
   other files, a table in a scratch database;
4. group lines into orders (:mod:`._orders`; a file with one line per order id is
   not grouped), or check that each natural key has one set of values (other tables);
5. refuse the import and list the problems, or, with ``skip_invalid``, write the
   rejected rows next to the input;
6. upsert by natural key, keep order lines, create missing customers, commit.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from regulars.errors import SchemaError, WorkspaceError
from regulars.io import _orders, _repeat
from regulars.io._formats import ERR_COL, RAW, Staged, detect_format, drop_staging, stage_file
from regulars.io._mapping import CURRENCY, CUSTOMER_EXTRAS, Plan, resolve_plan, sql_ident
from regulars.io._memory import ENV_VAR, SPILL_ENV_VAR, ImportBudget, budget
from regulars.io._parse import FieldSpec, kind_of, sql_str
from regulars.io._presets import PRESETS, Preset, TablePreset
from regulars.io._progress import Steps
from regulars.io._report import (
    BAD,
    MAX_PROBLEMS,
    Check,
    Problem,
    collect_row_problems,
    first_row_problems,
    raise_problems,
)
from regulars.io._result import ImportResult, plural
from regulars.io._rules import referral_cycles, row_checks
from regulars.io._write import write_rejected, write_rows
from regulars.schema import TABLES, Table

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["IMPORTABLE_TABLES", "ImportResult", "import_file"]

IMPORTABLE_TABLES = tuple(name for name, t in TABLES.items() if t.importable)

_NONNEG = {("subscriptions", "price"), ("spend", "amount"), ("orders", "cost")}
_MAGNITUDE = {("orders", "discount"), ("orders", "refund_amount")}
# The scratch database of an import (see _scratch).
SCRATCH = "_rg_scratch"
_TEMP = (
    "_rg_typed",
    "_rg_rowbad",
    BAD,
    "_rg_oskip",
    "_rg_ord",
    "_rg_out",
    "_rg_guests_out",
    "_rg_final",
    "_rg_lines_out",
    "_rg_keyed",
    "_rg_totals",
)


def _table(name: str) -> Table:
    if name not in IMPORTABLE_TABLES:
        raise SchemaError(
            f"Cannot import into {name!r}. Importable tables: {', '.join(IMPORTABLE_TABLES)}."
        )
    return TABLES[name]


def _preset(name: str | None, table: str) -> tuple[Preset | None, TablePreset | None]:
    if name is None:
        return None, None
    key = name.lower()
    if key not in PRESETS:
        raise SchemaError(f"Unknown preset {name!r}. Presets: {', '.join(sorted(PRESETS))}.")
    preset = PRESETS[key]
    tables = preset.get("tables", {})
    if table not in tables:
        raise SchemaError(
            f"Preset {key!r} has no column map for {table!r}; it covers "
            f"{', '.join(tables)}. Import {table} with --map FIELD=COLUMN instead."
        )
    return preset, tables[table]


@contextlib.contextmanager
def _settings(con: duckdb.DuckDBPyConnection, limits: ImportBudget) -> Iterator[None]:
    """DuckDB's settings during an import: its memory and spill budget; then the old ones."""
    names = (
        "memory_limit",
        "max_temp_directory_size",
        "preserve_insertion_order",
        "enable_progress_bar",
        "enable_progress_bar_print",
    )
    row = con.execute(
        f"SELECT {', '.join(f'current_setting({sql_str(n)})' for n in names)}"
    ).fetchone()
    old = dict(zip(names, row or (), strict=False))
    # Staging numbers rows in file order; later steps say their order themselves.
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar_print = false")  # regulars draws its own
    con.execute(f"SET memory_limit = '{max(limits.memory // 1024**2, 1)}MiB'")
    con.execute(f"SET max_temp_directory_size = '{max(limits.spill // 1024**2, 1)}MiB'")
    try:
        yield
    finally:
        for n in names:
            if n not in old:
                continue
            with contextlib.suppress(duckdb.Error):
                # RESET restores a default exactly; SET only from its rounded text.
                con.execute(f"RESET {n}")
                now = con.execute(f"SELECT current_setting({sql_str(n)})").fetchone()
                if now is None or str(now[0]) != str(old[n]):
                    con.execute(f"SET {n} = {sql_str(str(old[n]))}")


def import_file(
    workspace: Workspace,
    table: str,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    preset: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    decimal_comma: bool | None = None,
    skip_invalid: bool = False,
    rejects: str | Path | None = None,
    guest_revenue: str | None = None,
    clear_empty: bool = False,
    memory: str | None = None,
    progress: bool = False,
) -> ImportResult:
    """Import one file into a contract table, all or nothing.

    Parameters
    ----------
    workspace : Workspace
        An open, writable workspace.
    table : str
        ``customers``, ``orders``, ``subscriptions``, ``touches``, ``spend`` or
        ``feedback``.
    path : str or Path
        CSV, TSV, Excel (.xlsx), Parquet or JSON Lines file.
    mapping : dict, optional
        Contract field -> source column (``{"order_id": "Invoice"}``).  Columns whose
        normalised name equals a field name map themselves.
    preset : str, optional
        ``stripe``, ``shopify`` or ``cdnow`` (see ``regulars.io.PRESETS``).
    format : str, optional
        ``csv``, ``tsv``, ``xlsx``, ``parquet``, ``jsonl`` or ``whitespace``; by
        default from the file extension.
    encoding : str, optional
        Text encoding (default UTF-8, with or without BOM), for example ``cp1252``.
    date_format : str, optional
        strftime format of the date columns, for dates that are ambiguous.
    decimal_comma : bool, optional
        True: numbers use a decimal comma (``1.234,50``); False: a decimal point;
        None (default): decided per column from the data.
    skip_invalid : bool
        Import the valid rows and write the invalid ones, with a ``reason`` column,
        to ``<name>.rejected.csv`` next to the file (or to ``rejects``).  By
        default any invalid row stops the import and nothing is written.
    rejects : str or Path, optional
        Where ``skip_invalid`` writes the rejected rows (a CSV file).
    guest_revenue : {"exclude", "include"}, optional
        Whether the revenue of guest orders (rows without a customer id, kept in
        ``guest_orders``) counts in the business's revenue totals; default from
        ``[workspace] guest_revenue``.
    clear_empty : bool
        customers: an empty cell clears the stored value.  By default it keeps it
        (a re-import with fewer details never wipes names and emails).
    memory : str, optional
        DuckDB's memory limit during the import, such as ``"4GiB"`` or ``"25%"`` (of
        the machine's memory).  By default ``$REGULARS_IMPORT_MEMORY``, else
        ``[import] memory`` of ``regulars.toml``, else an eighth of the machine's
        memory (1 to 16 GiB).  Beyond it DuckDB spills to the workspace's
        temporary folder, up to ``[import] spill``.
    progress : bool
        Draw a progress bar on standard error.

    Returns
    -------
    ImportResult

    Raises
    ------
    ImportDataError
        Invalid rows (without ``skip_invalid``); ``problems`` lists the first ones.
    SchemaError
        The file cannot be read, or a required field has no column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from regulars.store import Workspace
    >>> ws = Workspace.init(tempfile.mkdtemp())
    >>> f = pathlib.Path(ws.path, "orders.csv")
    >>> _ = f.write_text("Invoice,Client,Date,Total\\nA-1,C-1,2024-03-01,120.50\\n")
    >>> r = import_file(ws, "orders", f, mapping={"order_id": "Invoice",
    ...     "customer_id": "Client", "order_date": "Date", "revenue": "Total"})
    >>> r.records, r.customers_created
    (1, 1)
    >>> ws.close()
    """
    started = time.perf_counter()
    t = _table(table)
    path = Path(path)
    preset_def, tpreset = _preset(preset, t.name)
    if format is None and preset_def is not None and preset_def.get("reader"):
        fmt = str(preset_def["reader"])
    else:
        fmt = detect_format(path, format)
    if tpreset and date_format is None:
        date_format = tpreset.get("date_format")
    if workspace.read_only:
        raise WorkspaceError(f"{workspace} is open read-only; reopen it to import.")
    con = workspace.con
    result = ImportResult(t.name, path, fmt)
    if guest_revenue is None:
        guest_revenue = workspace.config.workspace.guest_revenue
    if guest_revenue not in ("exclude", "include"):
        raise SchemaError(
            f"guest_revenue={guest_revenue!r} is not valid: use 'exclude' (default) or 'include'."
        )
    if rejects is not None and not skip_invalid:
        raise SchemaError(
            f"rejects={str(rejects)!r} needs skip_invalid: without it an invalid row stops "
            "the import and nothing is rejected. Pass --skip-invalid with --rejects."
        )
    rejected = (
        Path(rejects)
        if rejects is not None
        else path.with_name(path.name.rsplit(".", 1)[0] + ".rejected.csv")
    )
    fp = None
    if t.name == "orders" and not skip_invalid and path.is_file():
        options = {
            "table": t.name,
            "mapping": dict(mapping or {}),
            "preset": preset,
            "format": fmt,
            "encoding": encoding,
            "date_format": date_format,
            "decimal_comma": decimal_comma,
            "guest_revenue": guest_revenue,
            "currency": workspace.config.workspace.currency,
        }
        with contextlib.suppress(OSError):  # unreadable: the reader says why, below
            fp = _repeat.fingerprint(path, options)
        if fp is not None and (same := _repeat.previous(workspace, fp, path)) is not None:
            same.seconds = time.perf_counter() - started
            return same
    cfg = workspace.config.import_
    limits = budget(workspace.path, memory=memory, config_memory=cfg.memory, config_spill=cfg.spill)
    # Reading and typing the rows write nothing to the workspace: they run before its
    # transaction, so the typed rows can go to a scratch database (below).
    with (
        _engine_errors(path, limits),
        contextlib.ExitStack() as stack,
        _settings(con, limits),
        Steps(con, 4, enabled=progress) as steps,
        _dropped_after(con),
        contextlib.ExitStack() as writing,
    ):
        with steps.step(f"Reading {path.name}"):
            stamp = _stamp(path) if fmt == "parquet" else None
            staged = stage_file(
                con,
                path,
                fmt,
                encoding=encoding,
                stack=stack,
                whitespace_columns=preset_def.get("columns") if preset_def else None,
            )
        plan = resolve_plan(
            t,
            staged.columns,
            file_label=staged.label,
            mapping=mapping,
            preset=tpreset,
            preset_name=preset,
        )
        result.remarks.extend(staged.remarks)
        result.mapping = {n: s.label for n, s in plan.sources.items()}
        result.ignored_columns = plan.ignored
        if plan.guessed:
            shown = ", ".join(f"{c} → {f}" for f, c in plan.guessed.items())
            result.remarks.append(
                f"Columns mapped by their usual names: {shown} (override with --map)."
            )
        specs = _specs(plan, date_format=date_format, currency=workspace.config.workspace.currency)
        with steps.step("Checking values"):
            result.notes = _detect(con, staged, specs, decimal_comma)
            # Every later step numbers and orders rows by _row itself: without keeping
            # insertion order DuckDB streams and aggregates in less memory.
            con.execute("SET preserve_insertion_order = false")
            if staged.format != "parquet":
                stack.enter_context(_scratch(con, workspace))
            checks = _build_typed(con, staged, plan, specs, workspace.config.workspace.currency)
        writing.enter_context(workspace.transaction())
        writing.enter_context(workspace.import_target(con, t.name))  # a Parquet workspace
        with steps.step("Grouping" if t.name == "orders" else "Checking keys"):
            problems, bad_rows, skipped = _validate(
                con, plan, specs, checks, rows=staged.rows, clear_empty=clear_empty
            )
        if (bad_rows or staged.structural) and not skip_invalid:
            problems = first_row_problems(con, coded(specs), checks) + problems
            raise_problems(con, staged, problems, bad_rows=bad_rows, rejected_name=rejected.name)
        with steps.step(f"Writing {t.name}"):
            write_rows(con, workspace, plan, result, clear_empty=clear_empty)
            rej = con.execute(f"SELECT count(DISTINCT _row) FROM {BAD}").fetchone()
            result.rows_rejected = (int(rej[0]) if rej else 0) + len(staged.structural)
            if result.rows_rejected:
                write_rejected(con, staged, rejected)
                result.rejected_path = rejected
        if t.name == "orders":
            (
                result.guest_rows,
                result.guest_orders,
                result.guest_revenue,
                result.customer_revenue,
            ) = _orders.guest_totals(con)
            result.guests_in_totals = guest_revenue == "include"
        if t.name == "orders" and "order_id" not in plan.sources:
            result.remarks.append(
                "No order id column: each row is one order, with an order_id made of its "
                f"{' and '.join(plan.generate_order_id)} and its position among the rows "
                "with the same values (the same file imports to the same ids)."
            )
        if t.name == "orders" and _orders.amountless(specs):
            result.amountless = True
            result.remarks.append(
                "No amount column: each order is a purchase whose revenue is stored empty "
                "(unknown, not 0). Map an amount with --map revenue=COLUMN if the file has one."
            )
        if t.name == "orders" and (mixed := _orders.mixed_times(con)):
            result.remarks.append(
                f"{plural(mixed, 'order')} had lines with different times; the earliest was used."
            )
        if stamp is not None and _stamp(path) != stamp:
            # Each step read the Parquet file again: all must have read the same bytes.
            raise SchemaError(
                f"{path.name} changed while it was being imported (each step reads a "
                "Parquet file again). Nothing was imported. Fix: import it again once "
                "it is written."
            )
        result.rows_read = staged.rows + len(staged.structural)
        result.rows_skipped = skipped
        result.rows_imported = result.rows_read - result.rows_rejected - skipped
        _cleanup(con)
        # The data changed: derived tables of the old data version (RFM summary,
        # customer-period table) stop being reused when this transaction commits.
        version = workspace.bump_data_version(con)
        if fp is not None:
            _repeat.record(con, fp, version, result)
    result.seconds = time.perf_counter() - started
    return result


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """The file's identity, size and modification time (None if it cannot be read)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


@contextlib.contextmanager
def _engine_errors(path: Path, limits: ImportBudget) -> Iterator[None]:
    """A DuckDB failure (memory, disk, or a bug) becomes one clear message.

    The transaction has been rolled back by then, so nothing was written.
    """
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        first = str(exc).splitlines()[0]
        if "max_temp_directory_size" in str(exc):
            raise WorkspaceError(
                f"Importing {path.name} needed more disk for its spill files than the "
                f"{limits.spill_text} allowed by {limits.spill_source} ({first}). Nothing was "
                "imported. Fix: free disk space in the workspace's folder, or raise "
                f'[import] spill in regulars.toml (for example spill = "50GiB") or '
                f"${SPILL_ENV_VAR}."
            ) from None
        raise WorkspaceError(
            f"Importing {path.name} ran out of memory: DuckDB's limit is "
            f"{limits.memory_text}, set by {limits.memory_source} ({first}). Nothing was "
            "imported. Fix: raise it with --memory (for example --memory 8GiB), "
            f'${ENV_VAR} or [import] memory in regulars.toml (for example memory = "8GiB").'
        ) from None
    except duckdb.IOException as exc:
        raise WorkspaceError(
            f"Importing {path.name} failed to read or write a file: "
            f"{str(exc).splitlines()[0]}. Nothing was imported."
        ) from None
    except duckdb.Error as exc:
        raise SchemaError(
            f"Importing {path.name} failed inside the database engine: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0]}. Nothing was imported. This "
            "is probably a bug in regulars; please report it with the command you ran."
        ) from None


@contextlib.contextmanager
def _dropped_after(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The import's temporary tables and views go when it ends, also when it fails.

    (Those made inside the transaction go with its rollback; the staging and typing
    steps run before it.)
    """
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            _cleanup(con)


@contextlib.contextmanager
def _scratch(con: duckdb.DuckDBPyConnection, workspace: Workspace) -> Iterator[None]:
    """A scratch database file for the typed rows, in this process's spill folder.

    The typed rows of a staged file (CSV, Excel, JSON Lines; a Parquet file is typed
    again by each step instead) are the largest intermediate of an import (100 M rows
    at 100 M order lines).  In a database file DuckDB stores them compressed and reads
    them back through its buffer pool, so they take neither memory nor uncompressed
    spill space; the file goes when the import ends, leaving the workspace's file no
    bigger than its data.
    """
    folder = workspace.spill_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"import-{uuid.uuid4().hex[:12]}.duckdb"
    con.execute(f"ATTACH {sql_str(str(path))} AS {SCRATCH}")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DETACH {SCRATCH}")
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _cleanup(con: duckdb.DuckDBPyConnection) -> None:
    names = ", ".join(sql_str(n) for n in _TEMP)
    views = {
        str(r[0])
        for r in con.execute(
            f"SELECT view_name FROM duckdb_views() WHERE temporary AND view_name IN ({names})"
        ).fetchall()
    }
    for name in _TEMP:
        con.execute(f"DROP {'VIEW' if name in views else 'TABLE'} IF EXISTS {name}")
    drop_staging(con)


def _specs(plan: Plan, *, date_format: str | None, currency: str) -> dict[str, FieldSpec]:
    t = plan.table
    cols = {c.name: c for c in t.columns}
    for extra in CUSTOMER_EXTRAS:
        cols.setdefault(extra, TABLES["customers"].column(extra))
    cols.setdefault("currency", CURRENCY)
    specs: dict[str, FieldSpec] = {}
    for name, src in plan.sources.items():
        col = cols[name]
        required = col.required
        if t.name == "orders" and (
            name == "customer_id" or name not in ("order_id", *plan.generate_order_id)
        ):
            # Checked per order, derived (revenue), or a guest row (no customer).
            required = False
        specs[name] = FieldSpec(
            name=name,
            kind=kind_of(col),
            source=src,
            required=required,
            choices=col.choices,
            values={k.lower(): v for k, v in plan.values.get(name, {}).items()},
            nonneg=(t.name, name) in _NONNEG,
            date_format=date_format,
            order_level=name in plan.order_level,
            currency=currency,
        )
    return specs


def _detect(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    specs: Mapping[str, FieldSpec],
    forced: bool | None,
) -> list[str]:
    """Settle decimal separators and day/month order from whole columns."""
    notes = []
    for s in specs.values():
        where = f'{staged.label}, column "{s.source.label}" ({s.name})'
        note = None
        if (ids := s.whole_float_ids_sql(RAW)) is not None:
            sample = con.execute(ids[0]).fetchone()
            others = con.execute(ids[1]).fetchone() if sample else None
            if sample and others and int(others[0]) == 0:
                s.whole_floats = True
                whole = str(sample[0]).split(".")[0]
                notes.append(
                    f"{s.name}: ids written as whole numbers with a decimal part "
                    f"({sample[0]!r}) read without it ({whole!r})"
                )
        if s.is_number and forced is None and set(s.source.columns) <= staged.numeric:
            s.comma = False  # stored as numbers: their text has a decimal point
        elif s.is_date and set(s.source.columns) <= staged.temporal:
            s.slash = "dmy"  # stored as dates: their text is ISO, with no slashes
        elif s.is_number:

            def first(cls: str, s: FieldSpec = s) -> tuple[int, str] | None:
                got = con.execute(s.number_class_sql(RAW, cls)).fetchone()
                return (int(got[0]), str(got[1])) if got else None

            note = s.settle_numbers(first, where=where, forced=forced)
        elif (sql := s.date_order_sql(RAW)) is not None:

            def value_at(row: int, s: FieldSpec = s) -> str:
                got = con.execute(
                    f"SELECT {s.raw_sql()} FROM {RAW} WHERE _row = {int(row)}"
                ).fetchone()
                return str(got[0]) if got else ""

            classes = {str(c): (int(n), int(r)) for c, n, r in con.execute(sql).fetchall() if c}
            note = s.settle_dates(classes, where=where, value_at=value_at)
        if note:
            notes.append(note)
        if len(s.source.columns) == 1 and s.source.columns[0] in staged.typed:
            s.read_stored(*staged.typed[s.source.columns[0]])
    return notes


def _build_typed(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    plan: Plan,
    specs: Mapping[str, FieldSpec],
    currency: str,
) -> list[Check]:
    t = plan.table
    all_specs = list(specs.values())
    raw = ", ".join(f"{s.input_sql()} AS {s.r}" for s in all_specs) or "NULL AS _none"
    col_skips = [
        f"coalesce(lower(trim({sql_ident(c)})) IN ({', '.join(sql_str(v) for v in vals)}), false)"
        for c, vals in plan.skip.items()
    ]
    skips = ["_skipcol"] + [x for x in (s.skip_sql() for s in all_specs) if x]
    err = f", {ERR_COL}" if staged.has_err else ""
    typed = []
    for s in all_specs:
        value, code = s.typed_sql()
        if (t.name, s.name) in _MAGNITUDE:
            value = f"abs({value})"
        typed.append(f"{value} AS {s.v}")
        if (t.name, s.name) == ("orders", "unit_price"):
            typed.append(f"{s.exact_sql()} AS {s.col('x')}")
        if code is not None:
            typed.append(f"{code} AS {s.e}")
    checks: list[Check] = []
    if staged.has_err:
        typed.append(f'{ERR_COL} AS "_reader__e"')
        checks.append(Check("_reader", "", ""))
    colskip = " OR ".join(col_skips) if col_skips else "false"
    sql = f"SELECT _row{err}, {raw}, ({colskip}) AS _skipcol FROM {RAW}"
    # Each layer adds columns the next one reads: a fast cast, then, only where it
    # failed, the cleaned text, the bare number, its canonical text, the value.
    for depth in range(5):
        layer = [item for s in all_specs for item in s.layers()[depth]]
        if layer:
            sql = f"SELECT *, {', '.join(layer)} FROM ({sql})"
    sql = f"SELECT _row, ({' OR '.join(skips)}) AS _skip, {', '.join(typed)} FROM ({sql})"
    extra: list[str] = []
    if t.name == "orders":
        extra = _orders.order_extra_columns(plan, specs)
        checks += _orders.order_checks(specs)
    elif t.name == "touches":
        note = "coalesce(note, '')" if "note" in specs else "''"
        gen = (
            "'T-' || left(md5(concat_ws('|', customer_id, strftime(touched_at, "
            f"'%Y-%m-%dT%H:%M:%S'), kind, {note})), 16)"
        )
        if "touch_id" in specs:
            sql = f"SELECT * REPLACE (coalesce(touch_id, {gen}) AS touch_id) FROM ({sql})"
        else:
            extra = [f"{gen} AS touch_id"]
    checks += row_checks(t.name, specs, currency)
    if extra:
        sql = f"SELECT *, {', '.join(extra)} FROM ({sql})"
    computed = [c for c in checks if c.code_sql]
    if computed:
        sql = f"SELECT *, {', '.join(f'{c.code_sql} AS {c.e}' for c in computed)} FROM ({sql})"
    if staged.format == "parquet":
        # A Parquet file is read again, in parallel and cheaply, by each step that
        # needs the typed rows; each computes only the columns it reads (the inserts
        # of a clean file none of the error codes).  Writing the typed rows to a
        # scratch table and reading them back cost more than typing them again.
        con.execute(f"CREATE TEMP VIEW _rg_typed AS {sql}")
        return checks
    con.execute(f"CREATE TABLE {SCRATCH}.main._rg_typed AS {sql}")
    con.execute(f"CREATE TEMP VIEW _rg_typed AS SELECT * FROM {SCRATCH}.main._rg_typed")
    return checks


def coded(specs: Mapping[str, FieldSpec]) -> list[FieldSpec]:
    """The fields whose values can be invalid (they have an error-code column)."""
    return [s for s in specs.values() if s.typed_sql()[1] is not None]


def _validate(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    specs: Mapping[str, FieldSpec],
    checks: list[Check],
    *,
    rows: int,
    clear_empty: bool = False,
) -> tuple[list[Problem], int, int]:
    """Fill ``_rg_bad``; return group problems, the number of bad rows, skipped rows.

    ``rows``: how many rows ``_rg_typed`` has.
    """
    spec_list = coded(specs)
    codes = [s.e for s in spec_list] + [c.e for c in checks]
    if plan.table.name == "orders":
        con.execute(
            "CREATE TEMP TABLE _rg_oskip AS SELECT DISTINCT order_id FROM _rg_typed "
            "WHERE _skip AND order_id IS NOT NULL"
        )
        keep = (
            "NOT _skip AND (order_id IS NULL OR order_id NOT IN (SELECT order_id FROM _rg_oskip))"
        )
        # One line per order id (a file of orders rather than of order lines): nothing
        # to group, and the orders stream from _rg_typed to their tables.  One pass
        # reads the rows as such orders: it finds whether any id repeats (by the ids'
        # 64-bit hashes, a third of the ids' memory), whether any row is invalid, and
        # sums the orders' totals.  The invalid rows are listed only when there are
        # some; a file of order lines is then grouped (and summed) again.
        single, clean = _orders.probe_single(con, plan, specs, codes, rows=rows)
        collect_row_problems(con, spec_list, checks, keep=keep, none=single and clean)
        problems, skipped = _orders.order_groups(
            con, plan, specs, codes, single=single, counted=True
        )
    else:
        collect_row_problems(con, spec_list, checks, keep="NOT _skip")
        problems = _keyed(con, plan)
        if plan.table.name == "customers":
            problems += referral_cycles(con, plan, "_rg_out", clear_empty=clear_empty)
        row = con.execute("SELECT count(*) FROM _rg_typed WHERE _skip").fetchone()
        skipped = int(row[0]) if row else 0
    row = con.execute(f"SELECT count(DISTINCT _row) FROM {BAD} WHERE own").fetchone()
    return problems, int(row[0]) if row else 0, skipped


def _keyed(con: duckdb.DuckDBPyConnection, plan: Plan) -> list[Problem]:
    """One row per natural key: exact repeats collapse, different values are errors."""
    t = plan.table
    key = ", ".join(sql_ident(k) for k in t.key)
    cols = [
        c for c in t.column_names if c in plan.sources or (t.name, c) == ("touches", "touch_id")
    ]
    valid = f"NOT _skip AND _row NOT IN (SELECT _row FROM {BAD})"
    digest = f"hash({', '.join(sql_ident(c) for c in cols)})"
    con.execute(
        f"CREATE TEMP TABLE _rg_keyed AS SELECT {key}, min(_row) AS _first, count(*) AS _n, "
        f"min({digest}) <> max({digest}) AS _conflict FROM _rg_typed WHERE {valid} "
        f"GROUP BY {key}"
    )
    shown = " || ', ' || ".join(
        f"{sql_str(k + ' ')} || '\"' || CAST(k.{sql_ident(k)} AS VARCHAR) || '\"'" for k in t.key
    )
    on = " AND ".join(f"t.{sql_ident(k)} = k.{sql_ident(k)}" for k in t.key)
    reason = (
        f"{shown} || ' appears on ' || k._n || ' rows with different values (first on row ' "
        "|| k._first || '); keep one row per key'"
    )
    con.execute(
        f"INSERT INTO {BAD} SELECT t._row, {reason}, true FROM _rg_typed t "
        f"JOIN _rg_keyed k ON {on} WHERE k._conflict AND NOT t._skip "
        f"AND t._row NOT IN (SELECT _row FROM {BAD})"
    )
    problems = [
        Problem(
            int(first),
            what=str(text).removesuffix("; keep one row per key"),
            fix="keep one row per key (or give the rows different keys)",
        )
        for first, text in con.execute(
            f"SELECT k._first, {reason} FROM _rg_keyed k WHERE k._conflict "
            f"ORDER BY k._first LIMIT {MAX_PROBLEMS}"
        ).fetchall()
    ]
    select = ", ".join(
        sql_ident(c) if c in cols else f"NULL AS {sql_ident(c)}" for c in t.column_names
    )
    con.execute(
        f"CREATE TEMP TABLE _rg_out AS SELECT {select} FROM _rg_typed WHERE {valid} "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _row) = 1"
    )
    return problems
