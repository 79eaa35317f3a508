"""The holdout check behind ``regulars fit``: predicted vs actual repeat purchases.

A model fitted on the calibration period predicts each customer's purchases in the
holdout period; :func:`holdout_check` compares these predictions with what the
customers did, per calibration frequency and in total, and turns the total error
into a plain-language verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

__all__ = [
    "GOOD_ERROR",
    "MAX_BIN",
    "POOR_ERROR",
    "TRACKING_POINTS",
    "HoldoutCheck",
    "holdout_check",
]

#: Calibration frequencies 0 .. MAX_BIN - 1 get a row each; MAX_BIN and more share one.
MAX_BIN = 7
#: Total holdout purchases predicted within 10% of the actual: good; beyond 25%: poor.
GOOD_ERROR = 0.10
POOR_ERROR = 0.25
#: Points of the cumulative tracking curve (at most).
TRACKING_POINTS = 26


@dataclass
class HoldoutCheck:
    """How a model fitted on the calibration period predicted the holdout period.

    Attributes
    ----------
    bins
        One row per calibration frequency (``0`` .. ``6`` and ``7+``): ``customers``,
        ``actual`` and ``predicted`` (mean holdout purchases per customer).
    actual_total, predicted_total
        Repeat purchases in the holdout, summed over all customers.
    error
        ``(predicted_total - actual_total) / actual_total``.
    bin_mape
        Mean absolute percentage error over the bins with actual purchases, weighted
        by the bins' customers.
    tracking
        The cumulative tracking curve: ``t`` (time since the end of calibration, in the
        time unit), ``actual`` and ``predicted`` cumulative repeat purchases of all the
        customers (empty when the purchases were not given).
    quality
        ``good`` (total within 10%), ``fair`` (within 25%) or ``poor``.
    verdict
        One sentence for the business owner.
    customer_mae
        Mean absolute error of the per-customer holdout predictions (purchases).
    customer_error
        ``customer_mae`` divided by the mean actual holdout purchases per customer
        (unit-free, so models with different purchase periods compare).
    tracking_error
        Mean absolute gap between the cumulative tracking curves, divided by the actual
        total (NaN without a tracking curve).
    baselines
        The model's per-customer errors next to the naive "past rate" forecast
        (:func:`~regulars.models.baseline_comparison`): ``forecast``, ``mae``,
        ``rmse``, ``bias`` and ``mae_vs_model`` (above 1: the model does better).
    """

    calibration_end: dt.date
    observation_end: dt.date
    duration: float
    customers: int
    bins: pd.DataFrame
    actual_total: float
    predicted_total: float
    error: float
    bin_mape: float
    quality: str
    verdict: str
    tracking: pd.DataFrame
    customer_mae: float = float("nan")
    customer_error: float = float("nan")
    tracking_error: float = float("nan")
    baselines: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "observation_end": self.observation_end.isoformat(),
            "duration": self.duration,
            "customers": self.customers,
            "bins": [
                {
                    "frequency": str(r["frequency"]),
                    "customers": int(r["customers"]),
                    "actual": float(r["actual"]),
                    "predicted": float(r["predicted"]),
                }
                for r in self.bins.to_dict("records")
            ],
            "actual_total": self.actual_total,
            "predicted_total": self.predicted_total,
            "error": self.error,
            "bin_mape": self.bin_mape,
            "quality": self.quality,
            "verdict": self.verdict,
            "customer_mae": self.customer_mae,
            "customer_error": self.customer_error,
            "tracking_error": self.tracking_error,
            "baselines": None
            if self.baselines is None
            else [
                {
                    k: (float(v) if k != "forecast" and k != "target" else str(v))
                    for k, v in r.items()
                }
                for r in self.baselines.to_dict("records")
            ],
            "tracking": [
                {
                    "t": float(r["t"]),
                    "actual": float(r["actual"]),
                    "predicted": float(r["predicted"]),
                }
                for r in self.tracking.to_dict("records")
            ],
        }


def _verdict(error: float, actual: float, predicted: float) -> tuple[str, str]:
    if not np.isfinite(error):
        return "poor", (
            "Nobody bought again in the holdout period, so the model's "
            f"{predicted:,.0f} predicted purchases cannot be checked; use a longer holdout."
        )
    direction = "over" if error > 0 else "under"
    size = abs(error)
    if size <= GOOD_ERROR:
        return "good", (
            f"Good fit: the model predicted {predicted:,.0f} repeat purchases in the holdout "
            f"and customers made {actual:,.0f} ({size:.0%} {direction}). Its P(alive) and "
            "expected orders can be trusted for ranking customers."
        )
    if size <= POOR_ERROR:
        return "fair", (
            f"Fair fit: the model {direction}estimated holdout purchases by {size:.0%} "
            f"({predicted:,.0f} predicted, {actual:,.0f} actual). Use the scores to rank "
            "customers, but treat the totals as rough."
        )
    return "poor", (
        f"Poor fit: the model {direction}estimated holdout purchases by {size:.0%} "
        f"({predicted:,.0f} predicted, {actual:,.0f} actual). The buying pattern may have "
        "changed (seasonality, a campaign), or another model may suit better: compare "
        "them with `regulars fit --model auto`, or use a longer history."
    )


def holdout_check(
    model: Any,
    calibration_holdout: ir.Table,
    *,
    calibration_end: dt.date,
    observation_end: dt.date,
    purchases: ir.Table | None = None,
    unit_days: float = 1.0,
) -> HoldoutCheck:
    """Compare ``model``'s holdout predictions with the actual holdout purchases.

    The per-frequency table comes from :func:`~regulars.models.evaluate`; the totals,
    the verdict and the holdout tracking curve are added here.

    Parameters
    ----------
    model
        A purchase model fitted on the calibration columns.
    calibration_holdout
        The output of :func:`calibration_holdout_summary`.
    calibration_end, observation_end
        The period boundaries, for the report.
    purchases
        The holdout purchases of these customers, one row per purchase period, with a
        column ``days`` (days after ``calibration_end``, from 1): for the tracking curve.
    unit_days
        The length of the time unit in days.
    """
    from regulars.models._baselines import baseline_comparison
    from regulars.models.evaluate import evaluate

    ch = calibration_holdout
    columns = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]
    # The distinct rows of the five columns, with the customers of each as their weight:
    # grouped in the engine, and each distinct row predicted once.
    data = ch.group_by(columns).aggregate(weight=ch.count()).to_pyarrow()
    ev = evaluate(model, data, censor=MAX_BIN)
    baselines = baseline_comparison(model, data)
    b = ev.frequency_bins
    bins = pd.DataFrame(
        {
            "frequency": [str(i) for i in b.index],
            "customers": b["customers"].to_numpy(dtype=int),
            "actual": b["actual"].fillna(0.0).to_numpy(dtype=float),
            "predicted": b["predicted"].fillna(0.0).to_numpy(dtype=float),
        }
    )
    # Holdout purchases are counts: the total of the bin means times their sizes.
    actual = float(np.round((bins["customers"] * bins["actual"]).sum()))
    predicted = float((bins["customers"] * bins["predicted"]).sum())
    error = (predicted - actual) / actual if actual > 0 else float("nan")
    has = (bins["actual"] > 0).to_numpy()
    if has.any():
        ape = np.abs(bins["predicted"][has] - bins["actual"][has]) / bins["actual"][has]
        bin_mape = float(np.average(ape, weights=bins["customers"][has]))
    else:
        bin_mape = float("nan")
    duration_row = ch.aggregate(d=ch["duration_holdout"].max()).to_pyarrow()
    duration = float(duration_row.column("d")[0].as_py() or 0.0)
    quality, verdict = _verdict(error, actual, predicted)
    tracking = pd.DataFrame({"t": [], "actual": [], "predicted": []})
    tracking_error = float("nan")
    if purchases is not None and duration > 0:
        tracking = _tracking(model, ch, purchases, duration, unit_days)
        if actual > 0 and len(tracking):
            gaps = np.abs(tracking["predicted"] - tracking["actual"])
            tracking_error = float(gaps.mean()) / actual
    customers = int(bins["customers"].sum())
    mean_actual = actual / customers if customers else 0.0
    return HoldoutCheck(
        calibration_end=calibration_end,
        observation_end=observation_end,
        duration=duration,
        customers=customers,
        bins=bins,
        actual_total=actual,
        predicted_total=predicted,
        error=error,
        bin_mape=bin_mape,
        quality=quality,
        verdict=verdict,
        tracking=tracking,
        customer_mae=ev.customer_mae,
        customer_error=ev.customer_mae / mean_actual if mean_actual > 0 else float("nan"),
        tracking_error=tracking_error,
        baselines=baselines,
    )


def _tracking(
    model: Any,
    ch: ir.Table,
    purchases: ir.Table,
    duration: float,
    unit_days: float,
) -> pd.DataFrame:
    """Cumulative actual and predicted repeat purchases at up to 26 points.

    The predictions are summed over the distinct calibration tuples (grouped in the
    engine), weighted by their customers.
    """
    cells = (
        ch.group_by(["frequency_cal", "recency_cal", "T_cal"])
        .aggregate(customers=ch.count())
        .to_pyarrow()
    )
    keys = {
        "frequency": cells.column("frequency_cal").to_numpy(),
        "recency": cells.column("recency_cal").to_numpy(),
        "T": cells.column("T_cal").to_numpy(),
    }
    weights = cells.column("customers").to_numpy().astype(float)
    per_day = purchases.group_by("days").aggregate(n=purchases.count()).to_pyarrow().to_pandas()
    n_points = max(1, min(int(np.ceil(duration)), TRACKING_POINTS))
    t = duration * np.arange(1, n_points + 1) / n_points
    if getattr(model, "_discrete", False):
        t = np.unique(np.maximum(np.round(t), 1.0))
    days = per_day["days"].to_numpy(dtype=float)
    counts = per_day["n"].to_numpy(dtype=float)
    actual = [float(counts[days <= tk * unit_days + 1e-9].sum()) for tk in t]
    predicted = [
        float(np.dot(weights, np.asarray(model.expected_purchases(keys, t=float(tk)), dtype=float)))
        for tk in t
    ]
    return pd.DataFrame({"t": t, "actual": actual, "predicted": predicted})
