"""How well a fitted purchase model predicts a holdout period.

:func:`evaluate` compares, on a calibration/holdout split
(:func:`~regulars.models.calibration_holdout_summary`), the purchases each customer
made in the holdout with the model's conditional expectation given the calibration
history.  It reports them by calibration frequency (the BTYD "conditional expectation"
plot, censored at 7+), optionally the cohort's cumulative tracking curve (the BTYD
"tracking" plot), and error measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regulars.errors import SchemaError
from regulars.models._base import FloatArray, TableLike, read_columns
from regulars.models._transactions import TransactionModel

if TYPE_CHECKING:
    from regulars.models.gamma_gamma import GammaGammaModel

__all__ = ["Evaluation", "evaluate"]

_COLUMNS = ("frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout")


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`.

    Attributes
    ----------
    frequency_bins : pandas.DataFrame
        One row per calibration frequency ``0 .. censor - 1`` and ``"{censor}+"``:
        ``customers``, ``actual`` (mean holdout purchases) and ``predicted`` (mean
        conditional expectation).
    tracking : pandas.DataFrame or None
        With tracking counts: ``period`` (1, 2, ...), ``actual`` and ``expected``
        cumulative repeat purchases of the cohort.
    mae, rmse, mape : float or None
        Mean absolute error, root mean squared error and mean absolute percentage
        error (in percent, over periods with actual > 0) of the cumulative tracking
        curve; None without tracking counts.
    bin_correlation : float
        Pearson correlation of the actual and predicted bin means (non-empty bins).
    customer_mae, customer_rmse : float
        Errors of the per-customer holdout predictions.
    spend : pandas.DataFrame or None
        With a spend model and monetary columns: per calibration frequency bin of the
        repeat buyers who also bought in the holdout, ``customers``, ``actual`` (mean
        holdout spend per purchase) and ``predicted`` (mean expected spend).
    """

    frequency_bins: pd.DataFrame
    tracking: pd.DataFrame | None
    mae: float | None
    rmse: float | None
    mape: float | None
    bin_correlation: float
    customer_mae: float
    customer_rmse: float
    spend: pd.DataFrame | None = None


def _bins(frequency: FloatArray, censor: int) -> tuple[FloatArray, list[str]]:
    labels = [str(i) for i in range(censor)] + [f"{censor}+"]
    return np.minimum(frequency, censor).astype(int), labels


