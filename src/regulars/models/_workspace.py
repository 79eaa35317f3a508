"""Fit and score the models on a workspace: what ``regulars fit`` and ``regulars score`` do.

The CLI is a thin shell around :func:`fit_workspace` and :func:`score_workspace`:

* :func:`fit_workspace` builds the RFM summary of the workspace's paid orders in the
  engine, optionally checks the model on a holdout period, fits the purchase model (and
  the Gamma-Gamma spend model) on all the history, and stores the parameters in the
  ``model_fits`` table;
* :func:`score_workspace` reuses the latest stored fit (fitting first when there is
  none), scores every customer with :func:`score_customers` and replaces the
  ``scores`` table, where playbooks and reports read P(alive), expected orders and CLV.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from regulars.errors import RegularsError, WorkspaceError
from regulars.ledger import credit_window_days, purchases
from regulars.models._base import NoInformationError
from regulars.models._fit_store import (
    FIT_TABLE,
    PURCHASE_MODELS,
    SCORES_TABLE,
    SPEND_MODELS,
    FitResult,
    ScoreResult,
    latest_fit,
    model_class,
    store_fit,
)
from regulars.models._holdout import HoldoutCheck
from regulars.models._regularity import with_litt
from regulars.models._rfm import TimeUnit, rfm_summary
from regulars.models._score_intervals import (
    INTERVAL_COLUMNS,
    has_uncertainty,
    interval_columns,
    z_value,
)
from regulars.models._scoring import join_scores, scored_tuples
from regulars.models._select import (
    AUTO_SAMPLE,
    FALLBACK_PENALIZER,
    Candidate,
    HoldoutData,
    Selection,
    candidate_from_check,
    comparison_error,
    default_calibration_end,
    fit_or_regularise,
    holdout_fit,
    rank_candidates,
)

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = [
    "FIT_TABLE",
    "PURCHASE_MODELS",
    "SCORES_TABLE",
    "SPEND_MODELS",
    "FitResult",
    "ScoreResult",
    "fit_workspace",
    "latest_fit",
    "model_transactions",
    "score_workspace",
    "workspace_rfm",
]

SCORE_HORIZONS = (90, 365)

Progress = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


def _choice(kind: str, value: str, valid: dict[str, str], option: str) -> str:
    if value not in valid:
        raise RegularsError(
            f"Unknown {kind} {value!r}. Valid {kind}s: {', '.join(valid)}. "
            f"Pass {option} with one of them, or set it in [models] of regulars.toml."
        )
    return value


# -- inputs ----------------------------------------------------------------------------


def model_transactions(ws: Workspace) -> ir.Table:
    """The orders the models learn from, on the workspace's engine.

    The paid orders of :func:`regulars.ledger.purchases`: not cancelled, not a credit
    note, net revenue above 0 after refunds and netted credit notes (or no amount).
    ``net_revenue`` is that net revenue as float64 (null for an order without an
    amount).  Columns: ``customer_id``, ``order_date``, ``net_revenue``.
    """
    from regulars.engine import tables

    paid = purchases(tables(ws)["orders"], credit_window_days=credit_window_days(ws.config))
    return paid.select("customer_id", "order_date", net_revenue=paid.net_revenue.cast("float64"))


def _date_bounds(
    tx: ir.Table | None,
    ws: Workspace | None = None,
    *,
    prepare: Callable[[ir.Table], ir.Table] | None = None,
) -> tuple[dt.date, dt.date] | None:
    """The first and last order dates of ``tx``.

    With ``ws``, ``tx`` must be the workspace's :func:`model_transactions` (None: built
    only when the bounds are not stored yet): the bounds are then stored per data
    version, like the RFM summary.  ``prepare`` is applied to the transactions when the
    bounds are computed (not when a stored copy is read).
    """
    from regulars.engine import shared_table

    def build() -> ir.Table:
        t = model_transactions(ws) if tx is None and ws is not None else tx
        if t is None:
            raise ValueError("_date_bounds needs transactions or a workspace")
        if prepare is not None:
            t = prepare(t)
        return t.aggregate(first=t["order_date"].min(), last=t["order_date"].max())

    if ws is None:
        row = build().to_pyarrow()
    else:
        params = {"credit_window_days": credit_window_days(ws.config), "format": _RFM_FORMAT}
        row = shared_table(ws, "paid_order_bounds", params, build).to_pyarrow()
    first, last = row.column("first")[0].as_py(), row.column("last")[0].as_py()
    if first is None or last is None:
        return None
    return _as_date(first), _as_date(last)


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _merge_period(model: str, time_unit: TimeUnit) -> TimeUnit:
    # BG/BB is a discrete-time model: one transaction opportunity per time_unit period,
    # so purchases merge per period and recency and T count whole periods.
    return time_unit if model == "bgbb" else "D"


# -- fitting ---------------------------------------------------------------------------


def _fit_purchase(name: str, rfm: ir.Table, penalizer: float, progress: Progress) -> Any:
    progress(f"Fitting {name} on the distinct (frequency, recency, T) tuples")
    cls = model_class(PURCHASE_MODELS[name])
    columns = ["frequency", "recency", "T", *(["litt"] if "litt" in rfm.columns else [])]
    return fit_or_regularise(cls, rfm.select(*columns), penalizer, progress)


def _fit_spend(
    name: str, rfm: ir.Table, penalizer: float, progress: Progress, notes: list[str]
) -> Any | None:
    """The spend model on the repeat buyers with positive net spend (None if under two).

    Repeat buyers whose mean net spend is not positive or unknown (orders without an
    amount) are left out, with a note; they are scored without expected spend and CLV.
    """
    repeat = rfm["frequency"] > 0
    positive = repeat & (rfm["monetary_value"] > 0)
    counts = (
        rfm.aggregate(
            n=positive.cast("int64").sum(),
            out=(repeat & ~positive.fill_null(False)).cast("int64").sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    left_out = int(counts["out"] or 0)
    if left_out:
        notes.append(
            f"{left_out:,} repeat buyer{'s' if left_out > 1 else ''} without a positive "
            "net spend (orders without an amount, or refunds at least equal to their "
            "purchases) are left out of the spend model: they get P(alive) and expected "
            "orders but no expected spend or CLV."
        )
    if int(counts["n"] or 0) < 2:
        return None
    progress(f"Fitting {name} on the repeat buyers' spend")
    cls = model_class(SPEND_MODELS[name])
    data = rfm.filter(positive).select("frequency", "monetary_value")
    model = fit_or_regularise(cls, data, penalizer, progress)
    if _finite_mean_spend(model) or penalizer >= FALLBACK_PENALIZER:
        return model
    # q <= 1: the fitted population has an infinite mean spend (a very heavy tail), so
    # the expected spend of one-time buyers is undefined.  A small penalizer shrinks q
    # towards 1 from above; the fit is marked regularised, as any fallback is.
    progress(f"{cls.__name__} implies an infinite mean spend; refitting with a penalizer")
    retry = cls(penalizer=FALLBACK_PENALIZER).fit(data)
    if not _finite_mean_spend(retry):
        notes.append(
            f"No spend model: {cls.__name__} fits a spend distribution with an infinite mean "
            f"(q = {model.params_['q']:.3g} <= 1), even regularised, so CLV is left empty. "
            "A few very large orders usually cause this: check them, or use --spend none."
        )
        return None
    retry.diagnostics_.notes.append(
        f"{cls.__name__}: the plain fit implies an infinite mean spend "
        f"(q = {model.params_['q']:.3g} <= 1), so this is a regularised fit "
        f"(penalizer={FALLBACK_PENALIZER}). Treat expected spend and CLV as rough."
    )
    retry.regularised_ = True
    return retry


def _finite_mean_spend(model: Any) -> bool:
    """Whether a Gamma-Gamma fit implies a finite population mean spend (q > 1)."""
    return "q" not in model.params_ or float(model.params_["q"]) > 1.0


def _calibration_end(
    setting: str | dt.date, first: dt.date, end: dt.date, notes: list[str]
) -> dt.date | None:
    cal_end: dt.date | None = None
    if isinstance(setting, dt.date):
        cal_end = setting
    elif setting == "auto":
        cal_end = default_calibration_end(first, end)
        if cal_end is None:
            notes.append(
                "The history is too short for a holdout check (the holdout needs 4 weeks "
                "and a calibration period at least as long)."
            )
    elif setting != "none":
        cal_end = dt.date.fromisoformat(str(setting))
    if cal_end is not None and not first <= cal_end < end:
        suggestion = default_calibration_end(first, end)
        hint = (
            f"--holdout {suggestion.isoformat()}, --holdout auto"
            if suggestion is not None
            else "--holdout none"
        )
        raise RegularsError(
            f"The holdout date {cal_end.isoformat()} is outside the order history "
            f"({first.isoformat()} to {end.isoformat()}). Pass a date between them (e.g. "
            f"{hint}), or --holdout none."
        )
    return cal_end


#: Bumped when the RFM summary's definition changes, so stored copies are not reused.
_RFM_FORMAT = 1


def workspace_rfm(
    ws: Workspace,
    *,
    observation_end: dt.date,
    time_unit: TimeUnit,
    merge_period: TimeUnit = "D",
    litt: bool = False,
    transactions: ir.Table | None = None,
) -> ir.Table:
    """The RFM summary of the workspace's paid orders, computed once per data version.

    One row per customer with a paid order (:func:`model_transactions`):
    ``customer_id, frequency, recency, T, monetary_value`` (and ``litt``, the mean log
    inter-purchase time, with ``litt=True``), as :func:`rfm_summary` computes them.
    The first call for a data version and these arguments stores the table in the
    workspace (:func:`regulars.engine.shared_table`); ``fit``, ``score``, the actions
    and the report then read that copy until an import changes the data.

    Parameters
    ----------
    ws
        The workspace.
    observation_end
        The end of the history (``regulars fit`` and ``score``: the last order date).
    time_unit
        The unit of ``recency`` and ``T`` (``[models] time_unit``).
    merge_period
        Purchases in the same period count once (``"D"``; the time unit for BG/BB).
    litt
        Add ``litt`` (for the MBG/CNBD-k model).
    transactions
        The paid orders, when the caller has them already (default:
        :func:`model_transactions`).
    """
    from regulars.engine import shared_table

    def orders() -> ir.Table:
        return model_transactions(ws) if transactions is None else transactions

    params = {
        "observation_end": observation_end.isoformat(),
        "time_unit": time_unit,
        "merge_period": merge_period,
        "credit_window_days": credit_window_days(ws.config),
        "format": _RFM_FORMAT,
    }

    def build() -> ir.Table:
        return rfm_summary(
            orders(),
            datetime_col="order_date",
            monetary_value_col="net_revenue",
            observation_end=observation_end,
            time_unit=time_unit,
            merge_period=merge_period,
        )

    rfm = shared_table(ws, "rfm", params, build)
    if not litt:
        return rfm
    return shared_table(
        ws,
        "rfm_litt",
        params,
        lambda: with_litt(rfm, orders(), observation_end, time_unit),
    )


class _RFMs:
    """The whole-history RFM summary per merge period (shared per data version)."""

    def __init__(
        self, ws: Workspace, tx: ir.Table, end: dt.date, time_unit: TimeUnit, last: dt.date
    ) -> None:
        self.ws, self.tx, self.end, self.time_unit = ws, tx, end, time_unit
        self.last = last  # the last order date
        self._customers: int | None = None

    def customers(self) -> int:
        """The number of customers (rows of the daily-merged summary), counted once."""
        if self._customers is None:
            rfm = self("bgnbd")
            self._customers = int(rfm.count().to_pyarrow().as_py())
        return self._customers

    def __call__(self, model: str) -> ir.Table:
        return workspace_rfm(
            self.ws,
            observation_end=self.end,
            time_unit=self.time_unit,
            merge_period=_merge_period(model, self.time_unit),
            litt=model == "mbgcnbd",
            transactions=self.tx,
        )


def _sample(rfm: ir.Table) -> tuple[ir.Table, bool]:
    """About ``AUTO_SAMPLE`` customers of ``rfm`` by a hash of their id (all if fewer)."""
    n = int(rfm.count().to_pyarrow().as_py())
    if n <= AUTO_SAMPLE:
        return rfm, False
    return rfm.filter(rfm["customer_id"].hash() % math.ceil(n / AUTO_SAMPLE) == 0), True


def _choose(
    tx: ir.Table,
    names: list[str],
    cal_end: dt.date | None,
    end: dt.date,
    time_unit: TimeUnit,
    penalizer: float,
    rfms: _RFMs,
    say: Progress,
    notes: list[str],
) -> tuple[str, Any, HoldoutCheck | None, Selection]:
    """``--model auto``: compare the candidates, return the chosen model's full fit.

    With a holdout, each candidate is fitted on the calibration period and scored on
    its holdout errors (on a hash sample of ``AUTO_SAMPLE`` customers when the book
    is larger); without one, by the log-likelihood of its fit on the whole history
    (on the same kind of sample).  The best candidate that passes its diagnostics is
    refitted on the whole history, which must pass them too; if none passes, the best
    one is kept and its problems are reported.
    """
    candidates: list[Candidate] = []
    checks: dict[str, HoldoutCheck] = {}
    full: dict[str, Any] = {}
    errors: list[RegularsError] = []
    method = "holdout"
    if cal_end is not None:
        prepared: dict[str, HoldoutData] = {}
        # the customers of the whole history (to set the sampling rate): the stored RFM
        # summary has one row per customer with a paid order up to ``end``
        customers = rfms.customers() if end >= rfms.last else None
        try:
            for name in names:
                merge = _merge_period(name, time_unit)
                say(f"auto: fitting {name} on the orders up to {cal_end}, checking the holdout")
                try:
                    if merge not in prepared:
                        prepared[merge] = HoldoutData(
                            tx,
                            cal_end=cal_end,
                            end=end,
                            time_unit=time_unit,
                            merge=merge,
                            sample=AUTO_SAMPLE,
                            customers=customers,
                        )
                    check, fitted = holdout_fit(
                        prepared[merge],
                        model_class(PURCHASE_MODELS[name]),
                        penalizer=penalizer,
                        progress=say,
                    )
                except RegularsError as exc:
                    errors.append(exc)
                    candidates.append(Candidate(name, failed=str(exc)))
                    continue
                checks[name] = check
                candidates.append(candidate_from_check(name, check, fitted))
        finally:
            for data in prepared.values():
                data.release()
    if not checks:
        if cal_end is not None:
            notes.append("No candidate could be fitted on the calibration period.")
        method = "log_likelihood"
        candidates = []
        comparable = [n for n in names if n != "bgbb"] or names
        if len(comparable) < len(names):
            notes.append(
                "Without a holdout, bgbb is left out of the auto comparison: its "
                "likelihood counts purchase periods, not purchases."
            )
        for name in comparable:
            rfm, sampled = _sample(rfms(name))
            try:
                fitted = _fit_purchase(name, rfm, penalizer, say)
            except RegularsError as exc:
                errors.append(exc)
                candidates.append(Candidate(name, failed=str(exc)))
                continue
            if not sampled:
                full[name] = fitted
            candidates.append(
                Candidate(
                    name,
                    log_likelihood=float(fitted.log_likelihood_),
                    problems=[str(p) for p in fitted.diagnostics_.problems],
                    regularised=bool(getattr(fitted, "regularised_", False)),
                )
            )
    ranked = rank_candidates(candidates, method)

    def whole_fit(c: Candidate) -> bool:
        """Fit ``c`` on the whole history (once); False if that fails."""
        if c.model not in full:
            try:
                full[c.model] = _fit_purchase(c.model, rfms(c.model), penalizer, say)
            except RegularsError as exc:
                errors.append(exc)
                c.failed = f"the fit on the whole history failed ({exc})"
                return False
        whole = full[c.model]
        if method == "holdout":  # the problems of the fit that would be stored, too
            calibration = [f"(calibration fit) {p}" for p in c.problems]
            c.problems = [str(p) for p in whole.diagnostics_.problems] + calibration
        c.regularised = c.regularised or bool(getattr(whole, "regularised_", False))
        return True

    chosen: Candidate | None = None
    for c in [c for c in ranked if c.passes]:
        if whole_fit(c) and c.passes:
            chosen = c
            break
    if chosen is None:
        usable = [c for c in ranked if c.failed is None]
        for c in usable:  # none passes: keep the best that can be fitted at all
            if whole_fit(c):
                chosen = c
                break
    if chosen is None:
        if errors and all(isinstance(e, NoInformationError) for e in errors):
            raise errors[0]
        raise comparison_error(candidates)
    if not chosen.passes:
        notes.append(
            f"No candidate model passes its diagnostics; kept {chosen.model}, the best "
            f"{'on the holdout' if method == 'holdout' else 'by log-likelihood'}. Read its "
            "problems before trusting the scores."
        )
    chosen.chosen = True
    if method == "holdout":
        reason = (
            f"{chosen.model} predicted the holdout best among the models that pass their "
            f"diagnostics (score {chosen.score:.2f}; 3.00 is the best on every error)."
            if chosen.passes
            else f"{chosen.model} predicted the holdout best; no model passes its diagnostics."
        )
    else:
        reason = (
            f"{chosen.model} has the highest log-likelihood on the whole history among the "
            "models that pass their diagnostics (no holdout to compare predictions)."
        )
    selection = Selection(method, candidates, chosen.model, reason, cal_end)
    return chosen.model, full[chosen.model], checks.get(chosen.model), selection


def fit_workspace(
    ws: Workspace,
    *,
    model: str | None = None,
    spend: str | None = None,
    holdout: str | dt.date | None = None,
    penalizer: float | None = None,
    observation_end: dt.date | None = None,
    store: bool = True,
    progress: Progress | None = None,
) -> FitResult:
    """Fit the purchase (and spend) model on the workspace's orders.

    Parameters
    ----------
    ws
        The workspace.
    model
        ``auto``, ``bgnbd``, ``mbgnbd``, ``pnbd`` or ``bgbb`` (default: ``[models]
        purchase_model``, ``auto``).  ``auto`` fits each of ``[models] candidates`` on
        the calibration period, compares their holdout predictions, and keeps the best
        one that passes its diagnostics, refitted on the whole history (see
        ``FitResult.selection``).  ``bgbb`` counts one transaction opportunity per
        ``time_unit`` period (a week by default): purchases merge per period, and
        ``recency`` and ``T`` are whole periods.
    spend
        ``gamma-gamma`` or ``none`` (default: ``[models] spend_model``).
    holdout
        ``"auto"``, ``"none"`` or the last day of the calibration period (default:
        ``[models] holdout``).  ``auto`` holds out the last 30% of the history (4
        weeks to a year, from a month or week start).  With a holdout, a copy of the
        model is fitted on the calibration period and its predictions for the holdout
        are compared with what the customers did (see :class:`HoldoutCheck`); the
        stored fit always uses the whole history.
    penalizer
        L2 penalty of every fit, including the holdout fits (default: ``[models]
        penalizer``, 0).  With 0, a fit that fails is retried once with 0.01 and
        marked as regularised.
    observation_end
        The end of the history (default: the last order date).
    store
        Append the fit, its diagnostics and the ``auto`` comparison to the
        ``model_fits`` table.
    progress
        Called with a short description before each step.

    Returns
    -------
    FitResult
    """
    cfg = ws.config.models
    say = progress or _no_progress
    name = model or cfg.purchase_model
    if name != "auto":
        _choice("purchase model", name, {"auto": "", **PURCHASE_MODELS}, "--model")
    spend_name = spend or cfg.spend_model
    if spend_name != "none":
        _choice("spend model", spend_name, SPEND_MODELS, "--spend")
    pen = cfg.penalizer if penalizer is None else penalizer
    if isinstance(pen, bool) or not isinstance(pen, int | float) or not 0 <= pen <= 10:
        raise RegularsError(
            f"--penalizer {pen!r} is out of range: expected a number from 0 to 10 (0.01 is a "
            "small penalty; 0 means plain maximum likelihood)."
        )
    pen = float(pen)
    time_unit = cfg.time_unit
    holdout_setting = holdout if holdout is not None else cfg.holdout

    tx = model_transactions(ws)
    copies: list[ir.Table] = []
    try:
        bounds = _date_bounds(tx, ws, prepare=lambda t: _copy_for_fit(ws, t, copies))
        if copies:  # a new data version: the RFM summary and the holdout read the copy
            tx = copies[0]
        if bounds is None:
            raise WorkspaceError(
                f"There are no paid orders in {ws.path} to fit the models on (orders that are "
                "not cancelled, not credit notes, and keep revenue after refunds). "
                "Import orders first: regulars import orders FILE."
            )
        first, last = bounds
        end = observation_end or last
        notes: list[str] = []
        cal_end = _calibration_end(holdout_setting, first, end, notes)

        rfms = _RFMs(ws, tx, end, time_unit, last)
        check: HoldoutCheck | None = None
        selection: Selection | None = None
        if name == "auto":
            name, purchase, check, selection = _choose(
                tx, list(cfg.candidates), cal_end, end, time_unit, pen, rfms, say, notes
            )
        else:
            if cal_end is not None:
                say(f"Checking {name} on a holdout from {cal_end + dt.timedelta(days=1)} to {end}")
                try:
                    data = HoldoutData(
                        tx,
                        cal_end=cal_end,
                        end=end,
                        time_unit=time_unit,
                        merge=_merge_period(name, time_unit),
                    )
                    try:
                        check, _ = holdout_fit(
                            data,
                            model_class(PURCHASE_MODELS[name]),
                            penalizer=pen,
                            progress=say,
                        )
                    finally:
                        data.release()
                except RegularsError as exc:
                    notes.append(f"Holdout check skipped: the calibration fit failed ({exc}).")
            say("Building the RFM summary in the engine")
            purchase = _fit_purchase(name, rfms(name), pen, say)
        rfm = rfms(name)
        n_customers = (
            rfms.customers()
            if _merge_period(name, time_unit) == "D"
            else int(rfm.count().to_pyarrow().as_py())
        )
        spend_model = None
        if spend_name != "none":
            spend_model = _fit_spend(spend_name, rfm, pen, say, notes)
            if spend_model is None:
                notes.append(
                    "No spend model: fewer than two customers have a repeat purchase "
                    "with positive spend, so CLV is left empty."
                )
        result = FitResult(
            model=name,
            purchase=purchase,
            spend=spend_model,
            spend_model=spend_name if spend_model is not None else None,
            time_unit=time_unit,
            observation_end=end,
            n_customers=n_customers,
            fit_id=uuid.uuid4().hex[:12],
            # To the microsecond: the latest fit is the one with the latest fitted_at, and
            # two fits within one second (a script, a test) must not tie.
            fitted_at=dt.datetime.now(),
            holdout=check,
            notes=notes,
            selection=selection,
            penalizer=pen,
        )
        if store:
            store_fit(ws, result)
        return result
    finally:
        for copy in copies:
            copy.release()


#: Up to this many orders, ``fit`` copies the paid orders of a new data version into a
#: temporary table (about 40 bytes an order): the first and last dates, the RFM summary
#: and the holdout sample then read the copy instead of computing the ledger three times.
COPY_ORDERS_MAX = 10_000_000


def _copy_for_fit(ws: Workspace, tx: ir.Table, copies: list[ir.Table]) -> ir.Table:
    """``tx`` copied into a temporary table (appended to ``copies``), or ``tx`` itself on
    an engine other than the workspace's DuckDB or for more than ``COPY_ORDERS_MAX``
    orders."""
    from regulars.engine import backend_for

    if backend_for(ws) is not ws.ibis or ws.count("orders") > COPY_ORDERS_MAX:
        return tx
    copy = tx.cache()
    copies.append(copy)
    return copy


# -- scoring ---------------------------------------------------------------------------


def score_workspace(
    ws: Workspace,
    *,
    out: str | Path | None = None,
    format: str | None = None,
    refit: bool = False,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score every customer with the latest stored fit and replace the ``scores`` table.

    The ``scores`` table has one row per customer with an order:
    ``customer_id, frequency, recency, T, monetary_value, p_alive,
    expected_orders_90d, expected_orders_365d, expected_spend, clv, p_alive_low,
    p_alive_high, expected_orders_365d_low, expected_orders_365d_high, clv_low,
    clv_high, model, scored_at``.  The ``_low``/``_high`` columns are 90% intervals from
    the uncertainty of the fitted parameters (20 draws; NULL for a fit stored without
    standard errors): how sure the model is of each score, not the range of what the
    customer will do (see :func:`~regulars.models.order_intervals`).  ``recency`` and
    ``T`` are in the fit's time unit, ``monetary_value``
    and ``expected_spend`` are per order, ``clv`` is the discounted value of the next
    ``[models] clv_horizon_months`` months at the annual ``discount_rate`` (empty
    without a spend model).  The history runs to the last order date, so customers
    who joined since the fit are scored too.

    Parameters
    ----------
    ws
        The workspace.
    out, format
        Also export the scores to ``out`` (Parquet, CSV or JSON; the format comes from
        the extension unless ``format`` is given).
    refit
        Fit first even when a fit is stored.
    progress
        Called with a short description before each step.
    """
    from regulars.engine import backend_for, write_derived

    say = progress or _no_progress
    fmt = _export_format(out, format) if out is not None else None
    fit = None if refit else latest_fit(ws)
    refitted = fit is None
    if fit is None:
        say("No stored fit: fitting the models first")
        fit = fit_workspace(ws, holdout="none", progress=say)
    cfg = ws.config.models
    # the paid orders' expression is built only if the bounds or the RFM summary of
    # this data version are not stored yet (``fit`` stores them)
    bounds = _date_bounds(None, ws)
    if bounds is None:
        raise WorkspaceError(f"There are no paid orders in {ws.path} to score.")
    say("Building the RFM summary in the engine (or reading the stored one)")
    rfm = workspace_rfm(
        ws,
        observation_end=bounds[1],
        time_unit=fit.time_unit,
        merge_period=_merge_period(fit.model, fit.time_unit),
    )
    backend = backend_for(ws)
    scored_at = dt.datetime.now().replace(microsecond=0)
    say("Scoring the distinct customer tuples")
    purchase, spend = scored_tuples(
        rfm,
        fit.purchase,
        fit.spend,
        horizons=SCORE_HORIZONS,
        clv_horizon=cfg.clv_horizon_months,
        discount_rate=cfg.discount_rate,
        time_unit=fit.time_unit,
    )
    say("Scoring under parameter draws for the low/high columns")
    with_sd = _add_intervals(purchase, spend, fit, cfg)
    say("Joining the scores to the customers")
    scores = join_scores(rfm, purchase, spend, backend)
    if fit.spend is None:
        scores = scores.mutate(expected_spend=ibis.null("float64"), clv=ibis.null("float64"))
    if with_sd:
        sd = (scores["_sd_dep"] ** 2 + scores["_sd_spend"] ** 2).sqrt()  # NULL: no interval
        z = z_value()
        clv_low, clv_high = scores["clv"] * (-z * sd).exp(), scores["clv"] * (z * sd).exp()
    else:
        clv_low = clv_high = ibis.null("float64")
    name = fit.model if fit.spend_model is None else f"{fit.model}+{fit.spend_model}"
    scores = scores.select(
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "p_alive",
        *(f"expected_orders_{d}d" for d in SCORE_HORIZONS),
        "expected_spend",
        "clv",
        *INTERVAL_COLUMNS[:4],
        clv_low=clv_low,
        clv_high=clv_high,
        model=ibis.literal(name),
        scored_at=ibis.literal(scored_at, type="timestamp"),
    )
    say(f"Writing the {SCORES_TABLE} table")
    write_derived(ws, SCORES_TABLE, scores)
    n = ws.count(SCORES_TABLE)
    notes = _score_notes(ws, fit)
    path = None
    if out is not None and fmt is not None:
        from regulars.io import export_table

        path = Path(out)
        say(f"Exporting to {path}")
        export_table(ws, SCORES_TABLE, format=fmt, out=path)
    return ScoreResult(
        n_customers=n, fit=fit, scored_at=scored_at, out=path, refitted=refitted, notes=notes
    )


