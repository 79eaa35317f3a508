"""Numbers, money, dates and action reasons in the request's language (Babel)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme

from regulars.report._i18n import Translator, available_languages
from regulars.report._reasons import reason_text

__all__ = ["Formatter", "back", "formatter"]


class Formatter:
    """Formats for one language; reasons use the report's catalogue when it has one."""

    def __init__(self, lang: str, currency: str = "EUR") -> None:
        self.lang = lang
        self._currency = currency
        self._t = Translator(lang=lang, currency=currency)
        reason_lang = lang if lang in available_languages() else "en"
        self._reasons = Translator(lang=reason_lang, currency=currency)

    @property
    def currency(self) -> str:
        return self._currency

    @currency.setter
    def currency(self, value: str) -> None:
        if value != self._currency:
            self.__init__(self.lang, value)  # type: ignore[misc]

    def money(self, value: Any) -> str:
        return self._t.money(None if value is None else float(value))

    def number(self, value: Any, digits: int = 0) -> str:
        return self._t.number(None if value is None else float(value), digits)

    def percent(self, value: Any) -> str:
        return self._t.percent(None if value is None else float(value))

    def money_interval(self, value: Any, low: Any, high: Any) -> str:
        """``€1,200 (€800–€1,900)``; the amount alone when the interval is unknown."""
        return self._t.money_interval(_float(value), _float(low), _float(high))

    def percent_interval(self, value: Any, low: Any, high: Any) -> str:
        """``64% (52%–75%)``; the share alone when the interval is unknown."""
        return self._t.percent_interval(_float(value), _float(low), _float(high))

    def date(self, value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return self._t.date(value.date())
        return self._t.date(value)

    def reason(self, row: dict[str, Any]) -> str:
        return reason_text(self._reasons, row)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def formatter(request: HttpRequest, currency: str = "EUR") -> Formatter:
    """The formatter of the request's active language."""
    return Formatter(translation.get_language() or "en", currency)


def back(request: HttpRequest, default: str) -> str:
    """The ``next`` field when it points inside this site, else ``default`` (a URL name)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
