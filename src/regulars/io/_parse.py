"""SQL that turns the text of a source column into a typed contract value.

Each field is parsed in DuckDB, vectorised, in three layers over the staging
table: the raw text (trimmed, empty -> NULL), a cleaned form (currency symbols and
spaces stripped, time zones dropped), and the typed value together with an error
code (NULL when the value is fine).  Before that, one aggregate query per import
looks at whole columns to decide what a value means when the text alone is
ambiguous: decimal comma or point, day/month or month/day.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from regulars.errors import ImportDataError
from regulars.io._mapping import FieldSource
from regulars.io._presets import SKIP
from regulars.schema import MONEY, Column

__all__ = ["CODES", "FieldSpec", "describe", "kind_of", "sql_str"]

MAX_MONEY = 1e16  # DECIMAL(18,2) holds up to 9,999,999,999,999,999.99
MAX_NUMBER = 1e15
NULL_TOKENS = ("-", "--", "—", "–", "n/a", "na", "null", "none", "nan", "#n/a")

SYNONYMS: dict[str, dict[str, str]] = {
    "kind": {
        "one-off": "one-off",
        "one off": "one-off",
        "oneoff": "one-off",
        "one_off": "one-off",
        "single": "one-off",
        "subscription": "subscription",
        "recurring": "subscription",
        "renewal": "subscription",
        "package": "package",
        "bundle": "package",
    },
    "status": {
        "paid": "paid",
        "complete": "paid",
        "completed": "paid",
        "succeeded": "paid",
        "refunded": "refunded",
        "refund": "refunded",
        "returned": "refunded",
        "cancelled": "cancelled",
        "canceled": "cancelled",
        "void": "cancelled",
        "voided": "cancelled",
    },
    "touch_kind": {
        "phone": "call",
        "phone call": "call",
        "e-mail": "email",
        "mail": "email",
        "meet": "meeting",
        "visit": "meeting",
        "present": "gift",
    },
    "billing_period": {
        "weekly": "week",
        "monthly": "month",
        "quarterly": "quarter",
        "yearly": "year",
        "annual": "year",
        "annually": "year",
    },
}

# code -> (what is wrong, expected); fixes depend on the field (see describe()).
CODES = {
    "empty": "is empty",
    "not_number": "is not a number",
    "currency": "is in another currency",
    "too_large": "is too large",
    "negative": "is negative",
    "not_date": "is not a date",
    "date_range": "is not a plausible date",
    "choice": "is not a valid value",
    "not_json": "is not a JSON object",
}


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def kind_of(col: Column) -> str:
    if col.type == MONEY:
        return "money"
    if col.type in ("DOUBLE", "INTEGER"):
        return "number"
    if col.type == "TIMESTAMP":
        return "timestamp"
    if col.type == "DATE":
        return "date"
    if col.type == "JSON":
        return "json"
    return "choice" if col.choices else "text"


def _rx(s: str, pattern: str) -> str:
    return f"regexp_full_match({s}, {sql_str(pattern)})"


#: The fields that hold ids, read without a trailing ".0" when every id of the column
#: is a whole number (:meth:`FieldSpec.whole_float_ids_sql`).
ID_FIELDS = frozenset({"customer_id", "order_id", "subscription_id", "referred_by"})
_DOT_ZEROS = r"\.0+"
_WHOLE_FLOAT = "-?[0-9]+" + _DOT_ZEROS

#: strftime directives of a time of day: a --date-format with none of them also reads
#: a time after the date (:func:`date_formats`).
_TIME_DIRECTIVES = re.compile(r"%[HIMSpfTXcrzZ]")
#: The times a date-only --date-format also reads after the date, as exports write
#: them: ``12/1/2010 8:26``, ``01.03.2024 14:05:09``, ``3/15/2024 9:41 PM``.
_TIME_SUFFIXES = (
    " %H:%M",
    " %H:%M:%S",
    " %H:%M:%S.%f",
    " %I:%M %p",
    " %I:%M:%S %p",
    "T%H:%M",
    "T%H:%M:%S",
    "T%H:%M:%S.%f",
)


#: Dates with the month's English name or its abbreviation, any case, read without
#: --date-format (``11-Feb-13``, ``15 Mar 2024``, ``March 15, 2024``), with or without
#: a time after them; two-digit years are 1969-2068.
_MONTH_NAME_DATES = (
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d %b %y",
    "%d/%b/%Y",
    "%d.%b.%Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
)


def date_formats(date_format: str) -> list[str]:
    """The formats a ``--date-format`` reads: the format itself, and when it has no
    time of day, the same date followed by one (an invoice export's
    ``12/1/2010 8:26`` with ``--date-format %m/%d/%Y``), so the error's own
    suggestion works on a file whose dates carry their time."""
    if _TIME_DIRECTIVES.search(date_format):
        return [date_format]
    return [date_format, *(date_format + suffix for suffix in _TIME_SUFFIXES)]


_ISO = r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[ T]+(.*))?"
_DMY = r"([0-9]{1,2})[.\-]([0-9]{1,2})[.\-]([0-9]{4})(?:[ T]+(.*))?"
_SLASH = r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[ T]+(.*))?"
# A bare number: a sign in front, a minus behind, or parentheses (balanced).
_SHAPE = r"[+\-]?[0-9.,]+|[0-9.,]+-|\([0-9.,]+\)"
_PARENS = r"\(.*\)"
# Spaces (also no-break and thin), apostrophes: characters that group digits.
_GROUPING = "[\\s\u00a0\u202f\u2009'\u2019]"
UNICODE_MINUS = "\u2212"

# Signs and words that may stand beside an amount in each currency (lower case).
# The ISO code itself is always accepted, in any case.
CURRENCY_SIGNS: dict[str, tuple[str, ...]] = {
    "EUR": ("€", "euros", "euro"),
    "USD": ("us$", "$"),
    "GBP": ("£",),
    "JPY": ("¥", "円"),
    "CNY": ("¥", "元"),
    "CHF": ("sfr.", "fr."),
    "SEK": ("kr.", "kr"),
    "NOK": ("kr.", "kr"),
    "DKK": ("kr.", "kr"),
    "ISK": ("kr.", "kr"),
    "RUB": ("₽", "руб.", "руб", "р."),
    "UAH": ("₴", "грн.", "грн"),
    "ILS": ("₪",),
    "PLN": ("zł",),
    "CZK": ("kč",),
    "HUF": ("ft",),
    "INR": ("₹",),
    "KRW": ("₩",),
    "TRY": ("₺",),
    "BRL": ("r$",),
    "CAD": ("c$", "$"),
    "AUD": ("a$", "$"),
    "NZD": ("nz$", "$"),
    "SGD": ("s$", "$"),
    "HKD": ("hk$", "$"),
    "MXN": ("mx$", "$"),
}
# Codes recognised as *another* currency beside an amount.
_CODES = (
    *("usd", "eur", "gbp", "jpy", "cny", "chf", "sek", "nok", "dkk", "isk", "rub", "uah"),
    *("ils", "pln", "czk", "huf", "inr", "krw", "try", "brl", "cad", "aud", "nzd", "sgd"),
    *("hkd", "mxn", "zar", "rsd", "bgn", "ron", "hrk"),
)


def _regex_quote(text: str) -> str:
    # RE2 refuses escapes of non-ASCII characters, which need none.
    return "".join("\\" + ch if ch.isascii() and not ch.isalnum() else ch for ch in text)


def currency_tokens(currency: str) -> str:
    """RE2 pattern of the signs and code of ``currency`` (longest first)."""
    tokens = sorted({currency.lower(), *CURRENCY_SIGNS.get(currency.upper(), ())}, key=len)
    return "(?i)(" + "|".join(_regex_quote(t) for t in reversed(tokens)) + ")"


def foreign_currency(currency: str) -> str:
    """RE2 pattern of a currency sign or code other than ``currency``'s.

    It runs on the cleaned text, where the workspace currency's own signs and the
    spaces are gone already.
    """
    codes = [c for c in _CODES if c != currency.lower()]
    return "(?i)(\\p{Sc}|" + "|".join(codes) + ")"


_TZ = (
    r"([0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)\s*(?:Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)$"
)


@dataclass
class FieldSpec:
    """How one contract field is read from its source columns.

    The typed value is computed in layers (see :meth:`layers`): the raw text, a
    fast cast that reads plain values (``12.50``, ``2024-03-15``) at once, and
    only for the rest the cleaned text, the bare number and the parsed value.
    """

    name: str
    kind: str
    source: FieldSource
    required: bool = False
    choices: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)
    nonneg: bool = False
    comma: bool | None = None
    slash: str | None = None
    date_format: str | None = None
    # Ids written as whole numbers with ".0" (13085.0, as pandas writes a number
    # column with gaps): read without it (see whole_float_ids_sql).
    whole_floats: bool = False
    order_level: bool = False
    currency: str = "EUR"
    # How a Parquet column stores the field, when its type proves what the text
    # round trip would give (see read_stored): "money", "number" or "date".
    stored: str = ""
    stored_sql: str = ""

    def col(self, suffix: str = "") -> str:
        return f'"{self.name}{"__" + suffix if suffix else ""}"'

    @property
    def r(self) -> str:
        return self.col("r")

    @property
    def v(self) -> str:
        return self.col()

    @property
    def e(self) -> str:
        return self.col("e")

    @property
    def is_date(self) -> bool:
        return self.kind in ("date", "timestamp")

    @property
    def is_number(self) -> bool:
        return self.kind in ("money", "number")

    @property
    def has_code(self) -> bool:
        """False when no value can be wrong (optional free text)."""
        return self.required or self.kind != "text" or bool(self.choices)

    def raw_sql(self) -> str:
        """The raw text: trimmed, NULL when empty."""
        return self.source.raw_sql()

    def input_sql(self) -> str:
        """What the layers read: the raw text, or the value as the file stores it."""
        return self.stored_sql or self.raw_sql()

    def read_stored(self, sql: str, type_: str) -> bool:
        """Read the field from a column stored as ``type_`` (SQL ``sql``) when the text
        would parse to the same value; return whether it does.

        Money from integers and from decimals with at most 2 places (the cast is then
        exact, or fails as too large); numbers from doubles, integers and decimals
        of up to 15 digits (their text parses back to the same double); dates and
        times from DATE and TIMESTAMP, unless a date format is given.  Floats and
        decimals with more places keep the text path, which rounds their text.
        """
        if self.values or self.comma or self.date_format is not None:
            return False
        ints = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")
        width, scale = _decimal(type_)
        if self.kind == "money" and (type_ in ints or (width and scale <= 2)):
            self.stored = "money"
        elif self.kind == "number" and (type_ in (*ints, "DOUBLE") or (width and width <= 15)):
            self.stored = "number"
        elif self.is_date and type_ in ("DATE", "TIMESTAMP"):
            self.stored = "date"
        else:
            return False
        self.stored_sql = sql
        return True

    def skip_sql(self) -> str | None:
        skips = [k for k, v in self.values.items() if v == SKIP]
        if not skips:
            return None
        return f"coalesce(lower({self.r}) IN ({', '.join(sql_str(s) for s in skips)}), false)"

    # -- detection ----------------------------------------------------------------
    def number_class_sql(self, raw_table: str, cls: str) -> str:
        """A query for the first row whose value is of separator class ``cls``.

        ``point``: 12.50, 1,234.50, 1,234,567; ``comma``: 12,50, 1.234,50, 1.234.567;
        ``amb_dot``/``amb_comma``: 1.234 and 1,234, which read either way.  The
        queries stop at the first match, and cheap tests run before the rest.
        """
        sep = {"point": ".", "amb_dot": ".", "comma": ",", "amb_comma": ","}[cls]
        other = "," if sep == "." else "."
        digits = "'0123456789.,'"
        ends_ok = f"strpos({digits}, left(r, 1)) > 0 AND strpos({digits}, right(r, 1)) > 0"
        t = (
            f"CASE WHEN {ends_ok} THEN r "
            "ELSE regexp_replace(r, '^[^0-9.,]+|[^0-9.,]+$', '', 'g') END"
        )
        s_, o_ = sql_str(sep), sql_str(other)
        count = f"(length(t) - length(replace(t, {s_}, '')))"
        ocount = f"(length(t) - length(replace(t, {o_}, '')))"
        last = f"(length(t) - strpos(reverse(t), {s_}) + 1)"
        if cls in ("point", "comma"):
            cond = (
                f"(strpos(t, {o_}) = 0 AND {count} = 1 AND (length(t) - strpos(t, {s_}) <> 3 "
                f"OR strpos(t, {s_}) > 4 OR left(t, 1) = '0')) "
                f"OR (strpos(t, {s_}) > 0 AND strpos(t, {o_}) > 0 "
                f"AND {last} > length(t) - strpos(reverse(t), {o_}) + 1) "
                f"OR (strpos(t, {s_}) = 0 AND {ocount} >= 2)"
            )
        else:
            cond = (
                f"strpos(t, {o_}) = 0 AND {count} = 1 AND length(t) - strpos(t, {s_}) = 3 "
                f"AND strpos(t, {s_}) <= 4 AND left(t, 1) <> '0'"
            )
        prefilter = f"strpos(r, {s_}) > 0"
        if cls in ("point", "comma"):  # or two of the other: 1,234,567 / 1.234.567
            twice = f"strpos(substr(r, strpos(r, {o_}) + 1), {o_}) > 0"
            prefilter = f"(strpos(r, {s_}) > 0 OR (strpos(r, {o_}) > 0 AND {twice}))"
        return (
            f"SELECT _row, r FROM (SELECT _row, r, {t} AS t FROM (SELECT _row, "
            f"{self.raw_sql()} AS r FROM {raw_table}) WHERE {prefilter} AND "
            f"(strpos(r, 'e') = 0 AND strpos(r, 'E') = 0 OR NOT "
            f"regexp_matches(r, '[0-9.][eE][+-]?[0-9]'))) WHERE {cond} LIMIT 1"
        )

    def date_order_sql(self, raw_table: str) -> str | None:
        """(class, rows, first row) of slash dates: can the first or second part be a day?"""
        if not self.is_date or self.date_format is not None:
            return None
        return (
            "SELECT CASE WHEN a <> b AND a > 12 THEN 'a13' WHEN a <> b AND b > 12 "
            "THEN 'b13' WHEN a <> b THEN 'diff' ELSE 'same' END AS cls, count(*), "
            "min(_row) FROM (SELECT _row, TRY_CAST(split_part(r, '/', 1) AS INTEGER) AS a, "
            "TRY_CAST(split_part(r, '/', 2) AS INTEGER) AS b FROM (SELECT _row, "
            f"{self.raw_sql()} AS r FROM {raw_table}) WHERE r LIKE '%/%/%' AND "
            "length(split_part(r, '/', 1)) <= 2) GROUP BY ALL"
        )

    def whole_float_ids_sql(self, raw_table: str) -> tuple[str, str] | None:
        """For an id field: (SQL of the first float-like id among the first rows, SQL of
        the number of ids that are not whole numbers), or None for other fields.

        ``13085.0`` is a spreadsheet's or pandas' way of writing the id 13085 (a
        number column with gaps is a float column): when every id of the column is a
        whole number, some with ``.0``, they are read without it, so the orders'
        ``13085.0`` and the customers' ``13085`` are one customer.  Only the first
        1,000 rows are looked at unless one of them is written that way.
        """
        if self.name not in ID_FIELDS or self.kind != "text":
            return None
        r = f"({self.raw_sql()})"
        # The first rows in the file's order (insertion order is still kept here): a
        # filter on _row would scan every row.
        first = (
            f"SELECT r FROM (SELECT {r} AS r FROM {raw_table} LIMIT 1000) "
            f"WHERE {_rx('r', _WHOLE_FLOAT)} LIMIT 1"
        )
        others = (
            f"SELECT count(*) FROM (SELECT {r} AS r FROM {raw_table}) "
            f"WHERE r IS NOT NULL AND NOT {_rx('r', '-?[0-9]+(' + _DOT_ZEROS + ')?')}"
        )
        return first, others

    def settle_numbers(
        self,
        first: Callable[[str], tuple[int, str] | None],
        *,
        where: str,
        forced: bool | None,
    ) -> str | None:
        """Decide decimal comma or point; ``first(cls)`` gives (row, value) or None."""
        if forced is not None:
            self.comma = forced
            return None

        def example(hit: tuple[int, str]) -> str:
            return f"{hit[1]!r} on row {hit[0]:,}"

        point, comma = first("point"), first("comma")
        if point and comma:
            raise ImportDataError(
                f"{where} mixes decimal points and decimal commas: {example(point)} "
                f"and {example(comma)}. Nothing was imported. Make the column "
                "consistent, or pass --decimal-comma or --decimal-point to say which one "
                "the file uses (values in the other style are then reported as errors)."
            )
        if comma:
            self.comma = True
            return f"{self.name}: decimal comma"
        self.comma = False
        if point or self.kind != "money":
            return None
        amb_dot = first("amb_dot")
        if not amb_dot:
            return None
        amb_comma = first("amb_comma")
        if amb_comma:
            raise ImportDataError(
                f"{where}: cannot tell whether '.' or ',' is the decimal separator "
                f"({example(amb_dot)}, {example(amb_comma)}). Nothing was imported. "
                "Pass --decimal-comma or --decimal-point."
            )
        # 1.234 with no other evidence: money has cents, so '.' groups thousands.
        self.comma = True
        return f"{self.name}: decimal comma ('.' groups thousands, as in {amb_dot[1]!r})"

    def settle_dates(
        self,
        classes: dict[str, tuple[int, int]],
        *,
        where: str,
        value_at: Callable[[int], str],
    ) -> str | None:
        """Day/month order from ``{class: (rows, first row)}``; return a note."""
        n = self.name
        a13 = classes.get("a13", (0, 0))[0]
        b13 = classes.get("b13", (0, 0))[0]
        if not ({"a13", "b13", "diff"} & set(classes)):
            self.slash = "dmy"
            return None
        if a13 or b13:
            self.slash = "dmy" if a13 >= b13 else "mdy"
            return f"{n}: {'DD/MM/YYYY' if self.slash == 'dmy' else 'MM/DD/YYYY'}"
        row = classes["diff"][1]
        ex = value_at(row)
        d1, d2 = [*ex.split("/"), "?", "?"][:2]
        raise ImportDataError(
            f"{where}: the dates are ambiguous. {ex!r} (row {row:,}) could be day "
            f"{d1} of month {d2} or day {d2} of month {d1}, and no day in the column "
            "is above 12. Nothing was imported. Pass --date-format %d/%m/%Y (day "
            "first) or --date-format %m/%d/%Y (month first)."
        )

    # -- the layers ---------------------------------------------------------------
    def layers(self) -> list[list[str]]:
        """Select items of the layers between the raw text and the typed value.

        Layer 1 is a fast cast; later layers run only where it failed: the cleaned
        text (currency symbols, spaces and time zones stripped), the bare number
        and its canonical text, the parsed value.
        """
        r, f, c = self.r, self.col("f"), self.col("c")
        if self.stored == "money":
            return [[f"TRY_CAST({r} AS {MONEY}) AS {f}"], [], [], [], []]
        if self.stored == "number":
            return [[f"CAST({r} AS DOUBLE) AS {f}"], [], [], [], []]
        if self.stored == "date":
            return [[f"CASE WHEN isfinite({r}) THEN CAST({r} AS TIMESTAMP) END AS {f}"]] + [
                [] for _ in range(4)
            ]
        tokens = ", ".join(sql_str(t) for t in NULL_TOKENS)
        # list_contains, not IN: an IN list becomes a join over every row.
        not_token = f"NOT list_contains([{tokens}], lower({r}))"
        if self.is_number:
            target = MONEY if self.kind == "money" else "DOUBLE"
            if self.comma:
                fast = (
                    f"CASE WHEN strpos({r}, '.') = 0 THEN "
                    f"TRY_CAST(replace({r}, ',', '.') AS {target}) END"
                )
            else:
                fast = f"TRY_CAST({r} AS {target})"
            # DuckDB's cast reads 1_000 as 1000; regulars does not.
            fast = f"CASE WHEN strpos({r}, '_') = 0 THEN {fast} END"
            if self.kind == "number":
                fast = f"CASE WHEN isfinite({fast}) THEN {fast} END"
            # Only the workspace currency's signs and code, grouping characters and
            # a Unicode minus are taken out: anything else left makes it no number.
            minus = f"replace({r}, {sql_str(UNICODE_MINUS)}, '-')"
            bare = f"regexp_replace({minus}, {sql_str(currency_tokens(self.currency))}, '', 'g')"
            clean = f"regexp_replace({bare}, {sql_str(_GROUPING)}, '', 'g')"
            b = self.col("b")
            body = f"regexp_replace({c}, '^[(+\\-]+|[)\\-]+$', '', 'g')"
            return [
                [f"{fast} AS {f}"],
                [f"CASE WHEN {f} IS NULL AND {not_token} THEN {clean} END AS {c}"],
                [f"CASE WHEN {c} IS NOT NULL THEN {body} END AS {b}"],
                [f"{self._canonical()} AS {self.col('s')}"],
                [f"TRY_CAST({self.col('s')} AS DOUBLE) AS {self.col('d')}"],
            ]
        if self.is_date:
            if self.date_format is not None:
                formats = ", ".join(sql_str(f) for f in date_formats(self.date_format))
                # strptime reads the words 'infinity' and 'epoch' as 1900-01-01.
                fast = (
                    f"CASE WHEN regexp_matches({r}, '[0-9]') THEN "
                    f"TRY_CAST(try_strptime({r}, [{formats}]) AS TIMESTAMP) END"
                )
            else:
                # DuckDB also reads 'epoch', 'infinity' and 'allballs'; dates start with
                # a digit.
                fast = (
                    f"CASE WHEN strpos('0123456789', left({r}, 1)) > 0 "
                    f"THEN TRY_CAST({r} AS TIMESTAMP) END"
                )
            clean = f"regexp_replace({r}, {sql_str(_TZ)}, '\\1', 'i')"
            return [
                [f"{fast} AS {f}"],
                [f"CASE WHEN {f} IS NULL AND {not_token} THEN {clean} END AS {c}"],
                [f"coalesce({f}, {self._date_sql()}) AS {self.col('p')}"],
                [],
                [],
            ]
        return [[], [], [], [], []]

    def _canonical(self) -> str:
        """The bare number as text DuckDB casts (``-1234.50``), NULL if malformed."""
        c, b = self.col("c"), self.col("b")
        sci = _rx(c, "[+-]?[0-9]+([.][0-9]+)?[eE][+-]?[0-9]+")
        shape = _rx(c, _SHAPE)
        neg = f"({_rx(c, _PARENS)} OR starts_with({c}, '-') OR ends_with({c}, '-'))"
        if self.comma:
            ok = _rx(b, "([0-9]{1,3}([.][0-9]{3})+|[0-9]+)?(,[0-9]*)?")
            num = f"replace(replace({b}, '.', ''), ',', '.')"
        else:
            ok = _rx(b, "([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?([.][0-9]*)?")
            num = f"replace({b}, ',', '')"
        digits = f"regexp_matches({b}, '[0-9]')"
        return (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN {sci} THEN {c} "
            f"WHEN {shape} AND {ok} AND {digits} THEN (CASE WHEN {neg} THEN '-' ELSE '' END) "
            f"|| regexp_replace({num}, '^[.]', '0.') END"
        )

    def exact_sql(self) -> str:
        """A money value to 6 decimals (below 10^12), for quantity × unit_price.

        The stored value is rounded to the cent; a line's amount is computed from the
        value as written (3 × 0.335 is 1.01, not 3 × 0.34) and rounded once.
        """
        r, f, s = self.r, self.col("f"), self.col("s")
        if self.stored:  # at most 2 decimals, or an integer: the cents are exact
            return f"TRY_CAST({r} AS DECIMAL(18,6))"
        text = f"replace({r}, ',', '.')" if self.comma else r
        return (
            f"CASE WHEN {f} IS NOT NULL THEN TRY_CAST({text} AS DECIMAL(18,6)) "
            f"ELSE TRY_CAST({s} AS DECIMAL(18,6)) END"
        )

    def typed_sql(self) -> tuple[str, str | None]:
        """(value, error code) over the last layer; the code is None if none can occur."""
        empty = "'empty'" if self.required else "NULL"
        r, f, c = self.r, self.col("f"), self.col("c")
        if self.stored:
            return self._stored_sql(empty)
        missing = f"{r} IS NULL OR ({f} IS NULL AND {c} IS NULL)"
        if self.is_number:
            s, d = self.col("s"), self.col("d")
            if self.kind == "money":
                fast_ok = f"{f} IS NOT NULL"
                slow = (
                    f"coalesce(TRY_CAST({s} AS {MONEY}), CASE WHEN abs({d}) < {MAX_MONEY} "
                    f"THEN TRY_CAST({d} AS {MONEY}) END)"
                )
            else:
                fast_ok = f"abs({f}) < {MAX_NUMBER}"
                slow = f"CASE WHEN isfinite({d}) AND abs({d}) < {MAX_NUMBER} THEN {d} END"
            value = f"CASE WHEN {fast_ok} THEN {f} WHEN {f} IS NULL THEN {slow} END"
            neg = f"WHEN {value} < 0 THEN 'negative' " if self.nonneg else ""
            code = (
                f"CASE WHEN {missing} THEN {empty} WHEN {f} IS NULL AND {d} IS NULL AND "
                f"regexp_matches({c}, {sql_str(foreign_currency(self.currency))}) THEN "
                f"'currency' WHEN {f} IS NULL AND {d} IS NULL "
                f"THEN 'not_number' WHEN {value} IS NULL THEN 'too_large' {neg}END"
            )
            return value, code
        if self.is_date:
            p = self.col("p")
            plausible = f"coalesce(year({p}) BETWEEN 1800 AND 2200, false)"
            value = f"CAST({p} AS DATE)" if self.kind == "date" else p
            code = (
                f"CASE WHEN {missing} THEN {empty} WHEN {p} IS NULL THEN 'not_date' "
                f"WHEN NOT ({plausible}) THEN 'date_range' END"
            )
            return f"CASE WHEN {plausible} THEN {value} END", code
        if self.kind == "json":
            ok = f"CASE WHEN json_valid({r}) THEN json_type({r}) = 'OBJECT' ELSE false END"
            value = f"CASE WHEN {ok} THEN CAST({r} AS JSON) END"
            code = f"CASE WHEN {r} IS NULL THEN {empty} WHEN NOT ({ok}) THEN 'not_json' END"
            return value, code
        if self.kind == "choice":
            mapping = self._choice_map()
            whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in mapping.items())
            value = f"CASE lower({r}) {whens} END"
            code = f"CASE WHEN {r} IS NULL THEN {empty} WHEN {value} IS NULL THEN 'choice' END"
            return value, code
        value = r
        if self.whole_floats:
            value = f"regexp_replace({r}, {sql_str(_DOT_ZEROS + '$')}, '')"
        if self.values:
            whens = " ".join(
                f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in self.values.items() if v != SKIP
            )
            if whens:
                value = f"coalesce(CASE lower({r}) {whens} END, {r})"
        return value, (f"CASE WHEN {r} IS NULL THEN {empty} END" if self.required else None)

    def _stored_sql(self, empty: str) -> tuple[str, str]:
        """(value, error code) of a field read as stored: the codes the text gives."""
        r, f = self.r, self.col("f")
        if self.stored == "date":
            plausible = f"coalesce(year({f}) BETWEEN 1800 AND 2200, false)"
            value = f"CAST({f} AS DATE)" if self.kind == "date" else f
            code = (
                f"CASE WHEN {r} IS NULL THEN {empty} WHEN {f} IS NULL THEN 'not_date' "
                f"WHEN NOT ({plausible}) THEN 'date_range' END"
            )
            return f"CASE WHEN {plausible} THEN {value} END", code
        if self.stored == "money":
            value = f
            # NULL: the text is empty; a cast that fails: the value is too large.
            bad = f"WHEN {f} IS NULL THEN 'too_large' "
        else:
            value = f"CASE WHEN isfinite({f}) AND abs({f}) < {MAX_NUMBER} THEN {f} END"
            # NaN reads as "nan", an empty value; infinity is not a number.
            bad = (
                f"WHEN isnan({f}) THEN {empty} WHEN isinf({f}) THEN 'not_number' "
                f"WHEN {value} IS NULL THEN 'too_large' "
            )
        neg = f"WHEN {value} < 0 THEN 'negative' " if self.nonneg else ""
        return value, f"CASE WHEN {r} IS NULL THEN {empty} {bad}{neg}END"

    def _choice_map(self) -> dict[str, str]:
        syn_key = "touch_kind" if self.name == "kind" and "call" in self.choices else self.name
        mapping = {c: c for c in self.choices}
        for k, v in SYNONYMS.get(syn_key, {}).items():
            if v in self.choices:
                mapping.setdefault(k, v)
        for k, v in self.values.items():
            if v in self.choices:
                mapping[k.lower()] = v
        return mapping

    def _date_sql(self) -> str:
        c = self.col("c")
        iso = (
            f"WHEN {_rx(c, _ISO)} THEN TRY_CAST(trim(regexp_replace({c}, "
            f"{sql_str('^' + _ISO + '$')}, '\\1-\\2-\\3 \\4')) AS TIMESTAMP)"
        )
        if self.date_format is not None:
            return f"(CASE WHEN {c} IS NULL THEN NULL {iso} END)"
        slash = "\\3-\\2-\\1 \\4" if self.slash != "mdy" else "\\3-\\1-\\2 \\4"
        parts = [(_DMY, "\\3-\\2-\\1 \\4"), (_SLASH, slash)]
        whens = " ".join(
            f"WHEN {_rx(c, p)} THEN TRY_CAST(trim(regexp_replace({c}, {sql_str('^' + p + '$')}, "
            f"{sql_str(rep)})) AS TIMESTAMP)"
            for p, rep in parts
        )
        compact = f"WHEN {_rx(c, '[0-9]{8}')} THEN try_strptime({c}, '%Y%m%d')"
        names = ", ".join(sql_str(f) for base in _MONTH_NAME_DATES for f in date_formats(base))
        # (strptime reads the words 'infinity' and 'epoch' as 1900-01-01: a date with a
        # month name has digits too.)
        named = (
            f"WHEN regexp_matches({c}, '[A-Za-z]{{3}}') AND regexp_matches({c}, '[0-9]') "
            f"THEN try_strptime({c}, [{names}])"
        )
        return f"(CASE WHEN {c} IS NULL THEN NULL {iso} {whens} {compact} {named} END)"


def _decimal(type_: str) -> tuple[int, int]:
    """(width, scale) of a ``DECIMAL(w,s)`` type name, else (0, 0)."""
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", type_)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def describe(spec: FieldSpec | None, code: str) -> tuple[str, str, str]:
    """(what is wrong, what was expected, how to fix it) for an error code."""
    name = spec.name if spec else ""
    mapped = f"--map {name}=COLUMN" if spec else "--map"
    if code == "empty":
        return (
            "is empty",
            f"a value ({name} is required)",
            f"fill it in, or map another column with {mapped}",
        )
    if code == "not_number":
        style = "1.234,50" if spec and spec.comma else "1234.50"
        other = "--decimal-point" if spec and spec.comma else "--decimal-comma"
        return (
            "is not a number",
            f"a number such as {style}",
            f"correct the value (digits with grouping, an optional sign or (12.50), and "
            f"only the {spec.currency if spec else 'workspace'} sign or code); if the file "
            f"writes numbers the other way, pass {other}",
        )
    if code == "currency":
        cur = spec.currency if spec else "the workspace currency"
        return (
            "is in another currency",
            f"an amount in {cur}, the workspace currency ([workspace] currency)",
            f"convert it to {cur}, or import it into a workspace whose currency it is "
            "(one workspace keeps one currency)",
        )
    if code == "too_large":
        limit = (
            "at most 9,999,999,999,999,999.99, as money is stored to the cent"
            if spec and spec.kind == "money"
            else "a number below 10^15"
        )
        return "is too large", limit, "correct the value (is it in cents, or a typo?)"
    if code == "negative":
        return "is negative", "a value of 0 or more", "correct the sign"
    if code == "not_date":
        if spec and spec.date_format:
            exp = f"a date in the format {spec.date_format} (from --date-format)"
            if len(date_formats(spec.date_format)) > 1:
                exp += ", with or without a time after it"
        else:
            exp = "a date such as 2024-03-15, 15.03.2024, 20240315, 03/15/2024 or 15-Mar-2024"
        return (
            "is not a date",
            exp,
            "correct the value, or pass --date-format with the file's format in strftime "
            "syntax (for example --date-format %d/%m/%Y)",
        )
    if code == "date_range":
        return "is not a plausible date", "a year between 1800 and 2200", "correct the value"
    if code == "choice":
        valid = ", ".join(spec.choices) if spec else ""
        return "is not a valid value", f"one of {valid}", "use one of the valid values"
    if code == "not_json":
        return (
            "is not a JSON object",
            'a JSON object such as {"city": "Ljubljana"}',
            "correct the value",
        )
    return code, "", ""
