"""Naive forecasts beside every holdout check: how much does the model add?

A customer model earns its keep only if it predicts the holdout better than what an
owner would compute in a spreadsheet.  Two such forecasts:

* **past rate**: each customer keeps buying at their own past rate, ``frequency / T``
  repeat purchases per time unit (0 for a customer seen for no time);
* **ticket x frequency x margin**: the value version, the customer's average ticket
  (mean repeat spend; the average over repeat buyers for those without repeat
  purchases) times their past-rate orders times the margin.

:func:`baseline_comparison` puts the model's errors and the naive ones side by side,
per customer (MAE, RMSE) and in total (bias), so that a user sees how much the model
adds, and sees it when it adds nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regulars.models._base import FloatArray, TableLike, read_columns

__all__ = ["baseline_comparison", "naive_forecasts"]

_ORDERS = ("frequency_cal", "T_cal", "frequency_holdout", "duration_holdout")
_MONEY = ("monetary_value_cal", "monetary_value_holdout")


def _has_money(data: TableLike) -> bool:
    try:
        read_columns(data, _MONEY, caller="baseline_comparison")
    except Exception:  # SchemaError: no money columns
        return False
    return True


def naive_forecasts(data: TableLike, /, *, margin: float = 1.0) -> dict[str, FloatArray]:
    """The naive holdout forecasts of each customer.

    Parameters
    ----------
    data : table or dict of arrays
        A calibration/holdout summary (:func:`~regulars.models.calibration_holdout_summary`):
        ``frequency_cal``, ``T_cal``, ``duration_holdout`` and, for the value forecast,
        ``monetary_value_cal``.
    margin : float, default 1.0
        Share of revenue that is profit (1.0 forecasts revenue).

    Returns
    -------
    dict
        ``past_rate_orders`` and, with money, ``ticket_frequency_margin`` (value).
    """
    cols = read_columns(data, ("frequency_cal", "T_cal", "duration_holdout"), caller="naive")
    x, big_t, dur = cols["frequency_cal"], cols["T_cal"], cols["duration_holdout"]
    rate = np.divide(x, big_t, out=np.zeros_like(x), where=big_t > 0)
    out = {"past_rate_orders": rate * dur}
    if _has_money(data):
        m = read_columns(data, ("monetary_value_cal",), caller="naive")["monetary_value_cal"]
        buyers = x > 0
        average = float(np.average(m[buyers], weights=x[buyers])) if buyers.any() else 0.0
        ticket = np.where(buyers, m, average)
        out["ticket_frequency_margin"] = ticket * rate * dur * margin
    return out


def _errors(
    actual: FloatArray, predicted: FloatArray, weight: FloatArray | None = None
) -> dict[str, float]:
    w = np.ones(actual.shape[0]) if weight is None else weight
    diff = predicted - actual
    total = float(w @ actual)
    return {
        "mae": float(np.average(np.abs(diff), weights=w)),
        "rmse": float(np.sqrt(np.average(diff**2, weights=w))),
        "bias": float((w @ predicted) / total - 1.0) if total > 0 else float("nan"),
    }


def baseline_comparison(
    model: Any,
    data: TableLike,
    /,
    *,
    spend_model: Any | None = None,
    margin: float = 1.0,
) -> pd.DataFrame:
    """The model's holdout errors next to the naive forecasts'.

    Parameters
    ----------
    model : a fitted purchase model
        Fitted on the calibration columns; its forecast is
        ``expected_purchases(frequency_cal, recency_cal, T_cal, t=duration_holdout)``.
    data : table or dict of arrays
        A calibration/holdout summary, with ``recency_cal`` and, for the value rows,
        ``monetary_value_cal`` and ``monetary_value_holdout``.  Without the money
        columns an optional ``weight`` column counts identical customers.
    spend_model : GammaGammaModel, optional
        With money columns, the model's value forecast is its expected purchases times
        the spend model's expected spend times ``margin``.
    margin : float, default 1.0

    Returns
    -------
    pandas.DataFrame
        One row per (``target``, ``forecast``): ``target`` is ``"orders"`` or
        ``"value"``; ``forecast`` is ``"model"``, ``"past rate"`` or ``"ticket x
        frequency x margin"``.  Columns ``mae`` and ``rmse`` (per customer), ``bias``
        (total predicted / total actual - 1) and ``mae_vs_model`` (the forecast's MAE
        divided by the model's: above 1 the model does better).
    """
    with_money = _has_money(data)
    # Without money columns only the order columns matter: an Ibis table is grouped by
    # them in its engine (a ``weight`` column counts identical customers), and each
    # distinct row is predicted once.
    cols = read_columns(
        data, (*_ORDERS, "recency_cal"), caller="baseline_comparison", weighted=not with_money
    )
    w = cols.weight
    actual = cols["frequency_holdout"]
    rfm = {"frequency": cols["frequency_cal"], "recency": cols["recency_cal"], "T": cols["T_cal"]}
    predicted = np.asarray(model.expected_purchases(rfm, t=cols["duration_holdout"]), dtype=float)
    if with_money:
        naive = naive_forecasts(data, margin=margin)
    else:
        x, big_t = cols["frequency_cal"], cols["T_cal"]
        rate = np.divide(x, big_t, out=np.zeros_like(x), where=big_t > 0)
        naive = {"past_rate_orders": rate * cols["duration_holdout"]}
    rows = [
        {"target": "orders", "forecast": "model", **_errors(actual, predicted, w)},
        {
            "target": "orders",
            "forecast": "past rate",
            **_errors(actual, naive["past_rate_orders"], w),
        },
    ]
    if "ticket_frequency_margin" in naive:
        money = read_columns(data, _MONEY, caller="baseline_comparison")
        value = actual * money["monetary_value_holdout"] * margin
        if spend_model is not None:
            spend = spend_model.expected_spend(
                {"frequency": cols["frequency_cal"], "monetary_value": money["monetary_value_cal"]}
            )
            rows.append(
                {
                    "target": "value",
                    "forecast": "model",
                    **_errors(value, predicted * spend * margin),
                }
            )
        rows.append(
            {
                "target": "value",
                "forecast": "ticket x frequency x margin",
                **_errors(value, naive["ticket_frequency_margin"]),
            }
        )
    frame = pd.DataFrame(rows)
    model_mae = {
        str(row["target"]): float(row["mae"])
        for _, row in frame.iterrows()
        if row["forecast"] == "model"
    }
    frame["mae_vs_model"] = [
        mae / model_mae[str(target)] if str(target) in model_mae else float("nan")
        for target, mae in zip(frame["target"], frame["mae"], strict=True)
    ]
    return frame
