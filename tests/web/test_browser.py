"""The owner's week in a real browser: Playwright driving Debian's Chromium (slow)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORDS, XSS_NAME

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The app under waitress on a free loopback port, in a thread of this process."""
    from waitress.server import create_server

    from regulars.web import wsgi_app

    server: Any = create_server(wsgi_app(), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


@pytest.fixture
def page(live_url: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():  # pragma: no cover - set-up problem, not a bug
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --with-test-tools")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.problems = []
            page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
            page.on(
                "console",
                lambda m: (
                    page.problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def _login(page: Any, url: str, user: str = "boss") -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/week/")


def test_owners_week(page: Any, live_url: str, tmp_path: Path) -> None:
    url = live_url
    _login(page, url)
    actions = page.locator("li.action")
    assert actions.count() > 3
    first = actions.nth(0).get_attribute("data-action")
    # done, with an outcome
    card = page.locator(f"#action-{first}")
    card.locator("form.done select[name=outcome]").select_option("accepted")
    card.locator("form.done button").click()
    page.wait_for_load_state()
    assert page.locator(f"#action-{first}").count() == 0
    # snooze one
    second = page.locator("li.action").nth(0).get_attribute("data-action")
    card = page.locator(f"#action-{second}")
    card.locator("form.snooze input[name=until]").fill("2031-01-01")
    card.locator("form.snooze input[name=reason]").fill("after the holidays")
    card.locator("form.snooze button").click()
    page.wait_for_load_state()
    assert page.locator(f"#action-{second}").count() == 0
    # assign one to the staff member
    third = page.locator("li.action").nth(0).get_attribute("data-action")
    card = page.locator(f"#action-{third}")
    card.locator("form.assign select[name=user]").select_option(label="sam")
    card.locator("form.assign button").click()
    page.wait_for_load_state()
    assert "sam" in page.locator(f"#action-{third} .assignee").inner_text()
    # open a customer and log a touch
    page.locator(f"#action-{third} a.customer").click()
    page.wait_for_selector("#customer-name")
    customer_url = page.url
    page.select_option("form.touch select[name=kind]", "call")
    page.fill("form.touch input[name=note]", "Talked about the spring campaign")
    page.click("form.touch button")
    page.wait_for_load_state()
    assert "Talked about the spring campaign" in page.locator("ol.timeline").inner_text()
    customer_id = customer_url.rstrip("/").rsplit("/", 1)[1]
    # upload a CSV, fix its mapping, import it
    csv = tmp_path / "march.csv"
    csv.write_text(
        f"Invoice,Client,Day,Total\nB-1,{customer_id},2024-12-30,777.00\n", encoding="utf-8"
    )
    page.goto(f"{url}/data/")
    page.set_input_files("#id_file", str(csv))
    page.click("form.upload button")
    page.wait_for_selector("form.mapping")
    page.select_option("#map_customer_id", "Client")
    page.select_option("#map_order_date", "Day")
    page.select_option("#map_revenue", "Total")
    page.select_option("#map_order_id", "Invoice")
    page.click("#do-import")
    page.wait_for_selector("#import-message")
    assert "Imported 1" in page.locator("#import-message").inner_text()
    # the new order is on the customer page
    page.goto(customer_url)
    assert "B-1" in page.locator("ol.timeline").inner_text()
    # Hebrew, right to left
    page.goto(f"{url}/account/")
    page.select_option("#language-form select[name=language]", "he")
    page.click("#language-form button")
    page.goto(f"{url}/week/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "he"
    page.goto(f"{url}/account/")
    page.select_option("#language-form select[name=language]", "")
    page.click("#language-form button")
    # log out: the pages need a login again
    page.click("#logout")
    page.wait_for_url(f"{url}/login/")
    page.goto(f"{url}/week/")
    assert "/login/" in page.url
    assert page.problems == []


def test_hostile_names_and_notes_render_inert(page: Any, live_url: str) -> None:
    _login(page, live_url, "vic")
    page.goto(f"{live_url}/customers/?q=script")
    link = page.get_by_text(XSS_NAME)
    assert link.count() >= 1
    link.first.click()
    page.wait_for_selector("#customer-name")
    assert page.locator("#customer-name").inner_text() == XSS_NAME
    assert "onerror=alert(1)" in page.locator("ol.timeline").inner_text()
    assert page.locator("ol.timeline img").count() == 0
    page.goto(f"{live_url}/week/")
    assert page.problems == []


def test_growth_shows_every_report_section_with_its_charts(page: Any, live_url: str) -> None:
    from django.conf import settings

    from regulars.report import report_document
    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE, read_only=True) as ws:
        doc, _t = report_document(ws, period="year", lang="en")
    charts = [c.name for s in doc.sections for c in s.charts]
    assert charts  # the test workspace has enough data for charts
    _login(page, live_url, "vic")
    slow = 300_000  # a cold Growth page computes every section (seconds; more on a busy CI)
    page.goto(f"{live_url}/growth/?period=year", timeout=slow)
    page.wait_for_selector("html[data-charts-ready=true]", timeout=slow)
    shown = page.locator("section.report-section").evaluate_all("els => els.map(e => e.id)")
    assert shown == [s.id for s in doc.sections]
    for s in doc.sections:
        if s.takeaway:
            assert page.locator(f"#{s.id} .takeaway").inner_text() == s.takeaway
    assert page.locator("[data-chart]").count() == len(charts)
    for name in charts:
        box = page.locator(f'[data-chart="{name}"]')
        assert box.get_attribute("data-rendered") == "true", name
        assert box.locator("svg").count() >= 1, name
    # the period selector and the download
    page.select_option("#period-form select[name=period]", "quarter")
    page.click("#period-form button", timeout=slow)
    page.wait_for_url("**/growth/?period=quarter", timeout=slow)
    page.wait_for_selector("html[data-charts-ready=true]", timeout=slow)
    assert page.locator("section.report-section").count() == len(doc.sections)
    with page.expect_download(timeout=slow) as download:
        page.click("#report-download")
    assert download.value.suggested_filename == "regulars-report.html"
    assert page.problems == []  # no console error: the charts run under the strict CSP
