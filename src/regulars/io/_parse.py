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
from dataclasses import dataclass, field
from typing import Any

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


_ISO = r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[ T]+(.*))?"
_DMY = r"([0-9]{1,2})[.\-]([0-9]{1,2})[.\-]([0-9]{4})(?:[ T]+(.*))?"
_SLASH = r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[ T]+(.*))?"
_SHAPE = r"\(?[+\-]?[0-9.,]+-?\)?"
_PARENS = r"\(.*\)"
_TZ = (
    r"([0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)\s*(?:Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)$"
)


@dataclass
class FieldSpec:
    """How one contract field is read from its source columns."""

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
    order_level: bool = False

    # -- column names in the layered query --------------------------------------
    @property
    def r(self) -> str:
        return f'"{self.name}__r"'

    @property
    def c(self) -> str:
        return f'"{self.name}__c"'

    @property
    def v(self) -> str:
        return f'"{self.name}"'

    @property
    def e(self) -> str:
        return f'"{self.name}__e"'

    @property
    def is_date(self) -> bool:
        return self.kind in ("date", "timestamp")

    @property
    def is_number(self) -> bool:
        return self.kind in ("money", "number")

    # -- layer 1: raw text ------------------------------------------------------
    def raw_sql(self) -> str:
        raw = self.source.raw_sql()
        if self.is_number or self.is_date:
            tokens = ", ".join(sql_str(t) for t in NULL_TOKENS)
            raw = f"(CASE WHEN lower({raw}) IN ({tokens}) THEN NULL ELSE {raw} END)"
        return raw

    def skip_sql(self) -> str | None:
        skips = [k for k, v in self.values.items() if v == SKIP]
        if not skips:
            return None
        return f"coalesce(lower({self.r}) IN ({', '.join(sql_str(s) for s in skips)}), false)"

    # -- layer 2: a fast typed value, and the cleaned text when that fails -------
    @property
    def f(self) -> str:
        return f'"{self.name}__f"'

    @property
    def b(self) -> str:
        return f'"{self.name}__b"'

    def fast_sql(self) -> str | None:
        """Most values are plain (``12.50``, ``2024-03-15``): one cast reads them."""
        r = self.r
        if self.is_number:
            target = MONEY if self.kind == "money" else "DOUBLE"
            if self.comma:
                cast = (
                    f"CASE WHEN strpos({r}, '.') = 0 THEN "
                    f"TRY_CAST(replace({r}, ',', '.') AS {target}) END"
                )
            else:
                cast = f"TRY_CAST({r} AS {target})"
            if self.kind == "number":
                cast = f"CASE WHEN isfinite({cast}) THEN {cast} END"
            return cast
        if self.is_date:
            if self.date_format is not None:
                return f"TRY_CAST(try_strptime({r}, {sql_str(self.date_format)}) AS TIMESTAMP)"
            return f"TRY_CAST({r} AS TIMESTAMP)"
        return None

    def clean_sql(self) -> str | None:
        r = self.r
        if self.is_number:
            no_words = f"regexp_replace({r}, '\\p{{L}}{{2,}}\\.?', '', 'g')"
            clean = f"regexp_replace({no_words}, '[^0-9.,eE+()\\-]', '', 'g')"
        elif self.is_date:
            clean = f"regexp_replace({r}, {sql_str(_TZ)}, '\\1', 'i')"
        else:
            return None
        return f"CASE WHEN {self.f} IS NULL THEN {clean} END"

    def body_sql(self) -> str | None:
        if not self.is_number:
            return None
        return f"regexp_replace({self.c}, '^[(+\\-]+|[)\\-]+$', '', 'g')"

    # -- detection ----------------------------------------------------------------
    def shape_sql(self) -> str | None:
        """Digits -> 9: the distinct shapes of a number column settle its separator."""
        if not self.is_number:
            return None
        return f"translate({self.r}, '0123456789', '9999999999')"

    def detect_aggs(self) -> dict[str, str]:
        """Aggregates that settle the day/month order of slash dates."""
        n = self.name
        if not self.is_date or self.date_format is not None:
            return {}
        r = self.r
        slash = f"({r} LIKE '%/%/%' AND length(split_part({r}, '/', 1)) <= 2)"
        a = f"TRY_CAST(split_part({r}, '/', 1) AS INTEGER)"
        b = f"TRY_CAST(split_part({r}, '/', 2) AS INTEGER)"
        return {
            f"{n}|slash": f"count(*) FILTER ({slash})",
            f"{n}|diff": f"count(*) FILTER ({slash} AND {a} <> {b})",
            f"{n}|a13": f"count(*) FILTER ({slash} AND {a} > 12)",
            f"{n}|b13": f"count(*) FILTER ({slash} AND {b} > 12)",
            f"{n}|ex": f"arg_min([{r}, _row::VARCHAR], _row) FILTER ({slash} AND {a} <> {b})",
        }

    def settle_numbers(
        self,
        shapes: list[tuple[str, int, str, int]],
        *,
        where: str,
        forced: bool | None,
    ) -> str | None:
        """Decide decimal comma or point from (shape, count, example, row) tuples."""
        if forced is not None:
            self.comma = forced
            return None
        seen: dict[str, tuple[int, str, int]] = {}
        for shape, n, example, row in shapes:
            kind = _classify(shape)
            if kind is None:
                continue
            count, ex, ex_row = seen.get(kind, (0, example, row))
            if row < ex_row:
                ex, ex_row = example, row
            seen[kind] = (count + n, ex, ex_row)
        if "point" in seen and "comma" in seen:
            p, c = seen["point"], seen["comma"]
            raise ImportDataError(
                f"{where} mixes decimal points and decimal commas: {p[1]!r} on row "
                f"{p[2]:,} and {c[1]!r} on row {c[2]:,}. Nothing was imported. "
                "Make the column consistent, or pass --decimal-comma or --decimal-point "
                "to say which one the file uses (values in the other style are then "
                "reported as errors)."
            )
        money = self.kind == "money"
        if "comma" in seen or (
            "point" not in seen and "amb_dot" in seen and money and "amb_comma" not in seen
        ):
            self.comma = True
            return f"{self.name}: decimal comma"
        if "point" not in seen and "amb_dot" in seen and "amb_comma" in seen and money:
            raise ImportDataError(
                f"{where}: cannot tell whether '.' or ',' is the decimal separator "
                f"(for example {seen['amb_dot'][1]!r} and {seen['amb_comma'][1]!r}). Nothing "
                "was imported. Pass --decimal-comma or --decimal-point."
            )
        self.comma = False
        return None

    def settle(
        self, agg: dict[str, Any], *, column_label: str, file_label: str, forced: bool | None
    ) -> str | None:
        """Apply the date detection results; return a note for the import summary."""
        n = self.name
        where = f'{file_label}, column "{column_label}" ({n})'
        if self.is_date and self.date_format is None:
            slash, diff = int(agg[f"{n}|slash"] or 0), int(agg[f"{n}|diff"] or 0)
            a13, b13 = int(agg[f"{n}|a13"] or 0), int(agg[f"{n}|b13"] or 0)
            if not slash or not diff:
                self.slash = "dmy"
                return None
            if a13 or b13:
                self.slash = "dmy" if a13 >= b13 else "mdy"
                return f"{n}: {'DD/MM/YYYY' if self.slash == 'dmy' else 'MM/DD/YYYY'}"
            ex = agg[f"{n}|ex"]
            d1, d2 = str(ex[0]).split("/")[:2]
            raise ImportDataError(
                f"{where}: the dates are ambiguous. {ex[0]!r} (row {int(ex[1]):,}) could be "
                f"day {int(d1)} of month {int(d2)} or day {int(d2)} of month {int(d1)}, and no "
                "day in the column is above 12. Nothing was imported. Pass --date-format "
                "%d/%m/%Y (day first) or --date-format %m/%d/%Y (month first)."
            )
        return None

    # -- layer 3: typed value and error code --------------------------------------
    def typed_sql(self) -> tuple[str, str]:
        """(value expression, error-code expression) over the cleaned layer."""
        empty = "'empty'" if self.required else "NULL"
        r = self.r
        if self.is_number:
            return self._number_sql(empty)
        if self.is_date:
            ts = f"coalesce({self.f}, {self._date_sql()})"
            value = f"CAST({ts} AS DATE)" if self.kind == "date" else ts
            code = (
                f"CASE WHEN {r} IS NULL THEN {empty} WHEN {ts} IS NULL THEN 'not_date' "
                f"WHEN year({ts}) NOT BETWEEN 1800 AND 2200 THEN 'date_range' END"
            )
            value = f"CASE WHEN year({ts}) BETWEEN 1800 AND 2200 THEN {value} END"
            return value, code
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
        if self.values:
            whens = " ".join(
                f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in self.values.items() if v != SKIP
            )
            value = f"coalesce(CASE lower({r}) {whens} END, {r})" if whens else r
        else:
            value = r
        return value, f"CASE WHEN {r} IS NULL THEN {empty} END"

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

    def _number_sql(self, empty: str) -> tuple[str, str]:
        c, r, b = self.c, self.r, self.b
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
        s = (
            f"CASE WHEN {sci} THEN {c} WHEN {shape} AND {ok} AND {digits} "
            f"THEN (CASE WHEN {neg} THEN '-' ELSE '' END) || "
            f"regexp_replace({num}, '^[.]', '0.') END"
        )
        d = f"TRY_CAST({s} AS DOUBLE)"
        if self.kind == "money":
            slow = (
                f"CASE WHEN abs({d}) < {MAX_MONEY} THEN coalesce("
                f"TRY_CAST({s} AS {MONEY}), TRY_CAST({d} AS {MONEY})) END"
            )
            dd = f"CASE WHEN {self.f} IS NOT NULL THEN 0.0 ELSE {d} END"
        else:
            slow = f"CASE WHEN isfinite({d}) AND abs({d}) < {MAX_NUMBER} THEN {d} END"
            dd = f"CASE WHEN {self.f} IS NOT NULL THEN 0.0 ELSE {d} END"
        fast_ok = (
            f"{self.f} IS NOT NULL"
            if self.kind == "money"
            else f"{self.f} IS NOT NULL AND abs({self.f}) < {MAX_NUMBER}"
        )
        value = f"CASE WHEN {fast_ok} THEN {self.f} WHEN {c} IS NULL THEN NULL ELSE {slow} END"
        neg_code = f"WHEN {value} < 0 THEN 'negative' " if self.nonneg else ""
        code = (
            f"CASE WHEN {r} IS NULL THEN {empty} WHEN {dd} IS NULL THEN 'not_number' "
            f"WHEN {value} IS NULL THEN 'too_large' {neg_code}END"
        )
        return value, code

    def _date_sql(self) -> str:
        c = self.c
        iso = (
            f"CASE WHEN {_rx(c, _ISO)} THEN TRY_CAST(trim(regexp_replace({c}, "
            f"{sql_str('^' + _ISO + '$')}, '\\1-\\2-\\3 \\4')) AS TIMESTAMP) END"
        )
        if self.date_format is not None:
            return f"CASE WHEN {c} IS NOT NULL THEN {iso} END"
        slash = "\\3-\\2-\\1 \\4" if self.slash != "mdy" else "\\3-\\1-\\2 \\4"
        parts = [
            (_ISO, "\\1-\\2-\\3 \\4"),
            (_DMY, "\\3-\\2-\\1 \\4"),
            (_SLASH, slash),
        ]
        whens = " ".join(
            f"WHEN {_rx(c, p)} THEN TRY_CAST(trim(regexp_replace({c}, {sql_str('^' + p + '$')}, "
            f"{sql_str(rep)})) AS TIMESTAMP)"
            for p, rep in parts
        )
        compact = f"WHEN {_rx(c, '[0-9]{8}')} THEN try_strptime({c}, '%Y%m%d')"
        return f"(CASE WHEN {c} IS NULL THEN NULL {whens} {compact} END)"


