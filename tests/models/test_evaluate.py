"""evaluate: the BTYD walkthrough's holdout comparison for CDNOW."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from regulars.models import BetaGeoModel, Evaluation, GammaGammaModel, ParetoNBDModel, evaluate

#: BTYD walkthrough 4.2, row 3 of p.matrix: the parameters of its section 4.4.
BTYD_BGNBD = {"r": 0.2425967, "alpha": 4.413659, "a": 0.7929869, "b": 2.426164}


@pytest.fixture(scope="module")
def calibration_holdout(cdnow_cbs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "frequency_cal": cdnow_cbs["frequency"],
            "recency_cal": cdnow_cbs["recency"],
            "T_cal": cdnow_cbs["T"],
            "frequency_holdout": cdnow_cbs["frequency_holdout"],
            "duration_holdout": 39.0,
        }
    )


@pytest.fixture(scope="module")
def result(calibration_holdout: pd.DataFrame, cdnow_tracking: np.ndarray) -> Evaluation:
    model = BetaGeoModel()
    model.params_ = dict(BTYD_BGNBD)
    return evaluate(model, calibration_holdout, tracking=np.diff(cdnow_tracking, prepend=0.0))


def test_conditional_expectation_bins_btyd_walkthrough(result: Evaluation) -> None:
    """BTYD walkthrough 4.4 (bgnbd.PlotFreqVsConditionalExpectedFrequency, censor 7)."""
    bins = result.frequency_bins
    assert list(bins.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert list(bins["customers"]) == [1411, 439, 214, 100, 62, 38, 29, 64]
    actual = [0.2367116, 0.6970387, 1.392523, 1.560000, 2.532258, 2.947368, 3.862069, 6.359375]
    expected = [0.2250893, 0.5231364, 1.044126, 1.520256, 2.163824, 2.653789, 3.503957, 6.157036]
    np.testing.assert_allclose(bins["actual"], actual, rtol=1e-6)
    np.testing.assert_allclose(bins["predicted"], expected, rtol=5e-7)


def test_tracking_curve_btyd_walkthrough(result: Evaluation) -> None:
    """BTYD walkthrough 4.4 (bgnbd.PlotTrackingCum), weeks 20 to 25.

    At weeks 39 and 78 the model expects 2,501.5 and 4,165.6 cumulative repeat
    transactions; 2,457 and 4,339 happened.
    """
    track = result.tracking
    assert track is not None
    weeks = track.set_index("period").loc[20:25]
    np.testing.assert_allclose(weeks["actual"], [1359, 1414, 1484, 1517, 1573, 1672])
    published = [1312.458, 1387.346, 1460.392, 1531.713, 1601.418, 1669.6]
    np.testing.assert_allclose(weeks["expected"], published, rtol=5e-7)
    at = track.set_index("period").loc[[39, 78]]
    np.testing.assert_allclose(at["actual"], [2457, 4339])
    np.testing.assert_allclose(at["expected"], [2501.52, 4165.63], atol=0.01)


def test_error_measures(result: Evaluation) -> None:
    track = result.tracking
    assert track is not None
    diff = track["actual"] - track["expected"]
    assert result.mae == pytest.approx(np.abs(diff).mean())
    assert result.rmse == pytest.approx(np.sqrt((diff**2).mean()))
    pos = track["actual"] > 0
    assert result.mape == pytest.approx(100 * (np.abs(diff[pos]) / track["actual"][pos]).mean())
    bins = result.frequency_bins
    assert result.bin_correlation == pytest.approx(
        np.corrcoef(bins["actual"], bins["predicted"])[0, 1]
    )
    assert 0.99 < result.bin_correlation < 1.0


def test_pareto_bins_btyd_walkthrough(
    calibration_holdout: pd.DataFrame, cdnow_rfm: pd.DataFrame
) -> None:
    """BTYD walkthrough 3.4 (pnbd.PlotFreqVsConditionalExpectedFrequency), 3 decimals."""
    model = ParetoNBDModel().fit(cdnow_rfm)
    bins = evaluate(model, calibration_holdout).frequency_bins
    published = [0.138, 0.600, 1.196, 1.714, 2.399, 2.907, 3.819, 6.403]
    np.testing.assert_allclose(bins["predicted"], published, atol=1.5e-3)


def test_ibis_input_and_spend(calibration_holdout: pd.DataFrame, cdnow_cbs: pd.DataFrame) -> None:
    model = BetaGeoModel()
    model.params_ = dict(BTYD_BGNBD)
    frame = calibration_holdout.assign(
        monetary_value_cal=cdnow_cbs["monetary_value"],
        monetary_value_holdout=cdnow_cbs["monetary_value"] * 1.1,
    )
    spend = GammaGammaModel().fit(cdnow_cbs)
    table = ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False))
    result = evaluate(model, table, spend_model=spend)
    plain = evaluate(model, frame)
    pd.testing.assert_frame_equal(result.frequency_bins, plain.frequency_bins)
    assert result.tracking is None
    assert result.mae is None
    assert result.spend is not None
    assert (
        result.spend["customers"].sum()
        == ((frame.frequency_cal > 0) & (frame.frequency_holdout > 0)).sum()
    )


def test_toy_example_by_hand() -> None:
    model = BetaGeoModel()
    model.params_ = dict(BTYD_BGNBD)
    rows = {
        "frequency_cal": [0, 0, 1, 9],
        "recency_cal": [0, 0, 5, 30],
        "T_cal": [38, 20, 38, 38],
        "frequency_holdout": [1, 0, 2, 5],
        "duration_holdout": [39, 39, 39, 39],
    }
    result = evaluate(model, rows, censor=2)
    assert list(result.frequency_bins.index) == ["0", "1", "2+"]
    assert list(result.frequency_bins["customers"]) == [2, 1, 1]
    assert result.frequency_bins.loc["0", "actual"] == 0.5
    predicted = model.expected_purchases(
        {"frequency": rows["frequency_cal"], "recency": rows["recency_cal"], "T": rows["T_cal"]},
        t=39,
    )
    assert result.customer_mae == pytest.approx(np.mean(np.abs(np.array([1, 0, 2, 5]) - predicted)))


def test_weighted_rows_give_the_per_customer_answer(
    calibration_holdout: pd.DataFrame, cdnow_tracking: np.ndarray
) -> None:
    """Distinct rows with a weight (as the holdout check passes them) = one row each."""
    from regulars.models import baseline_comparison

    cols = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]
    model = BetaGeoModel().fit(
        calibration_holdout.rename(
            columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"}
        )
    )
    rows = calibration_holdout[cols]
    grouped = rows.groupby(cols, as_index=False).size().rename(columns={"size": "weight"})
    assert len(grouped) < len(rows)
    tracking = np.diff(cdnow_tracking, prepend=0)
    plain = evaluate(model, rows, tracking=tracking)
    weighted = evaluate(model, grouped, tracking=tracking)
    pd.testing.assert_frame_equal(weighted.frequency_bins, plain.frequency_bins, rtol=1e-12)
    pd.testing.assert_frame_equal(weighted.tracking, plain.tracking, rtol=1e-12)
    assert weighted.customer_mae == pytest.approx(plain.customer_mae, rel=1e-12)
    assert weighted.customer_rmse == pytest.approx(plain.customer_rmse, rel=1e-12)
    pd.testing.assert_frame_equal(
        baseline_comparison(model, grouped), baseline_comparison(model, rows), rtol=1e-12
    )
