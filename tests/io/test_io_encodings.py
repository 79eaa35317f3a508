"""Text encodings: UTF-8 with or without BOM, UTF-16, and legacy code pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from _io_helpers import rows, write

from regulars.errors import SchemaError
from regulars.io import import_file
from regulars.store import Workspace

TEXT = "customer_id,name,segment\nC-1,Ёлкин и Сыновья,розница\nC-2,Café Zoë,Straße\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "option"),
    [
        ("utf-8", False, None),
        ("utf-8", True, None),
        ("utf-8", True, "utf-8-sig"),
        ("utf-16", False, "utf-16"),
    ],
)
def test_unicode_files(
    ws: Workspace, tmp_path: Path, encoding: str, bom: bool, option: str | None
) -> None:
    f = write(tmp_path / "c.csv", TEXT, encoding=encoding, bom=bom)
    import_file(ws, "customers", f, encoding=option)
    assert rows(ws, "SELECT name, segment FROM customers ORDER BY customer_id") == [
        ("Ёлкин и Сыновья", "розница"),
        ("Café Zoë", "Straße"),
    ]


def test_bom_does_not_reach_the_first_column_name(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", "customer_id,name\nC-1,Ana\n", bom=True)
    r = import_file(ws, "customers", f)
    assert r.mapping["customer_id"] == "customer_id"


def test_cp1251(ws: Workspace, tmp_path: Path) -> None:
    text = "customer_id;name\nC-1;Ёлкин и Сыновья\nC-2;Щукин\n"
    f = write(tmp_path / "c.csv", text, encoding="cp1251")
    with pytest.raises(SchemaError, match=r"not valid utf-8 .*pass --encoding\s+cp1252"):
        import_file(ws, "customers", f)
    import_file(ws, "customers", f, encoding="cp1251")
    assert rows(ws, "SELECT name FROM customers ORDER BY 1") == [("Ёлкин и Сыновья",), ("Щукин",)]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_western_code_pages(ws: Workspace, tmp_path: Path, encoding: str) -> None:
    f = write(tmp_path / "c.csv", "customer_id,name\nC-1,Café Zoë\n", encoding=encoding)
    import_file(ws, "customers", f, encoding=encoding)
    assert rows(ws, "SELECT name FROM customers") == [("Café Zoë",)]


def test_bad_bytes_in_later_lines_are_reported_with_their_line(
    ws: Workspace, tmp_path: Path
) -> None:
    f = tmp_path / "c.csv"
    f.write_bytes(b"customer_id,name\nC-1,Ana\nC-2,Caf\xe9\n")
    with pytest.raises(
        SchemaError, match=r"c.csv, line 3: is not valid UTF-8 text \(pass --encoding"
    ):
        import_file(ws, "customers", f)


def test_unknown_encoding(ws: Workspace, tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", "customer_id\nC-1\n")
    with pytest.raises(SchemaError, match="unknown encoding 'klingon'"):
        import_file(ws, "customers", f, encoding="klingon")


def test_transcoding_streams_large_files(ws: Workspace, tmp_path: Path) -> None:
    body = "".join(f"C-{i},Ёлкин {i}\n" for i in range(60_000))  # > 1 MiB in cp1251
    f = write(tmp_path / "c.csv", "customer_id,name\n" + body, encoding="cp1251")
    r = import_file(ws, "customers", f, encoding="cp1251")
    assert r.records == 60_000
    assert rows(ws, "SELECT name FROM customers WHERE customer_id = 'C-59999'") == [
        ("Ёлкин 59999",)
    ]
