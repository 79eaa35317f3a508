"""Translations and locale-aware formatting for the report.

Every label and takeaway goes through one gettext catalogue per language,
``locale/<lang>/LC_MESSAGES/regulars.po``.  The ``.po`` files are compiled in memory
with Babel when first used, so no build step is needed.  English is the source
language: its catalogue may leave ``msgstr`` empty and the ``msgid`` is shown.

Numbers, money and dates are formatted with Babel for the chosen language, and the
same separators are handed to Vega (``format_locale``) so charts and text agree.

Hebrew is written right to left (:attr:`Translator.direction`): the page gets
``dir="rtl"``, and every number, amount and share is a Unicode bidi isolate
(:meth:`Translator.isolate`), so "+12%" or "€1,200 (€800–€1,900)" keep their order
inside a Hebrew sentence.
"""

from __future__ import annotations

import copy
import datetime as dt
import gettext
import io
import math
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from babel import Locale, localedata
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)

from regulars.errors import ConfigError

__all__ = ["DOMAIN", "PeriodName", "Translator", "available_languages", "translator"]

DOMAIN = "regulars"
SOURCE_LANGUAGE = "en"

# Left-to-right, right-to-left and first-strong isolates, and the pop directional
# isolate that ends each (Unicode bidi, UAX #9).
_LRI, _RLI, _FSI, _PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_ISOLATES = {ord(c): None for c in (_LRI, _RLI, _FSI, _PDI)}


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated where it is used."""
    return message


# Period names inside sentences, one message per form so that every language can
# decline them (Russian: "в 3-м кв.", "ко 2-му кв.", "с января", "на конец марта").
_FORMS: dict[str, dict[str, tuple[str, ...]]] = {
    "in": {
        "month": (
            N_("in January {year}"),
            N_("in February {year}"),
            N_("in March {year}"),
            N_("in April {year}"),
            N_("in May {year}"),
            N_("in June {year}"),
            N_("in July {year}"),
            N_("in August {year}"),
            N_("in September {year}"),
            N_("in October {year}"),
            N_("in November {year}"),
            N_("in December {year}"),
        ),
        "quarter": (
            N_("in Q1 {year}"),
            N_("in Q2 {year}"),
            N_("in Q3 {year}"),
            N_("in Q4 {year}"),
        ),
        "year": (N_("in {year}"),),
    },
    "to": {
        "month": (
            N_("to January {year}"),
            N_("to February {year}"),
            N_("to March {year}"),
            N_("to April {year}"),
            N_("to May {year}"),
            N_("to June {year}"),
            N_("to July {year}"),
            N_("to August {year}"),
            N_("to September {year}"),
            N_("to October {year}"),
            N_("to November {year}"),
            N_("to December {year}"),
        ),
        "quarter": (
            N_("to Q1 {year}"),
            N_("to Q2 {year}"),
            N_("to Q3 {year}"),
            N_("to Q4 {year}"),
        ),
        "year": (N_("to {year}"),),
    },
    "from": {
        "month": (
            N_("from January {year}"),
            N_("from February {year}"),
            N_("from March {year}"),
            N_("from April {year}"),
            N_("from May {year}"),
            N_("from June {year}"),
            N_("from July {year}"),
            N_("from August {year}"),
            N_("from September {year}"),
            N_("from October {year}"),
            N_("from November {year}"),
            N_("from December {year}"),
        ),
        "quarter": (
            N_("from Q1 {year}"),
            N_("from Q2 {year}"),
            N_("from Q3 {year}"),
            N_("from Q4 {year}"),
        ),
        "year": (N_("from {year}"),),
    },
    "of": {
        "month": (
            N_("of January {year}"),
            N_("of February {year}"),
            N_("of March {year}"),
            N_("of April {year}"),
            N_("of May {year}"),
            N_("of June {year}"),
            N_("of July {year}"),
            N_("of August {year}"),
            N_("of September {year}"),
            N_("of October {year}"),
            N_("of November {year}"),
            N_("of December {year}"),
        ),
        "quarter": (
            N_("of Q1 {year}"),
            N_("of Q2 {year}"),
            N_("of Q3 {year}"),
            N_("of Q4 {year}"),
        ),
        "year": (N_("of {year}"),),
    },
}


class PeriodName(str):
    """A period's label (``Q3 2025``) that also carries the forms a sentence needs.

    A catalogue message writes ``{period}`` for the label, or one of the forms, each
    with its preposition: ``{period.in_}`` ("in Q3 2025"; Russian "в 3-м кв. 2025"),
    ``{period.In}`` (the same, capitalised, to start a sentence), ``{period.to}``
    ("to Q2 2025"; "ко 2-му кв. 2025"), ``{period.from_}`` and ``{period.of}``
    ("of March 2025"; "марта 2025").  The forms come from the catalogue, so each
    language declines ordinals and month names as its grammar asks.
    """

    in_: str
    In: str
    to: str
    from_: str
    of: str

    def __new__(cls, label: str, forms: dict[str, str] | None = None) -> PeriodName:
        obj = super().__new__(cls, label)
        forms = forms or {}
        obj.in_ = forms.get("in", label)
        obj.In = obj.in_[:1].upper() + obj.in_[1:]
        obj.to = forms.get("to", label)
        obj.from_ = forms.get("from", label)
        obj.of = forms.get("of", label)
        return obj


def _known(value: Any) -> bool:
    """Whether ``value`` is a finite number (not None, NaN or NA)."""
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _locale_dir() -> Any:
    return resources.files("regulars.report").joinpath("locale")


def available_languages() -> tuple[str, ...]:
    """Languages that have a catalogue (English is always available)."""
    langs = {SOURCE_LANGUAGE}
    root = _locale_dir()
    for entry in root.iterdir():
        if entry.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file():
            langs.add(entry.name)
    return tuple(sorted(langs))


def _own_locale_data(lang: str) -> Any:
    """A deep copy of Babel's data for ``lang``, taken before any alias is resolved.

    Babel 2.x merges a locale's data into a *shallow* copy of its parent's, and
    resolves an alias (such as ``months/stand-alone/abbreviated`` -> ``format``) by
    writing the result into the dictionary it found it in, which sibling locales
    share.  So ``LLL`` formatted in Hebrew first made Slovenian months Hebrew.  Each
    report language therefore gets its own copy, taken when this module loads.
    """
    return copy.deepcopy(localedata.load(str(Locale.parse(lang))))


_PRISTINE: dict[str, Any] = {lang: _own_locale_data(lang) for lang in available_languages()}


@cache
def _locale(lang: str) -> Locale:
    parsed = Locale.parse(lang)
    own = Locale(parsed.language, parsed.territory, parsed.script, parsed.variant)
    own._Locale__data = localedata.LocaleDataDict(_PRISTINE.get(lang) or _own_locale_data(lang))  # type: ignore[attr-defined]
    return own


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    po = _locale_dir().joinpath(lang, "LC_MESSAGES", f"{DOMAIN}.po")
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translator(
    lang: str = SOURCE_LANGUAGE, *, currency: str = "EUR", amounts: bool = True
) -> Translator:
    """The :class:`Translator` for ``lang``; an unknown language raises ConfigError."""
    langs = available_languages()
    if lang not in langs:
        raise ConfigError(
            f"Report language {lang!r} has no translation catalogue. "
            f"Available languages: {', '.join(langs)}. Use --lang with one of them, or add "
            "a catalogue (see docs/report.md, 'Adding a language')."
        )
    return Translator(lang=lang, currency=currency, amounts=amounts)


@dataclass
class Translator:
    """Translate and format for one language and one currency.

    Use :meth:`_` for messages (``t._("Profit")``) and :meth:`ngettext` for plurals.
    Messages with placeholders use ``str.format`` names: ``t._("{n} orders").format(n=..)``.
    """

    lang: str = SOURCE_LANGUAGE
    currency: str = "EUR"
    #: False for a book without amounts (a customer + date log): every amount is
    #: unknown, so money is shown as such, never as 0.
    amounts: bool = True
    _tr: gettext.NullTranslations = field(init=False, repr=False)
    locale: Locale = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tr = _translations(self.lang)
        self.locale = _locale(self.lang)

    # -- direction --------------------------------------------------------------------
    @property
    def direction(self) -> str:
        """``rtl`` for a language written right to left (Hebrew), else ``ltr``."""
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    def isolate(self, text: str) -> str:
        """``text`` as a bidi isolate in a right-to-left language (unchanged otherwise).

        A number inside a Hebrew sentence keeps its sign, its currency and its range in
        reading order: ``+12%`` does not become ``12%+``.  The isolate is right to left
        when ``text`` has a right-to-left letter or mark (CLDR's Hebrew money,
        ``\u200f1,250\xa0\u200f€``), else left to right.  Isolates inside ``text`` are
        dropped, so ``isolate("+" + t.percent(x))`` is one isolate.
        """
        if self.direction != "rtl" or not text:
            return text
        text = text.translate(_ISOLATES)
        rtl = any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)
        return (_RLI if rtl else _LRI) + text + _PDI

    # -- messages ---------------------------------------------------------------------
    def _(self, message: str) -> str:
        """The translation of ``message`` (the message itself when untranslated)."""
        return self._tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form of a message for count ``n`` (language plural rules)."""
        return self._tr.ngettext(singular, plural, n)

    # -- numbers ----------------------------------------------------------------------
    def number(self, value: float | int | None, digits: int = 0) -> str:
        """``12 345`` / ``12,345``; ``–`` for missing values."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        return self.isolate(self._decimal(value, digits))

    def _decimal(self, value: float | int, digits: int) -> str:
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale=self.locale)

    def money(self, value: float | int | None, digits: int = 0) -> str:
        """An amount in the workspace currency, for example ``€12,345`` or ``12 345 €``."""
        if not self.amounts:
            return self._("– (no amounts)")
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        fmt = None
        if digits == 0:
            pattern = self.locale.currency_formats["standard"].pattern
            fmt = pattern.replace(".00", "").split(";")[0]
        return self.isolate(
            format_currency(
                value,
                self.currency,
                format=fmt,
                locale=self.locale,
                currency_digits=digits != 0,
            )
        )

    def percent(self, share: float | None, digits: int = 0) -> str:
        """A share (0.64) as a percentage (``64%`` / ``64 %``)."""
        if share is None or not math.isfinite(share):
            return "–"
        pattern = self.locale.percent_formats[None].pattern.split(";")[0]
        if digits:
            last = pattern.rindex("0")
            pattern = pattern[: last + 1] + "." + "0" * digits + pattern[last + 1 :]
        return self.isolate(format_percent(share, format=pattern, locale=self.locale))

    def money_interval(
        self, value: float | int | None, low: float | int | None, high: float | int | None
    ) -> str:
        """An amount with its interval, ``€1,200 (€800–€1,900)``; the amount alone when
        an end is unknown (scores from before intervals, a fit without standard errors)."""
        if _known(value) and _known(low) and _known(high) and self.amounts:
            return f"{self.money(value)} ({self.money(low)}–{self.money(high)})"
        return self.money(value)

    def percent_interval(
        self, share: float | None, low: float | None, high: float | None, digits: int = 0
    ) -> str:
        """A share with its interval, ``64% (52%–75%)``; the share alone without one."""
        if _known(share) and _known(low) and _known(high):
            return (
                f"{self.percent(share, digits)} "
                f"({self.percent(low, digits)}–{self.percent(high, digits)})"
            )
        return self.percent(share, digits)

    def number_interval(
        self, value: float | None, low: float | None, high: float | None, digits: int = 1
    ) -> str:
        """A number with its interval, ``2.4 (1.9–3.0)``; the number alone without one."""
        if _known(value) and _known(low) and _known(high):
            return (
                f"{self.number(value, digits)} "
                f"({self.number(low, digits)}–{self.number(high, digits)})"
            )
        return self.number(value, digits)

    def ratio(self, value: float | None, digits: int = 1) -> str:
        """A ratio such as a quick ratio or CLV:CAC (``2.4×``)."""
        if value is None or not math.isfinite(value):
            return "–"
        return self.isolate(self._decimal(value, digits) + "×")

    # -- dates ------------------------------------------------------------------------
    def date(self, value: dt.date, form: str = "medium") -> str:
        """A date in the language's own format."""
        return format_date(value, format=form, locale=self.locale)

    def period_label(self, start: dt.date, period: str) -> str:
        """``2025``, ``Q1 2025`` / ``1 кв. 2025``, ``Mar 2025`` / ``март 2025``."""
        if period == "year":
            return str(start.year)
        if period == "quarter":
            return format_date(start, format="QQQ y", locale=self.locale)
        return format_date(start, format="LLL y", locale=self.locale)

    def period_name(self, start: dt.date, period: str) -> PeriodName:
        """The label of :meth:`period_label` with its sentence forms (:class:`PeriodName`)."""
        which = {"month": start.month - 1, "quarter": (start.month - 1) // 3, "year": 0}[period]
        forms = {
            form: self._(messages[period][which]).format(year=start.year)
            for form, messages in _FORMS.items()
        }
        return PeriodName(self.period_label(start, period), forms)

    # -- charts -----------------------------------------------------------------------
    @property
    def currency_symbol(self) -> str:
        return get_currency_symbol(self.currency, locale=self.locale)

    def d3_format_locale(self) -> dict[str, Any]:
        """A d3-format locale with this language's separators and the workspace currency."""
        sample = self.money(1).translate(_ISOLATES)
        symbol = self.currency_symbol
        before, _, after = sample.partition("1")
        prefix = before if symbol in before else ""
        suffix = after if symbol in after else ""
        return {
            "decimal": get_decimal_symbol(self.locale),
            "thousands": get_group_symbol(self.locale),
            "grouping": [3],
            "currency": [prefix, suffix],
            "percent": "\u202f%" if self.lang == "ru" else self._percent_suffix(),
            "minus": "\u2212",
        }

    def _percent_suffix(self) -> str:
        """What follows the digits in the language's percent format (``%``, ``\xa0%``)."""
        pattern = self.locale.percent_formats[None].pattern.split(";")[0]
        return pattern[pattern.rindex("0") + 1 :] or "%"
