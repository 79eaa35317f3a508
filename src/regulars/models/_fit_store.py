"""Fits on a workspace: the results of ``fit``/``score`` and the ``model_fits`` table.

A fit is stored as one row per model (``kind`` ``purchase`` or ``spend``) with its
parameters, its holdout check, its diagnostics (:class:`~regulars.models.Diagnostics`),
the ``auto`` comparison (on the purchase row) and the penalizer it used, so any
surface (the CLI, the report, the web app) can show whether to trust it.  When
``regulars fit --covariates`` also fitted the model with covariates, the purchase row
keeps the effects (``covariates``, see :func:`store_covariates`) for the report.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from regulars.errors import WorkspaceError
from regulars.models._diagnostics import Diagnostics
from regulars.models._holdout import HoldoutCheck
from regulars.models._rfm import TimeUnit
from regulars.models._select import Selection

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = [
    "FIT_TABLE",
    "PURCHASE_MODELS",
    "SCORES_TABLE",
    "SPEND_MODELS",
    "FitResult",
    "ScoreResult",
    "latest_fit",
    "model_class",
    "store_covariates",
    "store_fit",
]

FIT_TABLE = "model_fits"
SCORES_TABLE = "scores"
#: Names used by the CLI and regulars.toml -> model class names in regulars.models.
PURCHASE_MODELS: dict[str, str] = {
    "bgnbd": "BetaGeoModel",
    "mbgnbd": "ModifiedBetaGeoModel",
    "pnbd": "ParetoNBDModel",
    "bgbb": "BetaGeoBetaBinomModel",
    "mbgcnbd": "ModifiedBetaGeoCNBDModel",
}
SPEND_MODELS: dict[str, str] = {"gamma-gamma": "GammaGammaModel"}

_FIT_DDL = f"""CREATE TABLE IF NOT EXISTS "{FIT_TABLE}" (
    fit_id VARCHAR NOT NULL, model VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    params JSON NOT NULL, log_likelihood DOUBLE, n_customers BIGINT,
    fitted_at TIMESTAMP NOT NULL, time_unit VARCHAR NOT NULL, observation_end DATE NOT NULL,
    holdout JSON, diagnostics JSON, selection JSON, penalizer DOUBLE, covariance JSON,
    covariates JSON)"""
#: Columns added after the first release: workspaces fitted before get them on the next fit.
_ADDED = (
    "diagnostics JSON",
    "selection JSON",
    "penalizer DOUBLE",
    "covariance JSON",
    "covariates JSON",
)
_COLUMNS = (
    "fit_id, model, kind, params, log_likelihood, n_customers, fitted_at, time_unit, "
    "observation_end, holdout, diagnostics, selection, penalizer, covariance, covariates"
)


def model_class(name: str) -> type[Any]:
    import regulars.models as models

    cls: type[Any] = getattr(models, name)
    return cls


@dataclass
class FitResult:
    """A fitted purchase model (and spend model), its checks and how it was chosen.

    ``purchase.diagnostics_`` and ``spend.diagnostics_`` say whether each fit is
    trustworthy (:class:`~regulars.models.Diagnostics`); ``selection`` is the ``auto``
    comparison (None when one model was asked for); ``holdout`` is the chosen model's
    holdout check.
    """

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
    selection: Selection | None = None
    penalizer: float = 0.0
    #: The effects of ``regulars fit --covariates`` (what :func:`store_covariates`
    #: stores), or None when the fit has none.
    covariates: dict[str, Any] | None = None

    @property
    def diagnostics(self) -> list[Diagnostics]:
        """The diagnostics of the purchase model and, if any, the spend model."""
        models = [self.purchase] + ([self.spend] if self.spend is not None else [])
        return [m.diagnostics_ for m in models if getattr(m, "diagnostics_", None) is not None]

    @property
    def trustworthy(self) -> bool:
        return all(d.trustworthy for d in self.diagnostics)

    @property
    def regularised(self) -> bool:
        models = [self.purchase] + ([self.spend] if self.spend is not None else [])
        return any(float(getattr(m, "penalizer", 0.0) or 0.0) > 0 for m in models)

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
            "penalizer": float(getattr(self.purchase, "penalizer", 0.0) or 0.0),
            "trustworthy": self.trustworthy,
            "diagnostics": _diag_dict(self.purchase),
            "spend": None,
            "holdout": None if self.holdout is None else self.holdout.to_dict(),
            "selection": None if self.selection is None else self.selection.to_dict(),
            "notes": list(self.notes),
        }
        if self.spend is not None:
            out["spend"] = {
                "model": self.spend_model,
                "params": self.spend.params_,
                "log_likelihood": self.spend.log_likelihood_,
                "n_customers": int(self.spend.n_customers_),
                "penalizer": float(getattr(self.spend, "penalizer", 0.0) or 0.0),
                "diagnostics": _diag_dict(self.spend),
            }
        return out


def _diag_dict(model: Any) -> dict[str, Any] | None:
    diag = getattr(model, "diagnostics_", None)
    return None if diag is None else cast("dict[str, Any]", diag.to_dict())


@dataclass
class ScoreResult:
    """What :func:`score_workspace` wrote, and what the user should know about it."""

    n_customers: int
    fit: FitResult
    scored_at: dt.datetime
    table: str = SCORES_TABLE
    out: Path | None = None
    refitted: bool = False
    notes: list[str] = field(default_factory=list)


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def store_fit(ws: Workspace, fit: FitResult) -> None:
    """Append the fit's rows to ``model_fits`` (adding newer columns to an old table)."""
    rows = [
        (
            fit.fit_id,
            fit.model,
            "purchase",
            json.dumps(_stored_params(fit.purchase)),
            fit.purchase.log_likelihood_,
            fit.n_customers,
            fit.fitted_at,
            fit.time_unit,
            fit.observation_end,
            None if fit.holdout is None else _json(_clean(fit.holdout.to_dict())),
            _json(_clean(_diag_dict(fit.purchase))),
            None if fit.selection is None else _json(_clean(fit.selection.to_dict())),
            float(getattr(fit.purchase, "penalizer", 0.0) or 0.0),
            _covariance(fit.purchase),
            _json(_clean(fit.covariates)),
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
                _json(_clean(_diag_dict(fit.spend))),
                None,
                float(getattr(fit.spend, "penalizer", 0.0) or 0.0),
                _covariance(fit.spend),
                None,
            )
        )
    with ws.transaction() as con:
        _ensure_table(con)
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f'INSERT INTO "{FIT_TABLE}" ({_COLUMNS}) VALUES ({marks})', rows)


