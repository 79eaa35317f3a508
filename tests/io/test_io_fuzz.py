"""Fuzzing: whatever the file holds, an import succeeds or raises a RegularsError,
and a failed import leaves every table exactly as it was."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _io_helpers import contents, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regulars.errors import RegularsError
from regulars.io import import_file
from regulars.schema import TABLES
from regulars.store import Workspace

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_counter = itertools.count()


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    """A workspace with some data, copied for every example."""
    root = Path(tempfile.mkdtemp(prefix="regulars-fuzz-"))
    ws = Workspace.init(root / "template")
    write(
        root / "seed.csv",
        "order_id,customer_id,order_date,revenue,product\n"
        "S-1,C-1,2024-01-05,100,logo\nS-2,C-2,2024-02-05,250.50,site\n",
    )
    import_file(ws, "orders", root / "seed.csv")
    ws.close()
    yield root / "template"
    shutil.rmtree(root, ignore_errors=True)


def _check(template: Path, name: str, data: bytes, table: str = "orders", **kw: object) -> None:
    work = Path(tempfile.mkdtemp(prefix="regulars-fuzz-case-"))
    try:
        shutil.copytree(template, work / "ws")
        ws = Workspace.open(work / "ws")
        try:
            before = contents(ws)
            f = work / name
            f.write_bytes(data)
            error: RegularsError | None = None
            try:
                import_file(ws, table, f, **kw)  # type: ignore[arg-type]
            except RegularsError as exc:  # any other exception fails the test
                error = exc
            if error is not None:
                assert str(error), "an error needs a message"
                assert "probably a bug" not in str(error), str(error)
                assert contents(ws) == before, "a failed import changed the workspace"
        finally:
            ws.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


EXTENSIONS = ["csv", "tsv", "xlsx", "parquet", "jsonl", "json", "txt"]


@SETTINGS
@given(data=st.binary(max_size=2000), ext=st.sampled_from(EXTENSIONS))
def test_random_bytes(template: Path, data: bytes, ext: str) -> None:
    _check(template, f"f{next(_counter)}.{ext}", data)


CELL = st.one_of(
    st.sampled_from(
        [
            "",
            "A-1",
            "C-1",
            "2024-03-01",
            "31/02/2024",
            "03/04/2024",
            "12,5",
            "1.234,50",
            "-40",
            "1e30",
            "9" * 40,
            "NaN",
            "inf",
            "(12.50)",
            "€ 1 200",
            '"',
            "\u0000",
            "paid",
            "refunded",
            "subscription",
            "x",
        ]
    ),
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
COLUMNS = [
    "order_id",
    "customer_id",
    "order_date",
    "revenue",
    "quantity",
    "unit_price",
    "status",
    "kind",
    "refund_amount",
    "product",
    "Notes",
]


@st.composite
def csv_files(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8, unique=True))
    n_rows = draw(st.integers(min_value=0, max_value=12))
    lines = [",".join(header)]
    for _ in range(n_rows):
        cells = draw(st.lists(CELL, min_size=len(header), max_size=len(header)))
        cut = draw(st.integers(min_value=-1, max_value=len(header) + 1))
        if cut >= 0:  # a truncated or overlong row
            cells = [*cells, "extra"][:cut]
        quoted = ['"' + c.replace('"', '""') + '"' if ("," in c or "\n" in c) else c for c in cells]
        lines.append(",".join(quoted))
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):  # cut the file anywhere
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text


@SETTINGS
@given(text=csv_files(), skip=st.booleans(), comma=st.sampled_from([None, True, False]))
def test_malformed_csv(template: Path, text: str, skip: bool, comma: bool | None) -> None:
    _check(
        template,
        f"o{next(_counter)}.csv",
        text.encode("utf-8", errors="surrogatepass"),
        skip_invalid=skip,
        decimal_comma=comma,
    )


@SETTINGS
@given(
    table=st.sampled_from(["customers", "subscriptions", "touches", "spend", "feedback"]),
    data=st.data(),
)
def test_other_tables(template: Path, table: str, data: st.DataObject) -> None:
    t = TABLES[table]
    optional = [c.name for c in t.columns if not c.required] + ["Notes"]
    header = list(t.required) + data.draw(st.lists(st.sampled_from(optional), unique=True))
    if data.draw(st.booleans()):  # sometimes a required column is missing
        header = header[1:] or ["nothing"]
    n_rows = data.draw(st.integers(min_value=0, max_value=8))
    lines = [",".join(header)]
    for _ in range(n_rows):
        cells = data.draw(st.lists(CELL, min_size=len(header), max_size=len(header)))
        lines.append(",".join(c.replace(",", ";").replace("\n", " ") for c in cells))
    text = "\n".join(lines) + "\n"
    _check(
        template,
        f"t{next(_counter)}.csv",
        text.encode("utf-8", errors="surrogatepass"),
        table=table,
        skip_invalid=data.draw(st.booleans()),
    )


@pytest.mark.parametrize("name", ["empty.csv", "empty.xlsx", "empty.parquet", "empty.jsonl"])
def test_empty_files(template: Path, name: str) -> None:
    _check(template, name, b"")
