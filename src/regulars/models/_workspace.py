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
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import ibis
import ibis.expr.types as ir
import numpy as np

from regulars.errors import ConvergenceError, RegularsError, WorkspaceError
from regulars.ledger import credit_window_days, purchases
from regulars.models._holdout import HoldoutCheck, holdout_check
from regulars.models._rfm import (
    TIME_UNIT_DAYS,
    TimeUnit,
    calibration_holdout_summary,
    purchase_periods,
    rfm_summary,
)
from regulars.models._scoring import score_customers

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
]

FIT_TABLE = "model_fits"
SCORES_TABLE = "scores"
#: Names used by the CLI and regulars.toml -> model class names in regulars.models.
PURCHASE_MODELS: dict[str, str] = {
    "bgnbd": "BetaGeoModel",
    "mbgnbd": "ModifiedBetaGeoModel",
    "pnbd": "ParetoNBDModel",
    "bgbb": "BetaGeoBetaBinomModel",
}
SPEND_MODELS: dict[str, str] = {"gamma-gamma": "GammaGammaModel"}
SCORE_HORIZONS = (90, 365)

_FIT_DDL = f"""CREATE TABLE IF NOT EXISTS "{FIT_TABLE}" (
    fit_id VARCHAR NOT NULL, model VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    params JSON NOT NULL, log_likelihood DOUBLE, n_customers BIGINT,
    fitted_at TIMESTAMP NOT NULL, time_unit VARCHAR NOT NULL, observation_end DATE NOT NULL,
    holdout JSON)"""

Progress = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


def _model_class(name: str) -> type[Any]:
    import regulars.models as models

    cls: type[Any] = getattr(models, name)
    return cls


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


def _date_bounds(tx: ir.Table) -> tuple[dt.date, dt.date] | None:
    row = tx.aggregate(first=tx["order_date"].min(), last=tx["order_date"].max()).to_pyarrow()
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


