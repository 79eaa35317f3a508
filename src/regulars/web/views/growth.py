"""Growth (the report's sections live, with their charts) and Models (last fit, refit)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regulars import service
from regulars.web._access import require
from regulars.web._audit import audit
from regulars.web._cache import cached
from regulars.web._jobs import start, state
from regulars.web._ws import open_ws

if TYPE_CHECKING:
    from regulars.report import ReportDocument, Translator

__all__ = ["chart", "growth", "models_page", "refit", "report_download", "vega_script"]

PERIODS = ("month", "quarter", "year")
#: The page of the app that adds the data a missing-data note asks for, by the
#: first words of the note's command (the report names command-line commands).
_PAGES = (
    ("regulars import", "data"),
    ("regulars touch", "customers"),
    ("regulars fit", "models"),
    ("regulars score", "models"),
    ("regulars actions", "models"),
)


def _period(request: HttpRequest) -> str:
    period = request.GET.get("period", "")
    return period if period in PERIODS else "quarter"


def _report_lang() -> str:
    from regulars.report import available_languages

    lang = translation.get_language() or "en"
    return lang if lang in available_languages() else "en"


def _document(period: str, lang: str) -> tuple[ReportDocument, Translator]:
    """The report's sections for ``period`` in ``lang``, computed once per workspace state."""
    from regulars.report import report_document

    def compute() -> tuple[ReportDocument, Translator]:
        with open_ws() as ws:
            return report_document(ws, period=period, lang=lang)

    return cached(("growth", period, lang), compute)


def _pages(commands: tuple[str, ...]) -> list[str]:
    """The names of the app pages that do what ``commands`` do, in order, once each."""
    out: list[str] = []
    for command in commands:
        for prefix, page in _PAGES:
            if command.startswith(prefix) and page not in out:
                out.append(page)
    return out


def _embed_options(t: Translator) -> dict[str, Any]:
    """vega-embed options for the page: SVG, the CSP-safe expression interpreter
    (``ast``), no style elements (the app's stylesheet styles the tooltip)."""
    return {
        "actions": False,
        "renderer": "svg",
        "ast": True,
        "defaultStyle": False,
        "formatLocale": t.d3_format_locale(),
        "tooltip": {"theme": "light", "disableDefaultStyle": True},
    }


@require("viewer")
def growth(request: HttpRequest) -> HttpResponse:
    period, lang = _period(request), _report_lang()
    doc, t = _document(period, lang)
    page_titles = {"data": _("Data"), "customers": _("Customers"), "models": _("Models")}
    sections = [
        {
            "section": s,
            "missing": [
                {
                    "note": m,
                    "pages": [{"name": p, "title": page_titles[p]} for p in _pages(m.commands)],
                }
                for m in s.missing
            ],
        }
        for s in doc.sections
    ]
    specs = {c.name: c.spec for s in doc.sections for c in s.charts}
    return render(
        request,
        "regulars_web/growth.html",
        {
            "period": period,
            "periods": [("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year"))],
            "doc": doc,
            "sections": sections,
            "specs": specs,
            "embed_options": _embed_options(t),
            "data_needed": t._("Data needed."),
        },
    )


@require("viewer")
def vega_script(request: HttpRequest) -> HttpResponse:
    """Vega, Vega-Lite and vega-embed, served by the app (the report's bundle)."""
    from regulars.report._render import vega_javascript

    response = HttpResponse(vega_javascript(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require("viewer")
def chart(request: HttpRequest, name: str) -> HttpResponse:
    """One chart of the page as SVG, drawn on the server (the page without JavaScript)."""
    import vl_convert

    from regulars.report._charts import to_static

    period, lang = _period(request), _report_lang()
    doc, t = _document(period, lang)
    spec = next((c.spec for s in doc.sections for c in s.charts if c.name == name), None)
    if spec is None:
        raise Http404(_("No such chart."))
    locale = t.d3_format_locale()
    svg = cached(
        ("chart", name, period, lang),
        lambda: str(vl_convert.vegalite_to_svg(to_static(spec, width=760), format_locale=locale)),
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response


@require("viewer")
def report_download(request: HttpRequest) -> HttpResponse:
    """The self-contained HTML report of the page's sections, as a download."""
    from regulars.report import render_document

    doc, t = _document(_period(request), _report_lang())
    html = render_document(doc, t)
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
        from regulars.report import prepare_workspace

        with open_ws(retry_seconds=30) as ws:
            ws.stores_shared_tables = True  # a write anyway: fit and score share the RFM
            result = service.score_models(ws, refit=True, progress=progress)
            # This week's actions too when there are none (an orders-only workspace):
            # the Growth page's "actions" note sends the owner here.
            planned = prepare_workspace(ws, progress=progress).planned
        detail = {"fit": result.fit.fit_id, "planned_actions": planned}
        audit(None, "refit", json.dumps(detail), user=user)

    if start("refit", job):
        audit(request, "refit_started")
        messages.success(request, _("Refit started."))
    else:
        messages.error(request, _("A refit is already running."))
    return redirect("models")
