"""`regulars report` and `regulars chart`, run as a user would (regulars/cli/_report.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from regulars.cli import app

pytestmark = [
    # Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    # Ibis 12's to_pandas() sets pandas' deprecated future.infer_string option.
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _copy(workspace: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(workspace, tmp_path / "ws"))


def test_report_from_orders_only_says_what_is_missing(
    orders_only_workspace: Path, tmp_path: Path
) -> None:
    ws = _copy(orders_only_workspace, tmp_path)
    out = tmp_path / "r.html"
    code, output = run("report", "-w", str(ws), "--out", str(out), "--no-fit")
    assert code == 0, output
    assert "Report written to" in output
    assert "Fitted" not in output
    html = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 5_000_000
    for needed in (
        "regulars import spend spend.csv",
        "regulars import subscriptions subscriptions.csv",
        "regulars import customers customers.csv --map channel=Source",
        "regulars score",
        "default margin",
    ):
        assert needed in html
    assert 'data-chart="orders-new-vs-returning"' in html


def test_report_on_orders_only_fits_and_shows_value_and_actions(
    orders_only_workspace: Path, tmp_path: Path
) -> None:
    ws = _copy(orders_only_workspace, tmp_path)
    out = tmp_path / "r.html"
    code, output = run("report", "-w", str(ws), "--out", str(out))
    assert code == 0, output
    said = " ".join(output.split())  # the console wraps long lines
    assert "Fitted bgnbd" in said
    assert "computed this week's actions" in said
    html = out.read_text(encoding="utf-8")
    assert 'data-chart="clv-distribution"' in html
    assert 'data-chart="actions-by-playbook"' in html
    assert "The models were fitted for this report" in html
    # A second report finds the fit up to date and does not fit again.
    code, output = run("report", "-w", str(ws), "--out", str(out))
    assert code == 0, output
    assert "Fitted" not in output


@pytest.mark.slow
def test_report_in_russian_by_quarter(orders_only_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "ru.html"
    code, output = run(
        "report",
        "-w",
        str(orders_only_workspace),
        "--out",
        str(out),
        "--lang",
        "ru",
        "--period",
        "quarter",
        "--from",
        "2023-01-01",
        "--to",
        "2025-06-30",
    )
    assert code == 0, output
    html = out.read_text(encoding="utf-8")
    assert 'lang="ru"' in html
    assert "Новые и постоянные клиенты" in html
    assert "2-й кв. 2025" in html
    assert "4-й кв. 2022" not in html


def test_report_help_lists_the_languages() -> None:
    code, output = run("report", "--help")
    assert code == 0, output
    text = " ".join(output.split())
    for lang in ("en (English)", "ru (Russian)", "sl (Slovenian)", "he (Hebrew, right to left)"):
        assert lang in text
    assert "regulars report --lang he --out report-he.html" in text


@pytest.mark.slow
def test_report_in_the_workspace_language_and_in_hebrew(
    orders_only_workspace: Path, tmp_path: Path
) -> None:
    ws = _copy(orders_only_workspace, tmp_path)
    toml = ws / "regulars.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'locale = "en"' in text
    toml.write_text(text.replace('locale = "en"', 'locale = "sl"'), encoding="utf-8")
    out = tmp_path / "sl.html"
    code, output = run("report", "-w", str(ws), "--out", str(out), "--no-fit", "--period", "year")
    assert code == 0, output
    html = out.read_text(encoding="utf-8")
    assert '<html lang="sl" dir="ltr">' in html
    assert "Nove in obstoječe stranke" in html
    out = tmp_path / "he.html"
    code, output = run("report", "-w", str(ws), "-o", str(out), "--no-fit", "--lang", "he")
    assert code == 0, output
    html = out.read_text(encoding="utf-8")
    assert '<html lang="he" dir="rtl">' in html
    assert "לקוחות חדשים מול חוזרים" in html


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "xx"], "Available languages: en, he, ru, sl"),
        (["--from", "2025-13-01"], "is not a date"),
        (["--from", "2025-01-01", "--to", "2024-01-01"], "is after --to"),
    ],
)
def test_report_errors_are_clean(
    orders_only_workspace: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    code, output = run(
        "report", "-w", str(orders_only_workspace), "-o", str(tmp_path / "x.html"), *args
    )
    assert code != 0
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "x.html").exists()


def test_chart_list() -> None:
    code, output = run("chart", "--list")
    assert code == 0
    assert "growth-sources" in output.split()


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_chart_export(orders_only_workspace: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"chart{suffix}"
    code, output = run(
        "chart", "profit-new-vs-returning", "-w", str(orders_only_workspace), "--out", str(out)
    )
    assert code == 0, output
    data = out.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
    else:
        assert data.lstrip().startswith(b"<svg")
        assert b"Profit, EUR" in data


@pytest.mark.slow
def test_chart_without_its_data_says_how_to_get_it(
    orders_only_workspace: Path, tmp_path: Path
) -> None:
    code, output = run(
        "chart", "mrr-movements", "-w", str(orders_only_workspace), "--out", str(tmp_path / "m.png")
    )
    assert code == 1
    assert "regulars import subscriptions" in output


def test_unknown_chart_lists_the_valid_ones(tmp_path: Path) -> None:
    code, output = run("chart", "nope", "-w", str(tmp_path), "--out", str(tmp_path / "x.png"))
    assert code == 2
    assert "Valid charts:" in output
    assert "growth-accounting" in output


@pytest.mark.slow
def test_chart_needs_png_or_svg(orders_only_workspace: Path, tmp_path: Path) -> None:
    code, output = run(
        "chart",
        "growth-accounting",
        "-w",
        str(orders_only_workspace),
        "--out",
        str(tmp_path / "x.pdf"),
    )
    assert code == 1
    assert "must end in .png or .svg" in output
