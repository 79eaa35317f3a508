"""The import's memory and spill budget, and the ungrouped path of one-line orders."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from _io_helpers import contents, write
from click.testing import CliRunner

from regulars.cli import app
from regulars.config import parse_config, parse_size
from regulars.errors import ConfigError, WorkspaceError
from regulars.io import _import, _orders, import_file
from regulars.io._memory import ENV_VAR, GiB, budget, default_memory
from regulars.store import Workspace

ORDERS = (
    "order_id,customer_id,order_date,revenue,refund_amount,product\n"
    "A-1,C-1,2024-03-01,120.50,,web\n"
    "A-2,C-2,2024-03-02,-30.00,,web\n"
    "A-3,,2024-03-03,15.00,,shop\n"
    "A-4,C-1,2024-03-04 10:30:00,80.00,20.00,web\n"
    "A-5,C-3,2024-03-05,0.00,,\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4GiB", 4 * GiB),
        ("512MiB", 512 * 1024**2),
        ("3GB", 3 * 1000**3),
        ("1.5 GiB", int(1.5 * GiB)),
        ("2g", 2 * 1000**3),
        ("25%", 250),
        ("auto", None),
        ("", None),
    ],
)
def test_sizes_read_as_users_write_them(text: str, expected: int | None) -> None:
    assert parse_size(text, where="[import] memory", of=1000) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("4", "has no unit"),
        ("lots", "is not a size"),
        ("0%", "percentage is between 0 and 100"),
        ("150%", "percentage is between 0 and 100"),
        ("4 XB", "is not a size"),
    ],
)
def test_a_bad_size_names_the_setting_and_an_example(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_size(text, where="[import] memory", of=1000)
    assert "[import] memory" in str(info.value)
    assert '"4GiB"' in str(info.value)


def test_the_import_section_of_regulars_toml() -> None:
    cfg = parse_config('[import]\nmemory = "2GiB"\nspill = "20GiB"\n')
    assert (cfg.import_.memory, cfg.import_.spill) == ("2GiB", "20GiB")
    assert parse_config("").import_.memory == "auto"
    with pytest.raises(ConfigError, match=r"\[import\] memory = 'much'"):
        parse_config('[import]\nmemory = "much"\n')
    with pytest.raises(ConfigError, match="Valid keys in \\[import\\]: memory, spill"):
        parse_config("[import]\nmem = 1\n")
    with pytest.raises(ConfigError, match=r"Valid keys: .*guarantee, import, metrics"):
        parse_config("[imports]\n")


def test_the_memory_comes_from_the_argument_then_the_environment_then_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    b = budget(tmp_path, config_memory="auto")
    assert b.memory_source.startswith("the default")
    assert GiB <= b.memory <= 16 * GiB
    assert budget(tmp_path, config_memory="2GiB").memory == 2 * GiB
    monkeypatch.setenv(ENV_VAR, "3GiB")
    b = budget(tmp_path, config_memory="2GiB")
    assert (b.memory, b.memory_source) == (3 * GiB, ENV_VAR)
    b = budget(tmp_path, memory="1GiB", config_memory="2GiB")
    assert (b.memory, b.memory_source) == (GiB, "--memory")
    with pytest.raises(ConfigError, match="too small for an import: give it at least 256 MiB"):
        budget(tmp_path, memory="100MiB")
    monkeypatch.setenv(ENV_VAR, "x")
    with pytest.raises(ConfigError, match=f"{ENV_VAR} = 'x' is not a size"):
        budget(tmp_path)


def test_the_default_is_an_eighth_of_the_machine_within_bounds() -> None:
    assert default_memory(24 * GiB) == 3 * GiB
    assert default_memory(4 * GiB) == GiB
    assert default_memory(1 * GiB) == GiB // 2
    assert default_memory(512 * GiB) == 16 * GiB


def test_out_of_memory_says_which_setting_to_raise(tmp_path: Path) -> None:
    limits = budget(tmp_path, memory="1GiB")
    with (
        pytest.raises(
            WorkspaceError, match=r"--memory .*\$REGULARS_IMPORT_MEMORY or \[import\]"
        ) as info,
        _import._engine_errors(Path("big.parquet"), limits),
    ):
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block")
    assert "limit is 1.0 GiB, set by --memory" in str(info.value)
    assert "Nothing was imported" in str(info.value)
    with (
        pytest.raises(WorkspaceError, match=r"raise \[import\] spill"),
        _import._engine_errors(Path("big.parquet"), limits),
    ):
        raise duckdb.OutOfMemoryException(
            "Out of Memory Error: failed to offload data block (max_temp_directory_size)"
        )


def test_the_settings_apply_during_the_import_and_are_restored(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = ws.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('max_temp_directory_size')"
    ).fetchone()
    seen: list[str] = []
    real = _orders.order_groups

    def spy(con, *args, **kwargs):  # type: ignore[no-untyped-def]
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        seen.append(str(row[0]))
        return real(con, *args, **kwargs)

    monkeypatch.setattr(_orders, "order_groups", spy)
    import_file(ws, "orders", write(tmp_path / "o.csv", ORDERS), memory="700MiB")
    assert seen
    assert seen[0] in ("700.0 MiB", "734.0 MB")
    after = ws.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('max_temp_directory_size')"
    ).fetchone()
    assert after == before


def test_cli_memory_option(tmp_path: Path) -> None:
    runner = CliRunner()
    w = tmp_path / "w"
    assert runner.invoke(app, ["init", str(w)]).exit_code == 0
    f = write(tmp_path / "o.csv", ORDERS)
    bad = runner.invoke(app, ["import", "orders", str(f), "-w", str(w), "--memory", "lots"])
    assert bad.exit_code != 0
    assert "--memory = 'lots' is not a size" in bad.output
    ok = runner.invoke(app, ["import", "orders", str(f), "-w", str(w), "--memory", "512MiB"])
    assert ok.exit_code == 0, ok.output
    assert "4 orders" in ok.output


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_one_line_orders_import_as_if_grouped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skip_invalid: bool
) -> None:
    """The ungrouped path of one-line orders writes what grouping them would."""
    text = ORDERS + "A-6,C-4,2024-03-06,12.00,40.00,web\nA-7,C-4,,5.00,,web\n"
    f = write(tmp_path / "o.csv", text)
    real = _orders.order_groups
    got = []
    for single in (True, False):
        calls: list[bool] = []

        def forced(*args, single_: bool = single, calls=calls, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(kwargs.pop("single"))
            return real(*args, single=single_ and calls[-1], **kwargs)

        monkeypatch.setattr(_orders, "order_groups", forced)
        w = Workspace.init(tmp_path / f"w{single}")
        try:
            try:
                r = import_file(w, "orders", f, skip_invalid=skip_invalid)
                result = (r.records, r.lines, r.rows_rejected, r.guest_orders, str(r))
            except Exception as exc:  # the same error either way
                result = (type(exc).__name__, str(exc))
            got.append((result, contents(w), calls))
        finally:
            w.close()
        monkeypatch.setattr(_orders, "order_groups", real)
    (fast, fast_tables, fast_calls), (grouped, grouped_tables, _) = got
    assert fast_calls == [True]  # every order id is on one row
    assert fast_tables == grouped_tables
    assert fast[:-1] == grouped[:-1]
    if skip_invalid:
        assert fast[2] == 2  # the refund above revenue and the missing date
        assert fast_tables["orders"]
    else:
        assert fast[0] == "ImportDataError"
        assert 'order "A-6": its refund_amount "40.00" is more than its revenue' in fast[1]
        assert not fast_tables["orders"]


@pytest.mark.slow
def test_a_parquet_file_imports_under_a_small_limit_and_again_changes_nothing(
    tmp_path: Path,
) -> None:
    """300,000 simulated orders under 256 MiB: DuckDB spills, the spill folder goes."""
    from regulars.datasets import simulate_orders_to_parquet

    f = simulate_orders_to_parquet(tmp_path / "orders.parquet", n_lines=300_000, seed=3)
    w = Workspace.init(tmp_path / "w")
    try:
        first = import_file(w, "orders", f, memory="256MiB")
        assert (first.records, first.new_records, first.lines) == (300_000, 300_000, 300_000)
        before = contents(w)
        again = import_file(w, "orders", f, memory="256MiB")
        assert (again.records, again.new_records, again.customers_created) == (300_000, 0, 0)
        assert contents(w) == before
        # Another option: not the same import, so the rows are read, checked and
        # written again (joined against the stored ones), still under the limit.
        full = import_file(w, "orders", f, memory="256MiB", guest_revenue="include")
        assert not any("nothing to write" in r for r in full.remarks)
        assert (full.records, full.new_records, full.customers_created) == (300_000, 0, 0)
        assert contents(w) == before
        assert w.con.execute("SELECT current_setting('memory_limit')").fetchone() != ("256.0 MiB",)
    finally:
        w.close()
    assert not list((tmp_path / "w").glob("regulars.duckdb.tmp*"))
