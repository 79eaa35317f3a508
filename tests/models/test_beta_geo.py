"""BG/NBD: published CDNOW values, predictions, inputs and errors."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from regulars.errors import ConvergenceError, NotFittedError, SchemaError
from regulars.models import BetaGeoModel
from regulars.models._base import compress, read_columns

#: BTYD's estimate on the full-precision CDNOW summary after its third run (walkthrough,
#: section 4.2, row 3 of p.matrix): the parameters its sections 4.3 and 4.4 use.
BTYD_PARAMS = {"r": 0.2425967, "alpha": 4.413659, "a": 0.7929869, "b": 2.426164}
#: The paper's rounded estimate (Fader, Hardie and Lee 2005, section 4).
PAPER_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _with(params: dict[str, float]) -> BetaGeoModel:
    model = BetaGeoModel()
    model.params_ = dict(params)
    return model


@pytest.fixture(scope="module")
def fitted(cdnow_rfm: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow_rfm)


@pytest.mark.parametrize("data", ["cdnow_rfm", "cdnow_rounded"])
def test_params_against_fader_hardie_lee_2005(data: str, request: pytest.FixtureRequest) -> None:
    """r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4.

    Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing
    Science 24(2), section 4; both CDNOW summaries (full precision and rounded to 2
    decimals) give the printed values.
    """
    model = BetaGeoModel().fit(request.getfixturevalue(data))
    assert {k: round(v, 3) for k, v in model.params_.items()} == PAPER_PARAMS
    assert round(model.log_likelihood_, 1) == -9582.4
    assert model.n_customers_ == 2357


def test_params_against_btyd(fitted: BetaGeoModel) -> None:
    """BTYD walkthrough 4.2: 0.2425967 4.413659 0.7929869 2.426164, LL -9582.429."""
    got = fitted.params_
    for key, value in BTYD_PARAMS.items():
        assert got[key] == pytest.approx(value, rel=5e-4)
    assert fitted.log_likelihood_ == pytest.approx(-9582.429, abs=1e-3)


def test_conditional_expectation_paper_example(cdnow_rounded: pd.DataFrame) -> None:
    """x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks.

    Fader, Hardie and Lee (2005), section 4 (also Hardie's BG/NBD spreadsheet).
    """
    model = BetaGeoModel().fit(cdnow_rounded)
    got = model.expected_purchases({"frequency": 2, "recency": 30.43, "T": 38.86}, t=39)
    assert round(float(got[0]), 3) == 1.226


def test_btyd_walkthrough_customer_1516() -> None:
    """BTYD walkthrough 4.3 (params of 4.2): customer 1516, x=26, t.x=30.857143, T=31.

    bgnbd.ConditionalExpectedTransactions(T.star=52) = 25.75659,
    bgnbd.PAlive = 0.9688523, bgnbd.Expectation(t=52) = 1.444004.
    """
    model = _with(BTYD_PARAMS)
    row = {"frequency": 26, "recency": 30.857143, "T": 31}
    assert model.expected_purchases(row, t=52)[0] == pytest.approx(25.75659, rel=5e-7)
    assert model.probability_alive(row)[0] == pytest.approx(0.9688523, rel=5e-8)
    assert model.expected_purchases_new_customer(52) == pytest.approx(1.444004, rel=5e-7)


def test_btyd_walkthrough_increasing_frequency_paradox() -> None:
    """BTYD walkthrough 4.3: t.x=20, T.cal=39, T.star=52 for x = 10, 15, 20, 25."""
    model = _with(BTYD_PARAMS)
    x = np.array([10.0, 15.0, 20.0, 25.0])
    got = model.expected_purchases({"frequency": x, "recency": 20.0, "T": 39.0}, t=52)
    expected = [0.3474606, 0.04283391, 0.004158973, 0.0003583685]
    np.testing.assert_allclose(got, expected, rtol=5e-6)


def test_btyd_pmf() -> None:
    """BTYD reference manual, bgnbd.pmf examples with params (0.243, 4.414, 0.793, 2.426)."""
    model = _with(PAPER_PARAMS)
    assert model.probability_of_purchases(10, 2) == pytest.approx(1.07869e-07, rel=1e-5)
    assert model.probability_of_purchases(0, 39) == pytest.approx(0.5737864, rel=1e-6)
    expected = [
        0.0019995214,
        0.0015170236,
        0.0011633150,
        0.0009003148,
        0.0007023638,
        0.0005517902,
        0.0004361913,
        0.0003467171,
        0.0002769613,
        0.0002222260,
    ]
    got = model.probability_of_purchases(np.arange(11, 21), 30)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_pmf_sums_to_one(fitted: BetaGeoModel) -> None:
    total = fitted.probability_of_purchases(np.arange(0, 400), 39.0).sum()
    assert total == pytest.approx(1.0, abs=1e-10)


def test_expectation_hardie_spreadsheet(cdnow_rounded: pd.DataFrame) -> None:
    """E[X(t)] from Hardie's BG/NBD spreadsheet (as transcribed in lifetimes' tests).

    The sheet prints 1.8576 at t=78, where its truncated Gauss series (z = 0.95)
    loses 4e-4; the exact value is 1.8580.
    """
    model = BetaGeoModel().fit(cdnow_rounded)
    t = np.array([0.1429, 1.0, 3.0, 31.8571, 32.0])
    got = model.expected_purchases_new_customer(t)
    np.testing.assert_allclose(got, [0.0078, 0.0532, 0.1506, 1.0405, 1.0437], atol=5e-5)
    assert model.expected_purchases_new_customer(78.0) == pytest.approx(1.8576, abs=1e-3)


def test_gradient_matches_finite_differences(cdnow_rfm: pd.DataFrame) -> None:
    model = BetaGeoModel()
    stats = model._make_stats(compress(model._read(cdnow_rfm, "t", weighted=True)))
    z = np.log([0.3, 5.0, 0.7, 2.0])
    _, grad = model._log_likelihood(z, stats)
    h = 1e-6
    numeric = [
        (model._log_likelihood(z + h * e, stats)[0] - model._log_likelihood(z - h * e, stats)[0])
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_probability_alive_without_repeat_purchases_is_one(fitted: BetaGeoModel) -> None:
    got = fitted.probability_alive({"frequency": [0, 0], "recency": [0, 0], "T": [1.0, 1e6]})
    np.testing.assert_array_equal(got, [1.0, 1.0])


def test_summary_and_repr(fitted: BetaGeoModel) -> None:
    table = fitted.summary()
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert list(table.columns) == ["estimate", "std_error", "lower_95", "upper_95"]
    assert (table["lower_95"] < table["estimate"]).all()
    assert (table["estimate"] < table["upper_95"]).all()
    # the information matrix of FHL (2005) gives a standard error of r of about 0.0126
    assert table.loc["r", "std_error"] == pytest.approx(0.0126, abs=5e-4)
    text = repr(fitted)
    assert text.startswith("<regulars.models.BetaGeoModel: fitted on 2,357 customers")
    assert "log-likelihood=-9,582.43" in text
    assert repr(BetaGeoModel()) == "<regulars.models.BetaGeoModel: not fitted, penalizer=0.0>"


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow", "ibis", "dict"])
def test_input_kinds_give_the_same_fit(
    kind: str, cdnow_rfm: pd.DataFrame, fitted: BetaGeoModel
) -> None:
    data: object
    if kind == "pandas":
        data = cdnow_rfm
    elif kind == "polars":
        data = pl.from_pandas(cdnow_rfm)
    elif kind == "pyarrow":
        data = pa.Table.from_pandas(cdnow_rfm, preserve_index=False)
    elif kind == "ibis":  # from Arrow: ibis.memtable(pandas) warns about a pandas option
        data = ibis.memtable(pa.Table.from_pandas(cdnow_rfm, preserve_index=False))
    else:
        data = {c: cdnow_rfm[c].to_numpy() for c in cdnow_rfm.columns}
    model = BetaGeoModel().fit(data)
    assert model.params_ == fitted.params_
    assert model.n_distinct_ == fitted.n_distinct_
    np.testing.assert_array_equal(
        model.probability_alive(data), fitted.probability_alive(cdnow_rfm)
    )


def test_ibis_input_is_grouped_in_the_engine(cdnow_rfm: pd.DataFrame) -> None:
    table = ibis.memtable(pa.Table.from_pandas(cdnow_rfm, preserve_index=False))
    cols = read_columns(table, ("frequency", "recency", "T"), caller="test", weighted=True)
    distinct = len(cdnow_rfm.drop_duplicates())
    assert cols.size == distinct < len(cdnow_rfm)
    assert cols.weight.sum() == len(cdnow_rfm)


def test_weights_equal_repeated_rows(cdnow_rfm: pd.DataFrame, fitted: BetaGeoModel) -> None:
    grouped = cdnow_rfm.groupby(["frequency", "recency", "T"]).size().rename("weight").reset_index()
    model = BetaGeoModel().fit(grouped)
    for key, value in fitted.params_.items():
        assert model.params_[key] == pytest.approx(value, rel=1e-9)
    assert model.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_result_does_not_depend_on_row_order(cdnow_rfm: pd.DataFrame, fitted: BetaGeoModel) -> None:
    shuffled = cdnow_rfm.sample(frac=1.0, random_state=7)
    assert BetaGeoModel().fit(shuffled).params_ == fitted.params_


def test_predictions_align_with_input_rows(fitted: BetaGeoModel, cdnow_rfm: pd.DataFrame) -> None:
    head = cdnow_rfm.head(50)
    whole = fitted.expected_purchases(head, t=10.0)
    one_by_one = [fitted.expected_purchases(head.iloc[[i]], t=10.0)[0] for i in range(50)]
    np.testing.assert_allclose(whole, one_by_one, rtol=1e-13)
    per_row_t = fitted.expected_purchases(head, t=np.arange(50.0))
    assert per_row_t[0] == 0.0
    assert per_row_t[10] == pytest.approx(fitted.expected_purchases(head.iloc[[10]], t=10.0)[0])


def test_score_arrays(fitted: BetaGeoModel, cdnow_rfm: pd.DataFrame) -> None:
    x, t_x, big_t = (cdnow_rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    scores = fitted.score_arrays(x, t_x, big_t, t=39.0)
    np.testing.assert_array_equal(scores["probability_alive"], fitted.probability_alive(cdnow_rfm))
    np.testing.assert_array_equal(
        scores["expected_purchases"], fitted.expected_purchases(cdnow_rfm, t=39.0)
    )


def test_missing_column_lists_existing_columns(cdnow_rfm: pd.DataFrame) -> None:
    with pytest.raises(
        SchemaError, match=r"Column 'T' not found.*Existing columns: 'frequency', 'recency'"
    ):
        BetaGeoModel().fit(cdnow_rfm[["frequency", "recency"]])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            {"frequency": [1, -1], "recency": [1, 1], "T": [2, 2]},
            r"1 customer .* not a whole number >= 0 .*row 1",
        ),
        ({"frequency": [1, 2.5], "recency": [1, 1], "T": [2, 2]}, "not a whole number"),
        (
            {"frequency": [1, 1, 1], "recency": [3, 1, 4], "T": [2, 2, 2]},
            r"2 customers .* recency greater than T .*row 0",
        ),
        ({"frequency": [0], "recency": [1], "T": [2]}, "frequency 0 but a recency other than 0"),
        ({"frequency": [1], "recency": [float("nan")], "T": [2]}, "missing or non-finite"),
        ({"frequency": [1], "recency": [1], "T": [2], "weight": [-1]}, "negative weight"),
    ],
)
def test_invalid_values(rows: dict[str, list[float]], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        BetaGeoModel().fit(pd.DataFrame(rows))


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError, match=r"not fitted yet. Call fit\(data\) first"):
        BetaGeoModel().probability_alive({"frequency": [1], "recency": [1], "T": [2]})


def test_bad_hyper_parameters(cdnow_rfm: pd.DataFrame) -> None:
    with pytest.raises(
        ValueError, match="'penalizer' parameter of BetaGeoModel must be a number >= 0"
    ):
        BetaGeoModel(penalizer=-1).fit(cdnow_rfm)
    with pytest.raises(ValueError, match="initial_params"):
        BetaGeoModel(initial_params={"r": 1.0}).fit(cdnow_rfm)


def test_no_repeat_buyers_raise_convergence_error() -> None:
    rows = pd.DataFrame(
        {"frequency": [0.0] * 50, "recency": [0.0] * 50, "T": np.linspace(1, 40, 50)}
    )
    with pytest.raises(ConvergenceError, match=r"do not identify all the parameters.*penalizer"):
        BetaGeoModel().fit(rows)


def test_penalizer_shrinks_towards_one(cdnow_rfm: pd.DataFrame, fitted: BetaGeoModel) -> None:
    shrunk = BetaGeoModel(penalizer=0.1).fit(cdnow_rfm)
    before = sum(np.log(v) ** 2 for v in fitted.params_.values())
    after = sum(np.log(v) ** 2 for v in shrunk.params_.values())
    assert after < before


def test_initial_params_reach_the_same_optimum(
    cdnow_rfm: pd.DataFrame, fitted: BetaGeoModel
) -> None:
    model = BetaGeoModel(initial_params={"r": 2.0, "alpha": 50.0, "a": 3.0, "b": 0.5}).fit(
        cdnow_rfm
    )
    for key, value in fitted.params_.items():
        assert model.params_[key] == pytest.approx(value, rel=1e-7)
