"""The shipped CDNOW, donations and sBG data reproduce their published totals."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from regulars.datasets import load_cdnow, load_donations, load_retention
from regulars.datasets._loaders import DATA_FILES
from regulars.errors import ConfigError

#: shared/data beside the repository (as in CI), when it is there.
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_master_totals() -> None:
    tx = load_cdnow("master")
    assert list(tx.columns) == ["customer_id", "order_date", "quantity", "revenue"]
    assert len(tx) == 69_659
    assert tx["customer_id"].nunique() == 23_570
    assert tx["quantity"].sum() == 167_881
    assert round(tx["revenue"].sum(), 2) == 2_500_315.63
    assert (tx["revenue"] == 0).sum() == 80
    assert tx.duplicated().sum() == 255
    assert tx["customer_id"].iloc[0] == "00001"
    assert pd.api.types.is_string_dtype(tx["customer_id"])
    assert pd.api.types.is_datetime64_any_dtype(tx["order_date"])
    assert tx["order_date"].min() == pd.Timestamp("1997-01-01")
    assert tx["order_date"].max() == pd.Timestamp("1998-06-30")


def test_sample_totals_and_ids() -> None:
    tx = load_cdnow("sample")
    assert list(tx.columns) == ["customer_id", "master_id", "order_date", "quantity", "revenue"]
    assert len(tx) == 6_919
    assert tx["customer_id"].nunique() == 2_357
    assert tx["quantity"].sum() == 16_479
    assert round(tx["revenue"].sum(), 2) == 244_091.94
    assert set(tx["customer_id"]) == {str(i) for i in range(1, 2358)}
    # Every sample row is also in the master file.
    master = load_cdnow("master").rename(columns={"customer_id": "master_id"})
    keys = ["master_id", "order_date", "quantity", "revenue"]
    assert len(tx[keys].merge(master[keys].drop_duplicates(), on=keys)) == len(tx)


def test_summary_matches_the_sample() -> None:
    summary = load_cdnow("summary")
    assert list(summary.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert len(summary) == 2_357
    assert summary["frequency"].sum() == 2_457
    assert summary["T"].max() == pytest.approx(38.86)
    assert (summary.loc[summary["frequency"] == 0, "monetary_value"] == 0).all()
    assert (summary["recency"] <= summary["T"]).all()
    # The calibration summary can be rebuilt from the sample (purchase days, weeks).
    tx = load_cdnow("sample")
    cal = tx[tx["order_date"] <= "1997-09-30"].drop_duplicates(["customer_id", "order_date"])
    repeat_days = cal.groupby("customer_id").size() - 1
    rebuilt = repeat_days.reindex(summary["customer_id"]).to_numpy()
    assert (rebuilt == summary["frequency"].to_numpy()).all()


def test_summary_holdout_and_tracking() -> None:
    h = load_cdnow("summary_holdout")
    assert len(h) == 2_357
    assert h["frequency"].sum() == 2_457
    assert h["frequency_holdout"].sum() == 1_882
    assert (h["duration_holdout"] == 39).all()
    assert (h["customer_id"] == load_cdnow("summary")["customer_id"]).all()
    track = load_cdnow("tracking").set_index("week")["cum_repeat_transactions"]
    assert len(track) == 78
    assert track[39] == 2_457
    assert track[78] == 4_339


def test_donations() -> None:
    cal = load_donations()
    assert list(cal.columns) == ["frequency", "recency", "periods", "weights"]
    assert len(cal) == 22
    assert cal["weights"].sum() == 11_104
    assert (cal["periods"] == 6).all()
    rf = load_donations("rf_matrix")
    assert rf["weights"].sum() == 11_104
    assert rf["holdout_transactions"].sum() == 13_260
    merged = cal.merge(rf, on=["frequency", "recency", "periods"])
    assert (merged["weights_x"] == merged["weights_y"]).all()
    assert len(merged) == 22
    hold = load_donations("holdout")
    assert len(hold) == 16
    assert hold["weights"].sum() == 11_104
    assert (hold["periods"] == 5).all()
    annual = load_donations("annual")
    assert annual["transactions"].head(6).sum() == 24_615
    assert annual["transactions"].tail(5).sum() == 13_260


def test_retention() -> None:
    r = load_retention()
    assert list(r.columns) == ["year", "regular", "highend"]
    assert r["regular"].tolist() == [
        1000,
        631,
        468,
        382,
        326,
        289,
        262,
        241,
        223,
        207,
        194,
        183,
        173,
    ]
    assert r["highend"].tolist() == [
        1000,
        869,
        743,
        653,
        593,
        551,
        517,
        491,
        468,
        445,
        427,
        409,
        394,
    ]


@pytest.mark.parametrize(
    ("loader", "match"),
    [(load_cdnow, "Valid kinds: 'sample', 'master'"), (load_donations, "'calibration'")],
)
def test_unknown_kind_lists_the_valid_ones(loader: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        loader("holdout-ish")  # type: ignore[operator]


def test_readme_notes_source_and_licence() -> None:
    readme = resources.files("regulars.datasets").joinpath("data", "README.md").read_text()
    for needle in (
        "Fader",
        "Hardie",
        "lifetimes",
        "0.11.3",
        "MIT",
        "BTYD",
        "2.4.3",
        "GPL-3",
        "licence",
    ):
        assert needle in readme


@pytest.mark.skipif(not SHARED.exists(), reason="the shared data folder is not here")
@pytest.mark.parametrize("name", DATA_FILES)
def test_shipped_files_are_the_published_bytes(name: str) -> None:
    shipped = resources.files("regulars.datasets").joinpath("data", name).read_bytes()
    if name.endswith(".gz"):
        shipped = gzip.decompress(shipped)
        name = name[: -len(".gz")]
    assert shipped == (SHARED / name).read_bytes()
