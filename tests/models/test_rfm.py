"""rfm_summary and calibration_holdout_summary: hand examples, a pandas oracle, the
published CDNOW summaries, invariants, and DuckDB/Spark parity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import regulars.datasets
from regulars.datasets import load_cdnow
from regulars.errors import SchemaError
from regulars.models._rfm import calibration_holdout_summary, rfm_summary

#: The published CDNOW files, as shipped inside the package (copies of shared/data).
DATA = Path(regulars.datasets.__file__).parent / "data"


def frame(expr: Any) -> pd.DataFrame:
    """Execute and sort by customer, with a plain index."""
    df = expr.to_pyarrow().to_pandas() if isinstance(expr, ibis.Table) else expr
    return df.sort_values("customer_id", key=lambda s: s.astype(str)).reset_index(drop=True)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_cdnow("sample")


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return load_cdnow("master")


# -- hand-checked examples -------------------------------------------------------------


def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cust": ["a", "a", "a", "a", "b", "c"],
            "when": pd.to_datetime(
                [
                    "2024-01-01 09:00",  # Monday
                    "2024-01-01 17:30",  # same day: merges with the row above
                    "2024-01-03 10:00",  # Wednesday, same week
                    "2024-02-12 08:00",  # Monday six weeks later
                    "2024-01-10 12:00",
                    "2024-03-01 12:00",  # after observation_end below: ignored
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 99.0],
        }
    )


def test_daily_summary_by_hand() -> None:
    out = frame(
        rfm_summary(
            tiny(),
            customer_id_col="cust",
            datetime_col="when",
            monetary_value_col="amount",
            observation_end="2024-02-19",
        )
    )
    assert list(out.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert out["customer_id"].tolist() == ["a", "b"]
    # a: purchase days Jan 1 (15.00), Jan 3 (20.00), Feb 12 (40.00).
    assert out["frequency"].tolist() == [2, 0]
    assert out["recency"].tolist() == [42.0, 0.0]
    assert out["T"].tolist() == [49.0, 40.0]
    assert out["monetary_value"].tolist() == [30.0, 0.0]
    assert str(out["frequency"].dtype) == "int64"


def test_weekly_units_keep_daily_merging() -> None:
    out = frame(
        rfm_summary(
            tiny(),
            customer_id_col="cust",
            datetime_col="when",
            monetary_value_col="amount",
            observation_end="2024-02-19",
            time_unit="W",
        )
    )
    assert out["frequency"].tolist() == [2, 0]
    np.testing.assert_allclose(out["recency"], [6.0, 0.0])
    np.testing.assert_allclose(out["T"], [7.0, 40 / 7])


def test_weekly_merging_counts_calendar_weeks() -> None:
    out = frame(
        rfm_summary(
            tiny(),
            customer_id_col="cust",
            datetime_col="when",
            monetary_value_col="amount",
            observation_end="2024-02-21",  # Wednesday: T runs to Monday Feb 19
            time_unit="W",
            merge_period="W",
        )
    )
    # a: weeks of Jan 1 (35.00) and Feb 12 (40.00); b: week of Jan 8.
    assert out["frequency"].tolist() == [1, 0]
    assert out["recency"].tolist() == [6.0, 0.0]
    assert out["T"].tolist() == [7.0, 6.0]
    assert out["monetary_value"].tolist() == [40.0, 0.0]


def test_monthly_merging_uses_mean_month() -> None:
    out = frame(
        rfm_summary(
            tiny(),
            customer_id_col="cust",
            datetime_col="when",
            observation_end="2024-02-29",
            time_unit="M",
            merge_period="M",
        )
    )
    month = 365.2425 / 12
    assert "monetary_value" not in out.columns
    assert out["frequency"].tolist() == [1, 0]
    np.testing.assert_allclose(out["recency"], [31 / month, 0.0])
    np.testing.assert_allclose(out["T"], [31 / month, 31 / month])


def test_observation_end_defaults_to_last_purchase() -> None:
    out = frame(rfm_summary(tiny(), customer_id_col="cust", datetime_col="when"))
    assert out["customer_id"].tolist() == ["a", "b", "c"]
    # Last purchase 2024-03-01: 60 days after Jan 1.
    assert out["T"].tolist() == [60.0, 51.0, 0.0]


def test_date_and_text_columns() -> None:
    df = tiny()
    as_date = df.assign(when=df["when"].dt.date)
    as_text = df.assign(when=df["when"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    kw: dict[str, Any] = {
        "customer_id_col": "cust",
        "datetime_col": "when",
        "monetary_value_col": "amount",
        "observation_end": dt.date(2024, 2, 19),
    }
    expected = frame(rfm_summary(df, **kw))
    pd.testing.assert_frame_equal(frame(rfm_summary(as_date, **kw)), expected)
    pd.testing.assert_frame_equal(frame(rfm_summary(as_text, **kw)), expected)


@pytest.mark.parametrize("kind", ["pyarrow", "polars", "ibis"])
def test_accepts_arrow_polars_and_ibis(kind: str) -> None:
    df = tiny()
    data: Any
    if kind == "pyarrow":
        data = pa.Table.from_pandas(df)
    elif kind == "polars":
        pl = pytest.importorskip("polars")
        data = pl.from_pandas(df)
    else:
        data = ibis.memtable(pa.Table.from_pandas(df, preserve_index=False))
    kw: dict[str, Any] = {"customer_id_col": "cust", "datetime_col": "when"}
    pd.testing.assert_frame_equal(frame(rfm_summary(data, **kw)), frame(rfm_summary(df, **kw)))


def test_null_amount_counts_as_zero_and_null_rows_are_skipped() -> None:
    df = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", None],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-05", None, "2024-01-02"]),
            "revenue": [10.0, None, 3.0, 1.0],
        }
    )
    out = frame(rfm_summary(df, monetary_value_col="revenue"))
    assert out["customer_id"].tolist() == ["a"]
    assert out["frequency"].tolist() == [1]
    assert out["monetary_value"].tolist() == [0.0]


# -- errors ----------------------------------------------------------------------------


def test_missing_column_lists_existing_ones() -> None:
    with pytest.raises(SchemaError, match=r"Column 'order_dt' .*Existing columns: 'cust'"):
        rfm_summary(tiny(), customer_id_col="cust", datetime_col="order_dt")


def test_bad_time_unit() -> None:
    with pytest.raises(ValueError, match=r"time_unit='Y' is not valid. Valid values: 'D', 'W'"):
        rfm_summary(tiny(), customer_id_col="cust", datetime_col="when", time_unit="Y")  # type: ignore[arg-type]


def test_non_numeric_money_and_non_date_column() -> None:
    with pytest.raises(SchemaError, match="expected a number"):
        rfm_summary(tiny(), customer_id_col="when", datetime_col="when", monetary_value_col="cust")
    with pytest.raises(SchemaError, match="expected a date or a timestamp"):
        rfm_summary(tiny(), customer_id_col="cust", datetime_col="amount")


def test_bad_dates() -> None:
    with pytest.raises(ValueError, match="is not a date"):
        rfm_summary(tiny(), customer_id_col="cust", datetime_col="when", observation_end="soon")
    with pytest.raises(ValueError, match="must be after calibration_end"):
        calibration_holdout_summary(
            tiny(),
            customer_id_col="cust",
            datetime_col="when",
            calibration_end="2024-02-01",
            observation_end="2024-01-01",
        )


# -- oracle: plain pandas --------------------------------------------------------------


def pandas_rfm(df: pd.DataFrame, *, merge: str, unit: str, end: str | None) -> pd.DataFrame:
    """The lifetimes convention written out in pandas, row by row of the definition."""
    d = df[["customer_id", "order_date", "revenue"]].copy()
    d["day"] = d["order_date"].dt.normalize()
    end_day = d["day"].max() if end is None else pd.Timestamp(end)
    d = d[d["day"] <= end_day]

    def start(s: pd.Series) -> pd.Series:
        if merge == "W":
            return s - pd.to_timedelta(s.dt.day_of_week, unit="D")
        if merge == "M":
            return s.dt.to_period("M").dt.to_timestamp()
        return s

    d["period"] = start(d["day"])
    end_period = start(pd.Series([end_day])).iloc[0]
    per = d.groupby(["customer_id", "period"], as_index=False)["revenue"].sum()
    per = per.sort_values(["customer_id", "period"])
    g = per.groupby("customer_id")
    first, last = g["period"].min(), g["period"].max()
    unit_days = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12}[unit]
    repeat = per[per["period"] != per["customer_id"].map(first)]
    out = pd.DataFrame(
        {
            "frequency": g.size() - 1,
            "recency": (last - first).dt.days / unit_days,
            "T": (end_period - first).dt.days / unit_days,
            "monetary_value": repeat.groupby("customer_id")["revenue"].mean(),
        }
    )
    out["monetary_value"] = out["monetary_value"].fillna(0.0)
    return out.rename_axis("customer_id").reset_index()


@pytest.mark.parametrize(
    ("merge", "unit", "end"),
    [
        ("D", "D", None),
        ("D", "W", "1997-09-30"),
        ("D", "M", "1997-12-24"),
        ("W", "W", "1997-10-15"),
        ("W", "D", None),
        ("M", "M", "1998-02-13"),
    ],
)
def test_matches_pandas_oracle(
    master: pd.DataFrame, merge: str, unit: str, end: str | None
) -> None:
    got = frame(
        rfm_summary(
            master,
            monetary_value_col="revenue",
            observation_end=end,
            time_unit=unit,  # type: ignore[arg-type]
            merge_period=merge,  # type: ignore[arg-type]
        )
    )
    want = frame(pandas_rfm(master, merge=merge, unit=unit, end=end))
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["frequency"].tolist() == want["frequency"].tolist()
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-12, atol=1e-9, err_msg=col)


# -- the published CDNOW summaries -----------------------------------------------------


def test_rebuilds_cdnow_customers_summary(sample: pd.DataFrame) -> None:
    got = rfm_summary(
        sample,
        monetary_value_col="revenue",
        observation_end="1997-09-30",
        time_unit="W",
    )
    got_df = got.to_pyarrow().to_pandas()
    got_df = got_df.assign(ID=got_df["customer_id"].astype(int)).sort_values("ID")
    ref = pd.read_csv(DATA / "cdnow_customers_summary.csv")
    money = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    assert got_df["ID"].tolist() == ref["ID"].tolist()
    assert got_df["frequency"].tolist() == ref["frequency"].tolist()
    assert int(got_df["frequency"].sum()) == 2457
    # The file prints 2 decimals.
    assert got_df["recency"].round(2).tolist() == ref["recency"].tolist()
    assert got_df["T"].round(2).tolist() == ref["T"].tolist()
    # zbar is printed with 2 decimals too.
    np.testing.assert_allclose(got_df["monetary_value"], money["zbar"], rtol=0, atol=0.005 + 1e-9)


def test_rebuilds_cdnow_calibration_holdout(sample: pd.DataFrame) -> None:
    got = (
        calibration_holdout_summary(
            sample,
            calibration_end="1997-09-30",
            observation_end="1998-06-30",
            monetary_value_col="revenue",
            time_unit="W",
        )
        .to_pyarrow()
        .to_pandas()
    )
    got = got.assign(id=got["customer_id"].astype(int)).sort_values("id")
    assert list(got.columns[:-1]) == [
        "customer_id",
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    cbs = pd.read_csv(DATA / "cdnowSummary_cbs.csv")
    assert got["id"].tolist() == cbs["id"].tolist()
    assert got["frequency_cal"].tolist() == cbs["x"].tolist()
    np.testing.assert_allclose(got["recency_cal"], cbs["t.x"], rtol=1e-6)
    np.testing.assert_allclose(got["T_cal"], cbs["T.cal"], rtol=1e-6)
    np.testing.assert_allclose(got["monetary_value_cal"], cbs["m.x"], rtol=1e-6)
    assert got["frequency_holdout"].tolist() == cbs["x.star"].tolist()
    assert int(got["frequency_holdout"].sum()) == 1882
    assert set(got["duration_holdout"]) == {39.0}


def test_holdout_spend_is_mean_of_holdout_days(sample: pd.DataFrame) -> None:
    got = frame(
        calibration_holdout_summary(
            sample,
            calibration_end="1997-09-30",
            monetary_value_col="revenue",
        )
    ).set_index("customer_id")
    hold = sample[sample["order_date"] > "1997-09-30"]
    daily = hold.groupby(["customer_id", "order_date"])["revenue"].sum()
    want = daily.groupby("customer_id").mean()
    np.testing.assert_allclose(got.loc[want.index, "monetary_value_holdout"], want, rtol=1e-12)
    assert (got.drop(want.index)["monetary_value_holdout"] == 0).all()
    # Default observation_end: the last purchase, 1998-06-30 (273 days after Sep 30).
    assert set(got["duration_holdout"]) == {273.0}


# -- invariants ------------------------------------------------------------------------

transactions = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2020, 12, 31)),
        st.floats(min_value=0, max_value=1e4, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
)


def _frame(rows: list[tuple[str, dt.datetime, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"]).astype(
        {"order_date": "datetime64[us]"}
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=transactions, unit=st.sampled_from(["D", "W", "M"]), merge=st.sampled_from("DWM"))
def test_recency_never_exceeds_t(
    rows: list[tuple[str, dt.datetime, float]], unit: str, merge: str
) -> None:
    out = (
        rfm_summary(
            _frame(rows),
            monetary_value_col="revenue",
            time_unit=unit,  # type: ignore[arg-type]
            merge_period=merge,  # type: ignore[arg-type]
        )
        .to_pyarrow()
        .to_pandas()
    )
    assert (out["recency"] >= 0).all()
    assert (out["recency"] <= out["T"]).all()
    assert (out["frequency"] >= 0).all()
    assert ((out["frequency"] == 0) <= (out["recency"] == 0)).all()
    assert (out["monetary_value"] >= 0).all()


@settings(max_examples=30, deadline=None)
@given(rows=transactions, seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(rows: list[tuple[str, dt.datetime, float]], seed: int) -> None:
    df = _frame(rows)
    shuffled = df.sample(frac=1.0, random_state=np.random.default_rng(seed)).reset_index(drop=True)
    kw: dict[str, Any] = {"monetary_value_col": "revenue", "time_unit": "W"}
    a = frame(rfm_summary(df, **kw))
    b = frame(rfm_summary(shuffled, **kw))
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


# -- DuckDB vs Spark -------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from regulars.engine import local_spark_session, stop_local_spark_session

    session = local_spark_session("local[2]", shuffle_partitions=2)
    yield session
    stop_local_spark_session()


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_duckdb_and_spark_agree(spark: Any, sample: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    pq.write_table(
        pa.Table.from_pandas(
            sample[["customer_id", "order_date", "revenue"]], preserve_index=False
        ).cast(
            pa.schema(
                [
                    ("customer_id", pa.string()),
                    ("order_date", pa.timestamp("us")),
                    ("revenue", pa.float64()),
                ]
            )
        ),
        path,
    )
    con = ibis.pyspark.connect(spark)
    spark_tx = con.read_parquet(str(path))
    duck_tx = ibis.duckdb.connect().read_parquet(str(path))
    for merge, unit in [("D", "W"), ("W", "W"), ("M", "M")]:
        kw: dict[str, Any] = {
            "monetary_value_col": "revenue",
            "time_unit": unit,
            "merge_period": merge,
        }
        a = frame(rfm_summary(duck_tx, observation_end="1997-09-30", **kw))
        b = frame(
            con.to_pyarrow(rfm_summary(spark_tx, observation_end="1997-09-30", **kw)).to_pandas()
        )
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-12)
        a = frame(calibration_holdout_summary(duck_tx, calibration_end="1997-09-30", **kw))
        b = frame(
            con.to_pyarrow(
                calibration_holdout_summary(spark_tx, calibration_end="1997-09-30", **kw)
            ).to_pandas()
        )
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-12)
