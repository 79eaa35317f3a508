"""The report in a real browser: Playwright driving Debian's Chromium (slow)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from regulars.report._build import build_document
from regulars.report._i18n import translator
from regulars.report._render import render_html

from .conftest import FakeData

pytestmark = [
    pytest.mark.slow,
    # Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    # Ibis 12's to_pandas() sets pandas' deprecated future.infer_string option.
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


# Where the sign and the percent sign of the first headline change ("+21%") are drawn.
_CHANGE_JS = (
    "(() => { const el = document.querySelector('.figure-change');"
    " if (!el) return null; const n = el.firstChild, s = n.data;"
    " const x = ch => { const r = document.createRange(), i = s.indexOf(ch);"
    " if (i < 0) return null;"
    " r.setStart(n, i); r.setEnd(n, i + 1); return r.getBoundingClientRect().left; };"
    " return {text: s, sign: x('+'), percent: x('%')}; })()"
)


def _open_report(path: Path, screenshot: Path | None) -> dict[str, object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():  # pragma: no cover - set-up problem, not a bug
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --with-test-tools")
    console: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.resolve().as_uri())
            page.wait_for_selector("html[data-charts-ready]", state="attached", timeout=60_000)
            charts = page.eval_on_selector_all(
                "[data-chart]",
                "els => els.map(e => [e.dataset.chart, e.dataset.rendered,"
                " !!e.querySelector('svg, canvas'),"
                " e.querySelector('svg') ? e.querySelector('svg').getBBox().width : 0])",
            )
            missing = page.eval_on_selector_all(".missing", "els => els.length")
            layout = page.evaluate(
                "() => ({direction: getComputedStyle(document.body).direction,"
                " chart: getComputedStyle(document.querySelector('.chart')).direction,"
                " num: document.querySelector('h2 .num').getBoundingClientRect().toJSON(),"
                " main: document.querySelector('main').getBoundingClientRect().toJSON(),"
                " change: " + _CHANGE_JS + "})"
            )
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return {
        "console": console,
        "requests": requests,
        "charts": charts,
        "missing": missing,
        "layout": layout,
    }


def _check(result: dict[str, object]) -> None:
    assert result["console"] == []
    requests = result["requests"]
    assert isinstance(requests, list)
    assert [r for r in requests if not r.startswith("file:")] == []
    charts = result["charts"]
    assert isinstance(charts, list)
    assert charts
    for name, rendered, has_graphic, width in charts:
        assert rendered == "true", name
        assert has_graphic, name
        assert width > 100, name


def test_fake_report_renders(tmp_path: Path) -> None:
    t = translator("ru", currency="EUR")
    doc = build_document(FakeData(), t, business="Студия", version="0")
    path = tmp_path / "fake.html"
    path.write_text(render_html(doc, t), encoding="utf-8")
    _check(_open_report(path, None))


@pytest.mark.parametrize(("lang", "business"), [("he", "סטודיו"), ("sl", "Studio")])
def test_fake_report_renders_in_hebrew_and_slovenian(
    tmp_path: Path, lang: str, business: str
) -> None:
    t = translator(lang, currency="EUR")
    doc = build_document(FakeData(), t, business=business, version="0")
    path = tmp_path / f"fake-{lang}.html"
    path.write_text(render_html(doc, t), encoding="utf-8")
    result = _open_report(path, ARTIFACTS / f"report-fake-{lang}.png")
    _check(result)
    layout = result["layout"]
    assert isinstance(layout, dict)
    assert layout["direction"] == ("rtl" if lang == "he" else "ltr")
    assert layout["chart"] == "ltr"  # Vega's SVG keeps its own left-to-right layout
    # "+21%" keeps its sign on the left of the number, in a Hebrew sentence too.
    change = layout["change"]
    assert change["text"].startswith(("+", "\u2066+")), change
    assert change["sign"] < change["percent"], change
    # A section's number starts its heading: on the right in Hebrew, on the left otherwise.
    num, main = layout["num"], layout["main"]
    if lang == "he":
        assert main["right"] - num["right"] < 40 < num["left"] - main["left"]
    else:
        assert num["left"] - main["left"] < 40 < main["right"] - num["right"]


def test_demo_report_renders(demo_report: Path) -> None:
    shot = ARTIFACTS / "report.png"
    result = _open_report(demo_report, shot)
    _check(result)
    assert shot.stat().st_size > 50_000
    assert demo_report.stat().st_size < 5_000_000
    shutil.copy(demo_report, ARTIFACTS / "report.html")


def test_demo_report_in_russian_by_year(demo_workspace: Path, tmp_path: Path) -> None:
    from regulars.report import write_report

    path = write_report(demo_workspace, tmp_path / "ru.html", period="year", lang="ru")
    result = _open_report(path, ARTIFACTS / "report-ru.png")
    _check(result)
    # Only the holdout check may be missing: the demo fits without one.
    assert result["missing"] <= 1


def test_demo_report_in_hebrew_by_quarter(demo_workspace: Path, tmp_path: Path) -> None:
    from regulars.report import write_report

    path = write_report(demo_workspace, tmp_path / "he.html", period="quarter", lang="he")
    result = _open_report(path, ARTIFACTS / "report-he.png")
    _check(result)
    assert result["missing"] <= 1
    layout = result["layout"]
    assert isinstance(layout, dict)
    assert layout["direction"] == "rtl"
    html = path.read_text(encoding="utf-8")
    assert '<html lang="he" dir="rtl">' in html
    assert "duration-" not in html  # every unit has a Hebrew form


def test_orders_only_report_renders(orders_only_report: Path) -> None:
    result = _open_report(orders_only_report, ARTIFACTS / "report-orders-only.png")
    _check(result)
    assert isinstance(result["missing"], int)
    assert result["missing"] >= 5