def _add_intervals(
    purchase: dict[str, Any], spend: dict[str, Any] | None, fit: FitResult, cfg: Any
) -> bool:
    """Add the 90% parameter-uncertainty columns to the scored tuples (see
    ``_score_intervals``): NULL when the stored fit has no standard errors.  True when
    the CLV gets an interval (``_sd_dep`` and ``_sd_spend`` added)."""
    n = len(purchase["_k_frequency"])
    model, spend_model = fit.purchase, fit.spend
    if not has_uncertainty(model) or (spend_model is not None and not has_uncertainty(spend_model)):
        purchase.update({c: pa.nulls(n, pa.float64()) for c in INTERVAL_COLUMNS[:4]})
        return False
    keys = {k: purchase[f"_k_{k}"] for k in ("frequency", "recency", "T")}
    spend_keys = (
        None if spend is None else {k: spend[f"_s_{k}"] for k in ("frequency", "monetary_value")}
    )
    pcols, scols = interval_columns(
        keys,
        spend_keys,
        model,
        spend_model,
        clv_horizon=cfg.clv_horizon_months,
        discount_rate=cfg.discount_rate,
        time_unit=fit.time_unit,
    )
    purchase.update({c: pcols[c] for c in INTERVAL_COLUMNS[:4]})
    if spend is None or scols is None:
        return False
    purchase["_sd_dep"] = pcols["_sd_dep"]
    spend["_sd_spend"] = scols["_sd_spend"]
    return True


