"""``regulars report`` and ``regulars chart``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from regulars.cli._common import (
    app,
    check_output_path,
    console,
    esc,
    open_workspace,
    workspace_option,
)

PERIOD_CHOICE = click.Choice(["month", "quarter", "year"])


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (expected YYYY-MM-DD, for example 2025-01-01).",
            param_hint=option,
        ) from None


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} KB"


@app.command("report")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="HTML file to write.",
)
@click.option("--period", type=PERIOD_CHOICE, help="Period grain (default: [workspace] period).")
@click.option("--from", "start", metavar="DATE", help="Show periods from this date (YYYY-MM-DD).")
@click.option("--to", "end", metavar="DATE", help="Show periods up to this date (YYYY-MM-DD).")
@click.option(
    "--lang",
    metavar="LANG",
    help="Report language: en (English), ru (Russian), sl (Slovenian) or he (Hebrew, right "
    "to left). Default: [workspace] locale.",
)
@click.option(
    "--no-fit",
    is_flag=True,
    help="Do not fit, score or compute actions first (by default the report does when the "
    "fit is missing or older than the orders).",
)
@workspace_option
def report_command(
    out: Path,
    period: str | None,
    start: str | None,
    end: str | None,
    lang: str | None,
    no_fit: bool,
    workspace: Path | None,
) -> None:
    """Write the HTML report: one self-contained file that opens offline.

    \b
    Examples:
        regulars report
        regulars report --period quarter --from 2024-01-01 --lang ru --out report-ru.html
        regulars report --lang he --out report-he.html
    """
    from regulars.errors import WorkspaceError
    from regulars.report import Preparation, needs_preparation, prepare_workspace, write_report

    start_d, end_d = _date(start, "--from"), _date(end, "--to")
    check_output_path(out)
    # The report reads; it writes only to fit, score and plan the week when that is
    # missing, and only when the workspace can be written (a read-only or busy one is
    # reported as it is, with a note).
    prep: Preparation | None = None
    if not no_fit:
        with open_workspace(workspace, read_only=True) as ws:
            stale = needs_preparation(ws)
        if stale:
            try:
                with (
                    open_workspace(workspace) as writable,
                    console.status("Fitting the customer models...") as status,
                ):
                    prep = prepare_workspace(writable, progress=status.update)
            except WorkspaceError as exc:
                prep = Preparation(problems=[f"the workspace cannot be written now: {exc}"])
    with (
        open_workspace(workspace, read_only=True) as ws,
        console.status("Building the report..."),
    ):
        path = write_report(
            ws, out, period=period, start=start_d, end=end_d, lang=lang, fit=False, prepared=prep
        )
    if prep is not None and prep.summary():
        console.print(esc(prep.summary().capitalize() + "."))
    for problem in [] if prep is None else prep.problems:
        console.print(esc(f"The models could not be fitted: {problem}"))
    size = path.stat().st_size
    console.print(f"Report written to [bold]{esc(path)}[/] ({_size(size)}).")
    console.print("Open it in any browser; it needs no internet connection.")


@app.command("chart")
@click.argument("name", required=False)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG or SVG file to write (chosen by the extension).",
)
@click.option("--period", type=PERIOD_CHOICE, help="Period grain (default: [workspace] period).")
@click.option("--from", "start", metavar="DATE", help="Show periods from this date (YYYY-MM-DD).")
@click.option("--to", "end", metavar="DATE", help="Show periods up to this date (YYYY-MM-DD).")
@click.option(
    "--lang",
    metavar="LANG",
    help="Chart language: en, ru, sl or he. Default: [workspace] locale.",
)
@click.option("--scale", type=float, default=2.0, show_default=True, help="PNG pixel scale.")
@click.option("--list", "list_charts", is_flag=True, help="List the chart names and exit.")
@workspace_option
def chart_command(
    name: str | None,
    out: Path | None,
    period: str | None,
    start: str | None,
    end: str | None,
    lang: str | None,
    scale: float,
    list_charts: bool,
    workspace: Path | None,
) -> None:
    """Export one chart of the report as PNG or SVG, for slides.

    \b
    Examples:
        regulars chart --list
        regulars chart growth-sources --out growth.png
        regulars chart cohort-revenue --period quarter --out cohorts.svg
    """
    from regulars.report import chart_names, export_chart

    if list_charts or name is None:
        for chart in chart_names():
            console.print(esc(chart))
        if name is None and not list_charts:
            console.print("Pick one: regulars chart NAME --out FILE.png")
        return
    if name not in chart_names():
        raise click.UsageError(f"Unknown chart {name!r}. Valid charts: {', '.join(chart_names())}.")
    if out is None:
        raise click.UsageError("Missing --out FILE (.png or .svg).")
    check_output_path(out)
    with open_workspace(workspace, read_only=True) as ws:
        path = export_chart(
            ws,
            name,
            out,
            period=period,
            start=_date(start, "--from"),
            end=_date(end, "--to"),
            lang=lang,
            scale=scale,
        )
    console.print(
        f"Chart {esc(name)} written to [bold]{esc(path)}[/] ({_size(path.stat().st_size)})."
    )