def _auto_calibration_end(first: dt.date, last: dt.date) -> dt.date | None:
    """The last quarter of the history, at most a year, is the holdout."""
    span = (last - first).days
    hold = min(span // 4, 365)
    if hold < 7:
        return None
    return last - dt.timedelta(days=hold)


# -- results ---------------------------------------------------------------------------


@dataclass
class FitResult:
    """A fitted purchase model (and spend model) and how it did on the holdout."""

    model: str
    purchase: Any
    spend: Any | None
    spend_model: str | None
    time_unit: TimeUnit
    observation_end: dt.date
    n_customers: int
    fit_id: str
    fitted_at: dt.datetime
    holdout: HoldoutCheck | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (what ``regulars fit --json`` prints)."""
        out: dict[str, Any] = {
            "fit_id": self.fit_id,
            "model": self.model,
            "params": self.purchase.params_,
            "log_likelihood": self.purchase.log_likelihood_,
            "n_customers": self.n_customers,
            "time_unit": self.time_unit,
            "observation_end": self.observation_end.isoformat(),
            "fitted_at": self.fitted_at.isoformat(timespec="seconds"),
            "spend": None,
            "holdout": None if self.holdout is None else self.holdout.to_dict(),
            "notes": list(self.notes),
        }
        if self.spend is not None:
            out["spend"] = {
                "model": self.spend_model,
                "params": self.spend.params_,
                "log_likelihood": self.spend.log_likelihood_,
                "n_customers": int(self.spend.n_customers_),
            }
        return out


@dataclass
class ScoreResult:
    """What :func:`score_workspace` wrote."""

    n_customers: int
    fit: FitResult
    scored_at: dt.datetime
    table: str = SCORES_TABLE
    out: Path | None = None
    refitted: bool = False


# -- fitting ---------------------------------------------------------------------------


def _fit_purchase(model: str, rfm: ir.Table, progress: Progress) -> Any:
    progress(f"Fitting {model} on the distinct (frequency, recency, T) tuples")
    cls = _model_class(PURCHASE_MODELS[model])
    return _fit_or_regularise(cls, rfm.select("frequency", "recency", "T"), progress)


def _fit_spend(name: str, rfm: ir.Table, progress: Progress) -> Any | None:
    repeat = rfm.filter((rfm["frequency"] > 0) & (rfm["monetary_value"] > 0))
    if int(repeat.count().to_pyarrow().as_py()) < 2:
        return None
    progress(f"Fitting {name} on the repeat buyers' spend")
    cls = _model_class(SPEND_MODELS[name])
    return _fit_or_regularise(cls, repeat.select("frequency", "monetary_value"), progress)


#: Penalizer tried when the plain maximum-likelihood fit does not converge.
FALLBACK_PENALIZER = 0.01


def _fit_or_regularise(cls: type[Any], data: ir.Table, progress: Progress) -> Any:
    """Fit by plain maximum likelihood; when that fails, once more with a small penalizer.

    Real books often have a flat likelihood in one direction (for example spend that
    barely varies within a customer, as with fixed-price retainers, sends Gamma-Gamma's
    p to infinity).  A small penalizer keeps the estimate finite; the fit is then no
    longer pure maximum likelihood, which the progress output says.  A second failure
    raises the original, explanatory ConvergenceError.
    """
    try:
        return cls().fit(data)
    except ConvergenceError as first:
        progress(
            f"{cls.__name__} did not converge ({first}); "
            f"refitting with penalizer={FALLBACK_PENALIZER}"
        )
        try:
            return cls(penalizer=FALLBACK_PENALIZER).fit(data)
        except ConvergenceError:
            raise first from None


def fit_workspace(
    ws: Workspace,
    *,
    model: str | None = None,
    spend: str | None = None,
    holdout: str | dt.date | None = None,
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
        ``bgnbd``, ``mbgnbd``, ``pnbd`` or ``bgbb`` (default: ``[models]
        purchase_model``).  ``bgbb`` counts one transaction opportunity per
        ``time_unit`` period (a week by default): purchases merge per period, and
        ``recency`` and ``T`` are whole periods.
    spend
        ``gamma-gamma`` or ``none`` (default: ``[models] spend_model``).
    holdout
        ``"auto"``, ``"none"`` or the last day of the calibration period (default:
        ``[models] holdout``).  With a holdout, a copy of the model is fitted on the
        calibration period and its predictions for the holdout are compared with what
        the customers did (see :class:`HoldoutCheck`); the stored fit always uses the
        whole history.
    observation_end
        The end of the history (default: the last order date).
    store
        Append the fitted parameters to the ``model_fits`` table.
    progress
        Called with a short description before each step.

    Returns
    -------
    FitResult
    """
    cfg = ws.config.models
    say = progress or _no_progress
    model = _choice("purchase model", model or cfg.purchase_model, PURCHASE_MODELS, "--model")
    spend_name = spend or cfg.spend_model
    if spend_name != "none":
        _choice("spend model", spend_name, SPEND_MODELS, "--spend")
    time_unit = cfg.time_unit
    merge = _merge_period(model, time_unit)
    holdout_setting = holdout if holdout is not None else cfg.holdout

    tx = model_transactions(ws)
    bounds = _date_bounds(tx)
    if bounds is None:
        raise WorkspaceError(
            f"There are no paid orders in {ws.path} to fit the models on (orders that are "
            "not cancelled, not credit notes, and keep revenue after refunds). "
            "Import orders first: regulars import orders FILE."
        )
    first, last = bounds
    end = observation_end or last
    notes: list[str] = []

    check: HoldoutCheck | None = None
    cal_end: dt.date | None = None
    if isinstance(holdout_setting, dt.date):
        cal_end = holdout_setting
    elif holdout_setting == "auto":
        cal_end = _auto_calibration_end(first, end)
        if cal_end is None:
            notes.append("The history is too short for a holdout check (under four weeks).")
    elif holdout_setting != "none":
        cal_end = dt.date.fromisoformat(str(holdout_setting))
    if cal_end is not None:
        if not first <= cal_end < end:
            raise RegularsError(
                f"The holdout date {cal_end.isoformat()} is outside the order history "
                f"({first.isoformat()} to {end.isoformat()}). Pass --holdout with a date "
                "between them, or --holdout none."
            )
        say(f"Checking {model} on a holdout from {cal_end + dt.timedelta(days=1)} to {end}")
        check = _holdout(tx, model, cal_end, end, time_unit, merge, notes)

    say("Building the RFM summary in the engine")
    rfm = rfm_summary(
        tx,
        datetime_col="order_date",
        monetary_value_col="net_revenue",
        observation_end=end,
        time_unit=time_unit,
        merge_period=merge,
    ).cache()
    try:
        n_customers = int(rfm.count().to_pyarrow().as_py())
        purchase = _fit_purchase(model, rfm, say)
        spend_model = None
        if spend_name != "none":
            spend_model = _fit_spend(spend_name, rfm, say)
            if spend_model is None:
                notes.append(
                    "No spend model: fewer than two customers have a repeat purchase "
                    "with positive spend, so CLV is left empty."
                )
    finally:
        rfm.release()
    result = FitResult(
        model=model,
        purchase=purchase,
        spend=spend_model,
        spend_model=spend_name if spend_model is not None else None,
        time_unit=time_unit,
        observation_end=end,
        n_customers=n_customers,
        fit_id=uuid.uuid4().hex[:12],
        fitted_at=dt.datetime.now().replace(microsecond=0),
        holdout=check,
        notes=notes,
    )
    if store:
        _store_fit(ws, result)
    return result


def _holdout(
    tx: ir.Table,
    model: str,
    cal_end: dt.date,
    end: dt.date,
    time_unit: TimeUnit,
    merge: TimeUnit,
    notes: list[str],
) -> HoldoutCheck | None:
    ch = calibration_holdout_summary(
        tx,
        calibration_end=cal_end,
        observation_end=end,
        datetime_col="order_date",
        time_unit=time_unit,
        merge_period=merge,
    ).cache()
    try:
        cal = ch.select(frequency=ch["frequency_cal"], recency=ch["recency_cal"], T=ch["T_cal"])
        try:
            fitted = _model_class(PURCHASE_MODELS[model])().fit(cal)
        except RegularsError as exc:
            notes.append(f"Holdout check skipped: the calibration fit failed ({exc}).")
            return None
        return holdout_check(
            fitted,
            ch,
            calibration_end=cal_end,
            observation_end=end,
            purchases=_holdout_purchases(tx, ch, cal_end, end, merge),
            unit_days=TIME_UNIT_DAYS[time_unit],
        )
    finally:
        ch.release()


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


def _store_fit(ws: Workspace, fit: FitResult) -> None:
    rows = [
        (
            fit.fit_id,
            fit.model,
            "purchase",
            json.dumps(fit.purchase.params_),
            fit.purchase.log_likelihood_,
            fit.n_customers,
            fit.fitted_at,
            fit.time_unit,
            fit.observation_end,
            None if fit.holdout is None else json.dumps(fit.holdout.to_dict()),
        )
    ]
    if fit.spend is not None:
        rows.append(
            (
                fit.fit_id,
                str(fit.spend_model),
                "spend",
                json.dumps(fit.spend.params_),
                fit.spend.log_likelihood_,
                int(fit.spend.n_customers_),
                fit.fitted_at,
                fit.time_unit,
                fit.observation_end,
                None,
            )
        )
    with ws.transaction() as con:
        con.execute(_FIT_DDL)
        con.executemany(f'INSERT INTO "{FIT_TABLE}" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', rows)


def _restore(name: str, params: dict[str, float], ll: float | None, n: int | None) -> Any:
    """A fitted model object from stored parameters (no refit)."""
    model = _model_class(name)()
    model.params_ = {k: float(v) for k, v in params.items()}
    model.log_likelihood_ = float("nan") if ll is None else float(ll)
    model.n_customers_ = float(n or 0)
    model.n_distinct_ = 0
    k = len(params)
    model._cov_log = np.full((k, k), np.nan)
    model.variance_matrix_ = np.full((k, k), np.nan)
    return model


def latest_fit(ws: Workspace) -> FitResult | None:
    """The most recent fit stored in the workspace, with its models ready to predict."""
    if not ws.has_table(FIT_TABLE):
        return None
    row = ws.con.execute(
        f"SELECT fit_id FROM \"{FIT_TABLE}\" WHERE kind = 'purchase' "
        "ORDER BY fitted_at DESC, fit_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    rows = ws.con.execute(
        "SELECT model, kind, CAST(params AS VARCHAR), log_likelihood, n_customers, fitted_at, "
        f'time_unit, observation_end FROM "{FIT_TABLE}" WHERE fit_id = ?',
        [row[0]],
    ).fetchall()
    by_kind = {r[1]: r for r in rows}
    p = by_kind["purchase"]
    if p[0] not in PURCHASE_MODELS:
        raise WorkspaceError(
            f"The stored fit {row[0]} uses an unknown model {p[0]!r}. Refit with `regulars fit`."
        )
    purchase = _restore(PURCHASE_MODELS[p[0]], json.loads(p[2]), p[3], p[4])
    spend = spend_name = None
    if "spend" in by_kind and by_kind["spend"][0] in SPEND_MODELS:
        s = by_kind["spend"]
        spend_name = s[0]
        spend = _restore(SPEND_MODELS[s[0]], json.loads(s[2]), s[3], s[4])
    return FitResult(
        model=p[0],
        purchase=purchase,
        spend=spend,
        spend_model=spend_name,
        time_unit=cast("TimeUnit", p[6]),
        observation_end=p[7],
        n_customers=int(p[4] or 0),
        fit_id=str(row[0]),
        fitted_at=p[5],
    )


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
    expected_orders_90d, expected_orders_365d, expected_spend, clv, model,
    scored_at``.  ``recency`` and ``T`` are in the fit's time unit, ``monetary_value``
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
    from regulars.engine import backend_for

    say = progress or _no_progress
    fmt = _export_format(out, format) if out is not None else None
    fit = None if refit else latest_fit(ws)
    refitted = fit is None
    if fit is None:
        say("No stored fit: fitting the models first")
        fit = fit_workspace(ws, holdout="none", progress=say)
    cfg = ws.config.models
    tx = model_transactions(ws)
    bounds = _date_bounds(tx)
    if bounds is None:
        raise WorkspaceError(f"There are no paid orders in {ws.path} to score.")
    say("Building the RFM summary in the engine")
    rfm = rfm_summary(
        tx,
        datetime_col="order_date",
        monetary_value_col="net_revenue",
        observation_end=bounds[1],
        time_unit=fit.time_unit,
        merge_period=_merge_period(fit.model, fit.time_unit),
    ).cache()
    backend = backend_for(ws)
    scored_at = dt.datetime.now().replace(microsecond=0)
    try:
        say("Scoring the distinct customer tuples and joining them back")
        scores = score_customers(
            rfm,
            fit.purchase,
            fit.spend,
            horizons=SCORE_HORIZONS,
            clv_horizon=cfg.clv_horizon_months,
            discount_rate=cfg.discount_rate,
            time_unit=fit.time_unit,
            backend=backend,
        )
        if fit.spend is None:
            scores = scores.mutate(expected_spend=ibis.null("float64"), clv=ibis.null("float64"))
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
            model=ibis.literal(name),
            scored_at=ibis.literal(scored_at, type="timestamp"),
        )
        say(f"Writing the {SCORES_TABLE} table")
        if backend is ws.ibis:
            ws.replace_table(SCORES_TABLE, scores)
        else:
            ws.replace_table(SCORES_TABLE, scores.to_pyarrow())
    finally:
        rfm.release()
    n = ws.count(SCORES_TABLE)
    path = None
    if out is not None and fmt is not None:
        from regulars.io import export_table

        path = Path(out)
        say(f"Exporting to {path}")
        export_table(ws, SCORES_TABLE, format=fmt, out=path)
    return ScoreResult(n_customers=n, fit=fit, scored_at=scored_at, out=path, refitted=refitted)


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