def _score_notes(ws: Workspace, fit: FitResult) -> list[str]:
    """What the user must know about the scores: the fit's problems, customers left out."""
    notes = [f"{p.message} {p.fix}" for d in fit.diagnostics for p in d.problems]
    notes += [n for d in fit.diagnostics for n in d.notes]
    if fit.spend is not None:
        scores = ws.table(SCORES_TABLE)
        left_out = scores.filter((scores["frequency"] > 0) & scores["expected_spend"].isnull())
        k = int(left_out.count().to_pyarrow().as_py())
        if k:
            notes.append(
                f"{k:,} repeat buyer{'s' if k > 1 else ''} without a positive net spend "
                "(orders without an amount, or refunds at least equal to their purchases) "
                "have no expected spend or CLV; every other customer is scored."
            )
    return notes


_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def _export_format(out: str | Path, format: str | None) -> str:
    if format is not None:
        if format not in ("csv", "parquet", "json", "jsonl"):
            raise RegularsError(
                f"Unknown export format {format!r}. Valid formats: csv, parquet, json, jsonl."
            )
        return format
    suffix = Path(out).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise RegularsError(
            f"Cannot tell the export format from {str(out)!r} (extension {suffix or 'none'}). "
            "Use a .parquet, .csv or .json file name, or pass --format."
        )
    return _EXTENSIONS[suffix]
