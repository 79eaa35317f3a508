"""``regulars metrics NAME``: any growth metric as a table, CSV, JSON or Parquet."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regulars.cli._common import (
    SafeConsole,
    app,
    cell,
    check_output_path,
    console,
    err_console,
    esc,
    json_text,
    open_workspace,
    workspace_option,
    write_out,
)
from regulars.errors import RegularsError, hint_of
from regulars.service import METRICS, run_metric

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["FORMATS", "METRICS", "compute", "render_table", "to_csv", "to_json"]

FORMATS = ("table", "csv", "json", "parquet")
#: Float columns that hold money (Decimal columns always do).
MONEY_FLOATS = frozenset({"cac", "clv", "arpu", "average_revenue"})


def compute(
    workspace: Any,
    name: str,
    *,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    measure: str | None = None,
) -> Any:
    """The lazy Ibis table of metric ``name`` (CLI spelling) on ``workspace``."""
    try:
        return run_metric(workspace, name, period=period, start=start, end=end, measure=measure)
    except RegularsError as exc:
        if hint_of(exc).get("option") == "measure":
            raise click.UsageError(
                f"--measure applies to growth-accounting only, not to {name}."
            ) from None
        raise


# -- rendering -----------------------------------------------------------------------


def _money(value: Decimal | float, currency: str, locale: str) -> str:
    from babel.numbers import format_currency

    return str(format_currency(value, currency, locale=locale))


def _cell(value: Any, column: str, currency: str, locale: str) -> str:
    from babel.numbers import format_decimal

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal) or (isinstance(value, float) and column in MONEY_FLOATS):
        return _money(value, currency, locale)
    if isinstance(value, int):
        return str(format_decimal(value, locale=locale))
    if isinstance(value, float):
        return str(format_decimal(round(value, 2), format="#,##0.00", locale=locale))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def render_table(table: Any, *, title: str, currency: str, locale: str) -> Any:
    """A rich Table of an Arrow table: thousands separators, money with its currency.

    Cells never lose characters: on a narrow terminal they fold onto a second line.
    ``render_table(...).min_width`` hints the width that shows every cell on one line.
    """
    import pyarrow as pa
    from rich.table import Table

    out = Table(title=title, title_justify="left", header_style="bold")
    rows = [
        [cell(_cell(r[c], c, currency, locale)) for c in table.column_names]
        for r in table.to_pylist()
    ]
    width = 1
    for i, field in enumerate(table.schema):
        t = field.type
        numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        longest = max([len(field.name), *(len(r[i]) for r in rows)])
        width += longest + 3
        out.add_column(
            esc(field.name), justify="right" if numeric else "left", overflow="fold", min_width=1
        )
    for r in rows:
        out.add_row(*r)
    out.min_width = width
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def to_json(table: Any) -> str:
    """The rows as a JSON list of records (money as numbers, dates as ISO strings)."""
    rows = [{k: _json_value(v) for k, v in r.items()} for r in table.to_pylist()]
    return json_text(json.dumps(rows, ensure_ascii=False, indent=2)) + "\n"


def _csv_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, Decimal):
        return str(value)  # exact, to the cent
    return _json_value(value)


def to_csv(table: Any, *, raw: bool = False) -> str:
    """The rows as CSV with a header (money as plain decimals, dates ISO).

    Text that starts like a spreadsheet formula gets a leading ' unless ``raw``.
    """
    import csv

    from regulars.io._export import safe_cell

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; quotes a CR in a cell
    writer.writerow(table.column_names)
    for r in table.to_pylist():
        cells = [_csv_value(v) for v in r.values()]
        writer.writerow(cells if raw else [safe_cell(c) for c in cells])
    return buf.getvalue()


@app.command("metrics")
@click.argument("name", metavar="NAME", type=click.Choice(list(METRICS)))
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    help="Period grain (default: [workspace] period).",
)
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Show periods from this date (YYYY-MM-DD).",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Show periods up to this date (YYYY-MM-DD).",
)
@click.option(
    "--measure",
    type=click.Choice(["revenue", "customers"]),
    help="growth-accounting: split revenue (default) or customer counts.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of the terminal (required for parquet).",
)
@click.option(
    "--raw",
    is_flag=True,
    help="CSV: write text cells as they are (by default a cell starting with = + - @, "
    "a tab or a carriage return gets a leading ').",
)
@workspace_option
def metrics_command(
    name: str,
    period: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    measure: str | None,
    fmt: str,
    out: Path | None,
    raw: bool,
    workspace: Path | None,
) -> None:
    """Compute a growth metric: where growth comes from, per period.

    \b
    NAME is one of:
      new-vs-returning        orders, revenue, profit and efficiency of new vs returning
      growth-accounting       new, expansion, contraction, churned, resurrected, retained
      growth-sources          change in revenue by upsell, new customers by channel, win-back
      channel-economics       CAC, first-year profit, payback and CLV:CAC per channel
      cohort-retention        customer and revenue retention by acquisition cohort
      subscription-movements  MRR movements of subscriptions
      referrals               referral tree, referred revenue and the reward ledger
      guarantee               refunds inside the money-back window, new vs returning
      packages                package uptake and the discount it cost
      lifecycle               active, at risk, lapsed and won-back customers
      cold-funding            does the profit of other sources pay for cold acquisition

    \b
    Examples:
        regulars metrics growth-accounting --period quarter
        regulars metrics growth-accounting --measure customers --from 2024-01-01
        regulars metrics growth-sources --format json --out sources.json
        regulars metrics channel-economics --format parquet --out channels.parquet
    """
    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet writes a file: add --out FILE.parquet.")
    if start and end and start > end:
        raise click.BadParameter(
            f"--from {start.date()} is after --to {end.date()}. Swap the dates.",
            param_hint="--from/--to",
        )
    if out is not None:
        check_output_path(out)
    ws = open_workspace(workspace, read_only=True)
    try:
        if _ledger_worth_storing(ws):
            ws.close()
            _store_ledger(workspace)
            ws = open_workspace(workspace, read_only=True)
        with err_console.status(f"Computing {name}…", spinner="dots"):
            expr = compute(
                ws,
                name,
                period=period,
                start=start.date() if start else None,
                end=end.date() if end else None,
                measure=measure,
            )
            result = expr.to_pyarrow()
        cfg = ws.config.workspace
        if fmt == "parquet":
            import pyarrow.parquet as pq

            assert out is not None
            pq.write_table(result, out)
            err_console.print(f"Wrote {result.num_rows:,} rows to {esc(out)}.")
        elif fmt == "table":
            grain = period or cfg.period
            title = esc(f"{name} by {grain} ({cfg.currency})")
            table = render_table(result, title=title, currency=cfg.currency, locale=cfg.locale)
            if out is not None:
                with out.open("w", encoding="utf-8") as fh:
                    SafeConsole(file=fh, width=table.min_width).print(table)
                err_console.print(f"Wrote {result.num_rows:,} rows to {esc(out)}.")
            elif not console.is_terminal:
                # Piped: print every cell on one line, whatever the width.
                SafeConsole(width=table.min_width).print(table)
            else:
                console.print(table)
        else:
            text = to_json(result) if fmt == "json" else to_csv(result, raw=raw)
            if out is not None:
                out.write_text(text, encoding="utf-8")
                err_console.print(f"Wrote {result.num_rows:,} rows to {esc(out)}.")
            else:
                write_out(text)
    finally:
        ws.close()


def _ledger_worth_storing(ws: Workspace) -> bool:
    """Whether this read-only metric would hold (and spill) a copy of the order ledger
    too large for memory (:meth:`regulars.metrics.MetricContext.ledger_worth_storing`),
    so a writer should store it first, as the report does."""
    from regulars.metrics import MetricContext

    return MetricContext.from_workspace(ws).ledger_worth_storing()


def _store_ledger(workspace: Path | None) -> None:
    """Store the order ledger of this data version; a workspace that cannot be written
    now (busy, read-only) is read as it is."""
    from regulars.errors import WorkspaceError
    from regulars.metrics import MetricContext

    with (
        contextlib.suppress(WorkspaceError),
        open_workspace(workspace) as writable,
        err_console.status("Storing the order ledger of this data (once per import)…"),
    ):
        MetricContext.from_workspace(writable).ledger()
