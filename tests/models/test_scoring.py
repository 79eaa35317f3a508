"""score_customers: distinct tuples scored once, the same numbers as row-by-row scoring."""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from regulars.datasets import load_cdnow
from regulars.errors import SchemaError
from regulars.models import BetaGeoModel, GammaGammaModel
from regulars.models._rfm import rfm_summary
from regulars.models._scoring import MONTH_DAYS, discounted_expected_purchases, score_customers


@pytest.fixture(scope="module")
def rfm() -> pd.DataFrame:
    """The CDNOW calibration summary (weeks), as a pandas frame."""
    expr = rfm_summary(
        load_cdnow("sample"),
        monetary_value_col="revenue",
        observation_end="1997-09-30",
        time_unit="W",
    )
    return expr.to_pyarrow().to_pandas()


@pytest.fixture(scope="module")
def bg(rfm: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(rfm)


@pytest.fixture(scope="module")
def gg(rfm: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)])


class Spy:
    """Wraps a model and records how many rows each prediction was asked for."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.rows: dict[str, list[int]] = {}

    def _log(self, name: str, data: Any) -> None:
        rows = len(next(iter(data.values()))) if isinstance(data, dict) else len(data)
        self.rows.setdefault(name, []).append(rows)

    def probability_alive(self, data: Any) -> Any:
        self._log("probability_alive", data)
        return self.model.probability_alive(data)

    def expected_purchases(self, data: Any, *, t: float) -> Any:
        self._log("expected_purchases", data)
        return self.model.expected_purchases(data, t=t)

    def expected_spend(self, data: Any) -> Any:
        self._log("expected_spend", data)
        return self.model.expected_spend(data)


def scored(expr: ibis.Table) -> pd.DataFrame:
    df = expr.to_pyarrow().to_pandas()
    return df.sort_values("customer_id", key=lambda s: s.astype(int)).reset_index(drop=True)


def test_equals_row_by_row_scoring(
    rfm: pd.DataFrame, bg: BetaGeoModel, gg: GammaGammaModel
) -> None:
    out = scored(score_customers(rfm, bg, gg, horizons=(90, 365), clv_horizon=12))
    rows = rfm.sort_values("customer_id", key=lambda s: s.astype(int)).reset_index(drop=True)
    assert out["customer_id"].tolist() == rows["customer_id"].tolist()
    assert list(out.columns) == [
        *rows.columns,
        "p_alive",
        "expected_orders_90d",
        "expected_orders_365d",
        "expected_spend",
        "clv",
    ]
    np.testing.assert_allclose(out["p_alive"], bg.probability_alive(rows), rtol=1e-12)
    for days in (90, 365):
        np.testing.assert_allclose(
            out[f"expected_orders_{days}d"],
            bg.expected_purchases(rows, t=days / 7),
            rtol=1e-10,
        )
    spend = gg.expected_spend(rows)
    np.testing.assert_allclose(out["expected_spend"], spend, rtol=1e-12)
    # CLV by hand: 12 monthly increments of expected purchases, discounted monthly.
    monthly = 1.1 ** (1 / 12) - 1
    step = MONTH_DAYS / 7
    clv = np.zeros(len(rows))
    for k in range(1, 13):
        inc = bg.expected_purchases(rows, t=k * step) - bg.expected_purchases(
            rows, t=(k - 1) * step
        )
        clv += spend * inc / (1 + monthly) ** k
    np.testing.assert_allclose(out["clv"], clv, rtol=1e-10)


def test_scores_each_distinct_tuple_once(
    rfm: pd.DataFrame, bg: BetaGeoModel, gg: GammaGammaModel
) -> None:
    spy_bg, spy_gg = Spy(bg), Spy(gg)
    out = score_customers(rfm, spy_bg, spy_gg, horizons=(90,), clv_horizon=3)
    assert out.count().to_pyarrow().as_py() == len(rfm) == 2357
    n_purchase = len(rfm[["frequency", "recency", "T"]].drop_duplicates())
    n_spend = len(rfm[["frequency", "monetary_value"]].drop_duplicates())
    assert n_purchase == 1016 < len(rfm)
    assert spy_bg.rows["probability_alive"] == [n_purchase]
    # One call for the 90-day horizon and one per CLV month.
    assert spy_bg.rows["expected_purchases"] == [n_purchase] * 4
    assert spy_gg.rows["expected_spend"] == [n_spend]


def test_scores_go_to_the_tables_engine_as_temp_tables(
    rfm: pd.DataFrame, bg: BetaGeoModel, gg: GammaGammaModel
) -> None:
    """Without a backend the scores are temp tables of rfm's engine, not memtables.

    Memtables reach DuckDB as Arrow scans without statistics, and the optimizer then
    joined the two score tables to each other first: quadratic in the book's size (a
    benchmark of 1 M customers ran out of temporary disk space).
    """
    con = ibis.duckdb.connect()
    table = con.create_table("rfm", pa.Table.from_pandas(rfm, preserve_index=False))
    out = score_customers(table, bg, gg, horizons=(90,), clv_horizon=3)
    sql = str(ibis.to_sql(out, dialect="duckdb"))
    assert "memtable" not in sql
    names = con.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    uploaded = [n for (n,) in names if n.startswith("_regulars_handed_")]
    assert len(uploaded) == 2
    assert out.count().execute() == len(rfm)


def test_without_spend_model_and_on_a_backend(rfm: pd.DataFrame, bg: BetaGeoModel) -> None:
    con = ibis.duckdb.connect()
    table = con.create_table("rfm", pa.Table.from_pandas(rfm, preserve_index=False))
    out = score_customers(table.drop("monetary_value"), bg, horizons=(30,), backend=con)
    df = scored(out)
    assert list(df.columns) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "p_alive",
        "expected_orders_30d",
    ]
    assert len(df) == 2357
    assert df["p_alive"].between(0, 1).all()
    # The scored tuples went to a temporary table of that backend.
    names = [r[0] for r in con.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    assert any(name.startswith("_regulars_handed_") for name in names)


def test_discounting_lowers_clv(rfm: pd.DataFrame, bg: BetaGeoModel) -> None:
    keys = rfm[["frequency", "recency", "T"]].drop_duplicates()
    plain = discounted_expected_purchases(bg, keys, months=12, discount_rate=0.0, time_unit="W")
    np.testing.assert_allclose(
        plain, bg.expected_purchases(keys, t=12 * MONTH_DAYS / 7), rtol=1e-10
    )
    discounted = discounted_expected_purchases(
        bg, keys, months=12, discount_rate=0.2, time_unit="W"
    )
    assert (discounted <= plain).all()
    assert (discounted > 0).all()


def test_missing_columns_and_bad_arguments(
    rfm: pd.DataFrame, bg: BetaGeoModel, gg: GammaGammaModel
) -> None:
    with pytest.raises(
        SchemaError, match=r"lacks 'monetary_value'\. Existing columns: 'customer_id'"
    ):
        score_customers(rfm.drop(columns="monetary_value"), bg, gg)
    with pytest.raises(ValueError, match=r"discount_rate=1\.5 is out of range"):
        score_customers(rfm, bg, discount_rate=1.5)
    with pytest.raises(ValueError, match="time_unit='Y' is not valid"):
        score_customers(rfm, bg, time_unit="Y")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "model_name",
    ["BetaGeoModel", "ModifiedBetaGeoModel", "ParetoNBDModel", "BetaGeoBetaBinomModel"],
)
def test_alive_factorisation_equals_direct_predictions(model_name: str) -> None:
    import regulars.models as models
    from regulars.models._scoring import _AliveFactorized

    discrete = model_name == "BetaGeoBetaBinomModel"
    rfm = rfm_summary(
        load_cdnow("sample"),
        observation_end="1997-09-30",
        time_unit="W",
        merge_period="W" if discrete else "D",
    )
    frame = rfm.to_pyarrow().to_pandas()
    model = getattr(models, model_name)().fit(frame)
    keys = {k: frame[k].to_numpy(dtype=float) for k in ("frequency", "recency", "T")}
    fast = _AliveFactorized(model)
    for t in (1.0, 13.0, 52.0):
        np.testing.assert_allclose(
            fast.expected_purchases(keys, t=t),
            model.expected_purchases(keys, t=t),
            rtol=1e-9,
            atol=1e-14,
        )


def test_expensive_part_runs_on_distinct_frequency_and_t(rfm: pd.DataFrame) -> None:
    calls: list[int] = []

    class Counting(BetaGeoModel):
        def expected_purchases(self, data: Any, /, *, t: Any) -> Any:
            calls.append(len(data["frequency"]))
            return super().expected_purchases(data, t=t)

    model = Counting().fit(rfm)
    score_customers(rfm, model, horizons=(90, 365)).to_pyarrow()
    n_pairs = len(rfm[["frequency", "T"]].drop_duplicates())
    assert calls == [n_pairs, n_pairs]
    assert n_pairs < len(rfm[["frequency", "recency", "T"]].drop_duplicates())
