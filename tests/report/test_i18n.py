"""Translations and locale formatting (regulars/report/_i18n.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import regulars.report
from regulars.errors import ConfigError
from regulars.report import available_languages, translator

PACKAGE = Path(regulars.report.__file__).parent


def test_languages() -> None:
    assert available_languages() == ("en", "he", "ru", "sl")


def test_unknown_language_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"languages: en, he, ru, sl.*Adding a language"):
        translator("xx")


@pytest.mark.parametrize(
    ("lang", "money", "number", "percent", "quarter", "month"),
    [
        ("en", "€12,346", "1,234,568", "64%", "Q1 2025", "Mar 2025"),
        ("ru", "12\xa0346\xa0€", "1\xa0234\xa0568", "64\xa0%", "1-й кв. 2025", "март 2025"),
        ("sl", "12.346\xa0€", "1.234.568", "64\xa0%", "1. čet. 2025", "mar. 2025"),
        # Hebrew: numbers are bidi isolates (U+2066/U+2067 ... U+2069); CLDR's money
        # carries right-to-left marks, so it is a right-to-left isolate.
        (
            "he",
            "\u2067\u200f12,346\xa0\u200f€\u2069",
            "\u20661,234,568\u2069",
            "\u206664%\u2069",
            "Q1 2025",
            "מרץ 2025",
        ),
    ],
)
def test_formats(
    lang: str, money: str, number: str, percent: str, quarter: str, month: str
) -> None:
    t = translator(lang, currency="EUR")
    assert t.money(12345.678) == money
    assert t.number(1234567.5) == number
    assert t.percent(0.6412) == percent
    assert t.period_label(dt.date(2025, 1, 1), "quarter") == quarter
    assert t.period_label(dt.date(2025, 3, 1), "month") == month
    assert t.period_label(dt.date(2025, 1, 1), "year") == "2025"


def test_missing_values_show_a_dash() -> None:
    t = translator("en")
    assert t.money(None) == t.number(float("nan")) == t.percent(float("inf")) == "–"


def test_money_with_cents_and_other_currency() -> None:
    assert translator("en", currency="USD").money(1234.5, 2) == "$1,234.50"
    assert translator("ru", currency="RUB").money(1234) == "1\xa0234\xa0₽"


def test_d3_locale_matches_babel() -> None:
    loc = translator("ru", currency="EUR").d3_format_locale()
    assert loc["decimal"] == ","
    assert loc["thousands"] == "\xa0"
    assert loc["currency"] == ["", "\xa0€"]
    assert translator("en", currency="EUR").d3_format_locale()["currency"] == ["€", ""]


def test_russian_translates_and_plurals() -> None:
    t = translator("ru")
    assert t._("Growth accounting") == "Учёт роста"
    assert t._("not a message in the catalogue") == "not a message in the catalogue"


def _extracted() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.j2", "jinja2")]
    options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n"}}
    found: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(PACKAGE), method_map, options_map=options
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["ru", "sl", "he"])
def test_catalogue_translates_every_message(lang: str) -> None:
    """Every message in the code has a translation, and no stale ones remain."""
    po = PACKAGE / "locale" / lang / "LC_MESSAGES" / "regulars.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    used = _extracted()
    assert len(used) > 100
    untranslated = sorted(m for m in used if m not in translated or not translated[m].string)
    assert untranslated == [], f"{len(untranslated)} messages lack a {lang} translation"
    stale = sorted(set(translated) - used)
    assert stale == [], "catalogue has messages the code no longer uses"


def _text(string: object) -> str:
    return " ".join(string) if isinstance(string, tuple) else str(string)


@pytest.mark.parametrize("lang", ["en", "ru", "sl", "he"])
def test_translations_keep_placeholders(lang: str) -> None:
    import string

    po = PACKAGE / "locale" / lang / "LC_MESSAGES" / "regulars.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    fmt = string.Formatter()
    checked = 0
    for m in catalog:
        if not m.id or not _text(m.string).strip():
            continue  # the header; English may leave msgstr empty (the msgid is shown)
        want = {f for _, f, _, _ in fmt.parse(_text(m.id)) if f}
        # A translation may use a period's forms: {period.in_} is {period}.  A plural
        # form may spell its number out ("חודשיים"), so the forms are checked together.
        got = {f.split(".")[0] for _, f, _, _ in fmt.parse(_text(m.string)) if f}
        assert want == got, m.id
        checked += 1
    assert checked > 400 or lang == "en"


@pytest.mark.parametrize(("lang", "nplurals"), [("ru", 3), ("sl", 4), ("he", 3)])
def test_plural_messages_have_every_form(lang: str, nplurals: int) -> None:
    po = PACKAGE / "locale" / lang / "LC_MESSAGES" / "regulars.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    assert catalog.num_plurals == nplurals
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert len(plurals) >= 8
    for m in plurals:
        assert len(m.string) == nplurals, m.id
        assert all(form.strip() for form in m.string), m.id


@pytest.mark.parametrize(
    ("lang", "n", "want"),
    [
        ("sl", 1, "1 mesec"),
        ("sl", 2, "2 meseca"),
        ("sl", 3, "3 meseci"),
        ("sl", 5, "5 mesecev"),
        ("sl", 101, "101 mesec"),
        ("sl", 104, "104 meseci"),
        ("he", 1, "חודש אחד"),
        ("he", 2, "חודשיים"),
        ("he", 5, "5 חודשים"),
        ("ru", 22, "22 месяца"),
    ],
)
def test_plural_forms_follow_the_language(lang: str, n: int, want: str) -> None:
    t = translator(lang)
    assert t.ngettext("{n} month", "{n} months", n).format(n=n) == want


@pytest.mark.parametrize(
    ("start", "period", "form", "want"),
    [
        (dt.date(2025, 7, 1), "quarter", "in_", "в 3-м кв. 2025"),
        (dt.date(2025, 4, 1), "quarter", "in_", "во 2-м кв. 2025"),
        (dt.date(2025, 4, 1), "quarter", "to", "ко 2-му кв. 2025"),
        (dt.date(2025, 1, 1), "quarter", "to", "к 1-му кв. 2025"),
        (dt.date(2025, 4, 1), "quarter", "from_", "со 2-го кв. 2025"),
        (dt.date(2025, 3, 1), "month", "in_", "в марте 2025"),
        (dt.date(2025, 3, 1), "month", "of", "марта 2025"),
        (dt.date(2025, 1, 1), "year", "In", "В 2025 году"),
    ],
)
def test_russian_period_forms_agree_in_case(
    start: dt.date, period: str, form: str, want: str
) -> None:
    name = translator("ru").period_name(start, period)
    assert getattr(name, form) == want
    assert name == translator("ru").period_label(start, period)


def test_russian_sentences_decline_the_period() -> None:
    t = translator("ru")
    q3, q2 = (
        t.period_name(dt.date(2025, 7, 1), "quarter"),
        t.period_name(dt.date(2025, 4, 1), "quarter"),
    )
    text = t._("vs {period}").format(period=q2)
    assert text == "ко 2-му кв. 2025"
    text = t._("Revenue in {period} was {revenue}; returning customers brought {share} of it.")
    assert text.format(period=q3, revenue="1", share="2").startswith("Выручка в 3-м кв. 2025")
    # English keeps its own words around the plain label.
    en = translator("en")
    assert en._("vs {period}").format(period=en.period_name(dt.date(2025, 4, 1), "quarter")) == (
        "vs Q2 2025"
    )


@pytest.mark.parametrize(
    ("lang", "start", "period", "form", "want"),
    [
        ("sl", dt.date(2025, 7, 1), "quarter", "in_", "v 3. četrtletju 2025"),
        ("sl", dt.date(2025, 4, 1), "quarter", "from_", "od 2. četrtletja 2025"),
        ("sl", dt.date(2025, 3, 1), "month", "in_", "marca 2025"),
        ("sl", dt.date(2025, 3, 1), "month", "In", "Marca 2025"),
        ("sl", dt.date(2025, 1, 1), "year", "of", "leta 2025"),
        ("he", dt.date(2025, 7, 1), "quarter", "in_", "ברבעון השלישי של 2025"),
        ("he", dt.date(2025, 3, 1), "month", "in_", "במרץ 2025"),
        ("he", dt.date(2025, 3, 1), "month", "from_", "ממרץ 2025"),
        ("he", dt.date(2025, 1, 1), "year", "of", "שנת 2025"),
    ],
)
def test_new_languages_decline_the_period(
    lang: str, start: dt.date, period: str, form: str, want: str
) -> None:
    name = translator(lang).period_name(start, period)
    assert getattr(name, form) == want


def test_slovenian_and_hebrew_sentences() -> None:
    sl = translator("sl")
    q3 = sl.period_name(dt.date(2025, 7, 1), "quarter")
    text = sl._("Growth sources in {period}").format(period=q3)
    assert text == "Viri rasti v 3. četrtletju 2025"
    he = translator("he")
    assert he._("Growth accounting") == "חשבונאות הצמיחה"
    march = he.period_name(dt.date(2025, 3, 1), "month")
    assert he._("MRR was {mrr} at the end of {period}").format(mrr="1", period=march) == (
        "MRR בסוף מרץ 2025: 1"
    )


def test_only_hebrew_is_right_to_left() -> None:
    assert [lang for lang in available_languages() if translator(lang).direction == "rtl"] == ["he"]
    he = translator("he")
    # One isolate around a signed share, not an isolate inside another.
    assert he.isolate("+" + he.percent(0.12)) == "\u2066+12%\u2069"
    assert he.ratio(2.345) == "\u20662.3×\u2069"
    assert translator("sl").isolate("+12 %") == "+12 %"
    loc = he.d3_format_locale()
    assert loc["currency"] == ["", "\xa0\u200f€"]  # no isolate inside the charts' format
    assert translator("sl").d3_format_locale()["percent"] == "\xa0%"


def test_a_hebrew_month_does_not_leak_into_slovenian() -> None:
    # Babel resolves the stand-alone month alias into a dictionary that sibling
    # locales share: formatted in Hebrew first, Slovenian months came out in Hebrew.
    march = dt.date(2025, 3, 1)
    assert translator("he").period_label(march, "month") == "מרץ 2025"
    assert translator("sl").period_label(march, "month") == "mar. 2025"
    assert translator("he").period_label(march, "month") == "מרץ 2025"
