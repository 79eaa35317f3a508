"""The simulated shop export has the properties of real line-item exports."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from regulars.datasets import ShopExport, simulate_shop_export
from regulars.errors import ConfigError


@pytest.fixture(scope="module")
def shop() -> ShopExport:
    return simulate_shop_export(600, seed=3)


def _is_cancel(lines: pd.DataFrame) -> pd.Series:
    return lines.InvoiceNo.str.startswith("C")


def test_same_seed_same_export() -> None:
    a = simulate_shop_export(150, seed=7)
    b = simulate_shop_export(150, seed=7)
    pd.testing.assert_frame_equal(a.lines, b.lines)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.lines.equals(simulate_shop_export(150, seed=8).lines)


def test_default_size_is_realistic() -> None:
    shop = simulate_shop_export()
    assert len(shop.lines) >= 300_000
    assert shop.lines.CustomerID.nunique() == 4300


def test_dates_run_from_the_first_of_a_month_to_the_ninth_a_year_later(shop: ShopExport) -> None:
    stamps = pd.to_datetime(shop.lines.InvoiceDate, format="%Y-%m-%d %H:%M:%S")
    assert stamps.min().date() == dt.date(2009, 12, 1) == shop.start
    assert stamps.max().date() == dt.date(2010, 12, 9) == shop.end


def test_lines_of_one_invoice_are_minutes_apart_on_one_day(shop: ShopExport) -> None:
    stamps = pd.to_datetime(shop.lines.InvoiceDate)
    per = stamps.groupby(shop.lines.InvoiceNo).agg(["min", "max"])
    spread = per["max"] - per["min"]
    assert (spread == pd.Timedelta(minutes=1)).sum() > 10
    assert (spread <= pd.Timedelta(minutes=1)).all()
    assert (per["min"].dt.date == per["max"].dt.date).all()


def test_cancellations_are_negative_invoices_of_the_same_customer(shop: ShopExport) -> None:
    lines = shop.lines
    cancel = _is_cancel(lines)
    assert cancel.groupby(lines.InvoiceNo).first().sum() > 20
    assert (lines.Quantity[cancel] < 0).all()
    assert (lines.Quantity[~cancel] > 0).all()
    # A cancellation number is a new number, not the cancelled invoice's.
    numbers = set(lines.InvoiceNo[~cancel])
    assert not any(n[1:] in numbers for n in lines.InvoiceNo[cancel].unique())
    # Whole-order cancellations: the same customer, the same amount, on or after the day.
    amount = (lines.Quantity * lines.UnitPrice).round(2)
    inv = (
        lines.assign(amount=amount, day=lines.InvoiceDate.str[:10])
        .groupby("InvoiceNo")
        .agg(customer=("CustomerID", "first"), amount=("amount", "sum"), day=("day", "min"))
    )
    credits = inv[inv.index.str.startswith("C")]
    orders = inv[~inv.index.str.startswith("C")]
    matched = credits.merge(orders, on="customer", suffixes=("_c", "_o"))
    matched = matched[
        ((matched.amount_c + matched.amount_o).abs() < 0.005) & (matched.day_o <= matched.day_c)
    ]
    assert matched.customer.nunique() >= 5
    assert credits.customer.notna().all()


def test_guest_rows_postage_and_manual_lines(shop: ShopExport) -> None:
    lines = shop.lines
    guest_share = lines.CustomerID.isna().groupby(lines.InvoiceNo).first().mean()
    assert 0.1 < guest_share < 0.3
    assert {"POSTAGE", "CARRIAGE", "DOTCOM POSTAGE", "Manual"} <= set(lines.Description)


def test_truth_covers_the_customers_and_their_states(shop: ShopExport) -> None:
    truth = shop.truth
    ids = set(shop.lines.CustomerID.dropna().astype(str))
    assert set(truth.customer_id) == ids
    assert 0.2 < 1 - truth.alive.mean() < 0.6
    assert truth.left_censored.mean() > 0.1
    assert truth.burst.any()
    # A left-censored customer was born before the data start; the others inside it.
    born = pd.to_datetime(truth.born).dt.date
    assert (born[truth.left_censored] < shop.start).all()
    assert (born[~truth.left_censored] >= shop.start).all()


def test_the_first_month_is_one_large_cohort(shop: ShopExport) -> None:
    lines = shop.lines.dropna(subset=["CustomerID"])
    first = lines.groupby("CustomerID").InvoiceDate.min().str[:7].value_counts()
    assert first.idxmax() == "2009-12"
    assert first.max() > 2 * first.drop("2009-12").max()


def test_bursts_put_several_orders_in_one_week(shop: ShopExport) -> None:
    lines = shop.lines[~_is_cancel(shop.lines)].dropna(subset=["CustomerID"])
    days = pd.to_datetime(lines.InvoiceDate.str[:10])
    per = (
        pd.DataFrame({"c": lines.CustomerID, "i": lines.InvoiceNo, "d": days})
        .drop_duplicates("i")
        .sort_values(["c", "d"])
    )
    gap3 = per.groupby("c").d.diff(3)
    assert (gap3 <= pd.Timedelta(days=7)).sum() > 0


def test_layout_ii_uses_the_other_column_names() -> None:
    shop = simulate_shop_export(50, seed=1, layout="ii")
    assert list(shop.lines.columns[:1]) == ["Invoice"]
    assert {"Price", "Customer ID"} <= set(shop.lines.columns)


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="layout must be one of"):
        simulate_shop_export(10, layout="sap")
    with pytest.raises(ConfigError, match="end"):
        simulate_shop_export(10, start="2020-01-01", end="2019-01-01")