def _bin_table(
    index: FloatArray,
    labels: list[str],
    actual: FloatArray,
    predicted: FloatArray,
    weight: FloatArray | None = None,
) -> pd.DataFrame:
    k = len(labels)
    w = np.ones(index.shape[0]) if weight is None else weight
    count = np.bincount(index, weights=w, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        act = np.bincount(index, weights=w * actual, minlength=k) / count
        pred = np.bincount(index, weights=w * predicted, minlength=k) / count
    return pd.DataFrame(
        {"customers": count.astype(int), "actual": act, "predicted": pred},
        index=pd.Index(labels, name="frequency_cal"),
    )


def expected_cumulative_purchases(
    model: TransactionModel,
    T_cal: FloatArray,
    n_periods: int,
    period_length: float = 1.0,
    weight: FloatArray | None = None,
) -> FloatArray:
    """Expected cumulative repeat purchases of a cohort at the end of periods 1..n.

    Customers are born ``max(T_cal) - T_cal`` time units after the cohort starts (as in
    BTYD's ``bgnbd.ExpectedCumulativeTransactions``); each contributes the expected
    purchases of a new customer over the time since birth.  ``weight`` counts the
    customers of each row (1 each by default).
    """
    birth = np.max(T_cal) - T_cal
    ages, codes = np.unique(birth, return_inverse=True)
    w = np.ones(birth.shape[0]) if weight is None else weight
    counts = np.bincount(codes.ravel(), weights=w, minlength=ages.size)
    out = np.zeros(n_periods)
    for k in range(1, n_periods + 1):
        now = k * period_length
        alive = ages < now
        if alive.any():
            out[k - 1] = float(
                counts[alive]
                @ np.atleast_1d(model.expected_purchases_new_customer(now - ages[alive]))
            )
    return out


def evaluate(
    model: TransactionModel,
    calibration_holdout: TableLike,
    /,
    *,
    tracking: Any | None = None,
    period_length: float = 1.0,
    censor: int = 7,
    spend_model: GammaGammaModel | None = None,
) -> Evaluation:
    """Compare a fitted purchase model's holdout predictions with what happened.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        Fitted on the calibration columns (same time unit).
    calibration_holdout : table or dict of arrays
        ``frequency_cal``, ``recency_cal``, ``T_cal``, ``frequency_holdout``,
        ``duration_holdout``, optionally ``monetary_value_cal`` and
        ``monetary_value_holdout``.  Without ``spend_model``, an optional ``weight``
        column counts identical customers, and an Ibis table is grouped by the five
        columns in its engine, so each distinct row is predicted once.
    tracking : array-like, optional
        Repeat purchases of the whole cohort in each period since the cohort began
        (incremental counts, one per period of ``period_length`` time units); for a
        cumulative series ``c`` pass ``numpy.diff(c, prepend=0)``.
    period_length : float, default 1.0
        Time units per tracking period.
    censor : int, default 7
        Calibration frequencies ``>= censor`` share one bin, as in BTYD.
    spend_model : GammaGammaModel, optional
        Also compare expected and actual spend per purchase.

    Returns
    -------
    Evaluation

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers" the
    easy way. Marketing Science 24(2), 275-284 (Figures 3 and 4).
    """
    if isinstance(censor, bool) or not isinstance(censor, int) or censor < 1:
        raise ValueError(f"censor must be an int >= 1. Got {censor!r}.")
    # Without a spend model only the five columns matter: an Ibis table is grouped by
    # them in its engine, a ``weight`` column counts identical customers, and each
    # distinct row is predicted once.
    cols = read_columns(
        calibration_holdout, _COLUMNS, caller="evaluate", weighted=spend_model is None
    )
    w = cols.weight
    rfm = {"frequency": cols["frequency_cal"], "recency": cols["recency_cal"], "T": cols["T_cal"]}
    predicted = np.asarray(model.expected_purchases(rfm, t=cols["duration_holdout"]), dtype=float)
    actual = cols["frequency_holdout"]
    index, labels = _bins(cols["frequency_cal"], censor)
    bins = _bin_table(index, labels, actual, predicted, w)
    filled = bins[bins["customers"] > 0]
    corr = (
        float(np.corrcoef(filled["actual"], filled["predicted"])[0, 1])
        if len(filled) > 1
        else float("nan")
    )
    errors = actual - predicted
    track = mae = rmse = mape = None
    if tracking is not None:
        counts = np.asarray(tracking, dtype=float)
        if counts.ndim != 1 or counts.size == 0 or not np.all(np.isfinite(counts)):
            raise SchemaError(
                "tracking must be a one-dimensional sequence of per-period purchase counts."
            )
        cum_actual = np.cumsum(counts)
        cum_expected = expected_cumulative_purchases(
            model, cols["T_cal"], counts.size, period_length, w
        )
        diff = cum_actual - cum_expected
        track = pd.DataFrame(
            {
                "period": np.arange(1, counts.size + 1),
                "actual": cum_actual,
                "expected": cum_expected,
            }
        )
        mae, rmse = float(np.mean(np.abs(diff))), float(np.sqrt(np.mean(diff**2)))
        pos = cum_actual > 0
        mape = (
            float(100.0 * np.mean(np.abs(diff[pos]) / cum_actual[pos]))
            if pos.any()
            else float("nan")
        )
    spend = _spend_table(spend_model, calibration_holdout, cols["frequency_cal"], actual, censor)
    return Evaluation(
        frequency_bins=bins,
        tracking=track,
        mae=mae,
        rmse=rmse,
        mape=mape,
        bin_correlation=corr,
        customer_mae=float(np.average(np.abs(errors), weights=w)),
        customer_rmse=float(np.sqrt(np.average(errors**2, weights=w))),
        spend=spend,
    )


def _spend_table(
    spend_model: GammaGammaModel | None,
    data: TableLike,
    frequency_cal: FloatArray,
    frequency_holdout: FloatArray,
    censor: int,
) -> pd.DataFrame | None:
    if spend_model is None:
        return None
    money = read_columns(data, ("monetary_value_cal", "monetary_value_holdout"), caller="evaluate")
    keep = (frequency_cal > 0) & (frequency_holdout > 0)
    expected = spend_model.expected_spend(
        {"frequency": frequency_cal[keep], "monetary_value": money["monetary_value_cal"][keep]}
    )
    index, labels = _bins(frequency_cal[keep], censor)
    return _bin_table(index, labels, money["monetary_value_holdout"][keep], expected)
