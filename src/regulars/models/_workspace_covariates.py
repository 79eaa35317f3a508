"""``regulars fit --covariates``: which customers buy more, or stay longer?

:func:`covariate_effects` joins each customer's attributes to the RFM summary of the
workspace's paid orders and fits :class:`~regulars.models.BetaGeoCovariateModel` (or the
MBG/NBD or Pareto/NBD variant), so that the effects of, say, the acquisition channel can
be read in plain words.  The main fit's parameters and the scores are unchanged: this
is an analysis beside them, kept with the stored fit (``regulars fit --covariates``
stores the effects on the fit's row) so that the report can show them.

Covariates are columns of ``customers`` (``segment``, ``channel``...), plus
``channel_kind`` (referral, cold, organic, partner, other; from ``[channels]`` in
regulars.toml, with referred customers as ``referral``, as everywhere in regulars).
A customer without a value gets ``(none)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from regulars.errors import RegularsError
from regulars.models._rfm import rfm_summary
from regulars.models.covariates import BetaGeoCovariateModel, ParetoNBDCovariateModel

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["CovariateFit", "covariate_effects"]

#: Purchase models that take covariates.
COVARIATE_MODELS = ("bgnbd", "mbgnbd", "pnbd")


@dataclass
class CovariateFit:
    """The covariate model and its effects (``effects`` as :meth:`effects` returns)."""

    model_name: str
    model: Any
    effects: pd.DataFrame
    references: dict[str, str]
    columns: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "references": self.references,
            "effects": self.effects.to_dict(orient="records"),
        }

    def stored(self) -> dict[str, Any]:
        """What the stored fit keeps (:func:`~regulars.models._fit_store.store_covariates`):
        the effects without the model's English ``text``, to be worded where shown."""
        keep = ["process", "term", "ratio", "lower_95", "upper_95"]
        return {
            "model": self.model_name,
            "columns": list(self.columns),
            "references": dict(self.references),
            "effects": [
                {k: (str(r[k]) if k in ("process", "term") else float(r[k])) for k in keep}
                for r in self.effects.to_dict(orient="records")
            ],
        }


def _customer_attributes(ws: Workspace, columns: list[str]) -> pd.DataFrame:
    from regulars.engine import tables
    from regulars.metrics._common import MetricContext, customer_channels

    ctx = MetricContext.from_workspace(ws)
    customers = tables(ws)["customers"]
    channels = customer_channels(ctx)
    existing = sorted({*customers.columns, "channel_kind"})
    for col in columns:
        if col not in existing or col in ("customer_id", "attributes"):
            raise RegularsError(
                f"Unknown covariate {col!r}. Covariates are columns of customers: "
                + ", ".join(repr(c) for c in existing if c not in ("customer_id", "attributes"))
                + ". Pass --covariates with some of them, e.g. --covariates channel_kind,segment."
            )
    own = [c for c in columns if c not in ("channel", "channel_kind")]
    frame = customers.select("customer_id", *own).to_pyarrow().to_pandas()
    chan = channels.select("customer_id", "channel", "channel_kind").to_pyarrow().to_pandas()
    return frame.merge(chan, on="customer_id", how="left")[["customer_id", *columns]]


def covariate_effects(
    ws: Workspace,
    columns: list[str],
    *,
    model: str = "bgnbd",
    observation_end: dt.date | None = None,
    transactions: Any | None = None,
) -> CovariateFit:
    """Fit a purchase model with the customers' ``columns`` as covariates.

    ``model`` is ``bgnbd``, ``mbgnbd`` or ``pnbd`` (other models fall back to
    ``bgnbd``).  Text columns are dummy-coded against their most common value; numeric
    columns enter per unit.  Customers who only appear in ``orders`` get ``(none)``.
    """
    from regulars.models._workspace import _date_bounds, model_transactions

    if not columns:
        raise RegularsError("--covariates needs at least one column, e.g. channel_kind.")
    name = model if model in COVARIATE_MODELS else "bgnbd"
    tx = model_transactions(ws) if transactions is None else transactions
    bounds = _date_bounds(tx)
    if bounds is None:
        raise RegularsError(f"There are no paid orders in {ws.path} to fit the models on.")
    rfm = rfm_summary(
        tx,
        datetime_col="order_date",
        observation_end=observation_end or bounds[1],
        time_unit=ws.config.models.time_unit,
    )
    data = rfm.to_pyarrow().to_pandas()
    attrs = _customer_attributes(ws, columns)
    data = data.merge(attrs, on="customer_id", how="left")
    for col in columns:
        if pd.api.types.is_numeric_dtype(data[col]) and not pd.api.types.is_bool_dtype(data[col]):
            if data[col].isna().any():
                raise RegularsError(
                    f"Covariate {col!r} is empty for {int(data[col].isna().sum()):,} customers "
                    "with orders. Fill it in customers, or leave it out of --covariates."
                )
        else:
            data[col] = data[col].astype("string").fillna("(none)").replace("", "(none)")
    cls = ParetoNBDCovariateModel if name == "pnbd" else BetaGeoCovariateModel
    kwargs: dict[str, Any] = {"covariates": columns}
    if "channel_kind" in columns and (data["channel_kind"] == "cold").any():
        # the seeds' question: are referred customers worth more than cold ones?
        kwargs["reference"] = {"channel_kind": "cold"}
    if name == "mbgnbd":
        kwargs["modified"] = True
    fitted = cls(**kwargs).fit(data[["frequency", "recency", "T", *columns]])
    refs = {c: levels[0] for c, levels in fitted.design_.levels.items()}
    return CovariateFit(name, fitted, fitted.effects(), refs, tuple(columns))