_P_STRIP_WORDS = re.compile(r"[^\W\d_]{2,}\.?")
_P_KEEP = re.compile(r"[^9.,eE+()\-]")
_P_BODY = re.compile(r"^[(+\-]+|[)\-]+$")
_CLASSES = [
    ("amb_dot", re.compile(r"9{1,3}\.999")),
    ("amb_comma", re.compile(r"9{1,3},999")),
    ("point", re.compile(r"9+\.9+|9{1,3}(,999)+\.9+|9{1,3}(,999){2,}|\.9+")),
    ("comma", re.compile(r"9+,9+|9{1,3}(\.999)+,9+|9{1,3}(\.999){2,}|,9+")),
]


def _classify(shape: str) -> str | None:
    """``"$9,999.99"`` -> ``"point"``; None when the shape says nothing."""
    s = _P_KEEP.sub("", _P_STRIP_WORDS.sub("", shape))
    if re.fullmatch(r"[+\-]?9+(\.9+)?[eE][+\-]?9+", s):
        return None
    body = _P_BODY.sub("", s)
    for name, pattern in _CLASSES:
        if pattern.fullmatch(body):
            return name
    return None


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
            f"correct the value; if the file writes numbers the other way, pass {other}",
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
        else:
            exp = "a date such as 2024-03-15, 15.03.2024, 20240315 or 03/15/2024"
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