def _ensure_table(con: Any) -> None:
    con.execute(_FIT_DDL)
    for column in _ADDED:
        con.execute(f'ALTER TABLE "{FIT_TABLE}" ADD COLUMN IF NOT EXISTS {column}')


def store_covariates(ws: Workspace, fit: FitResult, covariates: dict[str, Any]) -> None:
    """Keep the effects of a covariate fit with the stored ``fit`` (its purchase row).

    ``covariates`` is JSON-ready: ``model``, ``columns``, ``references`` (column ->
    reference level) and ``effects`` (one record per effect: ``process``, ``term``,
    ``ratio``, ``lower_95``, ``upper_95``).  The report words them in its channel
    section.  A fit stored before has its row updated; the fit's other rows and the
    scores do not change.
    """
    fit.covariates = covariates
    with ws.transaction() as con:
        _ensure_table(con)
        con.execute(
            f"UPDATE \"{FIT_TABLE}\" SET covariates = ? WHERE fit_id = ? AND kind = 'purchase'",
            [_json(_clean(covariates)), fit.fit_id],
        )


def _stored_params(model: Any) -> dict[str, float]:
    """The parameters to store; the MBG/CNBD-k's regularity ``k_`` as ``k``."""
    params = dict(model.params_)
    if hasattr(model, "k_"):
        params["k"] = float(model.k_)
    return params


