"""The page: structure snapshot, no external host, escaping (regulars/report/_render.py)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from regulars.report._build import SECTIONS, build_document
from regulars.report._i18n import translator
from regulars.report._render import render_html, tojson_script

from .conftest import FakeData

SECTION_IDS = [
    "headline",
    "new-vs-returning",
    "growth-accounting",
    "growth-sources",
    "channels",
    "cohorts",
    "subscriptions",
    "referrals",
    "guarantee-packages",
    "customer-value",
    "actions",
]

HEADINGS = {
    "en": [
        "Headline figures",
        "New vs returning customers",
        "Growth accounting",
        "Where growth came from",
        "Channel economics",
        "Cohorts and retention",
        "Subscriptions",
        "Referral program",
        "Guarantee and packages",
        "Customer value",
        "This week's actions",
    ],
    "ru": [
        "Главные цифры",
        "Новые и постоянные клиенты",
        "Учёт роста",
        "Откуда пришёл рост",
        "Экономика каналов",
        "Когорты и удержание",
        "Подписки",
        "Реферальная программа",
        "Гарантия и пакеты",
        "Ценность клиентов",
        "Действия на эту неделю",
    ],
    "sl": [
        "Ključne številke",
        "Nove in obstoječe stranke",
        "Računovodstvo rasti",
        "Od kod je prišla rast",
        "Ekonomika kanalov",
        "Kohorte in zadržanje",
        "Naročnine",
        "Program priporočil",
        "Garancija in paketi",
        "Vrednost strank",
        "Dejanja za ta teden",
    ],
    "he": [
        "המספרים העיקריים",
        "לקוחות חדשים מול חוזרים",
        "חשבונאות הצמיחה",
        "מאין הגיעה הצמיחה",
        "כלכלת ערוצים",
        "קוהורטות ושימור",
        "מנויים",
        "תוכנית המלצות",
        "אחריות וחבילות",
        "ערך הלקוחות",
        "הפעולות של השבוע",
    ],
}

# Plain-text mentions of URLs that the inlined Vega bundle carries: XML namespaces,
# the Vega schema id, and links in error messages or in the action menu (disabled).
ALLOWED_URLS = {
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/2000/xmlns/",
    "https://vega.github.io/schema/vega/v6.json",
    "https://vega.github.io/editor/",
    "https://github.com/vega/vega-lite/issues/2415",
}


class _Outline(HTMLParser):
    """Collects section ids, their h2 text, and every src/href attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.links: list[str] = []
        self.charts: list[str] = []
        self._in_h2 = False
        self._h2: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a["id"] or "")
        if tag == "h2":
            self._in_h2, self._h2 = True, []
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if a.get(name):
                self.links.append(a[name] or "")
        if a.get("data-chart"):
            self.charts.append(a["data-chart"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._in_h2:
            self._in_h2 = False
            text = "".join(self._h2).strip()
            self.headings.append(re.sub(r"^\d+\s+", "", text))

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self._h2.append(data)


def render(lang: str = "en", **kw: object) -> str:
    t = translator(lang, currency="EUR")
    doc = build_document(FakeData(**kw), t, business="Demo <studio>", version="0.1.0")  # type: ignore[arg-type]
    return render_html(doc, t)


@pytest.fixture(scope="module")
def html_en() -> str:
    return render("en")


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def test_section_order_matches_registry() -> None:
    assert [s.id for s in SECTIONS] == SECTION_IDS


@pytest.mark.parametrize("lang", ["en", "ru", "sl", "he"])
def test_structure_snapshot(lang: str) -> None:
    out = outline(render(lang))
    assert out.sections == SECTION_IDS
    assert out.headings == HEADINGS[lang]
    assert [link for link in out.links if link.startswith("#")] == [f"#{s}" for s in SECTION_IDS]


def test_every_chart_has_a_spec(html_en: str) -> None:
    out = outline(html_en)
    assert len(out.charts) == len(set(out.charts)) > 5
    for name in out.charts:
        m = re.search(rf'<script type="application/json" id="spec-{name}">(.*?)</script>', html_en)
        assert m, name
        spec = json.loads(m.group(1))
        assert "$schema" not in spec
        assert spec["data"]["values"], name


def test_no_external_host(html_en: str) -> None:
    """No URL in src/href/url(), no protocol-relative //host, only allowed mentions."""
    out = outline(html_en)
    assert all(link.startswith("#") for link in out.links), out.links
    # url(...) appears only in the bundled JS, built from local #fragments.
    for target in re.findall(r"url\(\s*['\"]?([^'\")]{0,20})", html_en):
        assert not re.match(r"\s*(?:[a-z][a-z0-9+.-]*:|//)", target, re.I), target
    page = re.sub(r"(?s)<script\b.*?</script>", "", html_en)
    assert "url(" not in page
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", html_en)
    assert not re.search(r"@import", html_en)
    # No protocol-relative //host in a string, attribute or url().
    assert not re.search(r"[\"'(=]\s*//[a-z0-9-]+(?:\.[a-z0-9-]+)+", html_en, re.I)
    urls = set(re.findall(r"(?i)\b(?:https?|ftp|wss?)://[^\s\"'<>)`\\]+", html_en))
    assert urls <= ALLOWED_URLS, urls - ALLOWED_URLS
    assert "vegaEmbed" in html_en


def test_escaping() -> None:
    html = render("en")
    assert "Demo &lt;studio&gt;" in html
    assert "Demo <studio>" not in html
    assert (
        str(tojson_script({"a": "</script><b>&"}))
        == '{"a":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}'
    )


def test_takeaways_are_computed(html_en: str) -> None:
    assert "Returning customers brought 68% of profit in 2025, up from 63% in 2024." in html_en
    assert "Revenue in 2025 was €134,000, up 21% from 2024" in html_en


def test_russian_numbers() -> None:
    html = render("ru")
    assert "134\xa0000\xa0€" in html
    assert 'lang="ru"' in html


@pytest.mark.parametrize(
    ("lang", "direction", "money"),
    [
        ("en", "ltr", "€134,000"),
        ("ru", "ltr", "134\xa0000\xa0€"),
        ("sl", "ltr", "134.000\xa0€"),
        # Hebrew: CLDR's right-to-left marks, inside a right-to-left isolate.
        ("he", "rtl", "\u2067\u200f134,000\xa0\u200f€\u2069"),
    ],
)
def test_page_language_direction_and_money(lang: str, direction: str, money: str) -> None:
    html = render(lang)
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert money in html
    assert ("\u2069" in html) is (direction == "rtl")  # the isolates' end


def _page_text(html: str) -> str:
    """The page's text and chart specs, without the inlined Vega JavaScript."""
    import html as htmllib

    return htmllib.unescape(re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL))


@pytest.mark.parametrize("lang", ["ru", "sl", "he"])
def test_no_english_message_left_on_the_page(lang: str) -> None:
    """Every message the page shows is translated: no English msgid is on the page."""
    from babel.messages.pofile import read_po

    from .test_i18n import PACKAGE

    with (PACKAGE / "locale" / lang / "LC_MESSAGES" / "regulars.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    english = [
        m.id
        for m in catalog
        if isinstance(m.id, str) and " " in m.id and "{" not in m.id and m.string != m.id
    ]
    assert len(english) > 150
    text = _page_text(render(lang))
    assert [m for m in english if m in text] == []
    # And the fixture's page does show translated text in quantity.
    assert sum(catalog[m].string in text for m in english) > 40


def test_hebrew_chart_titles_read_right_to_left() -> None:
    html = render("he")
    specs = [
        json.loads(m)
        for m in re.findall(r'<script type="application/json" id="spec-[^"]+">(.*?)</script>', html)
    ]
    assert specs
    for spec in specs:
        assert spec["config"]["title"]["anchor"] == "end"
        title = spec["title"]["text"]
        first = title if isinstance(title, str) else title[0]
        assert first.startswith("\u2067")
        assert first.endswith("\u2069")
    assert all(
        json.loads(m)["config"]["title"]["anchor"] == "start"
        for m in re.findall(
            r'<script type="application/json" id="spec-[^"]+">(.*?)</script>', render("sl")
        )
    )


def test_missing_sections_say_what_to_import() -> None:
    html = render("en", kinds={"orders"})
    assert "regulars import spend spend.csv" in html
    assert "regulars import subscriptions subscriptions.csv" in html
    assert "regulars score" in html
    assert "default margin" in html


def test_size_is_small(html_en: str) -> None:
    assert len(html_en.encode()) < 2_000_000
