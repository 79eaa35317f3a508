"""The public API of regulars.report is pinned (regulars/report/__init__.py)."""

from __future__ import annotations

import regulars.report


def test_public_api() -> None:
    assert regulars.report.__all__ == [
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
    assert regulars.report.__all__ == sorted(regulars.report.__all__)
    for name in regulars.report.__all__:
        assert hasattr(regulars.report, name), name


def test_missing_data_error_is_a_regulars_error() -> None:
    from regulars.errors import RegularsError

    assert issubclass(regulars.report.MissingDataError, RegularsError)
    assert issubclass(regulars.report.MissingDataError, LookupError)


def test_chart_names_are_unique_and_in_report_order() -> None:
    names = regulars.report.chart_names()
    assert len(names) == len(set(names))
    assert names[:3] == (
        "orders-new-vs-returning",
        "profit-new-vs-returning",
        "efficiency-new-vs-returning",
    )
