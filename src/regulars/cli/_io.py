"""``regulars import`` and ``regulars export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO, cast

import click

from regulars.cli._common import (
    TerminalSafeStream,
    app,
    check_output_path,
    console,
    err_console,
    esc,
    open_workspace,
    workspace_option,
)
from regulars.io import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    IMPORTABLE_TABLES,
    PRESETS,
    export_table,
    import_file,
)
from regulars.store import Workspace

#: An orders file with at least this many distinct products, or with postage-like lines
#: and several lines an order, looks like a shop's export (see :func:`shop_hint`).
SHOP_PRODUCTS = 200


def shop_hint(ws: Workspace, lines: int, orders: int) -> str | None:
    """A hint to set ``kind = "shop"`` when the imported orders look like a shop's.

    A workspace of another kind treats every line's product as a service: postage and
    carriage lines become products, and a customer of hundreds of products a package
    candidate.  The orders look like a shop's with at least :data:`SHOP_PRODUCTS`
    distinct products, or with lines that a shop's ``[products] exclude`` leaves out
    (postage, carriage, fees...) and more than one line an order on average, in the
    import of ``orders`` orders with ``lines`` order lines.
    """
    from regulars._config_actions import SHOP_EXCLUDES, compile_pattern

    if ws.config.workspace.kind == "shop" or ws.config.products.exclude:
        return None
    pattern = "|".join(f"(?:{compile_pattern(p)})" for p in SHOP_EXCLUDES)
    # The names once per product, not once per line: a distinct count of the orders
    # took 65 CPU s at 100 M lines, and the import already counted them.
    row = ws.con.execute(
        "WITH p AS (SELECT DISTINCT product FROM order_lines WHERE product IS NOT NULL) "
        "SELECT (SELECT count(*) FROM p), "
        "(SELECT list_sort(list(product)) FROM p WHERE regexp_matches(product, ?))",
        [pattern],
    ).fetchone()
    if row is None:
        return None
    products = int(row[0] or 0)
    fees: list[str] = list(row[1] or [])
    per_order = lines / orders if orders else 0.0
    if products < SHOP_PRODUCTS and not (fees and per_order > 1.0):
        return None
    like = ", ".join(f'"{name}"' for name in fees[:3])
    found = f"{products:,} products, {per_order:.1f} lines an order"
    if like:
        found += f", and lines such as {like}"
    return (
        f"Hint: these orders look like a shop's ({found}), but the workspace is a "
        f'{ws.config.workspace.kind}. If it is a shop, set kind = "shop" under [workspace] '
        "in regulars.toml: postage, carriage and fee lines are then not products, and no "
        'package offers are made (docs/actions.md, "Business profiles and products").'
    )


def _parse_map(values: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in values:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise click.BadParameter(
                f"{item!r} is not FIELD=COLUMN (for example --map order_date='Invoice date').",
                param_hint="--map",
            )
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("import")
@click.argument("table", type=click.Choice(IMPORTABLE_TABLES))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read contract FIELD from source COLUMN. Repeat for several fields.",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS), case_sensitive=False),
    help="Column map of a known export: Stripe payments/invoices/customers/subscriptions, "
    "Shopify orders, the CDNOW transaction files (see docs/data.md).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(IMPORT_FORMATS, case_sensitive=False),
    help="File format (default: from the extension).",
)
@click.option("--encoding", help="Text encoding, e.g. cp1252, cp1251, latin-1 (default UTF-8).")
@click.option(
    "--decimal-comma/--decimal-point",
    "decimal_comma",
    default=None,
    help="Numbers use a decimal comma (1.234,50) or point (1,234.50). Default: per column "
    "from the data.",
)
@click.option(
    "--date-format",
    metavar="FORMAT",
    help="strftime format of the dates, e.g. %d/%m/%Y, when they are ambiguous.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows; write the invalid ones with a reason to NAME.rejected.csv.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --skip-invalid: write the rejected rows to this CSV file instead of "
    "NAME.rejected.csv next to the input.",
)
@click.option(
    "--guest-revenue",
    type=click.Choice(["exclude", "include"]),
    help="Orders without a customer id (guest checkouts) are kept apart in guest_orders; "
    "say whether their revenue counts in the revenue totals (default: [workspace] "
    "guest_revenue in regulars.toml, else exclude).",
)
@click.option(
    "--clear-empty",
    is_flag=True,
    help="customers: empty cells clear the stored values (by default they keep them).",
)
@click.option(
    "--memory",
    metavar="SIZE",
    help="DuckDB's memory limit for this import, e.g. 4GiB or 25% (default: "
    "$REGULARS_IMPORT_MEMORY, else [import] memory in regulars.toml, else an eighth of "
    "the machine's memory). Beyond it the import spills to disk.",
)
@workspace_option
def import_command(
    table: str,
    file: Path,
    maps: tuple[str, ...],
    preset: str | None,
    fmt: str | None,
    encoding: str | None,
    decimal_comma: bool | None,
    date_format: str | None,
    skip_invalid: bool,
    rejects: Path | None,
    guest_revenue: str | None,
    clear_empty: bool,
    memory: str | None,
    workspace: Path | None,
) -> None:
    """Import FILE (CSV, TSV, Excel, Parquet, JSON Lines) into TABLE.

    All or nothing: when a row is invalid nothing is written, and the first problems
    are listed with row, column, value and fix. Rows are keyed by their natural id,
    so importing the same file again changes nothing. Columns named like a field
    (order_id, "Order Date"...) map themselves; map others with --map.

    \b
    Examples:
        regulars import orders invoices.csv --map order_id=Invoice --map revenue=Total
        regulars import orders stripe_payments.csv --preset stripe
        regulars import orders shopify_orders.csv --preset shopify
        regulars import orders CDNOW_master.txt --preset cdnow
        regulars import customers clients.xlsx --map customer_id="Client no"
        regulars import orders export.csv --encoding cp1252 --date-format %d/%m/%Y
        regulars import orders big.csv --skip-invalid --rejects /tmp/big.rejects.csv
    """
    ws = open_workspace(workspace)
    try:
        result = import_file(
            ws,
            table,
            file,
            mapping=_parse_map(maps),
            preset=preset,
            format=fmt,
            encoding=encoding,
            date_format=date_format,
            decimal_comma=decimal_comma,
            skip_invalid=skip_invalid,
            rejects=rejects,
            guest_revenue=guest_revenue,
            clear_empty=clear_empty,
            memory=memory,
            progress=err_console.is_terminal,
        )
        # Once, when orders arrive: a re-import that adds none does not read every line again.
        wrote = table == "orders" and result.new_records > 0 and ws.has_table("order_lines")
        hint = shop_hint(ws, result.lines, result.records) if wrote else None
    finally:
        ws.close()
    console.print(str(result), soft_wrap=True, markup=False)
    if hint:
        err_console.print(hint, soft_wrap=True, markup=False)


@app.command("export")
@click.argument("table")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS, case_sensitive=False),
    default="csv",
    show_default=True,
    help="csv, parquet, json (one array of records) or jsonl (one record per line).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="CSV: write text cells exactly as stored. By default a text cell that starts "
    "with = + - @, a tab or a carriage return gets a leading ' so spreadsheets do not "
    "run it as a formula.",
)
@workspace_option
def export_command(
    table: str, fmt: str, out: Path | None, raw: bool, workspace: Path | None
) -> None:
    """Write TABLE (any table of the workspace, also derived ones) to a file or stdout.

    CSV is safe to open in a spreadsheet: text that starts like a formula gets a
    leading ' (numbers stay numbers). --raw writes the cells as stored.

    \b
    Examples:
        regulars export orders > orders.csv
        regulars export customers --format jsonl --out customers.jsonl
        regulars export order_lines --format parquet --out lines.parquet
        regulars export orders --format json | jq '.[0]'
    """
    if out is None and fmt == "parquet" and sys.stdout.isatty():
        raise click.UsageError("Parquet is binary: pass --out FILE or redirect the output.")
    if out is not None:
        check_output_path(out)
    ws = open_workspace(workspace, read_only=True)
    try:
        target: Path | BinaryIO | None = out
        if out is None and fmt != "parquet" and sys.stdout.isatty():
            target = cast("BinaryIO", TerminalSafeStream(sys.stdout.buffer))
        n = export_table(ws, table, format=fmt, out=target, raw=raw)
    finally:
        ws.close()
    if out is not None:
        err_console.print(f"Wrote {n:,} rows of {esc(table)} to {esc(out)}.")
