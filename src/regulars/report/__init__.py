"""The self-contained HTML report, and single charts as PNG or SVG.

>>> from regulars.report import build_report, write_report
>>> write_report("demo-shop", "report.html", period="year", lang="ru")  # doctest: +SKIP

The report has eleven sections (headline figures, new vs returning, growth
accounting, growth sources, channel economics, cohorts, subscriptions, referrals,
guarantee and packages, customer value, actions); ``docs/report.md`` describes each.
Every label goes through a gettext catalogue (:func:`available_languages`).
"""

from __future__ import annotations

from regulars.report._build import (
    build_report,
    chart_names,
    chart_spec,
    export_chart,
    render_document,
    report_document,
    write_report,
)
from regulars.report._i18n import Translator, available_languages, translator
from regulars.report._model import Chart, Figure, Missing, MissingDataError, Section, TableView
from regulars.report._prepare import Preparation, needs_preparation, prepare_workspace
from regulars.report._render import ReportDocument

__all__ = [
    "Chart",
    "Figure",
    "Missing",
    "MissingDataError",
    "Preparation",
    "ReportDocument",
    "Section",
    "TableView",
    "Translator",
    "available_languages",
    "build_report",
    "chart_names",
    "chart_spec",
    "export_chart",
    "needs_preparation",
    "prepare_workspace",
    "render_document",
    "report_document",
    "translator",
    "write_report",
]
