"""Fitting on a workspace: the regularised retry, the holdout fit and ``--model auto``.

:func:`fit_or_regularise` is the one way a workspace fit runs (the main fit, each
holdout fit and each candidate of ``auto``): plain maximum likelihood, or the
configured penalizer; when a plain fit fails, once more with a small penalizer, which
is then recorded.  :func:`holdout_fit` fits a model on the calibration period and
compares its predictions with the holdout.  :func:`rank_candidates` orders the
candidates of ``auto`` (see docs/models.md, "Choosing the model").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from regulars.errors import ConvergenceError, RegularsError
from regulars.models._base import NoInformationError
from regulars.models._holdout import HoldoutCheck, holdout_check
from regulars.models._regularity import with_litt
from regulars.models._rfm import (
    TIME_UNIT_DAYS,
    TimeUnit,
    calibration_holdout_summary,
    purchase_periods,
)

__all__ = [
    "AUTO_SAMPLE",
    "FALLBACK_PENALIZER",
    "Candidate",
    "HoldoutData",
    "Selection",
    "default_calibration_end",
    "fit_or_regularise",
    "holdout_fit",
    "rank_candidates",
]

Progress = Callable[[str], None]

#: Penalizer tried when the plain maximum-likelihood fit does not converge.
FALLBACK_PENALIZER = 0.01
#: The default holdout: about this share of the history (between 25% and 35%) ...
HOLDOUT_SHARE = 0.30
HOLDOUT_MIN_SHARE, HOLDOUT_MAX_SHARE = 0.25, 0.35
#: ``auto`` compares the candidates on at most about this many customers.
AUTO_SAMPLE = 10_000
#: ... of at least this many days, and at most a year.
HOLDOUT_MIN_DAYS = 28
HOLDOUT_MAX_DAYS = 365


def default_calibration_end(first: dt.date, last: dt.date) -> dt.date | None:
    """The last day of calibration for ``--holdout auto``, or None if the history is short.

    The holdout is the last 30% of the history (at least 4 weeks, at most a year),
    starting on the first day of a month when that keeps it between 25% and 35% of
    the history, else on a Monday.  The calibration period is then always inside the
    data's history.  None when the holdout would be under 4 weeks or the calibration
    shorter than the holdout.
    """
    span = (last - first).days
    hold = min(round(span * HOLDOUT_SHARE), HOLDOUT_MAX_DAYS)
    if hold < HOLDOUT_MIN_DAYS or span - hold < hold:
        return None
    start = last - dt.timedelta(days=hold - 1)  # first day of the holdout
    month = start.replace(day=1)
    if start.day > 15:
        month = (month + dt.timedelta(days=32)).replace(day=1)
    share = (last - month).days / span if span else 0.0
    bounded = (last - month).days + 1 <= HOLDOUT_MAX_DAYS + 31
    if HOLDOUT_MIN_SHARE <= share <= HOLDOUT_MAX_SHARE and bounded and month > first:
        start = month
    else:
        start = start - dt.timedelta(days=start.weekday())
    return start - dt.timedelta(days=1)


def fit_or_regularise(cls: type[Any], data: Any, penalizer: float, progress: Progress) -> Any:
    """Fit ``cls`` on ``data``; a failed plain fit is retried once with a small penalizer.

    With ``penalizer > 0`` (``--penalizer`` or ``[models] penalizer``) that penalizer is
    used, with no retry.  A plain fit that fails is retried with ``FALLBACK_PENALIZER``:
    the fit is then no longer pure maximum likelihood, which a lasting note in its
    ``diagnostics_`` says (and ``regularised_`` marks).  Data without information
    (:class:`NoInformationError`) are never retried: a penalizer would only return its
    prior.  A second failure raises the first, explanatory ConvergenceError.
    """
    if penalizer > 0:
        return cls(penalizer=penalizer).fit(data)
    try:
        return cls().fit(data)
    except NoInformationError:
        raise
    except ConvergenceError as first:
        progress(f"{cls.__name__} did not converge; refitting with penalizer={FALLBACK_PENALIZER}")
        try:
            model = cls(penalizer=FALLBACK_PENALIZER).fit(data)
        except ConvergenceError:
            raise first from None
        message = (
            f"{cls.__name__}: the plain maximum-likelihood fit failed ({first}), so this is a "
            f"regularised fit (penalizer={FALLBACK_PENALIZER}): its parameters are shrunk "
            "towards 1. Treat the scores as a rough ranking."
        )
        model.diagnostics_.notes.append(message)
        model.regularised_ = True
        return model


class HoldoutData:
    """The calibration/holdout summary and the holdout purchases, built once per setup.

    With ``sample``, a book of more customers is cut to about that many, chosen by a
    hash of ``customer_id`` (the same customers for every model and every run); their
    orders are read once and kept for the summaries and the candidates' ``litt``.
    ``customers``, when the caller knows it, is the number of distinct customers in
    ``tx`` (it sets the sampling rate; counted otherwise).  Call :meth:`release` when
    done.
    """

    def __init__(
        self,
        tx: ir.Table,
        *,
        cal_end: dt.date,
        end: dt.date,
        time_unit: TimeUnit,
        merge: TimeUnit,
        sample: int | None = None,
        customers: int | None = None,
    ) -> None:
        self._sampled: ir.Table | None = None
        if sample is not None:  # sample the customers before summarising their orders
            n = customers
            if n is None:
                n = int(tx["customer_id"].nunique().to_pyarrow().as_py())
            if n > sample:
                # one scan of the orders: every later query reads the sample's orders
                tx = tx.filter(tx["customer_id"].hash() % math.ceil(n / sample) == 0).cache()
                self._sampled = tx
        summary = calibration_holdout_summary(
            tx,
            calibration_end=cal_end,
            observation_end=end,
            datetime_col="order_date",
            time_unit=time_unit,
            merge_period=merge,
        )
        self.cal_end, self.end, self.time_unit = cal_end, end, time_unit
        self.tx, self.merge = tx, merge  # for the MBG/CNBD-k's litt
        self.ch = summary.cache()
        self.purchases = _holdout_purchases(tx, self.ch, cal_end, end, merge).cache()

    def release(self) -> None:
        self.purchases.release()
        self.ch.release()
        if self._sampled is not None:
            self._sampled.release()


def holdout_fit(
    data: HoldoutData, model_cls: type[Any], *, penalizer: float, progress: Progress
) -> tuple[HoldoutCheck, Any]:
    """Fit ``model_cls`` on the calibration period and check it on the holdout.

    Raises the calibration fit's RegularsError when it fails.
    """
    ch = data.ch
    cal = ch.select(
        "customer_id", frequency=ch["frequency_cal"], recency=ch["recency_cal"], T=ch["T_cal"]
    )
    if getattr(model_cls, "_needs_litt", False):  # MBG/CNBD-k chooses k by likelihood
        cal = with_litt(cal, data.tx, data.cal_end, data.time_unit, merge_period=data.merge)
    cal = cal.drop("customer_id")
    fitted = fit_or_regularise(model_cls, cal, penalizer, progress)
    check = holdout_check(
        fitted,
        ch,
        calibration_end=data.cal_end,
        observation_end=data.end,
        purchases=data.purchases,
        unit_days=TIME_UNIT_DAYS[data.time_unit],
    )
    return check, fitted


def _holdout_purchases(
    tx: ir.Table, ch: ir.Table, cal_end: dt.date, end: dt.date, merge: TimeUnit
) -> ir.Table:
    """The holdout purchase periods of the calibration customers, with ``days``.

    ``days`` counts from the end of calibration to the purchase (the start of its
    merge period, but never before the holdout's first day).
    """
    periods = purchase_periods(tx, after=cal_end, until=end, merge_period=merge)
    cal_ids = ch.select(_cid=ch["customer_id"])
    periods = periods.semi_join(cal_ids, periods["customer_id"] == cal_ids["_cid"])
    days = periods["period"].delta(ibis.literal(cal_end), unit="day")
    return periods.select(days=ibis.greatest(days, 1))


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


@dataclass
class Candidate:
    """One model of the ``auto`` comparison and how it did."""

    model: str
    aggregate_error: float = math.nan  # |predicted - actual| / actual holdout purchases
    customer_error: float = math.nan  # customer MAE / mean actual purchases per customer
    tracking_error: float = math.nan  # mean gap of the cumulative curves / actual total
    log_likelihood: float = math.nan  # of the calibration fit (of the full fit without holdout)
    score: float = math.nan
    problems: list[str] = field(default_factory=list)
    regularised: bool = False
    failed: str | None = None
    chosen: bool = False

    @property
    def passes(self) -> bool:
        """Fitted by plain maximum likelihood (or the chosen penalizer), with no problem.

        A candidate that needed the regularised fallback does not pass: its plain fit
        failed, so its estimate is the penalty's as much as the data's.
        """
        return self.failed is None and not self.problems and not self.regularised

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "aggregate_error": self.aggregate_error,
            "customer_error": self.customer_error,
            "tracking_error": self.tracking_error,
            "log_likelihood": self.log_likelihood,
            "score": self.score,
            "problems": list(self.problems),
            "regularised": self.regularised,
            "failed": self.failed,
            "chosen": self.chosen,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return cls(
            model=str(data["model"]),
            aggregate_error=_num(data.get("aggregate_error")),
            customer_error=_num(data.get("customer_error")),
            tracking_error=_num(data.get("tracking_error")),
            log_likelihood=_num(data.get("log_likelihood")),
            score=_num(data.get("score")),
            problems=[str(p) for p in data.get("problems", [])],
            regularised=bool(data.get("regularised", False)),
            failed=data.get("failed"),
            chosen=bool(data.get("chosen", False)),
        )


@dataclass
class Selection:
    """The ``auto`` comparison: every candidate, the chosen model and why."""

    method: str  # "holdout" or "log_likelihood"
    candidates: list[Candidate]
    chosen: str
    reason: str
    calibration_end: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chosen": self.chosen,
            "reason": self.reason,
            "calibration_end": None
            if self.calibration_end is None
            else self.calibration_end.isoformat(),
            "candidates": [c.to_dict() for c in self.candidates],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        cal = data.get("calibration_end")
        return cls(
            method=str(data.get("method", "holdout")),
            candidates=[Candidate.from_dict(c) for c in data.get("candidates", [])],
            chosen=str(data.get("chosen", "")),
            reason=str(data.get("reason", "")),
            calibration_end=None if cal is None else dt.date.fromisoformat(cal),
        )


def candidate_from_check(name: str, check: HoldoutCheck, fitted: Any) -> Candidate:
    diag = fitted.diagnostics_
    return Candidate(
        model=name,
        aggregate_error=abs(check.error) if math.isfinite(check.error) else math.nan,
        customer_error=check.customer_error,
        tracking_error=check.tracking_error,
        log_likelihood=float(fitted.log_likelihood_),
        problems=[str(p) for p in diag.problems],
        regularised=bool(getattr(fitted, "regularised_", False)),
    )


#: Relative difference under which two candidates' scores are a tie
#: (:func:`rank_candidates`).
TIE_TOLERANCE = 1e-9


def rank_candidates(candidates: list[Candidate], method: str) -> list[Candidate]:
    """Candidates best first: those that pass their diagnostics, then the others.

    With a holdout each error (aggregate, per customer, tracking curve) is divided by
    the smallest error of its kind among the fitted candidates, and ``score`` is the
    sum of these ratios (3.0: best on all three); lower is better.  Without a holdout
    the score is minus the log-likelihood (all candidates have four parameters).  Ties
    keep the order of the candidates list; scores within :data:`TIE_TOLERANCE`
    (relative) of each other are ties, so that the same model in two forms (MBG/CNBD-k
    with k = 1 is MBG/NBD, their log-likelihoods equal to 1e-12) is chosen by that
    order, not by the last digits of two optimizers, which differ between machines.
    """
    fitted = [c for c in candidates if c.failed is None]
    if method == "holdout":
        kinds = ("aggregate_error", "customer_error", "tracking_error")
        for c in fitted:
            c.score = 0.0
        for kind in kinds:
            values = [getattr(c, kind) for c in fitted if math.isfinite(getattr(c, kind))]
            best = max(min(values), 1e-12) if values else math.nan
            for c in fitted:
                c.score += (
                    getattr(c, kind) / best
                    if math.isfinite(getattr(c, kind)) and math.isfinite(best)
                    else (len(fitted) * 10.0 if values else 0.0)
                )
    else:
        for c in fitted:
            c.score = -c.log_likelihood if math.isfinite(c.log_likelihood) else math.inf
    order = {id(c): i for i, c in enumerate(candidates)}
    scores = [c.score for c in fitted if math.isfinite(c.score)]

    def tied(score: float) -> float:
        """The best score within the tolerance of ``score`` (itself if none)."""
        if not math.isfinite(score):
            return math.inf
        near = [s for s in scores if abs(s - score) <= TIE_TOLERANCE * max(abs(score), 1.0)]
        return min(near, default=score)

    return sorted(
        candidates,
        key=lambda c: (c.failed is not None, not c.passes, tied(c.score), order[id(c)]),
    )


def comparison_error(candidates: list[Candidate]) -> RegularsError:
    detail = "; ".join(f"{c.model}: {c.failed}" for c in candidates if c.failed)
    return RegularsError(
        f"No candidate model could be fitted ({detail}). Check the data (enough customers "
        "with repeat purchases and history), or pass --model with one model and --penalizer."
    )
