"""Generated malformed files for every importable table (see test_io_malformed.py).

Each case is a file (bytes), the table it goes into, extra CLI arguments, and what
must happen: ``ERROR`` (a clean error, nothing written), ``EITHER`` (a clean error
or an exact import), or a check of what an accepted file stored: ``(sql, rows)``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ERROR = "error"
EITHER = "either"


@dataclass(frozen=True)
class Case:
    name: str
    table: str
    filename: str
    data: bytes
    expect: Any  # ERROR, EITHER, or (sql, rows)
    args: tuple[str, ...] = field(default_factory=tuple)


# A valid file per table: header, two rows.  Row 2 is the one that gets mutated.
BASE: dict[str, tuple[list[str], list[list[str]]]] = {
    "customers": (
        ["customer_id", "name", "email", "acquired_at", "referred_by", "attributes", "channel"],
        [
            ["K-1", "Ada", "ada@x.io", "2024-01-05", "", '{"city": "Lj"}', "google"],
            ["K-2", "Bo", "bo@x.io", "2024-02-05", "K-1", "", "referral"],
        ],
    ),
    "orders": (
        [
            "order_id",
            "customer_id",
            "order_date",
            "revenue",
            "cost",
            "quantity",
            "product",
            "kind",
            "status",
        ],
        [
            ["O-1", "K-1", "2024-01-05", "120.50", "20", "1", "logo", "one-off", "paid"],
            ["O-2", "K-2", "2024-02-05", "80", "10", "2", "site", "package", "paid"],
        ],
    ),
    "subscriptions": (
        [
            "subscription_id",
            "customer_id",
            "plan",
            "start_date",
            "end_date",
            "cancel_date",
            "price",
            "billing_period",
        ],
        [
            ["S-1", "K-1", "basic", "2024-01-01", "2024-06-30", "", "150", "month"],
            ["S-2", "K-2", "pro", "2024-02-01", "", "", "300", "quarter"],
        ],
    ),
    "touches": (
        ["touch_id", "customer_id", "touched_at", "kind", "note", "outcome"],
        [
            ["T-1", "K-1", "2024-01-05 10:30", "call", "Said hi", "ok"],
            ["T-2", "K-2", "2024-02-05", "email", "Sent idea", ""],
        ],
    ),
    "spend": (
        ["channel", "period_start", "period_end", "amount"],
        [
            ["google", "2024-01-01", "2024-01-31", "500"],
            ["fb", "2024-02-01", "2024-02-29", "250.5"],
        ],
    ),
    "feedback": (
        ["customer_id", "feedback_date", "score", "comment"],
        [["K-1", "2024-03-01", "9", "Great"], ["K-2", "2024-03-02", "7", ""]],
    ),
}
KEY = {
    "customers": "customer_id",
    "orders": "order_id",
    "subscriptions": "subscription_id",
    "touches": "touch_id",
    "spend": "channel",
    "feedback": "customer_id",
}
NUMBERS = {
    "orders": ("revenue", "cost", "quantity"),
    "subscriptions": ("price",),
    "spend": ("amount",),
    "feedback": ("score",),
}
DATES = {
    "customers": ("acquired_at",),
    "orders": ("order_date",),
    "subscriptions": ("start_date", "end_date"),
    "touches": ("touched_at",),
    "spend": ("period_start",),
    "feedback": ("feedback_date",),
}
TEXTS = {
    "customers": "name",
    "orders": "product",
    "subscriptions": "plan",
    "touches": "note",
    "spend": "channel",
    "feedback": "comment",
}
CHOICES = {
    "orders": ("kind", "weekly"),
    "subscriptions": ("billing_period", "fortnight"),
    "touches": ("kind", "telepathy"),
}
BAD_NUMBERS = (
    "1/2", "12:30", "12 3/4", "12*3", "50%", "#12", "12abc", "(12", "[1,2]", "12.50 USD",
    "$5", "1_000", "0x1F", "١٢", "1e999", "99999999999999999999", "inf", "[/x]",
    "[link=https://evil.example]1[/link]", "\x1b[2J5",
)  # fmt: skip
GOOD_NUMBERS = (("EUR 4", 4.0), ("1 234.5", 1234.5), ("+7", 7.0), ("€ 6", 6.0))
BAD_DATES = (
    "infinity", "-infinity", "epoch", "today", "allballs", "2024-02-30", "31/02/2024",
    "0000-00-00", "1500-01-01", "9999-12-31", "2024-13-01", "yesterday", "[/x]",
    "2024-01-01T25:00",
)  # fmt: skip
GOOD_DATES = ("2024-02-15T10:30:00Z", "20240215", "15.02.2024")
TEXT_VALUES = (
    "[/x]",
    "[link=https://evil.example]click[/link]",
    "[bold red]x[/]",
    "\x1b]0;title\x07",
    "\x1b[2J",
    "tab\there",
    '=HYPERLINK("http://x")',
    "Ünïcödé ✓ 🎉",
    "x" * 1_000_000,
)


def to_csv(header: list[str], rows: list[list[str]], delimiter: str = ",", eol: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=eol)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _mutated(table: str, column: str, value: str) -> tuple[list[str], list[list[str]]]:
    header, rows = BASE[table]
    rows = [list(r) for r in rows]
    rows[1][header.index(column)] = value
    return header, rows


def _count(table: str, n: int = 2) -> tuple[str, list[tuple[Any, ...]]]:
    return f'SELECT count(*) FROM "{table}"', [(n,)]


def _value(table: str, column: str, expected: Any) -> tuple[str, list[tuple[Any, ...]]]:
    key = BASE[table][1][1][BASE[table][0].index(KEY[table])]
    cast = "DOUBLE" if isinstance(expected, float) else "VARCHAR"
    return (
        f'SELECT CAST("{column}" AS {cast}) FROM "{table}" WHERE "{KEY[table]}" = \'{key}\'',
        [(expected,)],
    )


def _parquet(table: str) -> bytes:
    header, rows = BASE[table]
    buf = io.BytesIO()
    pq.write_table(pa.table({h: [r[i] or None for r in rows] for i, h in enumerate(header)}), buf)
    return buf.getvalue()


def _xlsx(table: str) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    header, rows = BASE[table]
    ws.append(header)
    for r in rows:
        ws.append([v or None for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _jsonl(table: str) -> bytes:
    header, rows = BASE[table]
    lines = [json.dumps({h: v for h, v in zip(header, r, strict=True) if v}) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _structural(table: str) -> Iterator[Case]:
    header, rows = BASE[table]
    text = to_csv(header, rows)
    ok = _count(table)
    t = table
    yield Case(f"{t}-semicolon", t, "f.csv", to_csv(header, rows, ";").encode(), ok)
    yield Case(f"{t}-tab", t, "f.tsv", to_csv(header, rows, "\t").encode(), ok)
    yield Case(f"{t}-pipe", t, "f.csv", to_csv(header, rows, "|").encode(), ok)
    yield Case(f"{t}-bom", t, "f.csv", b"\xef\xbb\xbf" + text.encode(), ok)
    yield Case(f"{t}-crlf", t, "f.csv", to_csv(header, rows, eol="\r\n").encode(), ok)
    yield Case(f"{t}-blank-lines", t, "f.csv", text.replace("\n", "\n\n", 1).encode(), ok)
    acc = _mutated(t, TEXTS[t], "Café")
    cafe = _value(t, TEXTS[t], "Café")
    if TEXTS[t] == KEY[t]:  # spend.channel is part of the key: look it up by value
        cafe = (f'SELECT count(*) FROM "{t}" WHERE "{TEXTS[t]}" = ?', [(1,)], "Café")
    yield Case(f"{t}-cp1252-unsaid", t, "f.csv", to_csv(*acc).encode("cp1252"), ERROR)
    cp1252, latin1 = to_csv(*acc).encode("cp1252"), to_csv(*acc).encode("latin-1")
    yield Case(f"{t}-cp1252", t, "f.csv", cp1252, cafe, ("--encoding", "cp1252"))
    yield Case(f"{t}-latin1", t, "f.csv", latin1, cafe, ("--encoding", "latin-1"))
    yield Case(f"{t}-utf16-unsaid", t, "f.csv", text.encode("utf-16"), ERROR)
    yield Case(f"{t}-utf16", t, "f.csv", text.encode("utf-16"), ok, ("--encoding", "utf-16"))
    yield Case(f"{t}-utf16-no-bom", t, "f.csv", text.encode(), ERROR, ("--encoding", "utf-16"))
    yield Case(f"{t}-base64", t, "f.csv", text.encode(), ERROR, ("--encoding", "base64"))
    yield Case(f"{t}-bad-utf8", t, "f.csv", text.encode()[:-8] + b"\xff\xfe" + b"x\n", ERROR)
    yield Case(f"{t}-cut-utf8", t, "f.csv", to_csv(*acc).encode()[:-3] + b"\n", EITHER)
    quote = text + '"unclosed,' + ",".join(header[1:]) + "\n"
    yield Case(f"{t}-open-quote", t, "f.csv", quote.encode(), ERROR)
    extra = text + ",".join(rows[0]) + ",extra\n"
    yield Case(f"{t}-extra-field", t, "f.csv", extra.encode(), ERROR)
    short = text + ",".join(rows[0][:-2]) + "\n"
    yield Case(f"{t}-missing-field", t, "f.csv", short.encode(), ERROR)
    cut = text[: len(text) - len(",".join(rows[1])) // 2 - 1]
    yield Case(f"{t}-cut-last-line", t, "f.csv", cut.encode(), ERROR)
    yield Case(f"{t}-empty", t, "f.csv", b"", ERROR)
    yield Case(f"{t}-header-only", t, "f.csv", (",".join(header) + "\n").encode(), ERROR)
    yield Case(f"{t}-whitespace-only", t, "f.csv", b" \n\n \r\n", ERROR)
    headless = "\n".join(",".join(r) for r in rows)
    yield Case(f"{t}-no-header", t, "f.csv", headless.encode(), ERROR)
    yield Case(f"{t}-nul-bytes", t, "f.csv", text.encode().replace(b",", b"\x00,", 3), ERROR)
    renamed = [h if h != KEY[t] else "xyz" for h in header]
    # Orders and touches without an id get generated ones (docs/data.md).
    keyless = ok if t in ("orders", "touches") else ERROR
    yield Case(f"{t}-no-key-column", t, "f.csv", to_csv(renamed, rows).encode(), keyless)
    dup = [rows[0], rows[1], [*rows[1][:-1], rows[1][-1] + "z" if rows[1][-1] else "z"]]
    yield Case(f"{t}-key-conflict", t, "f.csv", to_csv(header, dup).encode(), ERROR)
    yield Case(f"{t}-huge-line", t, "f.csv", (text + "x" * 17_000_000 + "\n").encode(), ERROR)
    yield Case(f"{t}-gzip", t, "f.csv.gz", gzip.compress(text.encode()), ok)
    yield Case(f"{t}-gzip-cut", t, "f.csv.gz", gzip.compress(text.encode() * 50)[:60], ERROR)
    yield Case(f"{t}-xlsx", t, "f.xlsx", _xlsx(t), ok)
    yield Case(f"{t}-xlsx-cut", t, "f.xlsx", _xlsx(t)[:2000], ERROR)
    yield Case(f"{t}-xlsx-junk", t, "f.xlsx", b"PK\x03\x04" + bytes(range(256)) * 8, ERROR)
    yield Case(f"{t}-parquet", t, "f.parquet", _parquet(t), ok)
    yield Case(f"{t}-parquet-cut", t, "f.parquet", _parquet(t)[:-40], ERROR)
    yield Case(f"{t}-parquet-junk", t, "f.parquet", b"PAR1" + bytes(300) + b"PAR1", ERROR)
    yield Case(f"{t}-jsonl", t, "f.jsonl", _jsonl(t), ok)
    yield Case(f"{t}-jsonl-broken", t, "f.jsonl", _jsonl(t) + b'{"a": \n', ERROR)
    yield Case(f"{t}-csv-named-xlsx", t, "f.xlsx", text.encode(), ERROR)
    yield Case(f"{t}-parquet-named-csv", t, "f.csv", _parquet(t), ERROR)


def _c(name: str, t: str, column: str, value: str, expect: Any) -> Case:
    """A CSV case: the base file of ``t`` with row 2's ``column`` set to ``value``."""
    return Case(
        f"{t}-{column}-{name}", t, "f.csv", to_csv(*_mutated(t, column, value)).encode(), expect
    )


