"""The report at phone, laptop and wide-screen widths: no axis label overlaps (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_browser import ARGS, ARTIFACTS, CHROMIUM

pytestmark = [
    pytest.mark.slow,
    # Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    # Ibis 12's to_pandas() sets pandas' deprecated future.infer_string option.
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]

WIDTHS = (360, 1024, 1600)

# Every visible axis label of every chart, with its box on the page.
_LABEL_BOXES = """
() => [...document.querySelectorAll('[data-chart]')].map(chart => ({
  chart: chart.dataset.chart,
  axes: [...chart.querySelectorAll('svg g.role-axis-label')].map(axis =>
    [...axis.querySelectorAll('text')]
      .filter(t => t.textContent.trim() !== '' && getComputedStyle(t).opacity !== '0'
                   && t.getAttribute('opacity') !== '0')
      .map(t => { const r = t.getBoundingClientRect();
                  return [t.textContent, r.left, r.top, r.right, r.bottom]; })),
}))
"""


def _overlaps(labels: list[list]) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes overlap by more than half a pixel both ways."""
    out = []
    for i, (a, l1, t1, r1, b1) in enumerate(labels):
        for b, l2, t2, r2, b2 in labels[i + 1 :]:
            if min(r1, r2) - max(l1, l2) > 0.5 and min(b1, b2) - max(t1, t2) > 0.5:
                out.append((a, b))
    return out


def _label_boxes(path: Path, width: int, shot: Path) -> list[dict]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():  # pragma: no cover - set-up problem, not a bug
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --with-test-tools")
    console: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.goto(path.resolve().as_uri())
            page.wait_for_selector("html[data-charts-ready]", state="attached", timeout=60_000)
            boxes = page.evaluate(_LABEL_BOXES)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert console == []
    return boxes


@pytest.mark.parametrize("lang", ["en", "ru", "sl", "he"])
def test_axis_labels_never_overlap(shop_workspace: Path, tmp_path: Path, lang: str) -> None:
    from regulars.report import write_report

    path = write_report(shop_workspace, tmp_path / f"{lang}.html", lang=lang, fit=False)
    for width in WIDTHS:
        boxes = _label_boxes(path, width, ARTIFACTS / f"report-shop-{lang}-{width}.png")
        assert len(boxes) >= 8
        for chart in boxes:
            assert chart["axes"], chart["chart"]
            for axis in chart["axes"]:
                assert _overlaps(axis) == [], (width, chart["chart"], _overlaps(axis))
