"""One model-name registry, and fit/score with progress, for every surface."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regulars.models._workspace import FitResult, ScoreResult
    from regulars.store import Workspace

__all__ = [
    "MODEL_NAMES",
    "PURCHASE_MODELS",
    "SPEND_MODELS",
    "TIME_UNITS",
    "fit_models",
    "last_fit",
    "model_label",
    "score_models",
    "top_customers",
]

#: Purchase models, by the name the CLI, the web app and regulars.toml use.
PURCHASE_MODELS = ("bgnbd", "mbgnbd", "pnbd", "bgbb", "mbgcnbd")
#: Spend models, by the same kind of name.
SPEND_MODELS = ("gamma-gamma",)
#: Name -> how people write it.
MODEL_NAMES: dict[str, str] = {
    "bgnbd": "BG/NBD",
    "mbgnbd": "MBG/NBD",
    "pnbd": "Pareto/NBD",
    "bgbb": "BG/BB",
    "mbgcnbd": "MBG/CNBD-k",
    "gamma-gamma": "Gamma-Gamma",
}
TIME_UNITS = {"D": "days", "W": "weeks", "M": "months"}

Progress = Callable[[str], None]


def model_label(fit: FitResult) -> str:
    """``BG/NBD + Gamma-Gamma``: the purchase and spend models of a fit."""
    name = MODEL_NAMES.get(fit.model, fit.model)
    if fit.spend_model:
        name += f" + {MODEL_NAMES.get(fit.spend_model, fit.spend_model)}"
    return name


def fit_models(
    ws: Workspace,
    *,
    model: str | None = None,
    spend: str | None = None,
    holdout: str | dt.date | None = None,
    penalizer: float | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Fit the customer models on the workspace and store the fit.

    ``model="auto"`` lets the holdout choose the purchase model.
    """
    from regulars.models._workspace import fit_workspace

    return fit_workspace(
        ws, model=model, spend=spend, holdout=holdout, penalizer=penalizer, progress=progress
    )


def score_models(
    ws: Workspace,
    *,
    out: Any = None,
    format: str | None = None,
    refit: bool = False,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score every customer with the latest fit (fitting first when there is none)."""
    from regulars.models._workspace import score_workspace

    return score_workspace(ws, out=out, format=format, refit=refit, progress=progress)


def last_fit(ws: Workspace) -> FitResult | None:
    """The latest stored fit, or None."""
    from regulars.models._workspace import latest_fit

    return latest_fit(ws)


def top_customers(ws: Workspace, n: int = 5) -> list[dict[str, Any]]:
    """The ``n`` most valuable scored customers: CLV, then P(alive), then id."""
    if not ws.has_table("scores"):
        return []
    s = ws.table("scores")
    expr = s.select("customer_id", "p_alive", "expected_orders_365d", "clv").order_by(
        [s.clv.desc(nulls_first=False), s.p_alive.desc(), s.customer_id]
    )
    return list(expr.limit(n).to_pyarrow().to_pylist())