def cases() -> list[Case]:
    """Every malformed (or tricky but valid) file of the suite, in a fixed order."""
    out: list[Case] = []
    for t in BASE:
        out += list(_structural(t))
        for col in NUMBERS.get(t, ()):
            for v in BAD_NUMBERS:
                out.append(_c(repr(v[:12]), t, col, v, ERROR))
            for v, want in GOOD_NUMBERS:
                expect = ERROR if col == "score" and want > 10 else _value(t, col, want)
                out.append(_c(repr(v), t, col, v, expect))
            neg = ERROR if col in ("cost", "price", "amount", "score") else EITHER
            out.append(_c("minus", t, col, "\u221212.5", neg))
        for col in DATES.get(t, ()):
            for v in BAD_DATES:
                out.append(_c(repr(v), t, col, v, ERROR))
            for v in GOOD_DATES:
                kind = "DATE" if col not in ("order_date", "touched_at") else "TIMESTAMP"
                want = (
                    "2024-02-15"
                    if kind == "DATE"
                    else ("2024-02-15 10:30:00" if "T10" in v else "2024-02-15 00:00:00")
                )
                out.append(_c(repr(v), t, col, v, _value(t, col, want)))
        col = TEXTS[t]
        for v in TEXT_VALUES:
            if col == KEY[t]:  # spend.channel is part of the key: look it up by value
                expect: Any = (f'SELECT count(*) FROM "{t}" WHERE "{col}" = ?', [(1,)], v)
            else:
                expect = _value(t, col, v)
            out.append(_c(f"text-{v[:12]!r}", t, col, v, expect))
        if t in CHOICES:
            c, v = CHOICES[t]
            out.append(_c(v, t, c, v, ERROR))
    for v in ("[1,2]", "{bad json", '"just text"', "[/x]"):
        out.append(_c(repr(v), "customers", "attributes", v, ERROR))
    out.append(_c("self", "customers", "referred_by", "K-2", ERROR))
    by_id = ("SELECT count(*) FROM customers WHERE customer_id = ?", [(1,)], "[/x]")
    out.append(_c("markup", "customers", "customer_id", "[/x]", by_id))
    return out
