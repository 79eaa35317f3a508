"""Action reasons in the report's language (regulars/report/_reasons.py)."""

from __future__ import annotations

import gettext
import json
import re
import string
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

import regulars.report
from regulars.actions import REASONS, compute_actions
from regulars.actions._reasons import REASON_KINDS, clause, english_clause
from regulars.report import available_languages, build_report, translator
from regulars.report._i18n import SOURCE_LANGUAGE, Translator
from regulars.report._reasons import MESSAGES, reason_text, render_clauses

PACKAGE = Path(regulars.report.__file__).parent

#: A value of every parameter kind, as a clause keeps it.
SAMPLES: dict[str, Any] = {
    "days": 61,
    "months": 12,
    "years": 3.4,
    "orders": 3,
    "services": 2,
    "rewards": 2,
    "count": 1204,
    "money": 12400.0,
    "probability": 0.82,
    "share": 0.35,
    "ratio": 1.6,
    "score": 9.5,
    "date": "2024-09-08",
    "month": "2024-03-15",
    "text": "website",
    "list": ["seo", "hosting"],
    "and_list": ["Bob Ltd", "Cleo"],
}


def _sample(code: str) -> dict[str, Any]:
    spec = REASONS[code]
    return clause(code, **{name: SAMPLES[kind] for name, kind in spec.params.items()})


def _catalogue(lang: str) -> dict[str, Any]:
    po = PACKAGE / "locale" / lang / "LC_MESSAGES" / "regulars.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


class _Recording(gettext.NullTranslations):
    """Passes look-ups on to ``inner`` and remembers every message asked for."""

    def __init__(self, inner: gettext.NullTranslations) -> None:
        super().__init__()
        self.inner = inner
        self.asked: list[str] = []

    def gettext(self, message: str) -> str:
        self.asked.append(message)
        return self.inner.gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self.asked.append(msgid1)
        return self.inner.ngettext(msgid1, msgid2, n)


def _recording(lang: str) -> tuple[Translator, _Recording]:
    t = translator(lang, currency="EUR")
    rec = _Recording(t._tr)
    t._tr = rec
    return t, rec


def test_every_code_has_a_message_in_the_words_of_the_stored_reason() -> None:
    assert set(MESSAGES) == set(REASONS)
    fmt = string.Formatter()
    for code, spec in REASONS.items():
        # The report's English is the stored English, only formatted for the locale.
        assert MESSAGES[code] == spec.text, code
        assert {f for _, f, _, _ in fmt.parse(MESSAGES[code]) if f} == set(spec.params), code


def test_sample_of_every_kind() -> None:
    assert set(SAMPLES) == set(REASON_KINDS)


@pytest.mark.parametrize("lang", available_languages())
@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_code_has_a_catalogue_entry(lang: str, code: str) -> None:
    """Each message a reason code needs is in the catalogue of every shipped language,
    translated in every language but the source one."""
    catalogue = _catalogue(lang)
    t, rec = _recording(lang)
    text = render_clauses(t, [_sample(code)])
    assert text is not None
    assert MESSAGES[code] in rec.asked
    for message in rec.asked:
        assert message in catalogue, f"{message!r} is not in the {lang} catalogue"
        if lang != SOURCE_LANGUAGE:
            entry = catalogue[message].string
            forms = [entry] if isinstance(entry, str) else list(entry)
            assert all(forms), f"{message!r} has no {lang} translation"


def _english_words() -> set[str]:
    """The words of every reason's English text, placeholders left out."""
    words: set[str] = set()
    for spec in REASONS.values():
        plain = re.sub(r"\{[^}]*\}", " ", spec.text).replace("P(alive)", " ")
        words |= {w.lower() for w in re.findall(r"[A-Za-z]{3,}", plain)}
    return words | {"day", "days", "month", "months", "year", "years", "service", "reward"}


ENGLISH = _english_words()


def _data_values(clauses: list[dict[str, Any]]) -> Iterator[str]:
    """Names from the data (products, plans, customers), which stay as they are."""
    for c in clauses:
        for name, kind in REASONS[c["code"]].params.items():
            if kind == "text":
                yield str(c[name])
            elif kind in ("list", "and_list"):
                yield from (str(v) for v in c[name])


def english_left(text: str, clauses: list[dict[str, Any]]) -> set[str]:
    for value in sorted(_data_values(clauses), key=len, reverse=True):
        text = text.replace(value, " ")
    text = text.replace("P(alive)", " ")
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)} & ENGLISH


def test_russian_formats_numbers_dates_and_plurals() -> None:
    ru = translator("ru", currency="EUR")
    lapsed = clause("lapsed", days=1204, ratio=16.23, gap_days=31)
    assert render_clauses(ru, [lapsed]) == (
        "Нет заказов уже 1\xa0204 дня: 16,2× от обычного для клиента перерыва в 31 день."
    )
    window = clause("guarantee_window", guarantee_days=90, until="2024-09-08")
    owed = clause("reward_owed", rewards=5, amount=1250.0, referees=["Bob", "Cleo"])
    text = render_clauses(ru, [owed, window])
    assert text == (
        "Не выплачено: 5 реферальных наград (1\xa0250\xa0€) за Bob и Cleo; "
        "гарантия возврата денег (90 дн.) действует до 8 сент. 2024\u202fг."
    )
    en = translator("en", currency="EUR")
    assert render_clauses(en, [owed, window]) == (
        "Owed 5 referral rewards (€1,250) for Bob and Cleo; the 90-day money-back window "
        "runs until Sep 8, 2024."
    )


