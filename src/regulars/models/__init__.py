"""Customer models: who is still a customer, what they will buy, and what they are worth.

Repeat purchases without contracts: :class:`BetaGeoModel` (BG/NBD),
:class:`ModifiedBetaGeoModel` (MBG/NBD), :class:`ParetoNBDModel`, and for customers who
buy at regular intervals :class:`ModifiedBetaGeoCNBDModel` (MBG/CNBD-k); with discrete
transaction opportunities: :class:`BetaGeoBetaBinomModel` (BG/BB).  Spend per purchase:
:class:`GammaGammaModel`.  Subscriptions: :class:`ShiftedBetaGeoModel` (sBG).
:func:`customer_lifetime_value` combines a purchase and a spend model, and
:func:`evaluate` checks a purchase model on a holdout period.  The RFM inputs come from
:func:`rfm_summary` and :func:`calibration_holdout_summary`.

Every model follows the scikit-learn conventions: the constructor only stores
hyper-parameters, ``fit(data)`` returns the model and sets ``params_`` and
``log_likelihood_``.  ``fit`` and the predictions accept pandas and polars DataFrames,
pyarrow Tables, Ibis tables and dicts of arrays; an Ibis table is compressed to its
distinct sufficient statistics inside its engine before fitting.

For scoring many customers, the predictions of the purchase models accept a pyarrow
Table (or dict of numpy arrays) of distinct ``frequency, recency, T`` tuples and
return numpy arrays aligned with its rows; ``score_arrays(frequency, recency, T, t=...)``
is the same as one call.  Every fitted model carries ``diagnostics_``
(:class:`Diagnostics`): whether the fit is trustworthy, and what to do when it is not.
See ``docs/models.md`` for the mathematics.
"""

from __future__ import annotations

from regulars.models._baselines import baseline_comparison, naive_forecasts
from regulars.models._diagnostics import Diagnostics, FitProblem
from regulars.models._holdout import HoldoutCheck, holdout_check
from regulars.models._regularity import regularity_summary
from regulars.models._rfm import calibration_holdout_summary, rfm_summary
from regulars.models._scoring import score_customers
from regulars.models._workspace import (
    FitResult,
    ScoreResult,
    fit_workspace,
    latest_fit,
    score_workspace,
    workspace_rfm,
)
from regulars.models.beta_geo import BetaGeoModel
from regulars.models.beta_geo_beta_binom import BetaGeoBetaBinomModel
from regulars.models.clv import customer_lifetime_value
from regulars.models.covariates import (
    BetaGeoCovariateModel,
    CovariateDesign,
    GammaGammaCovariateModel,
    ParetoNBDCovariateModel,
)
from regulars.models.evaluate import Evaluation, evaluate
from regulars.models.gamma_gamma import GammaGammaModel
from regulars.models.mbg_cnbd import ModifiedBetaGeoCNBDModel
from regulars.models.modified_beta_geo import ModifiedBetaGeoModel
from regulars.models.pareto_nbd import ParetoNBDModel
from regulars.models.shifted_beta_geo import ShiftedBetaGeoModel
from regulars.models.uncertainty import (
    AggregateInterval,
    aggregate_interval,
    clv_intervals,
    customer_intervals,
    order_intervals,
)

__all__ = [
    "AggregateInterval",
    "BetaGeoBetaBinomModel",
    "BetaGeoCovariateModel",
    "BetaGeoModel",
    "CovariateDesign",
    "Diagnostics",
    "Evaluation",
    "FitProblem",
    "FitResult",
    "GammaGammaCovariateModel",
    "GammaGammaModel",
    "HoldoutCheck",
    "ModifiedBetaGeoCNBDModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDCovariateModel",
    "ParetoNBDModel",
    "ScoreResult",
    "ShiftedBetaGeoModel",
    "aggregate_interval",
    "baseline_comparison",
    "calibration_holdout_summary",
    "clv_intervals",
    "customer_intervals",
    "customer_lifetime_value",
    "evaluate",
    "fit_workspace",
    "holdout_check",
    "latest_fit",
    "naive_forecasts",
    "order_intervals",
    "regularity_summary",
    "rfm_summary",
    "score_customers",
    "score_workspace",
    "workspace_rfm",
]