def _covariance(model: Any) -> str | None:
    """The covariance of the log-parameters (for score intervals), or None if unknown."""
    cov = np.asarray(getattr(model, "_cov_log", np.nan), dtype=float)
    if cov.ndim != 2 or not np.all(np.isfinite(cov)):
        return None
    return json.dumps(cov.tolist())


def _restore(
    name: str,
    params: dict[str, float],
    ll: float | None,
    n: int | None,
    diagnostics: str | None,
    penalizer: float | None,
    covariance: str | None = None,
) -> Any:
    """A fitted model object from stored parameters (no refit), with its diagnostics."""
    model = model_class(name)(penalizer=float(penalizer or 0.0))
    params = dict(params)
    regularity = params.pop("k", None)
    if regularity is not None:  # MBG/CNBD-k
        model.k = model.k_ = int(regularity)
    model.params_ = {k: float(v) for k, v in params.items()}
    model.log_likelihood_ = float("nan") if ll is None else float(ll)
    model.n_customers_ = float(n or 0)
    model.n_distinct_ = 0
    k = len(params)
    model._cov_log = np.full((k, k), np.nan)
    model.variance_matrix_ = np.full((k, k), np.nan)
    if covariance is not None:
        cov = np.asarray(json.loads(covariance), dtype=float)
        if cov.shape == (k, k):
            model._cov_log = cov
            theta = np.array(list(model.params_.values()))
            model.variance_matrix_ = np.diag(theta) @ cov @ np.diag(theta)
    if diagnostics is not None:
        model.diagnostics_ = Diagnostics.from_dict(json.loads(diagnostics))
    return model


def latest_fit(ws: Workspace) -> FitResult | None:
    """The most recent fit stored in the workspace, with its models ready to predict.

    The models carry the stored ``diagnostics_``; the result carries the ``auto``
    comparison and the holdout check.
    """
    if not ws.has_table(FIT_TABLE):
        return None
    row = ws.con.execute(
        f"SELECT fit_id FROM \"{FIT_TABLE}\" WHERE kind = 'purchase' "
        "ORDER BY fitted_at DESC, fit_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    existing = {r[0] for r in ws.con.execute(f'DESCRIBE "{FIT_TABLE}"').fetchall()}
    extra = [
        f"CAST({c} AS VARCHAR)" if c in existing else "NULL"
        for c in ("holdout", "diagnostics", "selection")
    ]
    extra.append("penalizer" if "penalizer" in existing else "NULL")
    extra.append("CAST(covariance AS VARCHAR)" if "covariance" in existing else "NULL")
    extra.append("CAST(covariates AS VARCHAR)" if "covariates" in existing else "NULL")
    rows = ws.con.execute(
        "SELECT model, kind, CAST(params AS VARCHAR), log_likelihood, n_customers, fitted_at, "
        f'time_unit, observation_end, {", ".join(extra)} FROM "{FIT_TABLE}" WHERE fit_id = ?',
        [row[0]],
    ).fetchall()
    by_kind = {r[1]: r for r in rows}
    p = by_kind["purchase"]
    if p[0] not in PURCHASE_MODELS:
        raise WorkspaceError(
            f"The stored fit {row[0]} uses an unknown model {p[0]!r}. Refit with `regulars fit`."
        )
    purchase = _restore(PURCHASE_MODELS[p[0]], json.loads(p[2]), p[3], p[4], p[9], p[11], p[12])
    spend = spend_name = None
    if "spend" in by_kind and by_kind["spend"][0] in SPEND_MODELS:
        s = by_kind["spend"]
        spend_name = s[0]
        spend = _restore(SPEND_MODELS[s[0]], json.loads(s[2]), s[3], s[4], s[9], s[11], s[12])
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
        selection=None if p[10] is None else Selection.from_dict(json.loads(p[10])),
        penalizer=float(p[11] or 0.0),
        covariates=None if p[13] is None else json.loads(p[13]),
    )
