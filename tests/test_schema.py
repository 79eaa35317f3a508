"""The data contract: docs/data.md documents every table and column of schema.TABLES.

The tables in docs/data.md (between the ``contract`` markers) and the preset maps
(between the ``presets`` markers) are generated from the code.  After changing
``regulars.schema`` or ``regulars.io.PRESETS``, refresh them with::

    python tests/test_schema.py --write
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from regulars.errors import SchemaError
from regulars.io import PRESETS
from regulars.io._presets import SKIP
from regulars.schema import TABLES, create_table_sql, table

DOC = Path(__file__).parents[1] / "docs" / "data.md"
MARKERS = {
    "contract": ("<!-- contract:start -->", "<!-- contract:end -->"),
    "presets": ("<!-- presets:start -->", "<!-- presets:end -->"),
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_contract() -> str:
    out: list[str] = []
    for t in TABLES.values():
        key = ", ".join(f"`{k}`" for k in t.key)
        note = "" if t.importable else " Filled by imports of `orders`; not imported itself."
        out += [
            f"### {t.name}",
            "",
            f"{t.description} Natural key: {key}.{note}",
            "",
            "| column | type | required | description | example |",
            "|---|---|---|---|---|",
        ]
        for c in t.columns:
            desc = c.description
            if c.choices:
                desc += f" One of: {', '.join(c.choices)}."
            out.append(
                f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | "
                f"{_cell(desc)} | `{_cell(c.example)}` |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_presets() -> str:
    out: list[str] = []
    for name, preset in PRESETS.items():
        out += [f"#### `--preset {name}`", "", preset["description"], ""]
        for tname, tp in preset["tables"].items():
            out += [
                f"`{tname}`:",
                "",
                "| field | source columns (first non-empty wins) |",
                "|---|---|",
            ]
            for field, cols in tp["map"].items():
                out.append(f"| `{field}` | {', '.join(f'`{_cell(c)}`' for c in cols)} |")
            extras = []
            for field, values in tp.get("values", {}).items():
                kept = ", ".join(f"{k} → {v}" for k, v in values.items() if v != SKIP)
                dropped = ", ".join(k for k, v in values.items() if v == SKIP)
                extras.append(f"values of `{field}`: {kept}")
                if dropped:
                    extras.append(f"rows whose `{field}` is {dropped} are left out")
            for col, vals in tp.get("skip", {}).items():
                extras.append(f"rows whose `{col}` is {', '.join(vals)} are left out")
            if tp.get("order_level"):
                given = ", ".join(f"`{f}`" for f in tp["order_level"])
                extras.append(f"given once per order (first line): {given}")
            if tp.get("generate_order_id"):
                parts = ", ".join(f"`{f}`" for f in tp["generate_order_id"])
                extras.append(f"`order_id` is generated from {parts} and the row's position")
            if tp.get("date_format"):
                extras.append(f"dates are read with `{tp['date_format']}`")
            out += ["", *[f"- {e}" for e in extras], ""] if extras else [""]
    return "\n".join(out).rstrip() + "\n"


RENDER = {"contract": render_contract, "presets": render_presets}


def _block(text: str, name: str) -> str:
    start, end = MARKERS[name]
    assert start in text, f"docs/data.md lacks the {start} marker"
    assert end in text, f"docs/data.md lacks the {end} marker"
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def write_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, render in RENDER.items():
        start, end = MARKERS[name]
        text = re.sub(
            re.escape(start) + ".*?" + re.escape(end),
            lambda _m, s=start, e=end, r=render: f"{s}\n{r()}{e}",
            text,
            flags=re.S,
        )
    DOC.write_text(text, encoding="utf-8")


def _documented() -> dict[str, list[tuple[str, str, bool, str]]]:
    """Parse the contract tables of docs/data.md: table -> (column, type, required, example)."""
    block = _block(DOC.read_text(encoding="utf-8"), "contract")
    found: dict[str, list[tuple[str, str, bool, str]]] = {}
    current = None
    for line in block.splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            found[current] = []
        elif current and line.startswith("| `"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            name, type_, required, _desc, example = cells
            found[current].append(
                (name.strip("`"), type_, required == "yes", example.strip("`").replace("\\|", "|"))
            )
    return found


def test_docs_document_every_table_and_column() -> None:
    documented = _documented()
    assert list(documented) == list(TABLES), "docs/data.md: tables differ from schema.TABLES"
    for name, t in TABLES.items():
        expected = [(c.name, c.type, c.required, c.example) for c in t.columns]
        assert documented[name] == expected, (
            f"docs/data.md: the {name} table is out of date; run python tests/test_schema.py "
            "--write"
        )


@pytest.mark.parametrize("name", list(MARKERS))
def test_generated_blocks_are_current(name: str) -> None:
    assert _block(DOC.read_text(encoding="utf-8"), name) == RENDER[name](), (
        "docs/data.md is out of date; run python tests/test_schema.py --write"
    )


def test_every_importable_table_is_described_in_the_import_rules() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, t in TABLES.items():
        if t.importable:
            assert f"regulars import {name}" in text, name


def test_table_lookup_lists_the_valid_names() -> None:
    assert table("orders").key == ("order_id",)
    with pytest.raises(SchemaError, match=r"Unknown table 'order'\. Valid tables: customers"):
        table("order")


def test_create_table_sql_declares_required_columns() -> None:
    sql = create_table_sql(TABLES["orders"])
    assert '"order_id" VARCHAR NOT NULL' in sql
    assert '"customer_id" VARCHAR NOT NULL' in sql
    # revenue is optional: NULL in a log without amounts (unknown, never 0).
    assert '"revenue" DECIMAL(18,2),' in sql
    assert '"cost" DECIMAL(18,2),' in sql


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_doc()
        print(f"Updated {DOC}")
    else:
        print(__doc__)