def test_slovenian_and_hebrew_reasons() -> None:
    sl = translator("sl", currency="EUR")
    loyal = clause("loyal", orders=3, revenue=1250.0, years=1.5)
    assert render_clauses(sl, [loyal]) == (
        "Zvesta stranka: 3 naročila v vrednosti 1.250\xa0€ v obdobju 1,5 let."
    )
    he = translator("he", currency="EUR")
    # Babel has no long Hebrew unit for years: the short one ("שנים"), not "duration-year".
    text = render_clauses(he, [loyal])
    assert text is not None
    text = "".join(c for c in text if c not in "\u2066\u2067\u2068\u2069")  # isolates
    assert text == "לקוח נאמן: 3 הזמנות בשווי \u200f1,250\xa0\u200f€ במשך 1.5 שנים."
    one = clause("loyal_orders", orders=1, years=2.0)
    assert render_clauses(he, [one]) == "לקוח נאמן: הזמנה אחת במשך 2.0 שנים."


def test_clause_english_is_the_stored_english() -> None:
    c = clause("no_touch", days=1, cadence_days=45, cycle_days=90)
    assert english_clause(c, "EUR") == (
        "No touch for 1 day (due every 45 days; their purchase cycle is 90 days)"
    )


@pytest.mark.parametrize(
    "params",
    [
        None,
        "not json",
        json.dumps({"code": "lapsed"}),  # not a list of clauses
        json.dumps([{"code": "from_a_newer_regulars", "days": 3}]),
        json.dumps([{"code": "lapsed", "days": 300}]),  # parameters missing
        json.dumps([{"code": "last_offered", "on": "yesterday"}]),  # not a date
    ],
)
def test_without_usable_clauses_the_english_reason_stays(params: str | None) -> None:
    row = {"reason": "No order for 300 days.", "reason_params": params}
    assert reason_text(translator("ru"), row) == "No order for 300 days."


def test_parsed_clauses_are_accepted() -> None:
    row = {"reason": "x", "reason_params": [clause("no_package")]}
    assert reason_text(translator("ru"), row) == "пакета нет."


# -- a simulated business, reported in Russian -------------------------------------------


class _Cells(HTMLParser):
    """The cells of one table, by row."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.rows: list[list[str]] = []
        self._inside = self._cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag in ("td", "th"):
            self._cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif tag in ("td", "th"):
            self._cell = False

    def handle_data(self, data: str) -> None:
        if self._inside and self._cell:
            self.rows[-1][-1] += data


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], str]:
    """A small simulated studio with a referral reward rule: its open actions, and
    its report in Russian."""
    from regulars.actions import open_actions
    from regulars.datasets import simulate
    from regulars.store import Workspace

    root = tmp_path_factory.mktemp("reasons") / "studio"
    Workspace.init(root, name="Studio", currency="EUR").close()
    toml = root / "regulars.toml"
    # Every action, not just this week's 25: the test reads each playbook's reasons.
    toml.write_text(toml.read_text().replace("weekly_capacity = 25", "weekly_capacity = 0", 1))
    with toml.open("a", encoding="utf-8") as fh:
        fh.write('\n[[referrals.rules]]\nkind = "fixed"\namount = 50\n')
    with Workspace.open(root) as ws:
        simulate(n_customers=400, years=3, seed=1).write(ws)
        compute_actions(ws)
        rows = open_actions(ws).to_pyarrow().to_pylist()
        html = build_report(ws, lang="ru", fit=False)
    return rows, html


def test_russian_report_has_no_english_reason(
    simulated: tuple[list[dict[str, Any]], str],
) -> None:
    rows, html = simulated
    assert len(rows) > 100
    parser = _Cells("table-top-actions")
    parser.feed(html)
    header, *cells = parser.rows
    assert header[2] == "Почему"
    assert len(cells) == 10
    ru = translator("ru", currency="EUR")
    for row, cell in zip(rows, cells, strict=False):
        assert cell[0] == row["name"]
        clauses = json.loads(row["reason_params"])
        assert clauses[0]["code"] == row["reason_code"]
        assert cell[2] == render_clauses(ru, clauses)
        assert cell[2] != row["reason"]
        assert english_left(cell[2], clauses) == set(), cell[2]
        assert english_left(row["reason"], clauses)  # the check does see English
    for english in (r["reason"] for r in rows):
        assert english not in html


def test_every_open_action_reads_in_russian(
    simulated: tuple[list[dict[str, Any]], str],
) -> None:
    rows, _html = simulated
    ru = translator("ru", currency="EUR")
    playbooks = set()
    for row in rows:
        clauses = json.loads(row["reason_params"])
        text = render_clauses(ru, clauses)
        assert text is not None, row["reason"]
        assert english_left(text, clauses) == set(), text
        playbooks.add(row["playbook"])
    # The simulation raises most playbooks, the reward included.
    assert {"keep_in_touch", "win_back", "next_step", "pay_referral_reward"} <= playbooks
