"""Strict parsers: amounts, dates and encodings refuse garbage with a row-level error."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from _io_helpers import contents, rows, write
from click.testing import CliRunner

from regulars.cli import app
from regulars.errors import ImportDataError, SchemaError
from regulars.io import import_file
from regulars.store import Workspace

HEADER = "order_id,customer_id,order_date,revenue\n"


def _one(ws: Workspace, tmp_path: Path, value: str, **kw: object) -> tuple[Decimal, Decimal]:
    f = write(tmp_path / "o.csv", HEADER + f'A-1,C-1,2024-03-01,"{value}"\n')
    import_file(ws, "orders", f, **kw)  # type: ignore[arg-type]
    ((rev, ref),) = rows(ws, "SELECT revenue, coalesce(refund_amount, 0) FROM orders")
    return rev, ref


@pytest.mark.parametrize(
    "value",
    ["1/2", "12:30", "12 3/4", "12*3", "50%", "#12", "12abc", "(12", "[1,2]", "1_000", "--12",
     "0x10", "12.5.3", "12-3", "+-12", "(12)-", "1,2,3.4.5", "12 ft", "½", "12 kr"],
)  # fmt: skip
def test_garbage_amounts_are_row_errors(ws: Workspace, tmp_path: Path, value: str) -> None:
    f = write(
        tmp_path / "o.csv", HEADER + "A-0,C-1,2024-03-01,5\n" + f'A-1,C-1,2024-03-01,"{value}"\n'
    )
    before = contents(ws)
    with pytest.raises(ImportDataError) as err:
        import_file(ws, "orders", f)
    (p,) = err.value.problems
    assert (p["file"], p["row"], p["column"], p["value"]) == ("o.csv", 2, "revenue", value)
    assert p["fix"]
    assert "is not a number" in str(p["message"])
    assert contents(ws) == before


@pytest.mark.parametrize(
    ("value", "revenue", "refund"),
    [
        ("−12.50", "0.00", "12.50"),  # U+2212: a negative line, a return
        ("(12.50)", "0.00", "12.50"),
        ("12.50-", "0.00", "12.50"),
        ("€ 1 234,50", "1234.50", "0"),
        ("1'234.50 EUR", "1234.50", "0"),
        ("9,999,999,999,999,999.99", "9999999999999999.99", "0"),  # the documented maximum
    ],
)
def test_documented_forms_are_accepted(
    ws: Workspace, tmp_path: Path, value: str, revenue: str, refund: str
) -> None:
    assert _one(ws, tmp_path, value) == (Decimal(revenue), Decimal(refund))


def test_one_cent_above_the_maximum_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ImportDataError, match="is too large"):
        _one(ws, tmp_path, "10000000000000000.00")


@pytest.mark.parametrize("value", ["12.50 USD", "$12", "£5", "USD 3", "3 GBP"])
def test_another_currency_is_refused(ws: Workspace, tmp_path: Path, value: str) -> None:
    with pytest.raises(ImportDataError) as err:
        _one(ws, tmp_path, value)
    (p,) = err.value.problems
    assert p["value"] == value
    assert "another currency" in str(p["message"])
    assert "convert it to EUR" in str(p["fix"])


def test_a_usd_workspace_takes_dollars_and_refuses_euros(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w", currency="USD")
    try:
        assert _one(ws, tmp_path, "$1,200.00") == (Decimal("1200.00"), Decimal(0))
        assert _one(ws, tmp_path, "99.99 usd") == (Decimal("99.99"), Decimal(0))
        with pytest.raises(ImportDataError, match="convert it to USD"):
            _one(ws, tmp_path, "€5")
    finally:
        ws.close()


def test_quantity_times_price_is_exact(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,quantity,unit_price\n"
        "A-1,C-1,2024-03-01,1.00005,10000\nA-2,C-1,2024-03-01,3,0.335\n"
        "A-3,C-1,2024-03-01,1000,0.065\n",
    )
    import_file(ws, "orders", f)
    # Oracle: Decimal arithmetic, rounded half away from zero once, to the cent.
    got = rows(ws, "SELECT revenue FROM orders ORDER BY order_id")
    assert got == [(Decimal("10000.50"),), (Decimal("1.01"),), (Decimal("65.00"),)]


@pytest.mark.parametrize(
    "value", ["infinity", "-infinity", "epoch", "allballs", "today", "1500-01-01", "9999-12-31"]
)
def test_special_and_out_of_range_dates_are_refused(
    ws: Workspace, tmp_path: Path, value: str
) -> None:
    f = write(tmp_path / "o.csv", HEADER + f"A-1,C-1,{value},5\n")
    with pytest.raises(ImportDataError) as err:
        import_file(ws, "orders", f)
    (p,) = err.value.problems
    assert (p["row"], p["column"], p["value"]) == (1, "order_date", value)
    assert p["fix"]
    # The same with a --date-format (DuckDB's strptime reads 'epoch' as 1900-01-01).
    with pytest.raises(ImportDataError) as err:
        import_file(ws, "orders", f, date_format="%d %b %Y")
    assert err.value.problems[0]["value"] == value


def test_subscription_end_cannot_be_infinity(ws: Workspace, tmp_path: Path) -> None:
    f = write(
        tmp_path / "s.csv",
        "subscription_id,customer_id,start_date,end_date,price,billing_period\n"
        "S-1,C-1,2024-01-01,infinity,10,month\n",
    )
    with pytest.raises(ImportDataError, match='"infinity" is not a date'):
        import_file(ws, "subscriptions", f)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "base64", "zlib_codec", "rot13"])
def test_encoding_failures_are_clear_errors(tmp_path: Path, encoding: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "w")]).exit_code == 0
    f = write(tmp_path / "o.csv", HEADER + "A-1,C-1,2024-03-01,5\n")
    result = runner.invoke(app, ["import", "orders", str(f), "-w", str(tmp_path / "w"),
                                 "--encoding", encoding])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "encoding" in result.output


def test_an_encoding_error_names_the_line(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_bytes(("\ufeff" + HEADER + "A-1,C-1,2024-03-01,5\n").encode("utf-16-le") + b"\x00")
    with pytest.raises(SchemaError, match=r"o.csv, line 3 \(byte \d+\).*Fix: "):
        import_file(ws, "orders", f, encoding="utf-16")


def test_markup_and_control_characters_in_values_do_not_break_the_report(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "w")]).exit_code == 0
    f = write(
        tmp_path / "o.csv",
        HEADER
        + 'A-1,C-1,2024-03-01,"[/x]"\nA-2,C-1,2024-03-01,"[link=https://e.example]1[/link]"\n'
        'A-3,C-1,2024-03-01,"\x1b]0;t\x07 5"\n',
    )
    result = runner.invoke(app, ["import", "orders", str(f), "-w", str(tmp_path / "w")])
    assert result.exit_code == 1
    assert '"[/x]" is not a number' in result.output
    assert "[link=https://e.example]" in result.output
    assert "\x1b" not in result.output
    assert '"\\x1b]0;t\\x07 5"' in result.output
