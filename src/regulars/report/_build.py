"""Build the report: run every section builder, render the page, export single charts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regulars.errors import ConfigError, RegularsError
from regulars.report._charts import right_to_left, to_static
from regulars.report._context import ReportContext
from regulars.report._data import DataSource, ReportData
from regulars.report._i18n import Translator, translator
from regulars.report._model import Chart, Section
from regulars.report._prepare import Preparation, prepare_workspace
from regulars.report._render import ReportDocument, embed_options, render_html
from regulars.report._sections_customers import cohorts_section, subscriptions_section
from regulars.report._sections_growth import (
    growth_accounting_section,
    headline_section,
    new_vs_returning_section,
)
from regulars.report._sections_programs import guarantee_packages_section, referrals_section
from regulars.report._sections_sources import growth_sources_section
from regulars.report._sections_value import (
    actions_section,
    channels_section,
    customer_value_section,
)

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = [
    "CHARTS",
    "SECTIONS",
    "SectionSpec",
    "build_document",
    "build_report",
    "chart_names",
    "chart_spec",
    "export_chart",
    "render_document",
    "report_document",
    "write_report",
]

PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class SectionSpec:
    """A report section: its stable id, its builder and the charts it can draw."""

    id: str
    build: Callable[[ReportContext], Section]
    charts: tuple[str, ...]


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("headline", headline_section, ()),
    SectionSpec(
        "new-vs-returning",
        new_vs_returning_section,
        ("orders-new-vs-returning", "profit-new-vs-returning", "efficiency-new-vs-returning"),
    ),
    SectionSpec(
        "growth-accounting", growth_accounting_section, ("growth-accounting", "quick-ratio")
    ),
    SectionSpec("growth-sources", growth_sources_section, ("growth-sources",)),
    SectionSpec("channels", channels_section, ("channel-cac", "channel-clv-cac")),
    SectionSpec(
        "cohorts",
        cohorts_section,
        ("cohort-customers", "cohort-revenue", "retention-curves"),
    ),
    SectionSpec(
        "subscriptions",
        subscriptions_section,
        ("mrr-movements", "renewal-rates", "sbg-projection"),
    ),
    SectionSpec("referrals", referrals_section, ("top-referrers",)),
    SectionSpec("guarantee-packages", guarantee_packages_section, ("guarantee", "packages")),
    SectionSpec(
        "customer-value",
        customer_value_section,
        ("clv-distribution", "p-alive-matrix", "holdout-frequency", "holdout-tracking"),
    ),
    SectionSpec("actions", actions_section, ("actions-by-playbook", "playbook-effectiveness")),
)

#: Chart name -> id of the section that draws it.
CHARTS: dict[str, str] = {name: s.id for s in SECTIONS for name in s.charts}


def chart_names() -> tuple[str, ...]:
    """Every chart ``regulars chart NAME`` can export, in report order."""
    return tuple(CHARTS)


def _check_period(period: str) -> str:
    if period not in PERIODS:
        raise ConfigError(
            f"period = {period!r} is not valid. Valid periods: {', '.join(PERIODS)}. "
            "Use --period month, quarter or year."
        )
    return period


def _check_dates(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and start > end:
        raise ConfigError(
            f"--from {start.isoformat()} is after --to {end.isoformat()}. "
            "Give a start date on or before the end date."
        )


def build_sections(
    data: DataSource, t: Translator, *, only: Sequence[str] | None = None
) -> list[Section]:
    """Run the section builders (all, or the ids in ``only``) in report order."""
    ctx = ReportContext(data=data, t=t, period=data.period)
    sections = [spec.build(ctx) for spec in SECTIONS if only is None or spec.id in only]
    if t.direction == "rtl":
        for s in sections:
            s.charts = [replace(c, spec=right_to_left(c.spec)) for c in s.charts]
    return sections


def build_document(
    data: DataSource,
    t: Translator,
    *,
    business: str,
    version: str = "",
) -> ReportDocument:
    """Every section, with the page title, subtitle and footer, for ``data``."""
    sections = build_sections(data, t)
    period_name = {"month": t._("monthly"), "quarter": t._("quarterly"), "year": t._("yearly")}[
        data.period
    ]
    try:
        end_text = t._("data to {date}").format(date=t.date(data.observation_end()))
    except RegularsError:
        end_text = t._("no orders yet")
    subtitle = " · ".join(
        [
            t._("{grain} figures").format(grain=period_name).capitalize(),
            end_text,
            t._("amounts in {currency}").format(currency=t.currency),
        ]
    )
    footer = t._(
        "Made with regulars {version} on {date}. Every number is defined in docs/report.md "
        "and docs/metrics.md."
    ).format(version=version, date=t.date(dt.date.today()))
    return ReportDocument(
        lang=t.lang,
        title=t._("{business}: customer report").format(business=business),
        business=business,
        subtitle=subtitle,
        footer=footer,
        version=version,
        sections=sections,
        direction=t.direction,
    )


def _open(ws: Workspace | str | Path) -> tuple[Workspace, bool]:
    from regulars.store import Workspace

    if isinstance(ws, Workspace):
        return ws, False
    # Not read-only: the action tables are created on first read if missing.
    return Workspace.open(ws), True


def _setup(
    ws: Workspace,
    period: str | None,
    start: dt.date | None,
    end: dt.date | None,
    lang: str | None,
) -> tuple[ReportData, Translator]:
    from regulars.engine import tables
    from regulars.ledger import has_amounts

    cfg = ws.config.workspace
    amounts = has_amounts(tables(ws)["orders"])
    t = translator(lang or cfg.locale, currency=cfg.currency, amounts=amounts)
    _check_dates(start, end)
    data = ReportData(
        ws,
        period=_check_period(period or cfg.period),
        start=start,
        end=end,
        translate=t._,
        number_format=t.number,
    )
    return data, t


def build_report(
    ws: Workspace | str | Path,
    *,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lang: str | None = None,
    fit: bool = True,
    progress: Callable[[str], None] | None = None,
    prepared: Preparation | None = None,
) -> str:
    """The whole report as one self-contained HTML page.

    Parameters
    ----------
    ws : Workspace or path
        The workspace (a path is opened read-only and closed again).
    period : {"month", "quarter", "year"}, optional
        Period grain of every chart and table (default: ``[workspace] period``).
    start, end : datetime.date, optional
        Show only the periods that overlap ``[start, end]``.  ``end`` is also the end
        of observation used to decide which period is complete.
    lang : str, optional
        Language of labels, takeaways and number formats (default: ``[workspace]
        locale``); see :func:`regulars.report.available_languages`.
    fit : bool
        Fit the customer models, score the customers and compute this week's actions
        first when there is no fit or the fit is older than the orders (default), so
        customer value and actions are filled on orders-only data too.  False
        (``--no-fit``) reports what the workspace already holds.
    progress : callable, optional
        Called with a short description before each preparation step.
    prepared : Preparation, optional
        What :func:`~regulars.report.prepare_workspace` already did (the CLI prepares
        with its own progress display); the report states it.

    Returns
    -------
    str
        The HTML text.  It embeds every script, style and chart, and makes no
        request to any host, so it opens offline and can be mailed.
    """
    from regulars import __version__

    workspace, owned = _open(ws)
    try:
        data, t = _setup(workspace, period, start, end, lang)
        data.preparation = prepared
        if fit and prepared is None:
            data.preparation = prepare_workspace(workspace, progress=progress)
        doc = build_document(data, t, business=workspace.config.workspace.name, version=__version__)
        return render_html(doc, t)
    finally:
        if owned:
            workspace.close()


def report_document(
    ws: Workspace,
    *,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lang: str | None = None,
) -> tuple[ReportDocument, Translator]:
    """Every section of the report, and its translator, read from ``ws`` as it is.

    Unlike :func:`build_report` this never fits, scores or plans (``fit=False``): it
    only reads, for a page that shows the report's sections live (the web app's
    Growth page).  :func:`render_document` turns the result into the HTML report.
    """
    from regulars import __version__

    data, t = _setup(ws, period, start, end, lang)
    doc = build_document(data, t, business=ws.config.workspace.name, version=__version__)
    return doc, t


def render_document(doc: ReportDocument, t: Translator) -> str:
    """The self-contained HTML report of a :func:`report_document` result."""
    return render_html(doc, t)


def write_report(
    ws: Workspace | str | Path,
    out: str | Path = "report.html",
    *,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lang: str | None = None,
    fit: bool = True,
    progress: Callable[[str], None] | None = None,
    prepared: Preparation | None = None,
) -> Path:
    """Build the report (see :func:`build_report`) and write it to ``out``; returns the path."""
    html = build_report(
        ws,
        period=period,
        start=start,
        end=end,
        lang=lang,
        fit=fit,
        progress=progress,
        prepared=prepared,
    )
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise
    return path


def _find_chart(sections: Sequence[Section], name: str) -> Chart | None:
    for section in sections:
        for chart in section.charts:
            if chart.name == name:
                return chart
    return None


def chart_spec(
    ws: Workspace | str | Path,
    name: str,
    *,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """The Vega-Lite spec of one report chart (see :func:`chart_names`)."""
    if name not in CHARTS:
        raise ConfigError(f"Unknown chart {name!r}. Valid charts: {', '.join(chart_names())}.")
    workspace, owned = _open(ws)
    try:
        data, t = _setup(workspace, period, start, end, lang)
        sections = build_sections(data, t, only=[CHARTS[name]])
    finally:
        if owned:
            workspace.close()
    chart = _find_chart(sections, name)
    if chart is None:
        notes = [m for s in sections for m in s.missing]
        how = " ".join(
            f"{m.what} ({'; '.join(m.commands)})" if m.commands else m.what for m in notes
        )
        raise RegularsError(f"Chart {name!r} has no data in this workspace. {how}".strip())
    return chart.spec


def export_chart(
    ws: Workspace | str | Path,
    name: str,
    out: str | Path,
    *,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lang: str | None = None,
    scale: float = 2.0,
    width: int = 860,
) -> Path:
    """Write one report chart as PNG or SVG (chosen by the extension of ``out``)."""
    import vl_convert

    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ConfigError(
            f"Cannot export a chart as {path.name!r}: the file must end in .png or .svg."
        )
    spec = to_static(
        chart_spec(ws, name, period=period, start=start, end=end, lang=lang), width=width
    )
    workspace, owned = _open(ws)
    try:
        cfg = workspace.config.workspace
        t = translator(lang or cfg.locale, currency=cfg.currency)
    finally:
        if owned:
            workspace.close()
    locale = embed_options(t)["formatLocale"]
    if suffix == ".png":
        path.write_bytes(vl_convert.vegalite_to_png(spec, scale=scale, format_locale=locale))
    else:
        path.write_text(vl_convert.vegalite_to_svg(spec, format_locale=locale), encoding="utf-8")
    return path
