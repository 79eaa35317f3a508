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
from numpy.typing import NDArray

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
        "changed (seasonality, a campaign), or another model may suit better: try "
        "--model pnbd or --model mbgnbd, or a longer history."
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

    Parameters
    ----------
    model
        A purchase model fitted on the calibration columns.
    calibration_holdout
        The output of :func:`calibration_holdout_summary`.  It is compressed in the
        engine to distinct ``(frequency_cal, recency_cal, T_cal)`` cells, so only the
        cells leave it.
    calibration_end, observation_end
        The period boundaries, for the report.
    purchases
        The holdout purchases of these customers, one row per purchase period, with a
        column ``days`` (days after ``calibration_end``, from 1): for the tracking curve.
    unit_days
        The length of the time unit in days.
    """
    ch = calibration_holdout
    cells = (
        ch.group_by(["frequency_cal", "recency_cal", "T_cal", "duration_holdout"])
        .aggregate(customers=ch.count(), actual=ch["frequency_holdout"].sum())
        .to_pyarrow()
        .to_pandas()
    )
    keys = pd.DataFrame(
        {
            "frequency": cells["frequency_cal"].astype(float),
            "recency": cells["recency_cal"].astype(float),
            "T": cells["T_cal"].astype(float),
        }
    )
    duration = float(cells["duration_holdout"].iloc[0]) if len(cells) else 0.0
    per_customer = np.asarray(model.expected_purchases(keys, t=duration), dtype=float)
    cells["predicted"] = per_customer * cells["customers"]
    cells["bin"] = np.minimum(cells["frequency_cal"].astype(int), MAX_BIN)
    grouped = cells.groupby("bin")[["customers", "actual", "predicted"]].sum()
    grouped = grouped.reindex(range(MAX_BIN + 1), fill_value=0)
    bins = pd.DataFrame(
        {
            "frequency": [str(b) if b < MAX_BIN else f"{MAX_BIN}+" for b in grouped.index],
            "customers": grouped["customers"].astype(int).to_numpy(),
            "actual": np.divide(
                grouped["actual"],
                grouped["customers"],
                where=grouped["customers"] > 0,
                out=np.zeros(len(grouped)),
            ),
            "predicted": np.divide(
                grouped["predicted"],
                grouped["customers"],
                where=grouped["customers"] > 0,
                out=np.zeros(len(grouped)),
            ),
        }
    )
    actual = float(cells["actual"].sum())
    predicted = float(cells["predicted"].sum())
    error = (predicted - actual) / actual if actual > 0 else float("nan")
    has = (bins["actual"] > 0).to_numpy()
    if has.any():
        ape = np.abs(bins["predicted"][has] - bins["actual"][has]) / bins["actual"][has]
        bin_mape = float(np.average(ape, weights=bins["customers"][has]))
    else:
        bin_mape = float("nan")
    quality, verdict = _verdict(error, actual, predicted)
    tracking = pd.DataFrame({"t": [], "actual": [], "predicted": []})
    if purchases is not None and duration > 0:
        tracking = _tracking(
            model, keys, cells["customers"].to_numpy(), purchases, duration, unit_days
        )
    return HoldoutCheck(
        calibration_end=calibration_end,
        observation_end=observation_end,
        duration=duration,
        customers=int(cells["customers"].sum()),
        bins=bins,
        actual_total=actual,
        predicted_total=predicted,
        error=error,
        bin_mape=bin_mape,
        quality=quality,
        verdict=verdict,
        tracking=tracking,
    )


def _tracking(
    model: Any,
    keys: pd.DataFrame,
    weights: NDArray[np.float64],
    purchases: ir.Table,
    duration: float,
    unit_days: float,
) -> pd.DataFrame:
    """Cumulative actual and predicted repeat purchases at up to 26 points."""
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
