"""Growth: the report's sections live, in the user's language, with its charts and the
download; and the same page on an orders-only shop export."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils.html import escape

from .conftest import client_for

pytestmark = [
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]


@functools.cache
def _cached_document(workspace: str, period: str, lang: str, state: Any) -> Any:
    from regulars.report import report_document
    from regulars.store import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        doc, _t = report_document(ws, period=period, lang=lang)
    return doc


def _document(period: str, lang: str) -> Any:
    """The report's own sections (the oracle), built once per workspace state."""
    from django.conf import settings

    from regulars.web._cache import fingerprint

    return _cached_document(settings.REGULARS_WORKSPACE, period, lang, fingerprint())


def _json_script(html: str, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match is not None, element_id
    return json.loads(match.group(1))


def test_growth_shows_every_section_of_the_report() -> None:
    doc = _document("year", "en")
    html = client_for("vic").get("/growth/?period=year").content.decode()
    ids = re.findall(r'<section id="([^"]+)" class="report-section', html)
    assert ids == [s.id for s in doc.sections]
    assert len(ids) == 11
    for s in doc.sections:
        assert escape(s.title) in html
        assert escape(s.takeaway) in html
        for f in s.figures:
            assert escape(f.value) in html
        for t in s.tables:
            assert f'id="table-{t.name}"' in html
    specs = _json_script(html, "regulars-specs")
    assert specs == {c.name: c.spec for s in doc.sections for c in s.charts}
    assert specs  # charts to draw
    options = _json_script(html, "regulars-embed-options")
    assert options["ast"] is True  # Vega's CSP-safe interpreter: no eval
    assert options["defaultStyle"] is False  # no <style> elements: style-src 'self'
    for name in specs:
        assert f'data-chart="{name}"' in html
        assert f"/growth/chart/{name}.svg?period=year" in html  # the no-JavaScript image


def test_missing_data_names_the_page_that_adds_it() -> None:
    doc = _document("quarter", "en")
    missing = [m for s in doc.sections for m in s.missing]
    assert missing  # the test book has no marketing spend, for one
    html = client_for("vic").get("/growth/").content.decode()
    assert "selected>Quarter</option>" in html  # the default period
    for m in missing:
        assert escape(m.what) in html
    if any(c.startswith("regulars import") for m in missing for c in m.commands):
        assert '<a href="/data/">' in html


def test_growth_speaks_the_users_language() -> None:
    from django.contrib.auth import get_user_model

    from regulars.web.models import Profile

    doc = _document("year", "ru")
    english = _document("year", "en")
    user = get_user_model().objects.get(username="vic")
    Profile.objects.filter(user=user).update(language="ru")
    try:
        html = client_for("vic").get("/growth/?period=year").content.decode()
    finally:
        Profile.objects.filter(user=user).update(language="")
    assert '<html lang="ru"' in html
    for s, en in zip(doc.sections, english.sections, strict=True):
        assert escape(s.title) in html
        assert s.title != en.title
        assert escape(s.takeaway) in html


def test_the_download_is_the_report_of_the_page() -> None:
    from markupsafe import escape as jinja_escape

    doc = _document("year", "en")
    response = client_for("vic").get("/growth/report/?period=year")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="regulars-report.html"'
    html = response.content.decode()
    assert html.startswith("<!DOCTYPE html>")
    for s in doc.sections:
        assert f'<section id="{s.id}"' in html
        assert jinja_escape(s.takeaway) in html


def test_the_chart_script_and_images_need_a_login() -> None:
    doc = _document("year", "en")
    name = next(c.name for s in doc.sections for c in s.charts)
    anonymous = client_for(None)
    for url in ("/growth/vega.js", f"/growth/chart/{name}.svg"):
        assert anonymous.get(url).status_code == 302
    client = client_for("vic")
    script = client.get("/growth/vega.js")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert b"vegaEmbed" in script.content
    chart = client.get(f"/growth/chart/{name}.svg?period=year")
    assert chart["Content-Type"] == "image/svg+xml"
    assert chart.content.startswith(b"<svg")
    assert client.get("/growth/chart/no-such-chart.svg").status_code == 404


# -- an orders-only online shop (no spend, no channels, no scores yet) ------------------


@pytest.fixture(scope="module")
def shop_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The app pointed at a small imported shop export, then back at the test book."""
    import warnings

    from django.conf import settings

    from regulars.datasets import simulate_shop_export
    from regulars.service import import_data
    from regulars.store import Workspace

    root = tmp_path_factory.mktemp("shop")
    csv = root / "shop.csv"
    simulate_shop_export(300, seed=11).lines.to_csv(csv, index=False)
    ws = Workspace.init(root / "ws", name="Shop", currency="GBP", kind="shop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import_data(ws, "orders", csv)
    ws.close()
    before = settings.REGULARS_WORKSPACE
    settings.REGULARS_WORKSPACE = str(root / "ws")
    try:
        yield root / "ws"
    finally:
        settings.REGULARS_WORKSPACE = before


def test_growth_on_an_orders_only_shop(shop_workspace: Path) -> None:
    doc = _document("quarter", "en")
    client = client_for("vic")
    response = client.get("/growth/?period=quarter")
    assert response.status_code == 200
    html = response.content.decode()
    ids = re.findall(r'<section id="([^"]+)" class="report-section', html)
    assert ids == [s.id for s in doc.sections]
    specs = _json_script(html, "regulars-specs")
    assert set(specs) == {c.name for s in doc.sections for c in s.charts}
    assert "growth-accounting" in specs  # orders alone give growth accounting
    empty = [s for s in doc.sections if s.is_empty]
    assert {"channels", "customer-value"} <= {s.id for s in empty}
    for s in empty:  # "data needed" and where to add it, or why the section is empty
        section = html.split(f'<section id="{s.id}"', 1)[1].split("</section>", 1)[0]
        assert "section-missing" in section.split(">", 1)[0]
        for m in s.missing:
            assert escape(m.what) in section
            assert "<pre>regulars " in section
        for note in s.notes:
            assert escape(note) in section
        assert s.missing or s.notes
    value = html.split('<section id="customer-value"', 1)[1].split("</section>", 1)[0]
    assert '<a href="/models/">Models</a>' in value  # scores come from a refit
    assert client.get("/growth/report/?period=quarter").status_code == 200


def test_a_refit_fills_customer_value_and_the_week_on_the_shop(shop_workspace: Path) -> None:
    from regulars.web.models import AuditEvent

    response = client_for("sam").post("/models/refit/")
    assert response.status_code == 302
    refit = AuditEvent.objects.filter(event="refit").first()
    assert refit is not None
    assert json.loads(refit.detail)["planned_actions"] is True
    doc = _document("quarter", "en")
    filled = {s.id for s in doc.sections if not s.is_empty}
    assert {"customer-value", "actions"} <= filled
    html = client_for("vic").get("/growth/?period=quarter").content.decode()
    for section_id in ("customer-value", "actions"):
        section = html.split(f'<section id="{section_id}"', 1)[1].split("</section>", 1)[0]
        assert "section-missing" not in section.split(">", 1)[0]
