"""Growth (the report's metrics live, with charts) and Models (last fit, refit)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regulars import service
from regulars.errors import RegularsError
from regulars.web._access import require
from regulars.web._audit import audit
from regulars.web._cache import cached
from regulars.web._jobs import start, state
from regulars.web._ws import open_ws

__all__ = ["chart", "growth", "models_page", "refit", "report_download"]

PERIODS = ("month", "quarter", "year")
#: Metric tables shown on the Growth page.
TABLES = ("growth-accounting", "new-vs-returning", "growth-sources")


def _period(request: HttpRequest) -> str:
    period = request.GET.get("period", "")
    return period if period in PERIODS else "quarter"


def _report_lang() -> str:
    from regulars.report import available_languages

    lang = translation.get_language() or "en"
    return lang if lang in available_languages() else "en"


def _tables(period: str) -> list[dict[str, Any]]:
    """The last 12 periods of each metric table, formatted as in the command line."""
    tables: list[dict[str, Any]] = []
    with open_ws() as ws:
        cfg = ws.config.workspace
        for name in TABLES:
            try:
                result = service.run_metric(ws, name, period=period).to_pyarrow()
            except RegularsError as exc:
                tables.append({"name": name, "error": str(exc)})
                continue
            rows = [
                [
                    service.cell_text(r[c], c, currency=cfg.currency, locale=cfg.locale)
                    for c in result.column_names
                ]
                for r in result.to_pylist()[-12:]
            ]
            tables.append({"name": name, "columns": result.column_names, "rows": rows})
    return tables


@require("viewer")
def growth(request: HttpRequest) -> HttpResponse:
    from regulars.report import chart_names

    period = _period(request)
    tables = cached(("growth", period), lambda: _tables(period))
    charts = [
        c
        for c in chart_names()
        if c in ("growth-accounting", "new-vs-returning", "growth-sources", "quick-ratio")
    ]
    return render(
        request,
        "regulars_web/growth.html",
        {"period": period, "periods": PERIODS, "tables": tables, "charts": charts},
    )


@require("viewer")
def chart(request: HttpRequest, name: str) -> HttpResponse:
    """One report chart as SVG (rendered on the server: no chart script in the page)."""
    import vl_convert

    from regulars.report import chart_names, chart_spec
    from regulars.report._charts import to_static

    if name not in chart_names():
        raise Http404(_("No such chart."))
    period, lang = _period(request), _report_lang()

    def render() -> str:
        with open_ws() as ws:
            spec = chart_spec(ws, name, period=period, lang=lang)
        return str(vl_convert.vegalite_to_svg(to_static(spec, width=760)))

    svg = cached(("chart", name, period, lang), render)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response


@require("viewer")
def report_download(request: HttpRequest) -> HttpResponse:
    """The self-contained HTML report, as a download (it is not shown inside the app)."""
    from regulars.report import build_report

    with open_ws() as ws:
        html = build_report(ws, period=_period(request), lang=_report_lang())
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="regulars-report.html"'
    return response


def _fit_view(fit: Any) -> dict[str, Any] | None:
    if fit is None:
        return None
    params = []
    for label, model in (("purchase", fit.purchase), ("spend", fit.spend)):
        if model is None:
            continue
        for name, value in getattr(model, "params_", {}).items():
            params.append({"model": label, "name": name, "value": f"{float(value):.4g}"})
    check = fit.holdout
    return {
        "label": service.model_label(fit),
        "fit_id": fit.fit_id,
        "n_customers": fit.n_customers,
        "observation_end": fit.observation_end,
        "params": params,
        "holdout": None
        if check is None
        else {"verdict": check.verdict, "quality": check.quality, "error": check.error},
    }


@require("viewer")
def models_page(request: HttpRequest) -> HttpResponse:
    with open_ws() as ws:
        fit = _fit_view(service.last_fit(ws))
    job = state("refit")
    return render(
        request,
        "regulars_web/models.html",
        {"fit": fit, "job": job, "refresh": job.get("running", False)},
    )


@require("staff")
@require_POST
def refit(request: HttpRequest) -> HttpResponse:
    user = request.user

    def job(progress: Any) -> None:
        with open_ws(retry_seconds=30) as ws:
            result = service.score_models(ws, refit=True, progress=progress)
        audit(None, "refit", json.dumps({"fit": result.fit.fit_id}), user=user)

    if start("refit", job):
        audit(request, "refit_started")
        messages.success(request, _("Refit started."))
    else:
        messages.error(request, _("A refit is already running."))
    return redirect("models")
